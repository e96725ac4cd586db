// The example Worker (examples/worker) in workerd, through miniflare: real
// requests, a flaky upstream played by miniflare's outbound service, and the
// breaker's snapshot in a KV namespace persisted on disk, so that a second
// Miniflare (new isolates, a new process of workerd) finds the breaker as the
// first left it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { Miniflare } from 'miniflare';
import { packageModules } from '../package-modules.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..'); // modules root: wasm/test, where the tarball is installed
const workerSrc = join(here, '..', '..', 'examples', 'worker', 'src', 'worker.js');

// workerd reads the real clock: the open period is long enough that restarting
// miniflare on a loaded machine stays well inside it.
const OPEN_MS = 5_000;

test('the Worker protects a flaky upstream and keeps its breaker in KV across isolates', async () => {
    const persist = mkdtempSync(join(tmpdir(), 'halfopen-kv-'));
    const upstream = { healthy: true, calls: 0 };
    const start = () =>
        new Miniflare({
            modules: [{ type: 'ESModule', path: join(root, 'worker.js'), contents: readFileSync(workerSrc, 'utf8') }, ...packageModules()],
            modulesRoot: root,
            compatibilityDate: '2026-04-01',
            kvNamespaces: ['BREAKERS'],
            kvPersist: persist,
            bindings: { UPSTREAM_URL: 'https://upstream.example/data', OPEN_MS: String(OPEN_MS) },
            outboundService: () => {
                upstream.calls++;
                return upstream.healthy ? new Response('fresh data') : new Response('down', { status: 503 });
            },
        });
    const get = async (mf) => {
        const res = await mf.dispatchFetch('http://localhost/');
        return { status: res.status, breaker: res.headers.get('x-breaker'), retryAfter: res.headers.get('retry-after'), body: await res.text() };
    };
    let mf = start();
    try {
        assert.deepEqual(await get(mf), { status: 200, breaker: 'closed', retryAfter: null, body: 'fresh data' });
        upstream.healthy = false;
        assert.equal((await get(mf)).status, 502);
        assert.equal((await get(mf)).status, 502);
        const third = await get(mf);
        const openedAt = Date.now();
        assert.deepEqual([third.status, third.breaker], [502, 'open']);
        assert.equal(upstream.calls, 4);

        const rejected = await get(mf);
        assert.deepEqual([rejected.status, rejected.breaker, rejected.retryAfter], [503, 'open', String(OPEN_MS / 1000)]);
        assert.equal(upstream.calls, 4, 'an open breaker does not call the upstream');
        const stored = await (await mf.getKVNamespace('BREAKERS')).get('breaker:upstream', 'arrayBuffer');
        assert.equal(stored.byteLength, 48);
        await mf.dispose();

        // New isolates in a new workerd: the breaker is still open.
        mf = start();
        assert.equal((await get(mf)).status, 503);
        assert.equal(upstream.calls, 4);

        // After openMs, one trial call finds the upstream healthy and closes it.
        upstream.healthy = true;
        await new Promise((r) => setTimeout(r, Math.max(0, openedAt + OPEN_MS + 100 - Date.now())));
        assert.deepEqual(await get(mf), { status: 200, breaker: 'closed', retryAfter: null, body: 'fresh data' });
        assert.equal(upstream.calls, 5);
        await mf.dispose();
        mf = start();
        assert.equal((await get(mf)).breaker, 'closed');
    } finally {
        await mf.dispose();
        rmSync(persist, { recursive: true, force: true });
    }
});

test('with a Durable Object, the Worker is one breaker across isolates (the HalfOpenFleet coordinator)', async () => {
    const persist = mkdtempSync(join(tmpdir(), 'halfopen-do-'));
    const upstream = { healthy: false, calls: 0 };
    const script = { type: 'ESModule', path: join(root, 'worker.js'), contents: readFileSync(workerSrc, 'utf8') };
    const modules = packageModules();
    const common = {
        modulesRoot: root,
        compatibilityDate: '2026-04-01',
        bindings: { UPSTREAM_URL: 'https://upstream.example/data', OPEN_MS: String(OPEN_MS) },
        outboundService: () => {
            upstream.calls++;
            return upstream.healthy ? new Response('fresh data') : new Response('down', { status: 503 });
        },
    };
    // Two Worker isolates of the same script; the first declares the coordinator.
    const mf = new Miniflare({
        durableObjectsPersist: persist,
        workers: [
            { name: 'a', modules: [script, ...modules], durableObjects: { FLEET: 'HalfOpenFleet' }, ...common },
            { name: 'b', modules: [script, ...modules], durableObjects: { FLEET: { className: 'HalfOpenFleet', scriptName: 'a' } }, ...common },
        ],
    });
    const get = async (name) => {
        const res = await (await mf.getWorker(name)).fetch('http://localhost/');
        await res.text();
        return { status: res.status, breaker: res.headers.get('x-breaker') };
    };
    const poll = async (what, f) => {
        const end = Date.now() + 20_000;
        while (!(await f())) {
            if (Date.now() > end) throw new Error(`not within 20 s: ${what}`);
            await new Promise((r) => setTimeout(r, 20));
        }
    };
    try {
        // Isolate a trips on three failures.
        for (let i = 0; i < 3; i++) assert.equal((await get('a')).status, 502);
        assert.equal(upstream.calls, 3);
        // Isolate b: its first request builds its fleet breaker, which
        // adopts the fleet's opening; from then on it rejects without calling.
        await poll('isolate b adopts the opening', async () => (await get('b')).status === 503);
        const calls = upstream.calls;
        assert.ok(calls < 6, `b did not need three failures of its own: ${calls} calls`);
        assert.deepEqual(await get('b'), { status: 503, breaker: 'open' });
        assert.equal(upstream.calls, calls);
        // After the open period one probe finds the upstream healthy; both close.
        upstream.healthy = true;
        await poll('a probe closes the fleet', async () => (await get('a')).status === 200 || (await get('b')).status === 200);
        await poll('both isolates closed', async () => (await get('a')).breaker === 'closed' && (await get('b')).breaker === 'closed');
    } finally {
        await mf.dispose();
        rmSync(persist, { recursive: true, force: true });
    }
});

// A Worker that uses a Registry, its per-call events and metricsText: the
// events reach a listener in workerd as they do in Node and browsers.
const REGISTRY_WORKER = `
import { Registry, CircuitBreakerEvent } from 'halfopen';
export default {
    async fetch() {
        const registry = new Registry();
        const b = registry.get('upstream', { trip: { consecutiveFailures: 1 }, openMs: 60000, fallback: () => 'stale' });
        const events = [];
        for (const type of ['success', 'failure', 'reject', 'fallback']) {
            b.addEventListener(type, (e) => events.push([e.type, e.name, e instanceof CircuitBreakerEvent]));
        }
        await b.execute(() => 'ok');
        await b.execute(() => Promise.reject(new Error('down'))).catch(() => {});
        const value = await b.execute(() => 'never');
        return Response.json({ events, value, health: registry.health(), metrics: registry.metricsText() });
    },
};
`;

test('Registry and per-call events in workerd', async () => {
    const mf = new Miniflare({
        modules: [{ type: 'ESModule', path: join(root, 'registry-worker.js'), contents: REGISTRY_WORKER }, ...packageModules()],
        modulesRoot: root,
        compatibilityDate: '2026-04-01',
    });
    try {
        const res = await mf.dispatchFetch('http://localhost/');
        const body = await res.json();
        assert.deepEqual(body.events, [
            ['success', 'upstream', true],
            ['failure', 'upstream', true],
            ['reject', 'upstream', true],
            ['fallback', 'upstream', true],
        ]);
        assert.equal(body.value, 'stale');
        assert.equal(body.health, 'critical');
        assert.match(body.metrics, /^halfopen_state\{name="upstream",state="open"\} 1$/m);
        assert.match(body.metrics, /^halfopen_rejected_total\{name="upstream"\} 1$/m);
    } finally {
        await mf.dispose();
    }
});
