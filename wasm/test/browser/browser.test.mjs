import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { join, dirname, normalize, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..'); // wasm/test
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Serves wasm/test (the page and the installed package) on loopback. */
async function serve() {
    const server = createServer(async (req, res) => {
        const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
        const file = join(root, path);
        if (!file.startsWith(root)) return res.writeHead(403).end();
        try {
            const body = await readFile(file);
            res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
        } catch {
            res.writeHead(404).end();
        }
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    return server;
}

test('headless Chromium loads the ESM build and runs a breaker', async (t) => {
    const server = await serve();
    const profile = await mkdtemp(join(tmpdir(), 'halfopen-chromium-'));
    // A fresh profile each run: playwright passes it as --user-data-dir.
    const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
            '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
        ],
    });
    try {
        const page = await browser.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        const { port } = server.address();
        await page.goto(`http://127.0.0.1:${port}/browser/index.html`);
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
        await browser.close();
        server.close();
        await rm(profile, { recursive: true, force: true });
    }
});
