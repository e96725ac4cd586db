// The conformance vectors inside workerd (through miniflare): a test Worker
// imports the packed package (its `workerd` build) and the runner core,
// runs the cases POSTed to it and returns its lines, which must be exactly
// the host runner's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Miniflare } from 'miniflare';
import { vectorFiles, vectorCases, hostLines } from './host.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..'); // modules root: wasm/test, where the tarball is installed

/** The package's files as a bundler resolving the `workerd` condition would see them. */
function packageModules() {
    const require = createRequire(join(root, 'x.js'));
    const pkgJson = require.resolve('halfopen/package.json');
    const entry = join(dirname(pkgJson), JSON.parse(readFileSync(pkgJson, 'utf8')).exports['.'].workerd.default);
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
        for (const m of code.matchAll(/^(?:import|export)\b[^;]*?from ['"](\.[^'"]+)['"]/gm)) {
            visit(join(dirname(file), m[1]));
        }
    };
    visit(entry);
    modules.push({ type: 'ESModule', path: join(root, 'halfopen'), contents: `export * from './${relative(root, entry)}';` });
    return modules;
}

test('the conformance vectors in workerd print the host runner\'s lines', async () => {
    const files = vectorFiles();
    assert.ok(files.length > 0, 'no vector files in tests/vectors/');
    const want = hostLines(files);
    const mf = new Miniflare({
        modules: [
            { type: 'ESModule', path: join(root, 'worker.js'), contents: readFileSync(join(here, 'worker.js'), 'utf8') },
            { type: 'ESModule', path: join(root, 'vectors-core.mjs'), contents: readFileSync(join(root, 'vectors-core.mjs'), 'utf8') },
            ...packageModules(),
        ],
        modulesRoot: root,
        compatibilityDate: '2026-04-01',
    });
    try {
        const res = await mf.dispatchFetch('http://localhost/', { method: 'POST', body: JSON.stringify(vectorCases(files)) });
        assert.equal(res.status, 200, await res.clone().text());
        const got = await res.json();
        console.log(`workerd: ${got.at(-1)}`);
        assert.deepEqual(got, want);
        assert.match(want.at(-1), / passed, 0 failed$/);
    } finally {
        await mf.dispose();
    }
});
