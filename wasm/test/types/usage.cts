// Typed usage as a CommonJS (require) user writes it, resolved through the
// package's `require` condition and index.d.cts.
import halfopen = require('halfopen');

const breaker = new halfopen.CircuitBreaker({ trip: { consecutiveFailures: 3 }, openMs: 5_000 });
export const p: Promise<number> = breaker.execute(() => 1);
export const e: halfopen.BrokenCircuitError | undefined = undefined;
// @ts-expect-error no such policy
new halfopen.CircuitBreaker({ trip: { consecutive: 3 } });

// The same types as the ES module's (index.d.cts is index.d.ts): the result
// type, exclusive policies, PermitError, no default export.
const typed = new halfopen.CircuitBreaker({ isResultFailure: (res: Response) => res.status >= 500, isFailure: (err: Error) => err.name !== 'AbortError' });
export const r: Promise<Response> = typed.execute(() => fetch('https://example.com'));
// @ts-expect-error two trip policies
new halfopen.CircuitBreaker({ trip: { consecutiveFailures: 3, failureRate: { percent: 50, window: 10 } } });
export const code: 'alreadyRecorded' | 'alreadyReleased' | undefined = (undefined as halfopen.PermitError | undefined)?.code;
// @ts-expect-error named exports only
export const d = halfopen.default;
// A registry's breaker resolves to the operation's result; an option given as
// undefined is one left out (exactOptionalPropertyTypes).
export const fromRegistry: Promise<Response> = new halfopen.Registry({ defaults: 'httpApi' }).get('a').execute(() => fetch('https://example.com'));
new halfopen.CircuitBreaker({ openMs: undefined as number | undefined, name: undefined });
