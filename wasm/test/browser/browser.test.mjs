import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openChromium } from './chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..'); // wasm/test

test('headless Chromium loads the ESM build and runs a breaker', async (t) => {
    const { page, errors, url, close } = await openChromium({ root });
    try {
        await page.goto(url('/browser/index.html'));
        await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 20_000 });
        const result = await page.evaluate(() => window.__result);
        assert.deepEqual(errors, []);
        assert.equal(result.ok, true, result.error);
        assert.deepEqual(result.results, ['async', 'sync', 'down', 'down', 'rejected:open:1000', 'trial']);
        assert.deepEqual(result.changes, ['closed->open', 'open->halfOpen', 'halfOpen->closed']);
        assert.equal(result.state, 'closed');
        assert.equal(result.snapshotLength, 48);
        if (process.env.HALFOPEN_SCREENSHOT) await page.screenshot({ path: process.env.HALFOPEN_SCREENSHOT });
    } finally {
        await close();
    }
});
