// Runs a breaker in the page through the package's browser (ESM) build.
import { CircuitBreaker, BrokenCircuitError } from 'halfopen';

const out = document.getElementById('out');
try {
    let now = 0;
    const breaker = new CircuitBreaker({ trip: { consecutiveFailures: 2 }, openMs: 1_000, clock: () => now });
    const changes = [];
    breaker.onStateChange((c) => changes.push(`${c.from}->${c.to}`));
    const results = [];
    results.push(await breaker.execute(async () => 'async'));
    results.push(await breaker.execute(() => 'sync'));
    for (let i = 0; i < 2; i++) {
        results.push(await breaker.execute(() => Promise.reject(new Error('down'))).catch((e) => e.message));
    }
    const rejected = await breaker.execute(async () => 'never').catch((e) => e);
    results.push(rejected instanceof BrokenCircuitError ? `rejected:${rejected.reason}:${rejected.retryAfterMs}` : String(rejected));
    const snapshot = Array.from(breaker.snapshot());
    now = 1_000;
    results.push(await breaker.execute(async () => 'trial'));
    window.__result = { ok: true, results, changes, state: breaker.state, snapshotLength: snapshot.length };
} catch (e) {
    window.__result = { ok: false, error: String((e && e.stack) || e) };
}
out.textContent = JSON.stringify(window.__result, null, 2);
