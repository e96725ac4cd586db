// A Cloudflare Worker that protects a flaky upstream with a circuit breaker
// and keeps the breaker in a KV namespace, so that every isolate (and every
// request, wherever it lands) shares what the others learned: once the
// upstream has failed `consecutiveFailures` times in a row, requests are
// answered at once with 503 and a Retry-After, without touching it, until
// the open period is over and a trial call finds it healthy again.
//
// Bindings (see wrangler.toml): BREAKERS (KV namespace), UPSTREAM_URL, and
// optionally OPEN_MS.
import { CircuitBreaker, BrokenCircuitError, SnapshotError } from 'halfopen';

const KEY = 'breaker:upstream';

function options(env) {
    return {
        trip: { consecutiveFailures: 3 },
        openMs: Number(env.OPEN_MS ?? 30_000),
        timeoutMs: 2_000,
        // A 5xx reply is the upstream failing, although fetch resolved.
        isResultFailure: (response) => response.status >= 500,
    };
}

/**
 * The shared breaker, as the last request left it. With the default clock
 * (Date.now, which all isolates share) the time since it was stored counts:
 * an open period that ran out meanwhile is over.
 */
async function load(env) {
    const stored = await env.BREAKERS.get(KEY, 'arrayBuffer');
    try {
        return { breaker: CircuitBreaker.restore(stored, options(env)), stored };
    } catch (e) {
        // Stored by a deployment with other options: start afresh.
        if (e instanceof SnapshotError) return { breaker: new CircuitBreaker(options(env)), stored: null };
        throw e;
    }
}

/**
 * What the breaker decides with: its epoch (a new one at every change of
 * state), failure run and window. A snapshot also holds the time it was
 * taken, so its bytes differ at every request: compare these instead.
 */
function decisions(breaker) {
    const m = breaker.metrics();
    return `${m.epoch} ${m.failureRun} ${m.window?.failures}/${m.window?.calls}`;
}

/** Stores the breaker if it changed (KV allows about one write per second per key). */
async function save(env, breaker, stored, before) {
    if (stored === null || decisions(breaker) !== before) {
        await env.BREAKERS.put(KEY, breaker.snapshot());
    }
}

export default {
    async fetch(request, env) {
        const { breaker, stored } = await load(env);
        const before = decisions(breaker);
        let response;
        try {
            const upstream = await breaker.execute(({ signal }) => fetch(env.UPSTREAM_URL, { signal }));
            response = upstream.status >= 500
                ? new Response('upstream failed', { status: 502 })
                : new Response(upstream.body, upstream);
        } catch (e) {
            if (e instanceof BrokenCircuitError) {
                const seconds = Math.max(1, Math.ceil((e.retryAfterMs ?? 1_000) / 1_000));
                response = new Response('upstream unavailable', { status: 503, headers: { 'retry-after': String(seconds) } });
            } else {
                response = new Response('upstream failed', { status: 502 });
            }
        }
        await save(env, breaker, stored, before);
        response = new Response(response.body, response);
        response.headers.set('x-breaker', breaker.state);
        return response;
    },
};
