// The tiny app every bundler case builds: a breaker on a mocked clock, tripped
// by three failures, then a call it refuses with a BrokenCircuitError that
// says when to retry. `halfopen` is the module namespace of the entry the
// case imports (halfopen, halfopen/inline or halfopen/init).
export async function run(halfopen) {
    const { CircuitBreaker, BrokenCircuitError } = halfopen;
    let now = 0;
    const breaker = new CircuitBreaker({ trip: { consecutiveFailures: 3 }, openMs: 30_000, clock: () => now });
    let failures = 0;
    for (let i = 0; i < 3; i++) {
        try {
            await breaker.execute(() => Promise.reject(new Error('upstream down')));
        } catch (e) {
            if (e.message === 'upstream down') failures++;
        }
    }
    now = 1_000;
    let rejected = null;
    try {
        await breaker.execute(() => 'not called');
    } catch (e) {
        rejected = { brokenCircuitError: e instanceof BrokenCircuitError, retryAfterMs: e.retryAfterMs };
    }
    return { state: breaker.state, failures, rejected };
}

/** Prints the result as one JSON line (stdout in Node, the console in a page). */
export function print(result) {
    console.log(`halfopen-app ${JSON.stringify(result)}`);
}

export function fail(e) {
    console.log(`halfopen-app-error ${e?.stack ?? e}`);
    if (typeof process === 'object') process.exitCode = 1;
}
