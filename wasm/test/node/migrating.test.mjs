// The equivalences MIGRATING.md states for when a breaker opens, checked
// against the real packages: the same outcomes are fed to opossum or
// cockatiel and to halfopen configured as the table says. Consecutive
// failures open at the same call. The rate rules differ by one comparison
// (they open above p %, halfopen at percent % or more), so halfopen with
// `percent: p` opens at the same call or earlier (on a call where exactly
// p % failed) and with `percent: p + 1` at the same call or later. Random outcome sequences, seeded, so a failure names a
// sequence that can be replayed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Opossum from 'opossum';
import { circuitBreaker, ConsecutiveBreaker, CountBreaker, handleAll, CircuitState } from 'cockatiel';
import { CircuitBreaker } from 'halfopen';

/** xorshift32: outcome sequences that depend on the seed alone. */
function outcomes(seed, length, failPercent) {
    let x = seed >>> 0 || 1;
    const out = [];
    for (let i = 0; i < length; i++) {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        out.push(x % 100 < failPercent);
    }
    return out;
}

/** The index of the call after which the breaker is open, or -1. */
async function openedAt(sequence, call, isOpen) {
    for (let i = 0; i < sequence.length; i++) {
        const failed = sequence[i];
        await call(failed).catch(() => {});
        if (isOpen()) return i;
    }
    return -1;
}

function halfopen(options) {
    // A clock that never moves: every outcome lands in the window.
    const breaker = new CircuitBreaker({ ...options, clock: () => 1_000 });
    return {
        call: (failed) => breaker.execute(() => (failed ? Promise.reject(new Error('down')) : 'ok')),
        isOpen: () => breaker.state === 'open',
    };
}

const SEEDS = Array.from({ length: 40 }, (_, i) => 0x9e3779b9 * (i + 1));

test('opossum: errorThresholdPercentage p, volumeThreshold v opens between timeWindow percent p and p + 1, minimumCalls v', async (t) => {
    let compared = 0;
    let same = 0;
    for (const [p, v] of [
        [50, 10],
        [25, 5],
        [10, 20],
    ]) {
        for (const seed of SEEDS) {
            const sequence = outcomes(seed, 60, 15 + (seed % 50));
            let fail = false;
            const o = new Opossum(async () => { if (fail) throw new Error('down'); return 'ok'; }, {
                timeout: false,
                errorThresholdPercentage: p,
                volumeThreshold: v,
                rollingCountTimeout: 10_000,
                rollingCountBuckets: 10,
                resetTimeout: 30_000,
            });
            const theirs = await openedAt(sequence, (f) => { fail = f; return o.fire(); }, () => o.opened);
            o.shutdown();
            const at = async (percent) => {
                const h = halfopen({ trip: { timeWindow: { percent, windowMs: 10_000, buckets: 10, minimumCalls: v } }, openMs: 30_000 });
                return openedAt(sequence, h.call, h.isOpen);
            };
            const [early, late] = [await at(p), await at(p + 1)];
            if (theirs === -1) {
                assert.equal(late, -1, `p=${p} v=${v} seed=${seed}: opossum never opened, halfopen with percent p + 1 after ${late}`);
                continue;
            }
            const where = `p=${p} v=${v} seed=${seed}: opossum opened after call ${theirs}, halfopen with percent p after ${early}, p + 1 after ${late}`;
            assert.ok(early >= 0 && early <= theirs && (late === -1 || late >= theirs), where);
            if (early === theirs) same++;
            compared++;
        }
    }
    // The sequences must actually open the breakers, or nothing was compared.
    assert.ok(compared > 60, `only ${compared} sequences opened a breaker`);
    t.diagnostic(`${compared} openings compared, ${same} at the same call with percent p`);
});

test('cockatiel: CountBreaker threshold t, size s, minimumNumberOfCalls m opens between failureRate percent 100t and 100t + 1', async (t) => {
    let compared = 0;
    let same = 0;
    for (const [threshold, size, minimum] of [
        [0.5, 20, 10],
        [0.2, 64, 64],
        [0.3, 10, 1],
    ]) {
        for (const seed of SEEDS) {
            const sequence = outcomes(seed, 120, 10 + (seed % 60));
            const policy = circuitBreaker(handleAll, {
                halfOpenAfter: 30_000,
                breaker: new CountBreaker({ threshold, size, minimumNumberOfCalls: minimum }),
            });
            const theirs = await openedAt(
                sequence,
                (f) => policy.execute(() => (f ? Promise.reject(new Error('down')) : 'ok')),
                () => policy.state === CircuitState.Open,
            );
            const at = async (percent) => {
                const h = halfopen({ trip: { failureRate: { percent, window: size, minimumCalls: minimum } }, openMs: 30_000 });
                return openedAt(sequence, h.call, h.isOpen);
            };
            const p = Math.round(threshold * 100);
            const [early, late] = [await at(p), await at(p + 1)];
            if (theirs === -1) {
                assert.equal(late, -1, `t=${threshold} s=${size} m=${minimum} seed=${seed}: cockatiel never opened, halfopen with percent p + 1 after ${late}`);
                continue;
            }
            const where = `t=${threshold} s=${size} m=${minimum} seed=${seed}: cockatiel opened after call ${theirs}, halfopen with percent p after ${early}, p + 1 after ${late}`;
            assert.ok(early >= 0 && early <= theirs && (late === -1 || late >= theirs), where);
            if (early === theirs) same++;
            compared++;
        }
    }
    assert.ok(compared > 60, `only ${compared} sequences opened a breaker`);
    t.diagnostic(`${compared} openings compared, ${same} at the same call with percent p`);
});

test('cockatiel: ConsecutiveBreaker(n) opens where consecutiveFailures n does', async () => {
    for (const n of [1, 3, 5]) {
        for (const seed of SEEDS) {
            const sequence = outcomes(seed, 80, 60);
            const policy = circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(n) });
            const theirs = await openedAt(
                sequence,
                (f) => policy.execute(() => (f ? Promise.reject(new Error('down')) : 'ok')),
                () => policy.state === CircuitState.Open,
            );
            const h = halfopen({ trip: { consecutiveFailures: n }, openMs: 30_000 });
            assert.equal(await openedAt(sequence, h.call, h.isOpen), theirs, `n=${n} seed=${seed}`);
        }
    }
});
