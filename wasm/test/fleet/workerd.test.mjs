// halfopen/fleet in workerd (miniflare): a HalfOpenFleet Durable Object
// coordinator and four client Workers built from the same script. Each
// client Worker is its own isolate (miniflare runs every entry of
// `workers` as a Worker of its own; module-level state is not shared, which
// the first test checks). All of them reach the same object through
// `env.FLEET.idFromName(name)`. The downstream is a service binding served
// by this Node process, which counts what reaches it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { eventually, sleep } from './common.mjs';
import { CLIENTS, THRESHOLD, start, client, coordinator, downstreamService } from './workerd-common.mjs';
// Uneven load (see redis.test.mjs).
const PAUSES = [2, 17, 32, 47];

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
async function load(mf, name, until, onEach = () => {}, query = '') {
    await Promise.all(
        PAUSES.map(async (pause, i) => {
            while (!until()) {
                const r = await client(mf, i, `call?name=${name}${query}`);
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
        // The same load on independent breakers (one per isolate), for comparison.
        const dl = downstreamService();
        const persistLocal = mkdtempSync(join(tmpdir(), 'halfopen-do-'));
        const mfl = start(dl, persistLocal);
        const lastLocal = new Array(CLIENTS).fill(undefined);
        let stop = false;
        const runLocal = load(mfl, 'local', () => stop, (i, r) => (lastLocal[i] = r), '&local=1');
        await sleep(300);
        dl.up = false;
        await eventually(20_000, 'every independent breaker rejects', () => lastLocal.every((r) => r !== undefined && r.state !== 'closed'));
        stop = true;
        await runLocal;
        await mfl.dispose();
        rmSync(persistLocal, { recursive: true, force: true });
        console.log(`calls that reached the dead downstream before every isolate rejected: fleet ${trippedCalls}, ${CLIENTS} independent breakers ${dl.closedCalls} (threshold ${THRESHOLD})`);
        assert.ok(dl.closedCalls >= CLIENTS * THRESHOLD, `independent breakers each trip on their own: ${dl.closedCalls}`);
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
    // The local open period outlasts the way back (retries back off to 1 s):
    // a trip still open when the coordinator answers again is published.
    const name = 'faulty';
    try {
        for (let i = 0; i < CLIENTS; i++) assert.equal((await client(mf, i, `call?name=${name}&openMs=2000`)).allowed, true);
        for (const mode of ['throw', 'slow']) {
            const genBefore = Number((await coordinator(mf, `__record?name=${name}`)).record.gen);
            await coordinator(mf, `__fault?name=${name}&mode=${mode}`);
            // Every isolate goes on deciding locally, and says it is detached.
            for (let i = 0; i < CLIENTS; i++) {
                await eventually(10_000, `isolate ${i} detaches (${mode})`, async () => {
                    const r = await client(mf, i, `call?name=${name}&openMs=2000`);
                    assert.equal(r.allowed, true, 'calls go on while the coordinator fails');
                    return r.fleet.attached === false;
                });
                const r = await client(mf, i, `call?name=${name}&openMs=2000`);
                assert.equal(r.allowed, true);
                assert.ok(r.fleet.storeErrors >= 1);
                assert.ok(r.fleet.lastError.length > 0);
            }
            // A local trip meanwhile is a local breaker's.
            d.up = false;
            let r;
            for (let k = 0; k < THRESHOLD; k++) r = await client(mf, 0, `call?name=${name}&openMs=2000`);
            assert.equal(r.state, 'open');
            d.up = true;
            await coordinator(mf, `__fault?name=${name}&mode=none`);
            // Back: attached again, and the local trip reconciled into the fleet record.
            await eventually(20_000, 'isolate 0 attaches again', async () => (await client(mf, 0, `call?name=${name}&openMs=2000`)).fleet.attached);
            // Only a trip writes a record that was closed: the generation moved on.
            await eventually(20_000, 'the local trip is published', async () => Number((await coordinator(mf, `__record?name=${name}`)).record.gen) > genBefore);
            // Let the open period end and the fleet close again before the next mode.
            await eventually(30_000, 'every isolate closed', async () => {
                const all = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(mf, i, `call?name=${name}&openMs=2000`)));
                return all.every((x) => x.state === 'closed' && x.fleet.attached);
            });
        }
        // Garbage in the coordinator's storage: replaced, reported, no crash.
        await coordinator(mf, `__fault?name=${name}&mode=garbage`);
        const r = await client(mf, 1, `call?name=${name}&openMs=2000`);
        assert.equal(r.allowed, true);
        await eventually(10_000, 'the garbage is reported', async () => /fleet record field k/.test((await client(mf, 1, `call?name=${name}&openMs=2000`)).fleet.lastError ?? ''));
        // Bad requests to the coordinator: clear errors.
        const coord = await mf.getWorker('coord');
        const bad = await coord.fetch('http://coord/apply?name=x', { method: 'POST', body: JSON.stringify({ name: 'x y', events: [] }) });
        assert.equal(bad.status, 400);
        assert.match((await bad.json()).error.message, /^name "x y" has " " at index 1/);
        const many = await coord.fetch('http://coord/apply?name=x', {
            method: 'POST',
            body: JSON.stringify({ name: 'x', config: 'consecutiveFailures=5', leaseMs: 1000, windowMs: 0, buckets: 0, events: new Array(257).fill({}) }),
        });
        assert.deepEqual(await many.json(), { error: { message: 'the request has 257 events: at most 256' } });
        const badConfig = await coord.fetch('http://coord/apply?name=x', {
            method: 'POST',
            body: JSON.stringify({ name: 'x', config: 'openMs=-3', leaseMs: 1000, windowMs: 0, buckets: 0, events: [] }),
        });
        assert.equal(badConfig.status, 400);
        assert.match((await badConfig.json()).error.message, /openMs/);
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

test('the coordinator pushes each new generation over a hibernating WebSocket', { timeout: 60_000 }, async () => {
    const d = downstreamService();
    const persist = mkdtempSync(join(tmpdir(), 'halfopen-do-'));
    const mf = start(d, persist);
    try {
        const refused = await mf.dispatchFetch('http://coord/subscribe?name=pushed');
        assert.equal(refused.status, 426);
        const res = await mf.dispatchFetch('http://coord/subscribe?name=pushed', { headers: { upgrade: 'websocket' } });
        assert.equal(res.status, 101);
        const ws = res.webSocket;
        ws.accept();
        const messages = [];
        ws.addEventListener('message', (e) => messages.push(String(e.data)));
        ws.send('ping');
        await eventually(5_000, 'pong', () => messages.includes('pong'));
        // An isolate's first exchange writes the record: generation 1 is pushed.
        await client(mf, 0, 'call?name=pushed');
        await eventually(5_000, 'the first generation is pushed', () => messages.includes('1'));
        // A trip: the next one.
        for (let k = 0; k < THRESHOLD; k++) await client(mf, 0, 'call?name=pushed&fail=1');
        await eventually(5_000, 'the trip is pushed', () => messages.includes('2'));
        ws.close(1000, 'done');
    } finally {
        await mf.dispose();
        rmSync(persist, { recursive: true, force: true });
    }
});
