import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Miniflare } from 'miniflare';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..'); // modules root: wasm/test, where the tarball is installed
const workerSrc = join(here, '..', '..', 'examples', 'worker', 'src', 'worker.js');

/** The package's files as a bundler resolving the `workerd` condition would see them. */
function packageModules() {
    const require = createRequire(join(root, 'x.js'));
    const pkgJson = require.resolve('halfopen/package.json');
    const pkgDir = dirname(pkgJson);
    const entry = join(pkgDir, JSON.parse(readFileSync(pkgJson, 'utf8')).exports['.'].workerd.default);
    const seen = new Set();
    const modules = [];
    const visit = (file) => {
        if (seen.has(file)) return;
        seen.add(file);
        if (file.endsWith('.wasm')) {
            modules.push({ type: 'CompiledWasm', path: file, contents: readFileSync(file) });
            return;
        }
        const code = readFileSync(file, 'utf8');
        modules.push({ type: 'ESModule', path: file, contents: code });
        for (const m of code.matchAll(/^(?:import|export)\b[^'\n]*from '(\.[^']+)'|^import [^'\n]*'(\.[^']+)'/gm)) {
            visit(join(dirname(file), m[1] ?? m[2]));
        }
    };
    visit(entry);
    // What a bundler does for `import ... from 'halfopen'`: a module of that name.
    modules.push({ type: 'ESModule', path: join(root, 'halfopen'), contents: `export * from './${relative(root, entry)}';` });
    return modules;
}

test('worker protects a flaky upstream and keeps state in KV', async () => {
    let upstreamCalls = 0;
    const mf = new Miniflare({
        modules: [{ type: 'ESModule', path: join(root, 'worker.js'), contents: readFileSync(workerSrc, 'utf8') }, ...packageModules()],
        modulesRoot: root,
        compatibilityDate: '2026-04-01',
        kvNamespaces: ['BREAKERS'],
        outboundService: (req) => {
            upstreamCalls++;
            return new Response('upstream ok', { status: 200 });
        },
    });
    try {
        const r1 = await mf.dispatchFetch('http://localhost/');
        assert.equal(await r1.text(), '200 1');
        const r2 = await mf.dispatchFetch('http://localhost/');
        assert.equal(await r2.text(), '200 2');
        assert.equal(upstreamCalls, 2);
    } finally {
        await mf.dispose();
    }
});
