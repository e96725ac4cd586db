// halfopen/fleet in workerd (miniflare): a HalfOpenFleet Durable Object
// coordinator and four client Workers built from the same script. Each
// client Worker is its own isolate (miniflare runs every entry of
// `workers` as a Worker of its own; module-level state is not shared, which
// the first test checks). All of them reach the same object through
// `env.FLEET.idFromName(name)`. The downstream is a service binding served
// by this Node process, which counts what reaches it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { Miniflare } from 'miniflare';
import { eventually, sleep } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const CLIENTS = 4;
const THRESHOLD = 5;
// Uneven load (see redis.test.mjs).
const PAUSES = [2, 17, 32, 47];

/** The package's files as a bundler resolving the `workerd` condition would see them. */
function packageModules() {
    const require = createRequire(join(root, 'x.js'));
    const pkgJson = require.resolve('halfopen/package.json');
    const exports = JSON.parse(readFileSync(pkgJson, 'utf8')).exports;
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
        for (const m of code.matchAll(/^(?:import|export)\b[^;]*?['"](\.[^'"]+)['"];?$/gm)) visit(join(dirname(file), m[1]));
    };
    for (const [spec, sub] of [['halfopen', '.'], ['halfopen/fleet', './fleet']]) {
        const entry = join(dirname(pkgJson), exports[sub].workerd.default);
        visit(entry);
        const at = join(root, spec);
        modules.push({ type: 'ESModule', path: at, contents: `export * from './${relative(dirname(at), entry)}';` });
    }
    return modules;
}

// The coordinator: the package's HalfOpenFleet, with test hooks to make it
// fail (throw, or answer after the isolates' deadline) and to restart it.
const COORDINATOR = `
import { HalfOpenFleet } from 'halfopen/fleet';
const faults = new Map();
export class Fleet extends HalfOpenFleet {
    constructor(state, env) {
        super(state, env);
        this.ctx = state;
        this.requests = 0;
    }
    async fetch(request) {
        const url = new URL(request.url);
        if (url.pathname === '/__fault') {
            const name = url.searchParams.get('name');
            const mode = url.searchParams.get('mode');
            if (mode === 'garbage') await this.ctx.storage.put('record:' + name, { gen: '3', record: 'mode=open;k=77', config: null });
            else faults.set(name, mode);
            return new Response('ok');
        }
        if (url.pathname === '/__restart') {
            this.ctx.abort('restarted by the test');
            return new Response('unreachable');
        }
        if (url.pathname === '/__record') {
            return Response.json({ requests: this.requests, record: (await this.ctx.storage.get('record:' + url.searchParams.get('name'))) ?? null });
        }
        this.requests++;
        const body = await request.clone().json().catch(() => ({}));
        const mode = faults.get(body.name);
        if (mode === 'throw') throw new Error('the coordinator fails');
        if (mode === 'slow') await new Promise((r) => setTimeout(r, 2000));
        return super.fetch(request);
    }
}
export default {
    async fetch(request, env) {
        const url = new URL(request.url);
        const name = url.searchParams.get('name');
        return env.FLEET.get(env.FLEET.idFromName(name)).fetch(request);
    },
};
`;

// A client Worker: the fleet breaker is made lazily, in the first request
// (nothing at global scope but the module counter).
const CLIENT = `
import { durableObjectFleet } from 'halfopen/fleet';
let requests = 0;
let fleets = new Map();
function fleetOf(env, name, openMs) {
    let f = fleets.get(name);
    if (f === undefined) {
        f = durableObjectFleet(env.FLEET, {
            name, trip: { consecutiveFailures: ${THRESHOLD} }, openMs, syncMs: 50, deadlineMs: 300, fleet: { leaseMs: 2000 },
        });
        fleets.set(name, f);
    }
    return f;
}
export default {
    async fetch(request, env, ctx) {
        requests++;
        const url = new URL(request.url);
        if (url.pathname === '/whoami') return Response.json({ requests, fleets: fleets.size });
        const name = url.searchParams.get('name');
        const fleet = fleetOf(env, name, Number(url.searchParams.get('openMs') ?? 400));
        let allowed = false;
        if (url.pathname === '/call') {
            const probe = fleet.state === 'halfOpen' ? '1' : '0';
            allowed = await fleet
                .execute(async () => {
                    allowed = true;
                    const r = await env.DOWNSTREAM.fetch('http://downstream/', { headers: { 'x-probe': probe } });
                    await r.text();
                    if (r.status >= 500) throw new Error('downstream ' + r.status);
                    return true;
                })
                .then(() => true, () => allowed);
        }
        ctx.waitUntil(fleet.flush());
        return Response.json({ state: fleet.state, allowed, fleet: fleet.metrics().fleet, requests });
    },
};
`;

function downstreamService() {
    const d = { up: true, closedCalls: 0, probes: 0, probesInFlight: 0, maxProbesInFlight: 0 };
    d.handler = async (request) => {
        if (d.up) return new Response('ok');
        const probe = request.headers.get('x-probe') === '1';
        if (probe) {
            d.probes++;
            d.probesInFlight++;
            d.maxProbesInFlight = Math.max(d.maxProbesInFlight, d.probesInFlight);
        } else d.closedCalls++;
        await sleep(5);
        if (probe) d.probesInFlight--;
        return new Response('down', { status: 500 });
    };
    return d;
}

function start(d, persist) {
    const modules = packageModules();
    return new Miniflare({
        modulesRoot: root,
        compatibilityDate: '2026-04-01',
        durableObjectsPersist: persist,
        workers: [
            {
                name: 'coord',
                modules: [{ type: 'ESModule', path: join(root, 'coord.js'), contents: COORDINATOR }, ...modules],
                modulesRoot: root,
                compatibilityDate: '2026-04-01',
                durableObjects: { FLEET: 'Fleet' },
            },
            ...Array.from({ length: CLIENTS }, (_, i) => ({
                name: `client${i}`,
                modules: [{ type: 'ESModule', path: join(root, 'client.js'), contents: CLIENT }, ...modules],
                modulesRoot: root,
                compatibilityDate: '2026-04-01',
                durableObjects: { FLEET: { className: 'Fleet', scriptName: 'coord' } },
                serviceBindings: { DOWNSTREAM: (request) => d.handler(request) },
            })),
        ],
    });
}

async function client(mf, i, path) {
    const w = await mf.getWorker(`client${i}`);
    const r = await w.fetch(`http://client/${path}`);
    return r.json();
}

async function coordinator(mf, path) {
    const w = await mf.getWorker('coord');
    const r = await w.fetch(`http://coord/${path}`);
    return path.startsWith('__record') ? r.json() : r.text();
}

test('client Workers are separate isolates; nothing of the fleet runs before the first request', { timeout: 60_000 }, async () => {
    const d = downstreamService();
    const persist = mkdtempSync(join(tmpdir(), 'halfopen-do-'));
    const mf = start(d, persist);
    try {
        // The modules loaded (workerd refuses timers, random numbers and I/O at
        // global scope) and the coordinator saw nothing yet.
        assert.deepEqual(await coordinator(mf, '__record?name=lazy'), { requests: 0, record: null });
        assert.deepEqual(await client(mf, 0, 'whoami'), { requests: 1, fleets: 0 });
        assert.deepEqual(await client(mf, 0, 'whoami'), { requests: 2, fleets: 0 });
        // The same script, its own module state: another isolate.
        assert.deepEqual(await client(mf, 1, 'whoami'), { requests: 1, fleets: 0 });
        const first = await client(mf, 2, 'call?name=lazy');
        assert.equal(first.allowed, true);
        await eventually(5_000, 'the first exchange', async () => (await coordinator(mf, '__record?name=lazy')).record !== null);
    } finally {
        await mf.dispose();
        rmSync(persist, { recursive: true, force: true });
    }
});

/** Each client calls every PAUSES[i] ms until `until()` is true. */
async function load(mf, name, until, onEach = () => {}) {
    await Promise.all(
        PAUSES.map(async (pause, i) => {
            while (!until()) {
                const r = await client(mf, i, `call?name=${name}`);
                onEach(i, r);
                await sleep(pause);
            }
        }),
    );
}

test(`${CLIENTS} isolates on one coordinator trip, probe and close as one; the coordinator restarts mid-run and keeps the record`, { timeout: 120_000 }, async () => {
    const d = downstreamService();
    const persist = mkdtempSync(join(tmpdir(), 'halfopen-do-'));
    let mf = start(d, persist);
    const name = 'downstream';
    try {
        const last = new Array(CLIENTS).fill(undefined);
        let phase = 'up';
        let restarted = false;
        const run = load(mf, name, () => phase === 'done', (i, r) => (last[i] = r));
        await sleep(300);
        d.up = false;
        phase = 'down';
        await eventually(20_000, 'every isolate rejects', () => last.every((r) => r !== undefined && r.state !== 'closed'));
        const trippedCalls = d.closedCalls;
        // The coordinator restarts (its in-memory state is gone, its storage stays).
        await coordinator(mf, `__restart?name=${name}`).catch(() => {});
        restarted = true;
        await eventually(30_000, 'three probes while down', () => d.probes >= 3);
        d.up = true;
        await eventually(30_000, 'every isolate closed again', () => last.every((r) => r?.state === 'closed'));
        phase = 'done';
        await run;
        console.log(`calls that reached the dead downstream before every isolate rejected: ${trippedCalls} (threshold ${THRESHOLD}, ${CLIENTS} isolates)`);
        console.log(`probes while down: ${d.probes}, at most ${d.maxProbesInFlight} in flight`);
        assert.ok(restarted);
        assert.ok(trippedCalls < CLIENTS * THRESHOLD, `the fleet trips as one: ${trippedCalls} calls`);
        assert.equal(d.closedCalls, trippedCalls, 'after the trip, only probes reach the downstream (the restart lost nothing)');
        assert.equal(d.maxProbesInFlight, 1, 'one probe at a time across the isolates (halfOpenMaxCalls 1)');
        for (const r of last) assert.equal(r.fleet.attached, true);
        const before = await coordinator(mf, `__record?name=${name}`);
        assert.match(before.record.record, /^mode=closed/);
        // A whole new workerd: the record is still there.
        await mf.dispose();
        mf = start(d, persist);
        const after = await coordinator(mf, `__record?name=${name}`);
        assert.deepEqual(after.record, before.record);
    } finally {
        await mf.dispose();
        rmSync(persist, { recursive: true, force: true });
    }
});

test('a failing coordinator (throwing, past the deadline, garbage in its storage) leaves every isolate working locally', { timeout: 120_000 }, async () => {
    const d = downstreamService();
    const persist = mkdtempSync(join(tmpdir(), 'halfopen-do-'));
    const mf = start(d, persist);
    const name = 'faulty';
    try {
        for (let i = 0; i < CLIENTS; i++) assert.equal((await client(mf, i, `call?name=${name}`)).allowed, true);
        for (const mode of ['throw', 'slow']) {
            await coordinator(mf, `__fault?name=${name}&mode=${mode}`);
            // Every isolate goes on deciding locally, and says it is detached.
            for (let i = 0; i < CLIENTS; i++) {
                await eventually(10_000, `isolate ${i} detaches (${mode})`, async () => {
                    const r = await client(mf, i, `call?name=${name}`);
                    assert.equal(r.allowed, true, 'calls go on while the coordinator fails');
                    return r.fleet.attached === false;
                });
                const r = await client(mf, i, `call?name=${name}`);
                assert.equal(r.allowed, true);
                assert.ok(r.fleet.storeErrors >= 1);
                assert.ok(r.fleet.lastError.length > 0);
            }
            // A local trip meanwhile is a local breaker's.
            d.up = false;
            let r;
            for (let k = 0; k < THRESHOLD; k++) r = await client(mf, 0, `call?name=${name}`);
            assert.equal(r.state, 'open');
            d.up = true;
            await coordinator(mf, `__fault?name=${name}&mode=none`);
            // Back: attached again, and the local trip reconciled into the fleet record.
            await eventually(20_000, 'isolate 0 attaches again', async () => (await client(mf, 0, `call?name=${name}`)).fleet.attached);
            await eventually(20_000, 'the fleet record has the trip', async () => /^mode=(open|closed)/.test((await coordinator(mf, `__record?name=${name}`)).record.record));
            // Let the open period end and the fleet close again before the next mode.
            await eventually(30_000, 'every isolate closed', async () => {
                const all = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(mf, i, `call?name=${name}`)));
                return all.every((x) => x.state === 'closed' && x.fleet.attached);
            });
        }
        // Garbage in the coordinator's storage: replaced, reported, no crash.
        await coordinator(mf, `__fault?name=${name}&mode=garbage`);
        const r = await client(mf, 1, `call?name=${name}`);
        assert.equal(r.allowed, true);
        await eventually(10_000, 'the garbage is reported', async () => /fleet record field k/.test((await client(mf, 1, `call?name=${name}`)).fleet.lastError ?? ''));
        // Bad requests to the coordinator: clear errors.
        const coord = await mf.getWorker('coord');
        const bad = await coord.fetch('http://coord/apply?name=x', { method: 'POST', body: JSON.stringify({ name: 'x y', events: [] }) });
        assert.equal(bad.status, 400);
        assert.match((await bad.json()).error.message, /breaker name "x y" has " " at byte 1/);
        const notJson = await coord.fetch('http://coord/apply?name=x', { method: 'POST', body: 'nope' });
        assert.deepEqual(await notJson.json(), { error: { message: 'the request body is not JSON' } });
    } finally {
        await mf.dispose();
        rmSync(persist, { recursive: true, force: true });
    }
});

test('isolates with another configuration are refused by key and stay local', { timeout: 60_000 }, async () => {
    const d = downstreamService();
    const persist = mkdtempSync(join(tmpdir(), 'halfopen-do-'));
    const mf = start(d, persist);
    try {
        await client(mf, 0, 'call?name=mixed&openMs=400');
        await eventually(5_000, 'the first isolate wrote the record', async () => (await coordinator(mf, '__record?name=mixed')).record?.config !== undefined);
        await client(mf, 1, 'call?name=mixed&openMs=1000');
        await eventually(5_000, 'the second isolate is refused', async () => {
            const r = await client(mf, 1, 'call?name=mixed&openMs=1000');
            return r.fleet.attached === false && /openMs: 1000 here, 400 in the fleet/.test(r.fleet.lastError ?? '');
        });
        assert.equal((await client(mf, 1, 'call?name=mixed&openMs=1000')).allowed, true);
    } finally {
        await mf.dispose();
        rmSync(persist, { recursive: true, force: true });
    }
});
