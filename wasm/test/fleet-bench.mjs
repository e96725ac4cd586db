#!/usr/bin/env node
// Benchmarks of halfopen/fleet (the figures of BENCHMARKS.md, "Fleet"):
//
//   1. execute overhead: a CircuitBreaker and a FleetBreaker attached to
//      Redis (the fast path never touches the store), interleaved rounds,
//      median ns per call of `await breaker.execute(async () => 1)`;
//   2. store round trips per instance per second at a steady call rate
//      (Node on Redis: one FleetBreaker; Workers: coordinator requests per
//      client isolate), with the default syncMs of 1000;
//   3. trip propagation latency, p50 and p99: one instance trips, another
//      that calls every 2 ms rejects (Node: two processes' worth of
//      connections on Redis, with pub/sub; Workers: two client isolates,
//      syncMs 50, no push);
//   4. the size of the halfopen/fleet entry (its JS and its .wasm) beyond
//      the base package.
//
//   HALFOPEN_REDIS_URL=redis://... node fleet-bench.mjs [--rounds N] [--calls N]
import { readFileSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { createClient } from 'redis';
import { CircuitBreaker } from 'halfopen';
import { FleetBreaker, RedisFleetStore } from 'halfopen/fleet';
import { start, client, coordinator, downstreamService } from './fleet/workerd-common.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
    const i = args.indexOf(name);
    return i < 0 ? fallback : Number(args[i + 1]);
};
const ROUNDS = arg('--rounds', 11);
const CALLS = arg('--calls', 200_000);
const url = process.env.HALFOPEN_REDIS_URL;
if (!url) {
    console.error('HALFOPEN_REDIS_URL is not set (bash scripts/redis.sh start DIR; source DIR/env)');
    process.exit(2);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const connected = async () => {
    const c = createClient({ url });
    await c.connect();
    return c;
};
const unique = (p) => `${p}-${process.pid}-${Date.now().toString(36)}`;

// --- 1. execute overhead ------------------------------------------------------
{
    const c = await connected();
    const s = await connected();
    const options = { trip: { consecutiveFailures: 5 }, openMs: 30_000 };
    const plain = new CircuitBreaker(options);
    const fleet = new FleetBreaker({ ...options, name: unique('bench'), store: new RedisFleetStore(c, { subscriber: s }) });
    await fleet.ready();
    // The Workers path (no timer: each call reads the clock to see whether a
    // sync is due), on a stand-in coordinator that answers at once.
    const { StorageFleetStore, decide, fleetRules } = await import('halfopen/fleet');
    const memory = new Map();
    const storage = { get: async (k) => memory.get(k), put: async (k, v) => void memory.set(k, v), delete: async (k) => memory.delete(k) };
    const edgeName = unique('edge');
    const rules = fleetRules('consecutiveFailures=5;openMs=30000', 10_000, 0, 0);
    const inner = new StorageFleetStore(storage);
    const coordinator = { timers: false, apply: (events) => Promise.all(events.map((ev) => decide(rules, rules.configText(), inner, edgeName, ev))) };
    const edge = new FleetBreaker({ ...options, name: edgeName, store: coordinator });
    await edge.ready();
    const fn = async () => 1;
    const cases = {
        'CircuitBreaker execute': async () => {
            for (let i = 0; i < CALLS; i++) await plain.execute(fn);
        },
        'FleetBreaker execute (attached, Redis)': async () => {
            for (let i = 0; i < CALLS; i++) await fleet.execute(fn);
        },
        'FleetBreaker execute (no timer, as in Workers)': async () => {
            for (let i = 0; i < CALLS; i++) await edge.execute(fn);
        },
    };
    const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (const f of Object.values(cases)) await f(); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
        for (const [k, f] of Object.entries(cases)) {
            const t0 = process.hrtime.bigint();
            await f();
            times[k].push(Number(process.hrtime.bigint() - t0) / CALLS);
        }
    }
    const base = median(times['CircuitBreaker execute']);
    console.log(`\n## execute overhead (${ROUNDS} rounds of ${CALLS} calls, median ns/call; all rounds)`);
    for (const [k, t] of Object.entries(times)) {
        console.log(`${k}: ${median(t).toFixed(1)} ns (${(median(t) / base).toFixed(3)}x); rounds ${t.map((x) => x.toFixed(0)).join(' ')}`);
    }
    console.log(`store round trips during those ${(ROUNDS + 1) * CALLS} calls: Redis ${fleet.metrics().fleet.roundTrips}, no timer ${edge.metrics().fleet.roundTrips}`);
    await fleet.close();
    await c.quit();
    await s.quit();
}

// --- 2. round trips per instance per second at a steady call rate ------------------
{
    const c = await connected();
    const s = await connected();
    const fleet = new FleetBreaker({ trip: { consecutiveFailures: 5 }, name: unique('rate'), store: new RedisFleetStore(c, { subscriber: s }) });
    await fleet.ready();
    const before = fleet.metrics().fleet.roundTrips;
    const seconds = 10;
    const t0 = Date.now();
    let calls = 0;
    while (Date.now() - t0 < seconds * 1000) {
        for (let i = 0; i < 10; i++, calls++) await fleet.execute(async () => 1);
        await sleep(10);
    }
    const trips = fleet.metrics().fleet.roundTrips - before;
    console.log(`\n## store round trips, Node on Redis (syncMs 1000)`);
    console.log(`${calls} calls in ${seconds} s (${Math.round(calls / seconds)}/s): ${trips} round trips, ${(trips / seconds).toFixed(2)} per second`);
    await fleet.close();
    await c.quit();
    await s.quit();
}
{
    const d = downstreamService();
    const persist = mkdtempSync(join(tmpdir(), 'halfopen-bench-'));
    const mf = start(d, persist, 2, 1_000);
    const name = unique('rate');
    await client(mf, 0, `call?name=${name}`);
    await sleep(1_100);
    const before = (await coordinator(mf, `__record?name=${name}`)).requests;
    const seconds = 10;
    const t0 = Date.now();
    let calls = 0;
    while (Date.now() - t0 < seconds * 1000) {
        await client(mf, 0, `call?name=${name}`);
        calls++;
        await sleep(5);
    }
    const requests = (await coordinator(mf, `__record?name=${name}`)).requests - before;
    console.log(`\n## coordinator requests, one Worker isolate on the Durable Object (syncMs 1000)`);
    console.log(`${calls} requests in ${seconds} s (${Math.round(calls / seconds)}/s): ${requests} coordinator requests, ${(requests / seconds).toFixed(2)} per second`);

    // --- 3b. propagation between isolates -----------------------------------------------
    await mf.dispose();
    const mf2 = start(d, persist, 2, 50);
    const lat = [];
    d.up = true;
    for (let k = 0; k < 20; k++) {
        const n = unique(`prop${k}`);
        await client(mf2, 0, `call?name=${n}`);
        await client(mf2, 1, `call?name=${n}`);
        await sleep(100);
        let r;
        do r = await client(mf2, 0, `call?name=${n}&fail=1`);
        while (r.state === 'closed');
        const t = performance.now();
        // The other isolate calls every 2 ms until it rejects.
        for (;;) {
            const x = await client(mf2, 1, `call?name=${n}`);
            if (!x.allowed) break;
            await sleep(2);
        }
        lat.push(performance.now() - t);
    }
    console.log(`\n## trip propagation, Worker isolates (syncMs 50, no push; the other isolate calls every 2 ms)`);
    console.log(`p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms over ${lat.length} trips`);
    await mf2.dispose();
    rmSync(persist, { recursive: true, force: true });
}

// --- 3a. propagation between Node instances on Redis (pub/sub) ------------------------
{
    const lat = [];
    const conns = [await connected(), await connected(), await connected(), await connected()];
    for (let k = 0; k < 50; k++) {
        const name = unique(`prop${k}`);
        const mk = (c, s) => new FleetBreaker({ trip: { consecutiveFailures: 1 }, openMs: 30_000, name, store: new RedisFleetStore(c, { subscriber: s }) });
        const a = mk(conns[0], conns[1]);
        const b = mk(conns[2], conns[3]);
        await a.ready();
        await b.ready();
        await sleep(20);
        await a.execute(() => Promise.reject(new Error('x'))).catch(() => {});
        const t = performance.now();
        while (b.state === 'closed') await new Promise((r) => setImmediate(r));
        lat.push(performance.now() - t);
        await a.close();
        await b.close();
    }
    console.log(`\n## trip propagation, Node on Redis (pub/sub; the other instance polls its state)`);
    console.log(`p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms over ${lat.length} trips`);
    for (const c of conns) await c.quit();
}

// --- 4. sizes ---------------------------------------------------------------------------
{
    const require = createRequire(import.meta.url);
    const dist = join(dirname(require.resolve('halfopen/package.json')), 'dist');
    const size = (f) => {
        const b = readFileSync(join(dist, f));
        return [b.length, gzipSync(b, { level: 9 }).length];
    };
    console.log(`\n## halfopen/fleet entry (beyond the base package), bytes raw / gzip -9`);
    let total = [0, 0];
    for (const f of ['halfopen_fleet_bg.wasm', 'fleet.js', 'halfopen_fleet.js', 'fleet-lua.js', 'fleet-workerd.js']) {
        const [r, g] = size(f);
        total = [total[0] + r, total[1] + g];
        console.log(`${f}: ${r} / ${g}`);
    }
    console.log(`total (the workerd entry's own files): ${total[0]} / ${total[1]}`);
    console.log(`base .wasm for comparison: ${size('halfopen_bg.wasm').join(' / ')}; ${statSync(join(dist, 'halfopen_bg.wasm')).size}`);
}
process.exit(0);
