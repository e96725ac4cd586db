// The conformance vectors in a headless Chromium page: the page imports the
// packed package (its browser build) and the runner core, runs the cases
// handed to it and returns its lines, which must be exactly the host runner's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openChromium } from '../browser/chromium.mjs';
import { vectorFiles, vectorCases, hostLines } from './host.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..'); // wasm/test

test('the conformance vectors in headless Chromium print the host runner\'s lines', async () => {
    const files = vectorFiles();
    assert.ok(files.length > 0, 'no vector files in tests/vectors/');
    const want = hostLines(files);
    const cases = vectorCases(files);
    const { page, errors, url, close } = await openChromium({ root });
    try {
        await page.goto(url('/vectors-runtimes/index.html'));
        await page.waitForFunction(() => window.__runVectors !== undefined, null, { timeout: 20_000 });
        const got = await page.evaluate((c) => window.__runVectors(c), cases);
        console.log(`chromium: ${got.at(-1)}`);
        assert.deepEqual(errors, []);
        assert.deepEqual(got, want);
        assert.match(want.at(-1), / passed, 0 failed$/);
    } finally {
        await close();
    }
});
