// The package's entries as a user reaches them: one WebAssembly instance
// whatever the order init() and initSync() are called in, halfopen/init and
// halfopen/inline in Node (the Node entry's instance, init() a no-op), and
// the .wasm files exported for bundlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const dist = join(dirname(require.resolve('halfopen/package.json')), 'dist');

/**
 * Runs `body` in a fresh Node process (a fresh glue, never loaded) with
 * `h` the browser build of halfopen/init (dist/init.js, which Node's
 * conditions never pick) and `bytes` the .wasm; returns what it printed as
 * JSON.
 */
function inFreshProcess(body) {
    const script = [
        `import { readFileSync } from 'node:fs';`,
        `const h = await import(${JSON.stringify(pathToFileURL(join(dist, 'init.js')).href)});`,
        `const bytes = readFileSync(${JSON.stringify(join(dist, 'halfopen_bg.wasm'))});`,
        // A breaker in each state, and many more made around it, so that a
        // second instance's heap would hand out the same addresses.
        `const made = (n) => Array.from({ length: n }, () => new h.CircuitBreaker({ trip: { consecutiveFailures: 1 } }));`,
        `const states = (bs) => bs.map((b) => b.state);`,
        body,
    ].join('\n');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop());
}

const MIXED = `
    const isolated = new h.CircuitBreaker();
    isolated.isolate();
    const opened = new h.CircuitBreaker({ trip: { consecutiveFailures: 1 } });
    opened.tryAcquire().failure();
    const before = made(2000);
    await pending;
    const after = made(2000);
    after[0].tryAcquire().failure();
    const fresh = new h.CircuitBreaker();
    console.log(JSON.stringify({
        isolated: isolated.state,
        opened: opened.state,
        before: [...new Set(states(before))],
        after: states(after).slice(0, 2),
        fresh: fresh.state,
    }));
`;
const ONE_INSTANCE = { isolated: 'isolated', opened: 'open', before: ['closed'], after: ['open', 'closed'], fresh: 'closed' };

test('init(bytes) pending, then initSync(bytes): one instance, the breakers made in between keep their state', () => {
    assert.deepEqual(inFreshProcess(`const pending = h.init(bytes); h.initSync(bytes);\n${MIXED}`), ONE_INSTANCE);
});

test('init(Module) pending, then initSync(bytes): one instance', () => {
    assert.deepEqual(inFreshProcess(`const pending = h.init(new WebAssembly.Module(bytes)); h.initSync(bytes);\n${MIXED}`), ONE_INSTANCE);
});

test('initSync(bytes), then init(bytes): init resolves at once on the same instance', () => {
    assert.deepEqual(inFreshProcess(`h.initSync(bytes); const pending = h.init(bytes);\n${MIXED}`), ONE_INSTANCE);
});

test('two init() calls at once, then initSync(): one instance', () => {
    assert.deepEqual(
        inFreshProcess(`const pending = Promise.all([h.init(bytes), h.init(new WebAssembly.Module(bytes))]); h.initSync(bytes);\n${MIXED}`),
        ONE_INSTANCE,
    );
});

test('two init() calls at once: one instance', () => {
    assert.deepEqual(
        inFreshProcess(`const pending = Promise.all([h.init(bytes), h.init(bytes)]);\nawait pending;\n${MIXED}`),
        ONE_INSTANCE,
    );
});

// halfopen/init and halfopen/inline in Node: the Node entry, loaded at
// import, one instance and one set of classes with `halfopen`.

test("halfopen/init in Node: the Node entry's classes, loaded at import; init() and initSync() load nothing and check their argument", async () => {
    const base = await import('halfopen');
    const h = await import('halfopen/init');
    assert.equal(h.CircuitBreaker, base.CircuitBreaker);
    assert.equal(h.BrokenCircuitError, base.BrokenCircuitError);
    // No init() needed: the module is loaded.
    const b = new h.CircuitBreaker({ trip: { consecutiveFailures: 1 } });
    b.tryAcquire().failure();
    assert.equal(b.state, 'open');
    const bytes = readFileSync(join(dist, 'halfopen_bg.wasm'));
    assert.equal(await h.init(), undefined);
    assert.equal(await h.init(bytes), undefined);
    assert.equal(await h.init(new URL('file:///nowhere/halfopen_bg.wasm')), undefined, 'nothing is fetched');
    assert.equal(await h.init(Promise.resolve(new Response(bytes))), undefined);
    assert.equal(h.initSync(new WebAssembly.Module(bytes)), undefined);
    assert.equal(b.state, 'open', 'the same instance');
    await assert.rejects(h.init(42), (e) => e instanceof TypeError && /init\(\) takes the \.wasm's URL .* got number 42/.test(e.message));
    await assert.rejects(h.init(Promise.resolve(null)), (e) => e instanceof TypeError && /got null/.test(e.message));
    assert.throws(() => h.initSync('halfopen_bg.wasm'), (e) => e instanceof TypeError && /initSync\(\) takes the \.wasm's bytes/.test(e.message));
});

test("halfopen/inline in Node: the Node entry's classes, ready resolved", async () => {
    const base = await import('halfopen');
    const h = await import('halfopen/inline');
    assert.equal(h.CircuitBreaker, base.CircuitBreaker);
    assert.equal(await h.ready, undefined);
    assert.equal(new h.CircuitBreaker().state, 'closed');
});

test('halfopen/init and halfopen/inline by require: the classes of import and require("halfopen")', async () => {
    const base = await import('halfopen');
    const init = require('halfopen/init');
    const inline = require('halfopen/inline');
    assert.equal(require('halfopen').CircuitBreaker, base.CircuitBreaker);
    assert.equal(init.CircuitBreaker, base.CircuitBreaker);
    assert.equal(inline.CircuitBreaker, base.CircuitBreaker);
    assert.equal(init.PermitError, base.PermitError);
    assert.equal(typeof init.init, 'function');
    assert.equal(typeof init.initSync, 'function');
    assert.equal(await inline.ready, undefined);
    // Every export of the package, plus init/initSync or ready.
    assert.deepEqual(Object.keys(init).sort(), [...Object.keys(base), 'init', 'initSync'].sort());
    assert.deepEqual(Object.keys(inline).sort(), [...Object.keys(base), 'ready'].sort());
});

// The .wasm files are exported, for a bundler's asset handling (esbuild's
// file loader, Vite's ?url) and init(url).

test("halfopen/halfopen_bg.wasm and halfopen/halfopen_fleet_bg.wasm resolve to the package's WebAssembly modules", () => {
    for (const [spec, file] of [
        ['halfopen/halfopen_bg.wasm', 'halfopen_bg.wasm'],
        ['halfopen/halfopen_fleet_bg.wasm', 'halfopen_fleet_bg.wasm'],
    ]) {
        const path = require.resolve(spec);
        assert.equal(path, join(dist, file));
        assert.ok(WebAssembly.validate(readFileSync(path)), `${spec} is WebAssembly`);
    }
});
