// Headless Chromium for the package's browser tests: a static file server on
// loopback and a browser with a fresh profile, opened together and closed
// together. Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM), started
// with the flags that keep it off the network.
import { createServer } from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';

const TYPES = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.mjs': 'text/javascript',
    '.wasm': 'application/wasm',
    '.json': 'application/json',
};

/**
 * Serves the files under `root` whose path `allow` accepts, opens Chromium,
 * and returns `{ page, url(path), errors, close() }`: `errors` collects the
 * page's uncaught errors and console errors.
 */
export async function openChromium({ root, allow = () => true, viewport }) {
    const server = createServer(async (req, res) => {
        const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
        const file = join(root, path);
        if (!file.startsWith(root + '/') || !allow(path)) return res.writeHead(403).end();
        try {
            const body = await readFile(file);
            res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
        } catch {
            res.writeHead(404).end();
        }
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    // A fresh profile each run: playwright passes it as --user-data-dir.
    const profile = await mkdtemp(join(tmpdir(), 'halfopen-chromium-'));
    let browser;
    try {
        browser = await chromium.launchPersistentContext(profile, {
            executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
            headless: true,
            ...(viewport ? { viewport } : {}),
            args: [
                '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
            ],
        });
    } catch (e) {
        server.close();
        await rm(profile, { recursive: true, force: true });
        throw e;
    }
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const { port } = server.address();
    return {
        page,
        errors,
        url: (path) => `http://127.0.0.1:${port}${path}`,
        async close() {
            await browser.close();
            server.close();
            await rm(profile, { recursive: true, force: true });
        },
    };
}
