// The conformance vectors inside workerd (through miniflare): a test Worker
// imports the packed package (its `workerd` build) and the runner core,
// runs the cases POSTed to it and returns its lines, which must be exactly
// the host runner's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { vectorFiles, vectorCases, hostLines } from './host.mjs';
import { packageModules } from '../package-modules.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..'); // modules root: wasm/test, where the tarball is installed

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
