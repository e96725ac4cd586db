// One worker process of the Node fleet tests: a FleetBreaker (or, in
// `local` mode, a plain CircuitBreaker) on its own Redis connection, calling
// the downstream every PAUSE_MS until told to stop. Prints READY, STATE
// lines at each change of state, and END with its final state.
//
//   node fleet/worker.mjs MODE REDIS_URL NAME DOWNSTREAM_URL PAUSE_MS
import { createClient } from 'redis';
import { CircuitBreaker } from 'halfopen';
import { FleetBreaker, RedisFleetStore } from 'halfopen/fleet';

const [mode, url, name, downstream, pause] = process.argv.slice(2);
const options = { trip: { consecutiveFailures: 5 }, openMs: 400 };
let breaker;
let client;
let subscriber;
if (mode === 'local') {
    breaker = new CircuitBreaker(options);
} else {
    client = createClient({ url, disableOfflineQueue: true });
    subscriber = client.duplicate();
    client.on('error', () => {});
    subscriber.on('error', () => {});
    await client.connect();
    await subscriber.connect();
    breaker = new FleetBreaker({ ...options, name, store: new RedisFleetStore(client, { subscriber }), syncMs: 100, deadlineMs: 100, fleet: { leaseMs: 2_000 } });
    await breaker.ready();
    breaker.onFleetChange((c) => console.log(`FLEET attached=${c.attached}`));
}
let stop = false;
process.stdin.on('data', () => (stop = true));
console.log('READY');
const start = Date.now();
let last = 'closed';
while (!stop) {
    // A call made while the breaker reads half-open is a probe: the
    // downstream counts those apart.
    const probe = breaker.state === 'halfOpen' ? '1' : '0';
    await breaker
        .execute(async () => {
            const r = await fetch(downstream, { headers: { 'x-probe': probe } });
            await r.text();
            if (r.status >= 500) throw new Error(`downstream ${r.status}`);
        })
        .catch(() => {});
    const state = breaker.state;
    if (state !== last) {
        console.log(`STATE ${Date.now() - start} ${state}`);
        last = state;
    }
    await new Promise((r) => setTimeout(r, Number(pause)));
}
// The last adoption: wait for one more sync.
if (mode !== 'local') {
    await new Promise((r) => setTimeout(r, 300));
    await breaker.flush();
}
const m = breaker.metrics();
console.log(`END ${breaker.state} attached=${m.fleet?.attached ?? false} storeErrors=${m.fleet?.storeErrors ?? 0}`);
await breaker.close?.();
await client?.quit();
await subscriber?.quit();
