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
