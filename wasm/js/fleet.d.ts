// Types of halfopen/fleet: one breaker for a fleet of instances.
import type { CircuitBreaker, CircuitBreakerOptions, ExecuteOptions, CallContext, Metrics, Permit, State, StateChange } from './index.js';

/** The longest breaker name, in bytes. */
export declare const MAX_NAME_LENGTH: 64;
/** Checks a breaker name (1 to 64 of A-Z a-z 0-9 _ - . :), as the base package does: a `TypeError` for a name that is not a string, a `RangeError` naming the problem for one that is not valid (`key` `name`). */
export declare function checkName(name: string): string;

/**
 * How the fleet shares probes and counts. `windowMs` and `buckets` go
 * together (one without the other does not type-check, as the constructor
 * refuses it). Every option may be `undefined`, the same as leaving it out.
 */
export type FleetOptions = {
    /** How long a probe lease lasts before the fleet counts the probe as failed, in ms (default: halfOpenMaxWaitMs, else 10000). */
    readonly leaseMs?: number | undefined;
    /** Count a timeWindow policy's outcomes for the whole fleet in its own window. */
    readonly count?: boolean | undefined;
} & (
    | {
          /** Count a window policy's outcomes for the whole fleet over this many ms of the store's clock (a failureRate policy needs it to be counted). */
          readonly windowMs: number;
          /** Buckets of `windowMs` (1..=64). */
          readonly buckets: number;
      }
    | { readonly windowMs?: undefined; readonly buckets?: undefined }
);

/** What a store does: read, compare-and-set on the generation, count (as the Lua scripts do). */
export interface FleetRead {
    readonly nowMs: number;
    readonly gen: string;
    readonly record: string | null;
    readonly config: string | null;
    readonly counts: ReadonlyArray<readonly [string, number]>;
}
export type FleetWrite = { readonly written: true; readonly nowMs: number } | ({ readonly written: false } & FleetRead);
export interface FleetStore {
    readonly timers?: boolean;
    read(name: string): Promise<FleetRead>;
    write(name: string, expected: string, gen: string, record: string, config: string, clearCounts: boolean): Promise<FleetWrite>;
    count(name: string, bucketMs: number, buckets: number, successes: number, failures: number): Promise<FleetRead>;
    subscribe?(name: string, onChange: (gen: string) => void): Promise<(() => unknown) | undefined>;
}

export interface FleetBreakerOptions<R = any, F = never> extends CircuitBreakerOptions<R, F> {
    /** The breaker name every instance of the fleet shares. */
    readonly name: string;
    /** Where the fleet record lives. */
    readonly store: FleetStore | DurableObjectFleetStore;
    /** How often the record is read without a push, in ms (10..=2^31-1; default 1000). */
    readonly syncMs?: number | undefined;
    /** The deadline of every store call, in ms (1..=60000; default 250). */
    readonly deadlineMs?: number | undefined;
    /** How the fleet shares probes and counts. */
    readonly fleet?: FleetOptions | undefined;
}

/** The fleet's own metrics. */
export interface FleetMetrics {
    /** Decisions are the fleet's; false while the store fails or after the fleet refused this instance. */
    readonly attached: boolean;
    readonly storeErrors: number;
    readonly syncs: number;
    readonly roundTrips: number;
    readonly pushes: number;
    /** The last fleet generation seen. */
    readonly generation: number;
    /** Why the fleet is detached, if it is. */
    readonly lastError: string | undefined;
}

/** The fleet attached or detached. */
export interface FleetChange {
    readonly attached: boolean;
    readonly refused?: true;
    readonly error?: unknown;
}

/**
 * A local breaker kept in step with its fleet. Its options are the
 * breaker's and its own, with the same error rule (a `TypeError` for a
 * wrong type or an unknown key, with the key most likely meant; a
 * `RangeError` for a value out of range).
 *
 * @typeParam R - what its operations resolve to (as {@link CircuitBreaker}'s).
 * @typeParam F - what the `fallback` option resolves to.
 */
export declare class FleetBreaker<R = any, F = never> {
    constructor(options: FleetBreakerOptions<R, F>);
    readonly name: string;
    /** The local breaker. */
    readonly local: CircuitBreaker<R, F>;
    /** The configuration text instances sharing the fleet must agree on. */
    readonly configText: string;
    readonly state: State;
    /** Resolves after the first exchange with the store; rejects with a FleetConfigError if the fleet refused this instance. */
    ready(): Promise<void>;
    /** Runs `fn` if the fleet allows it; the store is never awaited here. */
    execute<T extends R>(fn: (context: CallContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<Awaited<T> | F>;
    tryAcquire(): Permit | undefined;
    isolate(): void;
    reset(): void;
    metrics(): Metrics & { readonly fleet: FleetMetrics };
    onStateChange(listener: (change: StateChange) => void): () => void;
    onFleetChange(listener: (change: FleetChange) => void): () => boolean;
    /** Resolves once every store exchange started so far has ended (a Worker passes it to ctx.waitUntil). */
    flush(): Promise<void>;
    /** Stops the periodic sync and the subscription. */
    close(): Promise<void>;
}

export declare class FleetConfigError extends Error {
    readonly fleetName: string;
    /** The first key that differs: `openMs: 2000 here, 1000 in the fleet`. */
    readonly difference: string;
}
export declare class FleetStoreError extends Error {}

/** A minimal view of a node-redis client (`createClient()` of the `redis` package). */
export interface RedisClientLike {
    sendCommand(args: string[]): Promise<unknown>;
}
/** A minimal view of a node-redis cluster client (`createCluster()`). */
export interface RedisClusterLike {
    sendCommand(firstKey: string, isReadonly: boolean, args: string[]): Promise<unknown>;
}
export interface RedisSubscriberLike {
    subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
    unsubscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
}
/** The options of {@link RedisFleetStore}. */
export interface RedisFleetStoreOptions {
    /** A second connected client (`client.duplicate()`), for pushes (pub/sub). Default: none (polling only). */
    readonly subscriber?: RedisSubscriberLike | undefined;
    /** Whether the client is a cluster client (`createCluster()`). Default `false`. */
    readonly cluster?: boolean | undefined;
}
export declare class RedisFleetStore implements FleetStore {
    /**
     * @throws `TypeError` (with `key`) for a client that is not one, options
     *   that are not an object, an unknown option (with the option most
     *   likely meant: `unknown RedisFleetStore option clustr; did you mean
     *   cluster?`), a `cluster` that is not a boolean, or a `subscriber`
     *   that is not a client (no `subscribe` and `unsubscribe`).
     */
    constructor(client: RedisClientLike, options?: (RedisFleetStoreOptions & { readonly cluster?: false | undefined }) | undefined);
    constructor(client: RedisClusterLike, options: RedisFleetStoreOptions & { readonly cluster: true });
    readonly timers: true;
    static keys(name: string): { readonly record: string; readonly counts: string; readonly channel: string };
    read(name: string): Promise<FleetRead>;
    write(name: string, expected: string, gen: string, record: string, config: string, clearCounts: boolean): Promise<FleetWrite>;
    count(name: string, bucketMs: number, buckets: number, successes: number, failures: number): Promise<FleetRead>;
    subscribe(name: string, onChange: (gen: string) => void): Promise<(() => unknown) | undefined>;
}

/** The minimal shapes of the Workers runtime this package uses. */
export interface DurableObjectStorageLike {
    get(key: string): Promise<unknown>;
    put(key: string, value: unknown): Promise<void>;
    delete(key: string): Promise<boolean>;
}
export interface DurableObjectStateLike {
    readonly storage: DurableObjectStorageLike;
    acceptWebSocket(ws: unknown, tags?: string[]): void;
    getWebSockets(tag?: string): unknown[];
}
export interface DurableObjectNamespaceLike {
    idFromName(name: string): unknown;
    get(id: unknown): { fetch(input: string, init?: unknown): Promise<Response> };
}

export declare class StorageFleetStore implements FleetStore {
    constructor(storage: DurableObjectStorageLike, now?: () => number);
    read(name: string): Promise<FleetRead>;
    write(name: string, expected: string, gen: string, record: string, config: string, clearCounts: boolean): Promise<FleetWrite>;
    count(name: string, bucketMs: number, buckets: number, successes: number, failures: number): Promise<FleetRead>;
}

/** The Durable Object coordinator: bind it as `HalfOpenFleet` in wrangler.toml and export it from the Worker. */
export declare class HalfOpenFleet {
    constructor(state: DurableObjectStateLike, env: unknown);
    fetch(request: Request): Promise<Response>;
    webSocketMessage(ws: { send(m: string): void }, message: string | ArrayBuffer): void;
    webSocketClose(ws: { close(code?: number, reason?: string): void }, code: number): void;
}

export declare class DurableObjectFleetStore {
    constructor(namespace: DurableObjectNamespaceLike);
    readonly timers: false;
}

/** A FleetBreaker whose record is in the HalfOpenFleet Durable Object bound as `namespace`. */
export declare function durableObjectFleet<R = any, F = never>(namespace: DurableObjectNamespaceLike, options: Omit<FleetBreakerOptions<R, F>, 'store'>): FleetBreaker<R, F>;

/** The core's fleet rules for one configuration, as the fleet `.wasm` gives them (records cross as `GEN|TEXT`). */
export interface FleetRulesHandle {
    configText(): string;
    difference(other: string): string | undefined;
    halfOpenMaxCalls(): number;
    bucketMs(): number;
    buckets(): number;
    holds(now: number, bucket: number): boolean;
    trip(gen: string, text: string, seenGen: number, now: number): string | undefined;
    lease(gen: string, text: string, now: number): string;
    probe(gen: string, text: string, openedGen: number, success: boolean, now: number): string | undefined;
    expire(gen: string, text: string, now: number): string | undefined;
    windowTrip(gen: string, text: string, successes: number, failures: number, now: number): string | undefined;
    /** The window's sums `SUCCESSES|FAILURES` from a store's count fields and counts, as `BUCKET:s=N;BUCKET:f=N`. */
    sum(now: number, fields: string): string;
    /** A periodic sync: the leases' end, the window sums (when given), or a trip missed while the store was away (`missedTrip`: the generation seen then). */
    sync(gen: string, text: string, successes: number | undefined, failures: number | undefined, missedTrip: number | undefined, now: number): string | undefined;
    /** The record that replaces garbage, from the generation seen, the stored one and the local state. */
    rebuild(seenGen: number, storedGen: string, local: 'closed' | 'open' | 'halfOpen' | 'isolated', now: number): string;
    isolate(gen: string, text: string): string;
    reset(gen: string, text: string): string;
    touch(gen: string, text: string): string;
    view(gen: string, text: string, now: number): string;
}
/** The rules for `config` (`key=value` pairs, `;`-separated); `windowMs` -1 counts a timeWindow policy in its own window. Throws a RangeError naming the key. */
export declare function fleetRules(config: string, leaseMs: number, windowMs: number, buckets: number): FleetRulesHandle;

/** One event an instance sends to the fleet. */
export interface FleetEvent {
    readonly type: 'trip' | 'lease' | 'probe' | 'isolate' | 'reset' | 'sync' | 'first';
    readonly seenGen: number;
    readonly local: State;
    readonly period?: number;
    readonly success?: boolean;
    readonly successes?: number;
    readonly failures?: number;
    readonly pendingTrip?: boolean;
}
/** What an event left in the store. */
export interface FleetDecision {
    readonly gen: string;
    readonly record: string;
    readonly nowMs: number;
    readonly wrote: boolean;
    readonly garbage: string | undefined;
}
/** Applies one event to the record in `store` by the core's rules (what the coordinator and the Redis store run). */
export declare function decide(rules: FleetRulesHandle, configText: string, store: FleetStore, name: string, event: FleetEvent): Promise<FleetDecision>;
