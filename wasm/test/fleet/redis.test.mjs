// halfopen/fleet on a real redis-server (the one scripts/redis.sh starts for
// the Rust fleet tests; wasm/ci.sh passes HALFOPEN_REDIS_URL): separate Node
// processes sharing one breaker, a Rust process sharing it with Node, bad
// input, and a store that stops answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createClient } from 'redis';
import { FleetBreaker, RedisFleetStore, FleetConfigError } from 'halfopen/fleet';
import { REDIS_URL, unique, downstream, workers, eventually, sleep } from './common.mjs';

assert.ok(REDIS_URL, 'HALFOPEN_REDIS_URL is not set: run these tests through wasm/ci.sh, which starts redis-server');

const WORKERS = 4;
const THRESHOLD = 5;
// Uneven load, as in a real fleet (the Rust tests' pauses): with the same
// load everywhere and the same moment of failure, every process reaches a
// consecutive threshold before any trip can propagate.
const PAUSES = [2, 17, 32, 47];

async function connected(url = REDIS_URL) {
    const c = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 50, connectTimeout: 500 } });
    c.on('error', () => {});
    await c.connect();
    return c;
}

/**
 * Four processes against a downstream that is up, down (until every
 * process rejected and at least three half-open periods were probed), then
 * up again (until every process is closed).
 */
async function scenario(mode) {
    const d = await downstream();
    const name = unique(`node-${mode}`);
    const w = await workers(mode, name, d.url, PAUSES);
    await sleep(300);
    d.up = false;
    // Down until the downstream has seen three probes (each ends a half-open period).
    await eventually(20_000, 'three probes while down', () => d.probes >= 3);
    d.up = true;
    // Up until every worker has printed a closing.
    await eventually(20_000, 'every worker closed again', () =>
        w.procs.every((p) => {
            const states = p.lines.filter((l) => l.startsWith('STATE'));
            return states.length > 0 && states.at(-1).endsWith(' closed');
        }),
    );
    const outputs = await w.stop();
    await d.close();
    return { d, outputs };
}

test(`${WORKERS} Node processes: the store stops answering mid-run, then comes back as a restarted Redis (scripts and record gone, connections cut); each goes on locally and all rejoin`, { timeout: 120_000 }, async () => {
    const px = await proxy(REDIS_URL);
    const d = await downstream();
    const name = unique('node-fault');
    const w = await workers('fleet', name, d.url, PAUSES, px.url);
    const seen = (p, line, from = 0) => p.lines.slice(from).includes(line);
    await sleep(300);
    d.up = false;
    await eventually(20_000, 'every process rejects', () => w.procs.every((p) => p.lines.some((l) => / (open|halfOpen)$/.test(l))));
    const mark = w.procs.map((p) => p.lines.length);
    px.blackhole = true;
    await eventually(20_000, 'every process detaches', () => w.procs.every((p, i) => seen(p, 'FLEET attached=false', mark[i])));
    // As a restart of a Redis without persistence: the scripts and the
    // record are gone, and every connection is cut.
    const direct = await connected();
    const genBefore = Number(await direct.hGet(RedisFleetStore.keys(name).record, 'gen'));
    await direct.sendCommand(['SCRIPT', 'FLUSH']);
    await direct.del(RedisFleetStore.keys(name).record);
    px.blackhole = false;
    px.cut();
    await eventually(20_000, 'every process attaches again', () =>
        w.procs.every((p, i) => {
            const at = p.lines.lastIndexOf('FLEET attached=false');
            return at >= mark[i] && seen(p, 'FLEET attached=true', at);
        }),
    );
    d.up = true;
    await eventually(20_000, 'every process closed again', () =>
        w.procs.every((p) => {
            const states = p.lines.filter((l) => l.startsWith('STATE'));
            return states.at(-1)?.endsWith(' closed');
        }),
    );
    const outputs = await w.stop();
    // The record was written again, never behind a generation an instance had seen.
    assert.ok(Number(await direct.hGet(RedisFleetStore.keys(name).record, 'gen')) > genBefore);
    await direct.quit();
    await d.close();
    await px.close();
    for (const o of outputs) {
        assert.equal(o.code, 0, o.lines.join('\n'));
        assert.match(o.lines.find((l) => l.startsWith('END')), /^END closed attached=true storeErrors=[1-9]\d*$/, o.lines.join('\n'));
    }
});

test(`${WORKERS} Node processes trip, probe and close as one breaker on one Redis`, { timeout: 120_000 }, async () => {
    const fleet = await scenario('fleet');
    const local = await scenario('local');
    console.log(
        `calls that reached the dead downstream before every process rejected: fleet ${fleet.d.closedCalls}, ${WORKERS} independent breakers ${local.d.closedCalls}`,
    );
    console.log(`probes in flight at once: fleet ${fleet.d.maxProbesInFlight}, independent breakers ${local.d.maxProbesInFlight}`);
    assert.ok(local.d.closedCalls >= WORKERS * THRESHOLD, `independent breakers each trip on their own: ${local.d.closedCalls}`);
    assert.ok(fleet.d.closedCalls < WORKERS * THRESHOLD, `the fleet trips as one: ${fleet.d.closedCalls} calls`);
    // halfOpenMaxCalls 1: one probe at a time fleet-wide; each fails, which ends its period.
    assert.equal(fleet.d.maxProbesInFlight, 1, 'one probe at a time across the fleet');
    for (const o of fleet.outputs) {
        assert.equal(o.code, 0, o.lines.join('\n'));
        const end = o.lines.find((l) => l.startsWith('END'));
        assert.match(end, /^END closed attached=true storeErrors=0$/, o.lines.join('\n'));
    }
});

/** The Rust fleet handle (redis/examples/peer.rs), driven line by line. */
function rustPeer(name, openMs = 400) {
    const bin = process.env.HALFOPEN_RUST_PEER;
    assert.ok(bin, 'HALFOPEN_RUST_PEER is not set: wasm/ci.sh builds redis/examples/peer.rs and sets it');
    const p = spawn(bin, [REDIS_URL, name, String(openMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = once(p, 'exit');
    // A peer that was refused exits at once: writing to it then is no error of the test.
    p.stdin.on('error', () => {});
    const rl = createInterface({ input: p.stdout });
    const waiting = [];
    const lines = [];
    rl.on('line', (l) => {
        const w = waiting.shift();
        if (w) w(l);
        else lines.push(l);
    });
    const next = () => (lines.length > 0 ? Promise.resolve(lines.shift()) : new Promise((r) => waiting.push(r)));
    return {
        next,
        async send(cmd) {
            p.stdin.write(`${cmd}\n`);
            return next();
        },
        async state() {
            return (await this.send('state')).split(' ')[1];
        },
        async quit() {
            if (p.exitCode === null) p.stdin.end('quit\n');
            await exited;
        },
    };
}

test('a Node process and a Rust process sharing one breaker name agree on the fleet state', { timeout: 60_000 }, async () => {
    const name = unique('node-rust');
    const rust = rustPeer(name);
    assert.match(await rust.next(), /^READY closed$/);
    const client = await connected();
    const subscriber = await connected();
    const node = new FleetBreaker({
        name,
        store: new RedisFleetStore(client, { subscriber }),
        trip: { consecutiveFailures: THRESHOLD },
        openMs: 400,
        syncMs: 100,
        fleet: { leaseMs: 2_000 },
    });
    await node.ready();
    assert.equal(node.metrics().fleet.attached, true);
    // The record the Rust process wrote has Node's configuration text.
    const stored = await client.hGetAll(RedisFleetStore.keys(name).record);
    assert.equal(stored.config, node.configText);

    // Node trips: the Rust process adopts the fleet's opening.
    for (let i = 0; i < THRESHOLD; i++) await node.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    assert.equal(node.state, 'open');
    await eventually(5_000, 'the Rust process adopts open', async () => (await rust.state()) !== 'closed');
    assert.equal(await rust.send('ok'), 'CALL rejected');

    // Rust isolates the fleet: Node adopts it.
    assert.equal(await rust.send('isolate'), 'DONE');
    await eventually(5_000, 'Node adopts isolated', () => node.state === 'isolated');
    // Node resets it: Rust adopts closed.
    node.reset();
    await eventually(5_000, 'Rust adopts closed', async () => (await rust.state()) === 'closed');
    assert.equal(await rust.send('ok'), 'CALL allowed');

    // Rust trips; the open period ends; one of the two probes; the fleet closes.
    for (let i = 0; i < THRESHOLD; i++) await rust.send('fail');
    await eventually(5_000, 'Node adopts open', () => node.state !== 'closed');
    // Node has seen the generation the Rust process's trip wrote.
    await eventually(5_000, 'Node has seen the record the store holds', async () =>
        node.metrics().fleet.generation === Number((await client.hGet(RedisFleetStore.keys(name).record, 'gen')) ?? -1),
    );
    await eventually(10_000, 'a probe closes the fleet', async () => {
        await node.execute(() => 'ok').catch(() => {});
        return node.state === 'closed';
    });
    await eventually(5_000, 'Rust adopts the closing', async () => (await rust.state()) === 'closed');

    await rust.quit();
    await node.close();
    await client.quit();
    await subscriber.quit();
});

test('a Rust process with another configuration is refused by name and key; it stays local', { timeout: 30_000 }, async () => {
    const name = unique('mismatch');
    const client = await connected();
    const node = new FleetBreaker({ name, store: new RedisFleetStore(client), trip: { consecutiveFailures: THRESHOLD }, openMs: 400, fleet: { leaseMs: 2_000 } });
    await node.ready();
    const rust = rustPeer(name, 1_000);
    assert.match(await rust.next(), /openMs: 1000 here, 400 in the fleet/);
    await rust.quit();
    // And the other way round: Node with openMs 1000 on a fleet of 400.
    const other = new FleetBreaker({ name, store: new RedisFleetStore(client), trip: { consecutiveFailures: THRESHOLD }, openMs: 1_000, fleet: { leaseMs: 2_000 } });
    await assert.rejects(other.ready(), (e) => e instanceof FleetConfigError && e.difference === 'openMs: 1000 here, 400 in the fleet');
    assert.equal(other.metrics().fleet.attached, false);
    assert.match(other.metrics().fleet.lastError, /openMs: 1000 here, 400 in the fleet/);
    // A local breaker all the same.
    assert.equal(await other.execute(() => 7), 7);
    await node.close();
    await other.close();
    await client.quit();
});

test('bad input: corrupt records, keys of another type, names out of bounds, bad options', { timeout: 30_000 }, async () => {
    const client = await connected();
    const name = unique('garbage');
    const keys = RedisFleetStore.keys(name);
    // A deadline no loaded machine reaches: the only store errors here are the garbage.
    const make = () => new FleetBreaker({ name, store: new RedisFleetStore(client), trip: { consecutiveFailures: 3 }, openMs: 1_000, syncMs: 20, deadlineMs: 10_000 });
    const a = make();
    await a.ready();
    // A record overwritten with garbage: replaced, counted as a store error, no crash.
    await client.hSet(keys.record, { gen: '12', record: 'mode=open;k=99;garbage' });
    await eventually(5_000, 'the garbage record is replaced', async () => {
        await a.execute(() => 1);
        const r = await client.hGetAll(keys.record);
        // The store's record may be read before the instance handled the reply.
        return r.record?.startsWith('mode=closed') && Number(r.gen) > 12 && a.metrics().fleet.storeErrors >= 1;
    });
    assert.ok(a.metrics().fleet.storeErrors >= 1);
    assert.match(a.metrics().fleet.lastError, /fleet record field k/);
    // The key holds another type.
    await client.del(keys.record);
    await client.set(keys.record, 'not a hash');
    await eventually(5_000, 'a key of another type is replaced', async () => {
        await a.execute(() => 1);
        return (await client.type(keys.record)) === 'hash';
    });
    assert.equal(a.state, 'closed');
    await a.close();

    // Names.
    const store = new RedisFleetStore(client);
    assert.throws(() => new FleetBreaker({ name: '', store }), { name: 'RangeError', key: 'name', message: /^name is empty/ });
    assert.throws(() => new FleetBreaker({ name: 'x'.repeat(65), store }), { name: 'RangeError', message: /65 characters long: at most 64/ });
    assert.throws(() => new FleetBreaker({ name: 'pay ments', store }), { message: /has " " at index 3: use A-Z a-z 0-9 _ - \. :/ });
    assert.throws(() => new FleetBreaker({ name: 7, store }), { name: 'TypeError', key: 'name' });
    // Options.
    assert.throws(() => new FleetBreaker({ name: 'ok', store: {} }), { key: 'store' });
    assert.throws(() => new FleetBreaker({ name: 'ok', store, syncMs: 5 }), { name: 'RangeError', key: 'syncMs', message: 'syncMs = 5 is out of range 10..=2147483647' });
    assert.throws(() => new FleetBreaker({ name: 'ok', store, fleet: { leaseMs: 0 } }), { key: 'fleet.leaseMs', message: /fleet\.leaseMs = 0 is out of range/ });
    assert.throws(() => new FleetBreaker({ name: 'ok', store, fleet: { count: true } }), { message: /consecutiveFailures has no window to count for the fleet/ });
    assert.throws(() => new FleetBreaker({ name: 'ok', store, fleet: { nope: 1 } }), { key: 'fleet.nope' });
    assert.throws(() => new FleetBreaker({ name: 'ok', store, fleet: { buckets: 10 } }), { key: 'fleet.windowMs', message: /go together/ });
    assert.throws(() => new FleetBreaker({ name: 'ok', store, fleet: { count: 'yes' } }), { name: 'TypeError', key: 'fleet.count' });
    assert.throws(
        () => new FleetBreaker({ name: 'ok', store, trip: { failureRate: { percent: 50, window: 20, minimumCalls: 10 } }, fleet: { count: true } }),
        { message: /failureRate counts calls, not time/ },
    );
    assert.throws(
        () => new FleetBreaker({ name: 'ok', store, trip: { failureRate: { percent: 50, window: 20, minimumCalls: 10 } }, fleet: { windowMs: 10_000, buckets: 3 } }),
        { key: 'fleet.windowMs', message: /fleet\.windowMs = 10000 is out of range 1\.\.=2147483647 or not a multiple of fleet\.buckets/ },
    );
    assert.throws(() => new FleetBreaker({ name: 'ok', store, openMs: -1 }), { name: 'RangeError', key: 'openMs' });
    assert.throws(() => new RedisFleetStore({}), { key: 'client' });
    // The store's options, on a real client: known keys (with the key
    // meant), a subscriber that is a client; a duplicate is one.
    assert.throws(() => new RedisFleetStore(client, { clustr: true }), { name: 'TypeError', key: 'clustr', message: /^unknown RedisFleetStore option clustr; did you mean cluster\?/ });
    assert.throws(() => new RedisFleetStore(client, { subscribr: client.duplicate() }), { name: 'TypeError', key: 'subscribr', message: /did you mean subscriber\?/ });
    assert.throws(() => new RedisFleetStore(client, { subscriber: 5 }), { name: 'TypeError', key: 'subscriber' });
    assert.throws(() => new RedisFleetStore(client, { cluster: 'yes' }), { name: 'TypeError', key: 'cluster', message: 'cluster must be a boolean, got "yes" (a string)' });
    new RedisFleetStore(client, { subscriber: client.duplicate(), cluster: false });
    await client.quit();
});

/** A TCP proxy to Redis that can stop answering (a store past its deadline) and resume. */
async function proxy(target) {
    const { hostname, port } = new URL(target);
    const p = { blackhole: false, sockets: new Set() };
    p.server = createServer((down) => {
        const up = connect(Number(port), hostname);
        p.sockets.add(down);
        p.sockets.add(up);
        down.on('data', (b) => {
            if (!p.blackhole) up.write(b);
        });
        up.on('data', (b) => {
            if (!p.blackhole) down.write(b);
        });
        const end = () => {
            down.destroy();
            up.destroy();
        };
        down.on('error', end).on('close', end);
        up.on('error', end).on('close', end);
    });
    p.server.listen(0, '127.0.0.1');
    await once(p.server, 'listening');
    p.url = `redis://127.0.0.1:${p.server.address().port}`;
    p.cut = () => {
        for (const s of p.sockets) s.destroy();
        p.sockets.clear();
    };
    p.close = () => {
        p.cut();
        return new Promise((r) => p.server.close(r));
    };
    return p;
}

test('a store that stops answering: deadlines, local decisions, a detached event, reconciliation on return', { timeout: 60_000 }, async () => {
    const px = await proxy(REDIS_URL);
    const client = await connected(px.url);
    const direct = await connected();
    const name = unique('fault');
    const events = [];
    const fleet = new FleetBreaker({ name, store: new RedisFleetStore(client), trip: { consecutiveFailures: 3 }, openMs: 60_000, syncMs: 20, deadlineMs: 50 });
    fleet.onFleetChange((e) => events.push(e.attached));
    await fleet.ready();
    assert.equal(fleet.metrics().fleet.attached, true);

    px.blackhole = true;
    // Calls go on, decided locally: the fast path never waits for the store.
    for (let i = 0; i < 5; i++) assert.equal(await fleet.execute(() => i), i);
    await eventually(5_000, 'the fleet detaches', () => fleet.metrics().fleet.attached === false);
    assert.deepEqual(events, [true, false]);
    assert.match(fleet.metrics().fleet.lastError, /deadline/);
    // A trip while detached: local, and published once the store is back.
    for (let i = 0; i < 3; i++) await fleet.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    assert.equal(fleet.state, 'open');
    assert.equal(await direct.exists(RedisFleetStore.keys(name).record), 1);
    assert.match(await direct.hGet(RedisFleetStore.keys(name).record, 'record'), /^mode=closed/);

    px.blackhole = false;
    px.cut();
    await eventually(20_000, 'the fleet attaches again and publishes the trip', async () => {
        await fleet.execute(() => 1).catch(() => {});
        return fleet.metrics().fleet.attached && /^mode=open/.test((await direct.hGet(RedisFleetStore.keys(name).record, 'record')) ?? '');
    });
    assert.deepEqual(events, [true, false, true]);
    assert.ok(fleet.metrics().fleet.storeErrors >= 1);
    await fleet.close();
    await client.quit().catch(() => {});
    await direct.quit();
    await px.close();
});

test('a window policy counted for the fleet trips on the fleet sums where no instance sees minimumCalls', { timeout: 30_000 }, async () => {
    const client = await connected();
    const name = unique('window');
    const make = () =>
        new FleetBreaker({
            name,
            store: new RedisFleetStore(client),
            trip: { timeWindow: { percent: 50, windowMs: 10_000, buckets: 10, minimumCalls: 10 } },
            openMs: 30_000,
            syncMs: 20,
            fleet: { count: true },
        });
    const a = make();
    const b = make();
    await a.ready();
    await b.ready();
    for (let i = 0; i < 6; i++) {
        await a.execute(() => Promise.reject(new Error('down'))).catch(() => {});
        await b.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    }
    // Six failures each: below minimumCalls locally; twelve for the fleet.
    assert.equal(a.local.metrics().window.calls, 6);
    await eventually(10_000, 'the fleet opens on its sums, and both adopt it', async () => {
        await a.execute(() => 1).catch(() => {});
        await b.execute(() => 1).catch(() => {});
        return a.state === 'open' && b.state === 'open';
    });
    assert.match(await client.hGet(RedisFleetStore.keys(name).record, 'record'), /^mode=open/);
    await a.close();
    await b.close();
    await client.quit();
});

const CLUSTER = process.env.HALFOPEN_REDIS_CLUSTER;

test('on a 3-master Redis Cluster: one slot per breaker, a trip propagates, a probe closes', { timeout: 60_000, skip: CLUSTER ? false : 'HALFOPEN_REDIS_CLUSTER is not set (scripts/redis.sh sets it)' }, async () => {
    const { createCluster } = await import('redis');
    const rootNodes = CLUSTER.split(',').map((url) => ({ url }));
    const clusters = [];
    const cluster = async () => {
        const c = createCluster({ rootNodes });
        c.on('error', () => {});
        await c.connect();
        clusters.push(c);
        return c;
    };
    const name = unique('cluster');
    const make = async () =>
        new FleetBreaker({
            name,
            store: new RedisFleetStore(await cluster(), { cluster: true, subscriber: await cluster() }),
            trip: { consecutiveFailures: 3 },
            openMs: 300,
            syncMs: 50,
            fleet: { leaseMs: 2_000 },
        });
    const a = await make();
    const b = await make();
    await a.ready();
    await b.ready();
    assert.equal(a.metrics().fleet.attached, true);
    for (let i = 0; i < 3; i++) await a.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    await eventually(5_000, 'b adopts the trip', () => b.state !== 'closed');
    await eventually(10_000, 'a probe closes the fleet', async () => {
        await a.execute(() => 1).catch(() => {});
        await b.execute(() => 1).catch(() => {});
        return a.state === 'closed' && b.state === 'closed';
    });
    const record = await clusters[0].hGetAll(RedisFleetStore.keys(name).record);
    assert.match(record.record, /^mode=closed/);
    assert.equal(record.config, a.configText);
    await a.close();
    await b.close();
    for (const c of clusters) await c.quit();
});
