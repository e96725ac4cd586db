// Typed usage as a CommonJS (require) user writes it, resolved through the
// package's `require` condition and index.d.cts.
import halfopen = require('halfopen');

const breaker = new halfopen.CircuitBreaker({ trip: { consecutiveFailures: 3 }, openMs: 5_000 });
export const p: Promise<number> = breaker.execute(() => 1);
export const e: halfopen.BrokenCircuitError | undefined = undefined;
// @ts-expect-error no such policy
new halfopen.CircuitBreaker({ trip: { consecutive: 3 } });
