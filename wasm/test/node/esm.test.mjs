import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
    CircuitBreaker,
    BrokenCircuitError,
    IsolatedCircuitError,
    CallTimeoutError,
    SnapshotError,
    presets,
} from 'halfopen';

const here = dirname(fileURLToPath(import.meta.url));
const fail = () => Promise.reject(new Error('boom'));

async function trip(breaker, n) {
    for (let i = 0; i < n; i++) await assert.rejects(breaker.execute(fail), /boom/);
}

test('import and require: their classes recognise each other\'s instances', () => {
    // One copy or two (errors.test.mjs loads a second one on purpose),
    // `instanceof` holds both ways.
    const require = createRequire(import.meta.url);
    const cjs = require('halfopen');
    assert.ok(new cjs.CircuitBreaker() instanceof CircuitBreaker);
    assert.ok(new CircuitBreaker() instanceof cjs.CircuitBreaker);
    assert.ok(new cjs.BrokenCircuitError('open', 5) instanceof BrokenCircuitError);
    assert.ok(new BrokenCircuitError('open', 5) instanceof cjs.BrokenCircuitError);
});

test('execute returns the operation\'s value, async or sync', async () => {
    const b = new CircuitBreaker();
    assert.equal(await b.execute(async () => 42), 42);
    assert.equal(await b.execute(() => 'sync'), 'sync');
    await assert.rejects(b.execute(() => { throw new Error('sync throw'); }), /sync throw/);
    assert.equal(b.metrics().successes, 2);
    assert.equal(b.metrics().failures, 1);
});

test('trips, rejects with BrokenCircuitError, half-opens, closes', async () => {
    let now = 1_000;
    const b = new CircuitBreaker({ trip: { consecutiveFailures: 2 }, openMs: 500, clock: () => now });
    const changes = [];
    const off = b.onStateChange((c) => changes.push(`${c.from}->${c.to}`));
    await trip(b, 2);
    assert.equal(b.state, 'open');
    const e = await b.execute(async () => 1).catch((x) => x);
    assert.ok(e instanceof BrokenCircuitError && e instanceof Error);
    assert.equal(e.name, 'BrokenCircuitError');
    assert.equal(e.reason, 'open');
    assert.equal(e.retryAfterMs, 500);
    assert.match(e.message, /circuit open.*retry in 500 ms/);
    now += 500;
    assert.equal(b.state, 'halfOpen');
    assert.equal(await b.execute(async () => 'trial'), 'trial');
    assert.equal(b.state, 'closed');
    assert.deepEqual(changes, ['closed->open', 'open->halfOpen', 'halfOpen->closed']);
    off();
    b.isolate();
    assert.deepEqual(changes.length, 3);
    const iso = await b.execute(async () => 1).catch((x) => x);
    assert.ok(iso instanceof IsolatedCircuitError);
    assert.equal(iso.reason, 'isolated');
    b.reset();
    assert.equal(b.state, 'closed');
});

test('half-open lets halfOpenMaxCalls trials through, rejects the rest as halfOpenFull', async () => {
    let now = 0;
    const b = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, openMs: 10, clock: () => now });
    await trip(b, 1);
    now = 10;
    let release;
    const trial = b.execute(() => new Promise((r) => (release = r)));
    const e = await b.execute(async () => 1).catch((x) => x);
    assert.ok(e instanceof BrokenCircuitError);
    assert.equal(e.reason, 'halfOpenFull');
    assert.equal(e.retryAfterMs, undefined);
    release('done');
    assert.equal(await trial, 'done');
    assert.equal(b.state, 'closed');
});

test('fallback answers rejected calls', async () => {
    const b = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, fallback: (err) => `fallback:${err.reason}` });
    await trip(b, 1);
    assert.equal(await b.execute(async () => 'live'), 'fallback:open');
});

test('isFailure and isResultFailure classify', async () => {
    const b = new CircuitBreaker({
        trip: { consecutiveFailures: 1 },
        isFailure: (e) => e.message !== 'not found',
        isResultFailure: (r) => r === 503,
    });
    await assert.rejects(b.execute(async () => { throw new Error('not found'); }), /not found/);
    assert.equal(b.state, 'closed');
    assert.equal(b.metrics().ignored, 1);
    assert.equal(await b.execute(async () => 503), 503);
    assert.equal(b.state, 'open');
});

test('timeoutMs aborts the signal, counts a failure, rejects with CallTimeoutError', async () => {
    const b = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, timeoutMs: 20 });
    let signal;
    const e = await b
        .execute(({ signal: s }) => {
            signal = s;
            return new Promise(() => {});
        })
        .catch((x) => x);
    assert.ok(e instanceof CallTimeoutError);
    assert.equal(e.timeoutMs, 20);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, e);
    assert.equal(b.state, 'open');
});

test('a caller\'s signal cancels the call: a drop, counted toward nothing', async () => {
    const b = new CircuitBreaker({ trip: { consecutiveFailures: 1 } });
    const ac = new AbortController();
    const p = b.execute(() => new Promise(() => {}), { signal: ac.signal });
    ac.abort(new Error('cancelled'));
    await assert.rejects(p, /cancelled/);
    const m = b.metrics();
    assert.equal(m.failures + m.successes + m.ignored, 0);
    assert.equal(b.state, 'closed');
    await assert.rejects(b.execute(async () => 1, { signal: AbortSignal.abort(new Error('already')) }), /already/);
});

test('tryAcquire gives permits; outcomes once; release after an outcome is a no-op', () => {
    const b = new CircuitBreaker({ trip: { consecutiveFailures: 2 } });
    const p = b.tryAcquire();
    p.failure();
    assert.throws(() => p.success(), { name: 'PermitError', code: 'alreadyRecorded' });
    p.release();
    const q = b.tryAcquire();
    q.failure();
    assert.equal(b.tryAcquire(), undefined);
    assert.equal(b.metrics().rejected, 1);
});

test('metrics, snapshot and restore carry the state', () => {
    let now = 5_000;
    const options = { trip: { failureRate: { percent: 50, window: 4, minimumCalls: 2 } }, openMs: 1_000, clock: () => now };
    const b = new CircuitBreaker(options);
    b.tryAcquire().success();
    b.tryAcquire().failure();
    const m = b.metrics();
    assert.equal(m.state, 'open');
    assert.equal(m.openedAt, 5_000);
    assert.equal(m.retryAt, 6_000);
    const bytes = b.snapshot();
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(bytes.length, 48);
    const r = CircuitBreaker.restore(bytes, options);
    assert.equal(r.state, 'open');
    assert.equal(CircuitBreaker.restore(bytes.buffer, options).state, 'open');
    assert.equal(CircuitBreaker.restore(null, options).state, 'closed');
    const foreign = (() => { try { CircuitBreaker.restore(bytes, { openMs: 1_000 }); } catch (e) { return e; } })();
    assert.ok(foreign instanceof SnapshotError);
    assert.equal(foreign.reason, 'foreignConfig');
    const damaged = bytes.slice();
    damaged[10] ^= 1;
    assert.throws(() => CircuitBreaker.restore(damaged, options), (e) => e instanceof SnapshotError && e.reason === 'checksum');
    assert.throws(() => CircuitBreaker.restore(bytes.subarray(1), options), (e) => e.reason === 'length' && /47 bytes/.test(e.message));
    assert.throws(() => CircuitBreaker.restore(new Uint8Array(49), options), (e) => e.reason === 'length' && /49 bytes/.test(e.message));
    assert.throws(() => CircuitBreaker.restore('bytes', options), TypeError);
});

test('bad options throw TypeError / RangeError naming the key and the range', () => {
    const cases = [
        [{ openMs: 0 }, RangeError, 'openMs', /openMs = 0 is out of range 1\.\.=2147483647/],
        [{ openMs: -1 }, RangeError, 'openMs', /out of range/],
        [{ openMs: NaN }, RangeError, 'openMs', /^openMs = NaN is out of range 1\.\.=2147483647$/],
        [{ openMs: Infinity }, RangeError, 'openMs', /^openMs = Infinity is out of range 1\.\.=2147483647$/],
        [{ openMs: 1.5 }, RangeError, 'openMs', /^openMs = 1\.5 is out of range 1\.\.=2147483647: not an integer$/],
        [{ openMs: '100' }, TypeError, 'openMs', /got "100" \(a string\)/],
        [{ halfOpenMaxCalls: 256 }, RangeError, 'halfOpenMaxCalls', /1\.\.=255/],
        [{ trip: { failureRate: { percent: 50, window: 65, minimumCalls: 1 } } }, RangeError, 'failureRate.window', /1\.\.=64/],
        [{ trip: { failureRate: { percent: 50, window: 10, minimumCalls: 11 } } }, RangeError, 'failureRate.minimumCalls', /1\.\.=10/],
        [{ trip: { timeWindow: { percent: 50, windowMs: 1_001, buckets: 10, minimumCalls: 1 } } }, RangeError, 'timeWindow.windowMs', /multiple of timeWindow\.buckets/],
        [{ trip: { timeWindow: { percent: 50, windowMs: 1_000, buckets: 0, minimumCalls: 1 } } }, RangeError, 'timeWindow.buckets', /1\.\.=64/],
        [{ backoff: { factor: 2, maxOpenMs: 10 } }, RangeError, 'backoff.maxOpenMs', /30000\.\.=2147483647/],
        [{ backoff: { factor: 17, maxOpenMs: 60_000 } }, RangeError, 'backoff.factor', /1\.\.=16/],
        [{ backoff: { factor: 2 } }, TypeError, 'backoff.maxOpenMs', /missing/],
        [{ trip: {} }, TypeError, 'trip', /one policy/],
        [{ trip: { consecutive: 3 } }, TypeError, 'consecutive', /unknown trip policy/],
        [{ trip: { consecutiveFailures: 3, failureRate: { percent: 1, window: 1, minimumCalls: 1 } } }, TypeError, 'trip', /more than one/],
        [{ openms: 5 }, TypeError, 'openms', /unknown option openms/],
        [{ clock: 5 }, TypeError, 'clock', /must be a function/],
        [{ timeoutMs: 0 }, RangeError, 'timeoutMs', /1\.\.=2147483647/],
        [{ halfOpenMaxWaitMs: 0 }, RangeError, 'halfOpenMaxWaitMs', /halfOpenMaxWaitMs = 0 is out of range 1\.\.=2147483647/],
        [{ jitter: { percent: 101 } }, RangeError, 'jitter.percent', /1\.\.=100/],
        [{ jitter: { seed: 1 } }, TypeError, 'jitter.percent', /jitter\.percent is missing/],
        [{ jitter: { percent: 10, seed: 2 ** 32 } }, RangeError, 'jitter.seed', /0\.\.=4294967295/],
        [{ jitter: { percent: 10, salt: 1 } }, TypeError, 'jitter.salt', /unknown option jitter\.salt/],
        [{ trip: { failureRate: { window: 10 } } }, TypeError, 'failureRate.percent', /failureRate\.percent is missing/],
        [{ trip: { failureRate: { failures: 11, window: 10 } } }, RangeError, 'failureRate.failures', /1\.\.=10/],
        [{ trip: { timeWindow: { failures: 0, windowMs: 1_000, buckets: 10 } } }, RangeError, 'timeWindow.failures', /1\.\.=2147483647/],
        [{ sameClock: true }, TypeError, 'sameClock', /unknown option sameClock/],
        ['fast', TypeError, '', /options must be an object/],
    ];
    for (const [options, Ctor, key, message] of cases) {
        assert.throws(
            () => new CircuitBreaker(options),
            (e) => {
                assert.equal(e.constructor, Ctor, `${JSON.stringify(options)}: ${e}`);
                assert.equal(e.key, key);
                assert.match(e.message, message);
                return true;
            },
        );
    }
});

test('a faulty clock is reported by the operation that read it', async () => {
    let t = 0;
    const b = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, clock: () => t });
    b.tryAcquire().failure();
    t = 'later';
    assert.throws(() => b.state, /clock\(\) must return a number/);
    t = 10;
    assert.equal(b.state, 'open');
});

test('a throwing listener disturbs neither the breaker nor the call', () => {
    // In a process of its own: the listener's error is reported as uncaught.
    const script = `
        import { CircuitBreaker } from 'halfopen';
        const seen = [];
        process.on('uncaughtException', (e) => seen.push(e.message));
        const b = new CircuitBreaker({ trip: { consecutiveFailures: 1 } });
        b.onStateChange(() => { throw new Error('listener bug'); });
        const r = await b.execute(async () => { throw new Error('boom'); }).catch((e) => e.message);
        await new Promise((r) => setImmediate(r));
        console.log(JSON.stringify({ r, state: b.state, seen }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: here, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), { r: 'boom', state: 'open', seen: ['listener bug'] });
});

test('the count rule, halfOpenMaxWaitMs and jitter', () => {
    let now = 0;
    // 3 failures within 1 s, whatever the successes.
    const count = new CircuitBreaker({ trip: { timeWindow: { failures: 3, windowMs: 1_000, buckets: 10 } }, clock: () => now });
    for (let i = 0; i < 20; i++) count.tryAcquire().success();
    count.tryAcquire().failure();
    count.tryAcquire().failure();
    assert.equal(count.state, 'closed');
    count.tryAcquire().failure();
    assert.equal(count.state, 'open');
    // A trial that never reports re-opens the breaker at the deadline.
    now = 0;
    const changes = [];
    const wait = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, openMs: 100, halfOpenMaxWaitMs: 50, clock: () => now });
    wait.onStateChange((c) => changes.push(`${c.from}->${c.to}:${c.cause}`));
    wait.tryAcquire().failure();
    now = 100;
    const lostTrial = wait.tryAcquire();
    assert.ok(lostTrial);
    now = 149;
    assert.equal(wait.state, 'halfOpen');
    now = 150;
    assert.equal(wait.state, 'open');
    assert.equal(wait.tryAcquire(), undefined);
    assert.deepEqual(changes, ['closed->open:trip', 'open->halfOpen:retryAt', 'halfOpen->open:halfOpenMaxWait']);
    lostTrial.success();
    // Jitter shortens an opening deterministically (BEHAVIOR.md's formula).
    const fmix32 = (h) => {
        h ^= h >>> 16;
        h = Math.imul(h, 0x85ebca6b) >>> 0;
        h ^= h >>> 13;
        h = Math.imul(h, 0xc2b2ae35) >>> 0;
        h ^= h >>> 16;
        return h >>> 0;
    };
    for (const seed of [0, 1, 42, 2 ** 32 - 1]) {
        now = 1_000;
        const j = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, openMs: 10_000, jitter: { percent: 20, seed }, clock: () => now });
        j.tryAcquire().failure();
        const d = 10_000 - Math.floor((Math.floor((10_000 * 20) / 100) * fmix32(seed)) / 2 ** 32);
        assert.equal(j.metrics().retryAt, 1_000 + d, `seed ${seed}`);
    }
});

test('adopt: a fleet state, with its cause; a bad remaining time is a RangeError naming remainingMs', () => {
    let now = 1_000;
    const b = new CircuitBreaker({ trip: { consecutiveFailures: 5 }, openMs: 30_000, clock: () => now });
    const changes = [];
    b.onStateChange((c) => changes.push([c.from, c.to, c.cause]));
    b.adopt({ state: 'open', remainingMs: 12_000, k: 1 });
    assert.equal(b.state, 'open');
    assert.equal(b.metrics().retryAt, 13_000);
    // An open breaker stays open at least as long as the fleet says.
    b.adopt({ state: 'open', remainingMs: 5_000, k: 0 });
    assert.equal(b.metrics().retryAt, 13_000);
    b.adopt({ state: 'open', remainingMs: 20_000 });
    assert.equal(b.metrics().retryAt, 21_000);
    b.adopt({ state: 'closed' });
    assert.equal(b.state, 'closed');
    b.adopt({ state: 'closed' });
    b.adopt({ state: 'isolated' });
    assert.equal(b.state, 'isolated');
    b.adopt({ state: 'open', remainingMs: 1, k: 0 });
    assert.equal(b.state, 'isolated');
    assert.deepEqual(changes, [
        ['closed', 'open', 'fleet'],
        ['open', 'closed', 'fleet'],
        ['closed', 'isolated', 'fleet'],
    ]);
    b.reset();
    assert.equal(b.state, 'closed');
    assert.equal(b.metrics().transitions, 4);
});

test('restore: Date.now counts the downtime; a user clock re-bases unless sameClock', () => {
    const options = { trip: { consecutiveFailures: 1 }, openMs: 60_000 };
    // Default clock: opened 50 s ago by Date.now, 10 s left.
    let now = Date.now() - 50_000;
    const old = new CircuitBreaker({ ...options, clock: () => now });
    old.tryAcquire().failure();
    const bytes = old.snapshot();
    const wall = CircuitBreaker.restore(bytes, options);
    const left = wall.metrics().retryAt - Date.now();
    assert.ok(left > 9_000 && left <= 10_000, `${left} ms left`);
    // A user clock that starts again from zero: the 60 s are left from the restore.
    now = 0;
    const rebased = CircuitBreaker.restore(bytes, { ...options, clock: () => now });
    assert.equal(rebased.metrics().retryAt, 60_000);
    // The same user clock, said to be the same: times kept.
    now = Date.now();
    const same = CircuitBreaker.restore(bytes, { ...options, clock: () => now, sameClock: true });
    assert.ok(Math.abs(same.metrics().retryAt - (now + 10_000)) < 1_000);
    // Date.now, said to be another clock: re-based at the snapshot's time left.
    const other = CircuitBreaker.restore(bytes, { ...options, sameClock: false });
    assert.ok(other.metrics().retryAt - Date.now() > 59_000);
    // Past the open period on the same clock: a trial goes through.
    now = Date.now() + 20_000;
    const late = CircuitBreaker.restore(bytes, { ...options, clock: () => now, sameClock: true });
    assert.equal(late.state, 'halfOpen');
    assert.throws(() => CircuitBreaker.restore(bytes, { ...options, sameClock: 'yes' }), (e) => e instanceof TypeError && e.key === 'sameClock');
});

test('restore reads a snapshot of the previous format (40 bytes)', () => {
    // Version 1: magic, version 1, state open, epoch 1, k 0, policy 0,
    // openedAt 5000, the configuration's fingerprint, FNV-1a checksum.
    const fnv1a = (bytes) => bytes.reduce((h, b) => Math.imul(h ^ b, 0x01000193) >>> 0, 0x811c9dc5);
    const options = { trip: { consecutiveFailures: 1 }, openMs: 60_000, clock: () => 6_000 };
    const v2 = (() => {
        const b = new CircuitBreaker({ ...options, clock: () => 5_000 });
        b.tryAcquire().failure();
        return b.snapshot();
    })();
    // The fingerprint of version 1: FNV-1a of 28 bytes of the configuration.
    const f = new Uint8Array(28);
    const dv = new DataView(f.buffer);
    f[0] = 0;
    dv.setUint16(1, 1, true);
    dv.setUint32(12, 60_000, true);
    f[16] = 1;
    dv.setUint16(18, 1, true);
    dv.setUint32(24, 60_000, true);
    const v1 = new Uint8Array(40);
    const w = new DataView(v1.buffer);
    v1.set(v2.subarray(0, 8));
    v1[2] = 1;
    w.setBigUint64(8, 5_000n, true);
    w.setUint32(32, fnv1a(f), true);
    w.setUint32(36, fnv1a(v1.subarray(0, 36)), true);
    const b = CircuitBreaker.restore(v1, options);
    assert.equal(b.state, 'open');
    assert.equal(b.metrics().retryAt, 65_000);
});

test('presets: the core\'s configurations as options, frozen, that build breakers', () => {
    const names = ['httpApi', 'database', 'criticalService', 'highVolume', 'platformApi', 'realtime', 'embeddingService', 'cloudService', 'serviceBus', 'blobStorage', 'keyVault'];
    assert.deepEqual(Object.keys(presets), names);
    assert.ok(Object.isFrozen(presets) && Object.isFrozen(presets.keyVault.trip.timeWindow));
    for (const name of names) {
        const b = new CircuitBreaker({ ...presets[name], fallback: () => 'cached' });
        assert.equal(b.state, 'closed', name);
    }
    assert.deepEqual(presets.httpApi, { trip: { consecutiveFailures: 5 }, openMs: 30_000, halfOpenMaxCalls: 1, successThreshold: 1 });
    assert.deepEqual(presets.cloudService, {
        trip: { timeWindow: { failures: 5, windowMs: 60_000, buckets: 12 } },
        openMs: 30_000,
        halfOpenMaxCalls: 5,
        successThreshold: 3,
        timeoutMs: 10_000,
    });
    assert.equal(presets.serviceBus.timeoutMs, 5_000);
    assert.equal(presets.database.timeoutMs, undefined);
});
