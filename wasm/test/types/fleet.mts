// Typed usage of halfopen/fleet: checked by `tsc --noEmit -p types` (never
// run). Each @ts-expect-error must be an error.
import {
    FleetBreaker,
    FleetConfigError,
    FleetStoreError,
    RedisFleetStore,
    HalfOpenFleet,
    durableObjectFleet,
    checkName,
    MAX_NAME_LENGTH,
    type FleetBreakerOptions,
    type FleetMetrics,
    type FleetChange,
    type RedisClientLike,
    type DurableObjectNamespaceLike,
    type DurableObjectStateLike,
} from 'halfopen/fleet';
import type { State } from 'halfopen';

declare const client: RedisClientLike;
const store = new RedisFleetStore(client);
const options: FleetBreakerOptions = {
    name: 'payments-api',
    store,
    trip: { consecutiveFailures: 5 },
    openMs: 10_000,
    syncMs: 500,
    deadlineMs: 100,
    fleet: { leaseMs: 5_000 },
};
const fleet = new FleetBreaker(options);
const state: State = fleet.state;
const n: Promise<number> = fleet.execute(async ({ signal }) => (signal.aborted ? 0 : 1));
const m: FleetMetrics = fleet.metrics().fleet;
const attached: boolean = m.attached;
const off = fleet.onFleetChange((c: FleetChange) => c.attached);
off();
fleet.tryAcquire()?.success();
await fleet.ready().catch((e: unknown) => e instanceof FleetConfigError && e.difference.length > 0);
await fleet.flush();
await fleet.close();
const len: 64 = MAX_NAME_LENGTH;
checkName('a');
new FleetStoreError('x');

declare const ns: DurableObjectNamespaceLike;
const edge = durableObjectFleet(ns, { name: 'api', trip: { timeWindow: { percent: 50, windowMs: 10_000, buckets: 10, minimumCalls: 20 } }, fleet: { count: true } });
edge.isolate();
declare const doState: DurableObjectStateLike;
const coordinator = new HalfOpenFleet(doState, {});
void coordinator.fetch(new Request('https://x/'));

// @ts-expect-error a name is required
new FleetBreaker({ store });
// @ts-expect-error syncMs is a number
new FleetBreaker({ name: 'a', store, syncMs: '10' });
// @ts-expect-error fleet options are known keys only
new FleetBreaker({ name: 'a', store, fleet: { leases: 2 } });

export { state, n, attached, len };
