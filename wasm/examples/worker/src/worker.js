// A Cloudflare Worker that protects a flaky upstream with one circuit breaker
// for all of its isolates.
//
// With a Durable Object bound as FLEET (see wrangler.toml), the breaker is a
// fleet: each isolate keeps a local breaker (the fast path never waits on
// anything) in step with one record in the HalfOpenFleet coordinator, which
// applies the core's fleet rules. Once the upstream has failed
// `consecutiveFailures` times in a row in any isolate, the fleet opens and
// every isolate answers 503 with a Retry-After at once; when the open period
// is over, one isolate at a time probes the upstream, and the first success
// closes the breaker everywhere.
//
// Without a Durable Object binding, the breaker's snapshot is kept in a KV
// namespace (BREAKERS) instead: KV is eventually consistent and
// last-writer-wins, so isolates may overwrite each other's failures and
// probe together. It is the fallback for accounts without Durable Objects.
//
// Bindings (see wrangler.toml): FLEET (Durable Object, class HalfOpenFleet)
// or BREAKERS (KV namespace), UPSTREAM_URL, and optionally OPEN_MS.
import { CircuitBreaker, BrokenCircuitError, SnapshotError } from 'halfopen';
import { durableObjectFleet } from 'halfopen/fleet';

// The coordinator class wrangler.toml binds as FLEET.
export { HalfOpenFleet } from 'halfopen/fleet';

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

/** The isolate's fleet breaker, made in its first request (nothing at global scope). */
let fleet;

async function call(breaker, url) {
    try {
        const upstream = await breaker.execute(({ signal }) => fetch(url, { signal }));
        return upstream.status >= 500 ? new Response('upstream failed', { status: 502 }) : new Response(upstream.body, upstream);
    } catch (e) {
        if (e instanceof BrokenCircuitError) {
            const seconds = Math.max(1, Math.ceil((e.retryAfterMs ?? 1_000) / 1_000));
            return new Response('upstream unavailable', { status: 503, headers: { 'retry-after': String(seconds) } });
        }
        return new Response('upstream failed', { status: 502 });
    }
}

export default {
    async fetch(request, env, ctx) {
        if (env.FLEET !== undefined) {
            fleet ??= durableObjectFleet(env.FLEET, { name: 'upstream', syncMs: 1_000, ...options(env) });
            let response = await call(fleet, env.UPSTREAM_URL);
            // The exchange with the coordinator runs after the response.
            ctx.waitUntil(fleet.flush());
            response = new Response(response.body, response);
            response.headers.set('x-breaker', fleet.state);
            return response;
        }
        const { breaker, stored } = await load(env);
        const before = decisions(breaker);
        let response = await call(breaker, env.UPSTREAM_URL);
        await save(env, breaker, stored, before);
        response = new Response(response.body, response);
        response.headers.set('x-breaker', breaker.state);
        return response;
    },
};
