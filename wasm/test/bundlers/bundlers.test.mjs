// The README's "Bundlers and runtimes" commands, run as written: each ```sh
// block of that section builds the tiny app in app/ (src/app.js: a breaker
// tripped by three failures on a mocked clock, then a call refused with a
// BrokenCircuitError that says when to retry) with one bundler, and the
// output is run where it belongs: Node (the bundle alone, copied into an
// empty directory), headless Chromium, or workerd (miniflare, the bundle as
// the bundler wrote it). Each case prints the sizes of what it ships.
//
// The package is the packed tarball installed in ../node_modules (ci.sh);
// app/node_modules links there, so the commands read as in a user's project.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { Miniflare } from 'miniflare';
import { openChromium } from '../browser/chromium.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const app = join(here, 'app');
const readme = join(here, '..', '..', 'README.md');

/** What the app prints, whichever way it is built. */
const EXPECTED = { state: 'open', failures: 3, rejected: { brokenCircuitError: true, retryAfterMs: 29_000 } };

/**
 * Each README block's first line (its title) names a case here: where its
 * output runs, and from which directory of app/.
 */
const CASES = {
    'esbuild: browser, ES module': { run: 'chromium', dir: 'out/esbuild-esm', script: { src: 'app.js', module: true } },
    'esbuild: browser, IIFE, halfopen/inline': { run: 'chromium', dir: 'out/esbuild-iife', script: { src: 'app.js' } },
    'esbuild: browser, IIFE, halfopen/init': { run: 'chromium', dir: 'out/esbuild-iife-init', script: { src: 'app.js' } },
    'esbuild: browser, IIFE, halfopen/init, the .wasm by the file loader': { run: 'chromium', dir: 'out/esbuild-iife-file', script: { src: 'app.js' } },
    'esbuild: Node, CommonJS': { run: 'node', dir: 'out/node-cjs', main: 'app.cjs' },
    'esbuild: Node, ES module': { run: 'node', dir: 'out/node-esm', main: 'app.mjs' },
    'esbuild: Cloudflare Workers': { run: 'workerd', dir: 'out/esbuild-workerd', main: 'worker.js' },
    'Vite: default build': { run: 'chromium', dir: 'out/vite' },
    'webpack 5: production': { run: 'chromium', dir: 'out/webpack', script: { src: 'main.js' } },
    'wrangler: deploy --dry-run': { run: 'workerd', dir: 'out/wrangler', main: 'worker.js' },
};

/** The ```sh blocks of the README's "Bundlers and runtimes" section: [{ title, script }]. */
function readmeBlocks() {
    const text = readFileSync(readme, 'utf8');
    const start = text.indexOf('\n## Bundlers and runtimes\n');
    assert.ok(start >= 0, 'README.md has a "## Bundlers and runtimes" section');
    const end = text.indexOf('\n## ', start + 1);
    const section = text.slice(start, end < 0 ? undefined : end);
    return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map(([, body]) => {
        const [first, ...rest] = body.trimEnd().split('\n');
        const m = /^# (.+)$/.exec(first);
        assert.ok(m, `a command block starts with "# <case>": ${first}`);
        return { title: m[1], script: rest.join('\n') };
    });
}

const blocks = readmeBlocks();

test('the README section and the test cases are the same list', () => {
    assert.deepEqual(blocks.map((b) => b.title).sort(), Object.keys(CASES).sort());
});

/** Runs a README block in app/ as a shell script; returns its output. */
function sh(script) {
    return execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
        cwd: app,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        // wrangler: no banner (its update check asks the registry) and no metrics.
        env: { ...process.env, WRANGLER_HIDE_BANNER: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    });
}

function prepare() {
    // The app's node_modules is the harness's, where the tarball is installed.
    if (!existsSync(join(app, 'node_modules'))) symlinkSync(join('..', '..', 'node_modules'), join(app, 'node_modules'), 'dir');
    assert.ok(existsSync(join(app, 'node_modules', 'halfopen', 'package.json')), 'the packed halfopen is installed in wasm/test/node_modules');
    rmSync(join(app, 'out'), { recursive: true, force: true });
}
prepare();

/** The files a case ships (its output directory, without source maps), with raw and gzip -9 sizes. */
function sizes(dir) {
    const files = [];
    const walk = (d) => {
        for (const f of readdirSync(d)) {
            const p = join(d, f);
            if (statSync(p).isDirectory()) walk(p);
            else if (!/\.(map|md|html)$/.test(f)) files.push(p);
        }
    };
    walk(dir);
    return files.sort().map((p) => {
        const bytes = readFileSync(p);
        return { file: relative(dir, p), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    });
}

const report = [];
after(() => {
    const lines = ['bundle sizes (raw / gzip -9 bytes):'];
    for (const { title, files } of report) {
        const raw = files.reduce((s, f) => s + f.raw, 0);
        const gzip = files.reduce((s, f) => s + f.gzip, 0);
        lines.push(`  ${title}: ${raw} / ${gzip} (${files.map((f) => `${f.file.replace(/^[0-9a-f]{40}-/, '').replace(/-[\w]{8}\./, '.')} ${f.raw}/${f.gzip}`).join(', ')})`);
    }
    console.log(lines.join('\n'));
});

function parseLine(text) {
    const m = /^halfopen-app (.*)$/m.exec(text);
    assert.ok(m, `the app printed its result; it printed:\n${text}`);
    return JSON.parse(m[1]);
}

/** Node: the bundle alone in an empty directory (no node_modules, no .wasm beside it). */
function runNode(c) {
    const alone = mkdtempSync(join(tmpdir(), 'halfopen-bundle-'));
    try {
        cpSync(join(app, c.dir, c.main), join(alone, c.main));
        assert.deepEqual(readdirSync(alone), [c.main]);
        return parseLine(execFileSync(process.execPath, [c.main], { cwd: alone, encoding: 'utf8' }));
    } finally {
        rmSync(alone, { recursive: true, force: true });
    }
}

/** workerd: the bundler's output directory as the Worker's modules, the .wasm by miniflare's CompiledWasm rule. */
async function runWorkerd(dir, main) {
    let log = '';
    const mf = new Miniflare({
        modules: true,
        scriptPath: join(app, dir, main),
        modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
        compatibilityDate: '2026-04-01',
        handleRuntimeStdio(stdout, stderr) {
            stdout.on('data', (d) => (log += d));
            stderr.on('data', (d) => (log += d));
        },
    });
    try {
        const res = await mf.dispatchFetch('http://localhost/');
        return { status: res.status, body: await res.text(), log };
    } catch (e) {
        return { error: e, log };
    } finally {
        await mf.dispose().catch(() => {});
    }
}

/** Chromium: the output directory served as the site's root; resolves with the app's result or page error. */
async function runChromium(c, route) {
    const root = join(app, c.dir);
    if (c.script) {
        const tag = c.script.module ? `<script type="module" src="${c.script.src}"></script>` : `<script src="${c.script.src}"></script>`;
        writeFileSync(join(root, 'index.html'), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>app</title>${tag}\n`);
    }
    const browser = await openChromium({ root });
    try {
        if (route) await browser.page.route('**/*.wasm', route);
        const messages = [];
        const printed = new Promise((resolve) => {
            browser.page.on('console', (m) => {
                messages.push(m.text());
                if (m.text().startsWith('halfopen-app')) resolve(m.text());
            });
            browser.page.on('pageerror', (e) => resolve(`pageerror ${e.message}`));
        });
        await browser.page.goto(browser.url('/index.html'));
        let timer;
        const text = await Promise.race([printed, new Promise((r) => (timer = setTimeout(() => r('no result within 30 s'), 30_000)))]);
        clearTimeout(timer);
        return { text, errors: browser.errors, messages };
    } finally {
        await browser.close();
    }
}

for (const { title, script } of blocks) {
    const c = CASES[title];
    if (!c) continue;
    test(`${title} (${c.run})`, async (t) => {
        sh(script);
        const files = sizes(join(app, c.dir));
        report.push({ title, files });
        t.diagnostic(files.map((f) => `${f.file}: ${f.raw} B, gzip ${f.gzip} B`).join('; '));
        if (c.run === 'node') {
            // The bundlers' Node entry (the `module` condition) is ES modules
            // only: nothing left for a runtime require.
            assert.doesNotMatch(readFileSync(join(app, c.dir, c.main), 'utf8'), /\brequire\(/);
            assert.deepEqual(runNode(c), EXPECTED);
        } else if (c.run === 'workerd') {
            const r = await runWorkerd(c.dir, c.main);
            assert.equal(r.error, undefined, `the Worker started: ${r.log}`);
            assert.equal(r.status, 200, r.body);
            assert.deepEqual(JSON.parse(r.body), EXPECTED);
        } else {
            const { text, errors, messages } = await runChromium(c);
            assert.deepEqual(parseLine(text), EXPECTED);
            assert.deepEqual(errors, []);
            if (title.includes('halfopen/inline')) {
                assert.ok(messages.includes('halfopen-inline-synchronous true'), 'the inline .wasm is compiled synchronously on the main thread');
            }
        }
    });
}

// Vite's dev server: not a build, but where a Vite user first meets the
// package. Its dependency pre-bundling (esbuild) moves the package's modules
// into its cache, and the `.wasm` referred to by `new URL(..., import.meta.url)`
// must still be found from there.
test('Vite: dev server (chromium): the app runs through the dependency pre-bundling', async () => {
    const { createServer } = await import('vite');
    const server = await createServer({
        root: app,
        cacheDir: join(app, 'out', 'vite-dev-cache'),
        logLevel: 'silent',
        clearScreen: false,
        server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
    });
    await server.listen();
    const browser = await openChromium({ root: join(app, 'src'), allow: () => false });
    try {
        const printed = new Promise((resolve) => {
            browser.page.on('console', (m) => m.text().startsWith('halfopen-app') && resolve(m.text()));
            browser.page.on('pageerror', (e) => resolve(`pageerror ${e.message}`));
        });
        await browser.page.goto(server.resolvedUrls.local[0]);
        let timer;
        const text = await Promise.race([printed, new Promise((r) => (timer = setTimeout(() => r('no result within 30 s'), 30_000)))]);
        clearTimeout(timer);
        assert.deepEqual(parseLine(text), EXPECTED);
        assert.deepEqual(browser.errors, []);
    } finally {
        await browser.close();
        await server.close();
    }
});

// What goes wrong names the fix.

test('browser entry: a .wasm the server does not have (esbuild copies none) is an error naming its URL and the fix', async () => {
    const c = CASES['esbuild: browser, ES module'];
    sh(blocks.find((b) => b.title === 'esbuild: browser, ES module').script);
    const notFound = await runChromium(c, (route) => route.fulfill({ status: 404, contentType: 'text/plain', body: 'Not Found' }));
    assert.match(notFound.text, /^pageerror halfopen: could not load the WebAssembly module: http:\/\/127\.0\.0\.1:\d+\/halfopen_bg\.wasm answered 404/);
    assert.match(notFound.text, /copy it beside the bundle/);
    assert.match(notFound.text, /halfopen\/inline/);
    // A server's fallback page for a missing file: 200, but not WebAssembly.
    const page = await runChromium(c, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><p>app</p>' }));
    assert.match(page.text, /^pageerror halfopen: could not load the WebAssembly module: \S+\/halfopen_bg\.wasm answered 200 with text\/html, not WebAssembly/);
    // Served with another content type but the right bytes: it loads.
    const wasm = readFileSync(join(app, c.dir, 'halfopen_bg.wasm'));
    const octets = await runChromium(c, (route) => route.fulfill({ status: 200, contentType: 'application/octet-stream', body: wasm }));
    assert.deepEqual(parseLine(octets.text), EXPECTED);
});

test('the browser build in Workers (the workerd condition forgotten) names --conditions=workerd', async () => {
    sh('npx esbuild src/worker.js --bundle --format=esm --outfile=out/no-condition/worker.js --log-level=warning');
    const r = await runWorkerd('out/no-condition', 'worker.js');
    assert.ok(r.error, 'the Worker does not start');
    assert.match(r.log, /Uncaught Error: halfopen: the entry 'halfopen' is the browser build, evaluated in Cloudflare Workers.*--conditions=workerd --loader:\.wasm=copy/);
    assert.doesNotMatch(r.log, /Invalid URL/);
});

test('the default browser entry in an IIFE build: the build stops at the top-level await, whose line names the entries to use', () => {
    assert.throws(
        () => sh('npx esbuild src/main.js --bundle --format=iife --outfile=out/iife-default/app.js --log-level=error'),
        (e) => /Top-level await is currently not supported/.test(e.stderr) && /halfopen\/inline/.test(e.stderr),
    );
});

// The browser builds of halfopen/init and halfopen/inline, loaded in Node by
// their paths (Node's own conditions pick the Node entry: see
// ../node/entries.test.mjs): their loading rules, which the bundles above
// run in Chromium.
const browserBuild = (file) => import(pathToFileURL(join(app, 'node_modules', 'halfopen', 'dist', file)).href);

test('halfopen/init: a breaker before init() says to await init(); initSync and init take bytes or a Module; bad input is a TypeError', async () => {
    const h = await browserBuild('init.js');
    assert.throws(() => new h.CircuitBreaker(), /not loaded yet: with 'halfopen\/init', await init\(\) \(or call initSync\(\)\) before making a breaker/);
    assert.throws(() => h.initSync('halfopen_bg.wasm'), (e) => e instanceof TypeError && /initSync\(\) takes the \.wasm's bytes/.test(e.message));
    await assert.rejects(h.init(42), (e) => e instanceof TypeError && /init\(\) takes the \.wasm's URL .* got number 42/.test(e.message));
    const bytes = readFileSync(join(app, 'node_modules', 'halfopen', 'dist', 'halfopen_bg.wasm'));
    await h.init(new WebAssembly.Module(bytes));
    assert.deepEqual(await run(h), EXPECTED);
    h.initSync(bytes); // a second load does nothing
    await h.init();
});

test('halfopen/inline: loaded at import, ready resolves', async () => {
    const h = await browserBuild('inline.js');
    await h.ready;
    assert.deepEqual(await run(h), EXPECTED);
});

// A Node bundle of code written for halfopen/init (SSR, a library that
// supports both): the `module` condition's Node entry, ES modules only,
// init() loading nothing; the bundle runs alone.
for (const format of ['esm', 'cjs']) {
    test(`halfopen/init in an esbuild Node ${format} bundle: the Node entry, no require, runs alone`, () => {
        const dir = join(app, 'out', `node-init-${format}`);
        const main = format === 'esm' ? 'app.mjs' : 'app.cjs';
        execFileSync(join(here, '..', 'node_modules', '.bin', 'esbuild'), ['src/main-init.js', '--bundle', '--platform=node', `--format=${format}`, `--outfile=${join(dir, main)}`], {
            cwd: app,
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        const text = readFileSync(join(dir, main), 'utf8');
        assert.doesNotMatch(text, /\brequire\(/);
        assert.match(text, /WASM_BASE64/, 'the Node entry, which carries the .wasm');
        assert.deepEqual(runNode({ dir: relative(app, dir), main }), EXPECTED);
    });
}

async function run(h) {
    const { run: runApp } = await import('./app/src/app.js');
    return runApp(h);
}

// halfopen/fleet: its Node entries bundled (the fleet's .wasm inline too),
// and the Worker example shipped in the package, copied out as a user would
// and bundled by wrangler and by esbuild (both .wasm files as modules), in
// workerd.

for (const [format, main] of [['cjs', 'app.cjs'], ['esm', 'app.mjs']]) {
    test(`halfopen/fleet: esbuild Node ${format} bundle runs alone`, (t) => {
        const dir = `out/fleet-node-${format}`;
        sh(`npx esbuild src/fleet.js --bundle --minify --platform=node --format=${format} --outfile=${dir}/${main} --log-level=warning`);
        const files = sizes(join(app, dir));
        report.push({ title: `halfopen/fleet, esbuild: Node, ${format === 'cjs' ? 'CommonJS' : 'ES module'}`, files });
        t.diagnostic(files.map((f) => `${f.file}: ${f.raw} B, gzip ${f.gzip} B`).join('; '));
        const result = runNode({ dir, main });
        assert.equal(result.value, 42);
        assert.equal(result.calls[0], 'read');
        assert.equal(result.calls.at(-1), 'write');
    });
}

/** The Worker example's bundle in workerd with its Durable Object: one request through the fleet breaker. */
async function runExample(bundleDir) {
    let upstreamCalls = 0;
    const mf = new Miniflare({
        modules: true,
        scriptPath: join(bundleDir, 'worker.js'),
        modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
        compatibilityDate: '2026-04-01',
        durableObjects: { FLEET: 'HalfOpenFleet' },
        bindings: { UPSTREAM_URL: 'https://upstream.example/data', OPEN_MS: '30000' },
        outboundService: () => {
            upstreamCalls++;
            return new Response('fresh data');
        },
    });
    try {
        const res = await mf.dispatchFetch('http://localhost/');
        assert.deepEqual([res.status, res.headers.get('x-breaker'), await res.text()], [200, 'closed', 'fresh data']);
        assert.equal(upstreamCalls, 1);
    } finally {
        await mf.dispose();
    }
}

for (const [bundler, command] of [
    ['wrangler', 'npx wrangler deploy --dry-run --outdir dist'],
    ['esbuild', 'npx esbuild src/worker.js --bundle --minify --format=esm --conditions=workerd --loader:.wasm=copy --outdir=dist --log-level=warning'],
]) {
    test(`examples/worker from the package, copied out and bundled by ${bundler}, runs in workerd with its Durable Object fleet`, async (t) => {
        const dir = join(app, 'out', `example-worker-${bundler}`);
        cpSync(join(app, 'node_modules', 'halfopen', 'examples', 'worker'), dir, { recursive: true });
        execFileSync('bash', ['-euo', 'pipefail', '-c', command], {
            cwd: dir,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, WRANGLER_HIDE_BANNER: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
        });
        const files = sizes(join(dir, 'dist'));
        report.push({ title: `examples/worker (halfopen and halfopen/fleet), ${bundler}`, files });
        t.diagnostic(files.map((f) => `${f.file}: ${f.raw} B, gzip ${f.gzip} B`).join('; '));
        assert.equal(files.filter((f) => f.file.endsWith('.wasm')).length, 2, 'both .wasm files are modules of the bundle');
        await runExample(join(dir, 'dist'));
    });
}

test("the README's copy-paste Worker, bundled for workerd, opens after three 5xx and answers 503 with Retry-After", async () => {
    const text = readFileSync(readme, 'utf8');
    const at = text.indexOf('The smallest Worker, to paste into');
    assert.ok(at >= 0, 'the README has the copy-paste Worker');
    const m = /^( *)```js\n([\s\S]*?)^ *```$/m.exec(text.slice(at));
    assert.ok(m, 'its code block');
    const code = m[2].split('\n').map((l) => l.slice(m[1].length)).join('\n');
    const dir = join(app, 'out', 'readme-worker');
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'src', 'worker.js'), code);
    sh('npx esbuild out/readme-worker/src/worker.js --bundle --format=esm --conditions=workerd --loader:.wasm=copy --outdir=out/readme-worker/dist --log-level=warning');
    let upstreamCalls = 0;
    const mf = new Miniflare({
        modules: true,
        scriptPath: join(dir, 'dist', 'worker.js'),
        modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
        compatibilityDate: '2026-04-01',
        bindings: { UPSTREAM_URL: 'https://upstream.example/data' },
        outboundService: () => {
            upstreamCalls++;
            return new Response('down', { status: 503 });
        },
    });
    try {
        const answers = [];
        for (let i = 0; i < 4; i++) {
            const res = await mf.dispatchFetch('http://localhost/');
            answers.push([res.status, res.headers.get('retry-after'), await res.text()]);
        }
        assert.deepEqual(answers, [
            [503, null, 'down'],
            [503, null, 'down'],
            [503, null, 'down'],
            [503, '30', 'unavailable'],
        ]);
        assert.equal(upstreamCalls, 3, 'the open breaker does not call the upstream');
    } finally {
        await mf.dispose();
    }
});

const tsc = (config) => {
    try {
        execFileSync(join(here, '..', 'node_modules', '.bin', 'tsc'), ['-p', join(here, 'types', config)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        return [];
    } catch (e) {
        return e.stdout.trim().split('\n');
    }
};

test('types: halfopen/init and halfopen/inline type-check under strict, by import and require (tsc on types/entries.mts, entries.cts)', () => {
    assert.deepEqual(tsc('tsconfig.json'), []);
});

test('types: TypeScript\'s node10 resolution (module commonjs) finds halfopen/init, halfopen/inline and halfopen/fleet (typesVersions)', () => {
    assert.deepEqual(tsc('tsconfig.node10.json'), []);
});

test("types: the package's types need no DOM library (Node's types only, skipLibCheck off)", () => {
    assert.deepEqual(tsc('tsconfig.node.json'), []);
});
