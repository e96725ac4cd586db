// The conformance vectors in a headless Chromium page: the page imports the
// packed package (its browser build) and the runner core, runs the cases
// handed to it and returns its lines, which must be exactly the host runner's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { join, dirname, normalize, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { vectorFiles, vectorCases, hostLines } from './host.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..'); // wasm/test
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Serves wasm/test (the page, the runner core and the installed package) on loopback. */
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

test('the conformance vectors in headless Chromium print the host runner\'s lines', async () => {
    const files = vectorFiles();
    assert.ok(files.length > 0, 'no vector files in tests/vectors/');
    const want = hostLines(files);
    const cases = vectorCases(files);
    const server = await serve();
    const profile = await mkdtemp(join(tmpdir(), 'halfopen-chromium-'));
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
        await page.goto(`http://127.0.0.1:${port}/vectors-runtimes/index.html`);
        await page.waitForFunction(() => window.__runVectors !== undefined, null, { timeout: 20_000 });
        const got = await page.evaluate((c) => window.__runVectors(c), cases);
        console.log(`chromium: ${got.at(-1)}`);
        assert.deepEqual(errors, []);
        assert.deepEqual(got, want);
        assert.match(want.at(-1), / passed, 0 failed$/);
    } finally {
        await browser.close();
        server.close();
        await rm(profile, { recursive: true, force: true });
    }
});
