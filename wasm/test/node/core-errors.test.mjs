// Every error the JS API can get from the core, triggered through the JS API:
// its message must be the core's Display text, as core-errors.json (generated
// from the Rust side by wasm/tests/generated.rs) records it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CircuitBreaker, BrokenCircuitError, IsolatedCircuitError, SnapshotError } from 'halfopen';

const cases = JSON.parse(readFileSync(new URL('./core-errors.json', import.meta.url), 'utf8'));

/** The JS options of the core's key/value pairs: policies under `trip`, dotted keys as objects. */
function options(pairs) {
    const o = {};
    for (const [key, value] of pairs) {
        const [head, field] = key.split('.');
        const into = cases.tripPolicies.includes(head) ? (o.trip ??= {}) : o;
        if (field === undefined) into[head] = value;
        else (into[head] ??= {})[field] = value;
    }
    return o;
}

test('configuration errors: the core\'s message, key and error class, for every key and kind', () => {
    assert.ok(cases.config.length > 30);
    for (const c of cases.config) {
        const opts = options(c.pairs);
        assert.throws(
            () => new CircuitBreaker(opts),
            (e) => {
                const what = JSON.stringify(opts);
                assert.equal(e.constructor.name, c.type, what);
                assert.equal(e.key, c.key, what);
                assert.equal(e.message, c.message, what);
                return true;
            },
        );
    }
    const kinds = new Set(cases.config.map((c) => c.message.replace(/^\S+ /, '')));
    assert.ok([...kinds].some((m) => /is missing/.test(m)) && [...kinds].some((m) => /not a multiple/.test(m)));
});

/** The scenarios of the rejections the generator recorded, played through the JS API. */
const scenarios = {
    async open() {
        let now = 0;
        const b = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, openMs: 1_000, clock: () => now });
        b.tryAcquire().failure();
        now = 250;
        return b.execute(async () => 1).catch((e) => e);
    },
    async halfOpenFull() {
        let now = 0;
        const b = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, openMs: 1_000, clock: () => now });
        b.tryAcquire().failure();
        now = 1_000;
        const trial = b.tryAcquire();
        const e = await b.execute(async () => 1).catch((x) => x);
        trial.success();
        return e;
    },
    async isolated() {
        const b = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, openMs: 1_000 });
        b.isolate();
        return b.execute(async () => 1).catch((e) => e);
    },
    async clockOutOfRange() {
        const b = new CircuitBreaker({ slowCallMs: 100, clock: () => 2 ** 59 });
        return b.execute(async () => 1).catch((e) => e);
    },
};

test('rejections: the core\'s message for every reason', async () => {
    assert.deepEqual(
        cases.rejections.map((r) => r.reason).sort(),
        ['clockOutOfRange', 'halfOpenFull', 'isolated', 'open'],
    );
    for (const r of cases.rejections) {
        const e = await scenarios[r.scenario]();
        assert.ok(e instanceof (r.reason === 'isolated' ? IsolatedCircuitError : BrokenCircuitError), r.scenario);
        assert.equal(e.reason, r.reason);
        assert.equal(e.message, r.message);
        if (r.reason !== 'isolated') assert.equal(e.retryAfterMs, r.retryAfterMs ?? undefined);
    }
});

test('snapshot refusals: the core\'s reason and message for every refusal', () => {
    assert.deepEqual(
        cases.snapshots.map((s) => s.reason),
        ['length', 'magic', 'version', 'checksum', 'foreignConfig', 'invalid'],
    );
    for (const s of cases.snapshots) {
        assert.throws(
            () => CircuitBreaker.restore(Uint8Array.from(s.bytes), options(s.pairs)),
            (e) => {
                assert.ok(e instanceof SnapshotError);
                assert.equal(e.reason, s.reason);
                assert.equal(e.message, s.message);
                return true;
            },
        );
    }
});

test('a fleet state the core refuses: its range, as a RangeError naming remainingMs in the words of every number option', () => {
    // The core's FleetError reads `fleet remainingMs = V is out of range
    // MIN..=MAX`: the JS API names the option by its path, `remainingMs`
    // (its `key`), as every number option's error does.
    const b = new CircuitBreaker();
    assert.match(cases.fleet.message, /^fleet remainingMs = \d+ is out of range \d+\.\.=\d+$/);
    assert.throws(
        () => b.adopt({ state: 'open', remainingMs: cases.fleet.remainingMs, k: 0 }),
        (e) => e instanceof RangeError && e.key === 'remainingMs' && e.message === cases.fleet.message.replace(/^fleet /, ''),
    );
    assert.equal(b.state, 'closed');
});

test('a snapshot the core accepts, from the same bytes the refusals were cut from', () => {
    // foreignConfig's bytes are a good snapshot of its breaker's neighbour.
    const good = cases.snapshots.find((s) => s.reason === 'foreignConfig');
    const b = CircuitBreaker.restore(Uint8Array.from(good.bytes), { trip: { consecutiveFailures: 1 }, openMs: 60_000, clock: () => 5_000, sameClock: true });
    assert.equal(b.state, 'open');
});

test('untimed and timed permits round-trip through the JS layer', async () => {
    // No slowCallMs: the closed-state fast path. With it, a start time of 0
    // is a real start time (a clock at 0), not "untimed".
    let now = 0;
    const timed = new CircuitBreaker({ trip: { consecutiveFailures: 1 }, slowCallMs: 10, clock: () => now });
    const p = timed.tryAcquire();
    now = 10;
    p.success();
    assert.equal(timed.metrics().slowCalls, 1, 'slow: 10 ms from a start at 0');
    assert.equal(timed.state, 'open');
    const plain = new CircuitBreaker();
    for (let i = 0; i < 3; i++) assert.equal(await plain.execute(async () => i), i);
    plain.tryAcquire().success();
    assert.equal(plain.metrics().successes, 4);
});
