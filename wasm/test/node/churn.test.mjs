// Many breakers created and freed: the wasm memory stops growing after the
// first round (freed memory is reused), and the package still works after
// the churn. Not a timing test: churn.mjs (one folder up) measures the time.
//
// The JS API frees a breaker's memory when the breaker is collected; to free
// them deterministically this test calls the module's own `create` and
// `free` exports, the calls the CircuitBreaker constructor and its
// FinalizationRegistry make.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureWasm } from '../churn.mjs';

const wasm = captureWasm();
const { CircuitBreaker, BrokenCircuitError } = await import('halfopen');
const exports = wasm();
const memory = () => exports.memory.buffer.byteLength;

const ROUNDS = 3;
const BREAKERS = 20_000;

/** Creates `n` breakers (default configuration), then frees them all; returns their handles. */
function churn(n) {
    const handles = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
        handles[i] = exports.create(0, 0, 0);
        assert.notEqual(handles[i], 0, 'create refused the default configuration');
    }
    for (let i = 0; i < n; i++) exports.free(handles[i]);
    return handles;
}

test(`${ROUNDS} rounds of ${BREAKERS} breakers created and freed: the memory does not grow after the first`, () => {
    const before = memory();
    const first = churn(BREAKERS);
    const after = memory();
    assert.ok(after > before, `${BREAKERS} live breakers need more than the initial ${before} bytes`);
    assert.equal(new Set(first).size, BREAKERS, 'live breakers have distinct addresses');
    for (let r = 2; r <= ROUNDS; r++) {
        const handles = churn(BREAKERS);
        assert.equal(memory(), after, `round ${r}: the memory grew from ${after} to ${memory()} bytes`);
        assert.equal(new Set(handles).size, BREAKERS, `round ${r}: live breakers have distinct addresses`);
    }
});

test('a breaker made after the churn trips and rejects as documented', async () => {
    churn(BREAKERS);
    let now = 1_000;
    const b = new CircuitBreaker({ trip: { consecutiveFailures: 2 }, openMs: 500, clock: () => now });
    assert.equal(await b.execute(async () => 'ok'), 'ok');
    for (let i = 0; i < 2; i++) {
        await assert.rejects(b.execute(() => Promise.reject(new Error('boom'))), /boom/);
    }
    assert.equal(b.state, 'open');
    const e = await b.execute(async () => 1).catch((x) => x);
    assert.ok(e instanceof BrokenCircuitError);
    assert.equal(e.reason, 'open');
    assert.equal(e.retryAfterMs, 500);
    assert.deepEqual(
        [b.metrics().successes, b.metrics().failures, b.metrics().rejected],
        [1, 2, 1],
    );
    now += 500;
    assert.equal(b.state, 'halfOpen');
    assert.equal(await b.execute(async () => 'trial'), 'trial');
    assert.equal(b.state, 'closed');
});

test('breakers live through other breakers\' churn keep their own state', async () => {
    const keep = Array.from({ length: 100 }, (_, i) => new CircuitBreaker({ trip: { consecutiveFailures: 1 + (i % 3) } }));
    for (const [i, b] of keep.entries()) {
        if (i % 2 === 0) for (let k = 0; k < 1 + (i % 3); k++) await b.execute(() => Promise.reject(new Error('x'))).catch(() => {});
    }
    churn(BREAKERS);
    for (const [i, b] of keep.entries()) {
        assert.equal(b.state, i % 2 === 0 ? 'open' : 'closed', `breaker ${i}`);
        assert.equal(b.metrics().failures, i % 2 === 0 ? 1 + (i % 3) : 0, `breaker ${i}`);
    }
});
