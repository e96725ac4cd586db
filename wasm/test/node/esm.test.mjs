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
} from 'halfopen';

const here = dirname(fileURLToPath(import.meta.url));
const fail = () => Promise.reject(new Error('boom'));

async function trip(breaker, n) {
    for (let i = 0; i < n; i++) await assert.rejects(breaker.execute(fail), /boom/);
}

test('import and require share one instance (one set of error classes)', () => {
    const require = createRequire(import.meta.url);
    const cjs = require('halfopen');
    assert.equal(cjs.CircuitBreaker, CircuitBreaker);
    assert.equal(cjs.BrokenCircuitError, BrokenCircuitError);
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
    assert.throws(() => p.success(), /already recorded/);
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
    assert.equal(bytes.length, 40);
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
    assert.throws(() => CircuitBreaker.restore(bytes.subarray(1), options), (e) => e.reason === 'length' && /39 bytes/.test(e.message));
    assert.throws(() => CircuitBreaker.restore('bytes', options), TypeError);
});

test('bad options throw TypeError / RangeError naming the key and the range', () => {
    const cases = [
        [{ openMs: 0 }, RangeError, 'openMs', /openMs = 0 is out of range 1\.\.=2147483647/],
        [{ openMs: -1 }, RangeError, 'openMs', /out of range/],
        [{ openMs: NaN }, TypeError, 'openMs', /integer in 1\.\.=2147483647, got NaN/],
        [{ openMs: Infinity }, RangeError, 'openMs', /got Infinity/],
        [{ openMs: 1.5 }, RangeError, 'openMs', /got 1\.5/],
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
