// The package's error rule, for every option: a value of the wrong type is a
// TypeError, a value of the right type that is not valid a RangeError; a
// number's range error has one wording (the core's, `openMs = 0 is out of
// range 1..=2147483647`); unknown keys are refused everywhere with a guess
// at the key meant; permit misuse is a PermitError; and every exported class
// answers `instanceof` for instances of another copy of the package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import {
    CircuitBreaker,
    BrokenCircuitError,
    IsolatedCircuitError,
    CallTimeoutError,
    SnapshotError,
    PermitError,
    Registry,
} from 'halfopen';
import * as esm from 'halfopen';
import { FleetBreaker, FleetConfigError, FleetStoreError, RedisFleetStore, DurableObjectFleetStore, checkName } from 'halfopen/fleet';

/** Sets `path` (a dotted path) to `value` in a copy of `base`. */
function withValue(base, path, value) {
    const copy = structuredClone(base);
    const parts = path.split('.');
    let into = copy;
    for (const p of parts.slice(0, -1)) into = into[p];
    into[parts.at(-1)] = value;
    return copy;
}

/**
 * Every number option, in valid options of its own, by the path it is set
 * at, the key its errors name, and a value below its range.
 */
const NUMBER_OPTIONS = [
    [{ trip: { consecutiveFailures: 3 } }, 'trip.consecutiveFailures', 'consecutiveFailures', 0],
    ...['percent', 'failures', 'window', 'minimumCalls'].map((f) => [
        { trip: { failureRate: { percent: 50, failures: 5, window: 10, minimumCalls: 5 } } },
        `trip.failureRate.${f}`,
        `failureRate.${f}`,
        0,
    ]),
    ...['percent', 'failures', 'windowMs', 'buckets', 'minimumCalls'].map((f) => [
        { trip: { timeWindow: { percent: 50, failures: 5, windowMs: 1_000, buckets: 10, minimumCalls: 5 } } },
        `trip.timeWindow.${f}`,
        `timeWindow.${f}`,
        0,
    ]),
    [{ openMs: 1_000 }, 'openMs', 'openMs', 0],
    [{ halfOpenMaxCalls: 1 }, 'halfOpenMaxCalls', 'halfOpenMaxCalls', 0],
    [{ successThreshold: 1 }, 'successThreshold', 'successThreshold', 0],
    [{ slowCallMs: 100 }, 'slowCallMs', 'slowCallMs', 0],
    [{ backoff: { factor: 2, maxOpenMs: 60_000 } }, 'backoff.factor', 'backoff.factor', 0],
    [{ backoff: { factor: 2, maxOpenMs: 60_000 } }, 'backoff.maxOpenMs', 'backoff.maxOpenMs', 0],
    [{ halfOpenMaxWaitMs: 100 }, 'halfOpenMaxWaitMs', 'halfOpenMaxWaitMs', 0],
    [{ jitter: { percent: 10, seed: 1 } }, 'jitter.percent', 'jitter.percent', 0],
    [{ jitter: { percent: 10, seed: 1 } }, 'jitter.seed', 'jitter.seed', -1],
    [{ timeoutMs: 100 }, 'timeoutMs', 'timeoutMs', 0],
];

const RANGE = String.raw`(-?\d+)\.\.=(\d+)`;

test('every number option: a non-number is a TypeError, a bad number a RangeError, in one wording', () => {
    for (const [base, path, key, below] of NUMBER_OPTIONS) {
        assert.doesNotThrow(() => new CircuitBreaker(base), path);
        const expect = (value, Ctor, pattern) => {
            assert.throws(
                () => new CircuitBreaker(withValue(base, path, value)),
                (e) => {
                    const what = `${path} = ${String(value)}: ${e}`;
                    assert.equal(e.constructor, Ctor, what);
                    assert.equal(e.key, key, what);
                    assert.match(e.message, pattern, what);
                    return true;
                },
            );
        };
        const esc = key.replace('.', '\\.');
        for (const wrongType of ['5', true, null, {}, [], 5n, () => 5]) {
            expect(wrongType, TypeError, new RegExp(`^${esc} must be an integer in ${RANGE}, got `));
        }
        expect(below, RangeError, new RegExp(`^${esc} = ${below} is out of range ${RANGE}$`));
        expect(2 ** 60, RangeError, new RegExp(`^${esc} = ${2 ** 60} is out of range ${RANGE}$`));
        expect(1.5, RangeError, new RegExp(`^${esc} = 1\\.5 is out of range ${RANGE}: not an integer$`));
        expect(NaN, RangeError, new RegExp(`^${esc} = NaN is out of range ${RANGE}$`));
        expect(-Infinity, RangeError, new RegExp(`^${esc} = -Infinity is out of range ${RANGE}$`));
    }
});

test('the range a number error names is the one the same option with an integer gets', () => {
    // openMs: 1.5 and openMs: 0 name the same range, as the JS-side timeoutMs and the core's openMs do.
    const message = (options) => {
        try {
            new CircuitBreaker(options);
        } catch (e) {
            return e.message;
        }
        assert.fail('no error');
    };
    assert.equal(message({ openMs: 0 }), 'openMs = 0 is out of range 1..=2147483647');
    assert.equal(message({ openMs: 1.5 }), 'openMs = 1.5 is out of range 1..=2147483647: not an integer');
    assert.equal(message({ openMs: '1' }), 'openMs must be an integer in 1..=2147483647, got "1" (a string)');
    assert.equal(message({ timeoutMs: 0 }), 'timeoutMs = 0 is out of range 1..=2147483647');
    assert.equal(message({ timeoutMs: 1.5 }), 'timeoutMs = 1.5 is out of range 1..=2147483647: not an integer');
    assert.equal(message({ timeoutMs: '1' }), 'timeoutMs must be an integer in 1..=2147483647, got "1" (a string)');
    assert.equal(
        message({ trip: { failureRate: { percent: 50, window: 10, minimumCalls: 2.5 } } }),
        'failureRate.minimumCalls = 2.5 is out of range 1..=10: not an integer',
    );
    assert.equal(message({ backoff: { factor: 2, maxOpenMs: 100 } }), 'backoff.maxOpenMs = 100 is out of range 30000..=2147483647');
});

test('options of other types: a wrong type is a TypeError, a bad value a RangeError', () => {
    const cases = [
        [{ name: 5 }, TypeError, 'name', /^name must be a string, got 5$/],
        [{ name: '' }, RangeError, 'name', /^name is empty/],
        [{ name: 'a b' }, RangeError, 'name', /^name "a b" has " " at index 1/],
        [{ trip: 5 }, TypeError, 'trip', /^trip must name one policy/],
        [{ trip: { consecutiveFailures: 2, timeWindow: { failures: 2, windowMs: 10, buckets: 1 } } }, TypeError, 'trip', /more than one trip policy/],
        [{ backoff: 2 }, TypeError, 'backoff', /^backoff must be an object \{factor, maxOpenMs\}, got 2$/],
        [{ backoff: { factor: 2 } }, TypeError, 'backoff.maxOpenMs', /^backoff\.maxOpenMs is missing$/],
        [{ jitter: [] }, TypeError, 'jitter', /got an array/],
        ...['clock', 'isFailure', 'isResultFailure', 'fallback'].map((k) => [{ [k]: true }, TypeError, k, new RegExp(`^${k} must be a function, got true$`)]),
        [5, TypeError, '', /^options must be an object, got 5$/],
    ];
    for (const [options, Ctor, key, message] of cases) {
        assert.throws(
            () => new CircuitBreaker(options),
            (e) => e.constructor === Ctor && e.key === key && message.test(e.message),
            JSON.stringify(options),
        );
    }
    assert.throws(() => CircuitBreaker.restore(null, { sameClock: 'yes' }), { name: 'TypeError', key: 'sameClock', message: /^sameClock must be a boolean/ });
});

test('adopt: the same rule and the wording of every number option', () => {
    const b = new CircuitBreaker();
    assert.throws(() => b.adopt({ state: 'open', remainingMs: '5' }), { name: 'TypeError', key: 'remainingMs', message: /^remainingMs must be an integer in 0\.\.=2147483647, got "5" \(a string\)$/ });
    assert.throws(() => b.adopt({ state: 'open', remainingMs: 1.5 }), { name: 'RangeError', key: 'remainingMs', message: 'remainingMs = 1.5 is out of range 0..=2147483647: not an integer' });
    assert.throws(() => b.adopt({ state: 'open', remainingMs: -1 }), { name: 'RangeError', key: 'remainingMs', message: 'remainingMs = -1 is out of range 0..=2147483647' });
    assert.throws(() => b.adopt({ state: 'open', remainingMs: 2 ** 31 }), { name: 'RangeError', key: 'remainingMs', message: 'remainingMs = 2147483648 is out of range 0..=2147483647' });
    assert.throws(() => b.adopt({ state: 'open', remainingMs: 5, k: -1 }), { name: 'RangeError', key: 'k', message: 'k = -1 is out of range 0..=4294967295' });
    assert.throws(() => b.adopt({ state: 'open', remainingMs: 5, k: 'x' }), { name: 'TypeError', key: 'k' });
    assert.throws(() => b.adopt({ state: 'open', remainingMs: 5, k: 1.5 }), { name: 'RangeError', key: 'k', message: 'k = 1.5 is out of range 0..=4294967295: not an integer' });
    assert.equal(b.state, 'closed');
});

test('adopt: unknown keys are refused with the key meant; a missing key says so; a bad state string is a RangeError', () => {
    const b = new CircuitBreaker();
    const refused = (fleet, Ctor, key, message) =>
        assert.throws(
            () => b.adopt(fleet),
            (e) => {
                assert.equal(e.constructor, Ctor, `${JSON.stringify(fleet)}: ${e}`);
                assert.equal(e.key, key);
                assert.match(e.message, message);
                return true;
            },
        );
    refused({ state: 'open', remainingMs: 1, kk: 2 }, TypeError, 'kk', /^unknown adopt key kk; did you mean k\? adopt takes \{ state: 'open', remainingMs, k \} or \{ state: 'closed' \| 'isolated' \}$/);
    refused({ state: 'open', remaining: 1 }, TypeError, 'remaining', /^unknown adopt key remaining; did you mean remainingMs\?/);
    refused({ state: 'closed', extra: 1 }, TypeError, 'extra', /^unknown adopt key extra; adopt takes/);
    refused({ State: 'open', remainingMs: 1 }, TypeError, 'State', /did you mean state\?/);
    refused({ state: 'open' }, TypeError, 'remainingMs', /^remainingMs is missing: state 'open' needs it$/);
    refused({ state: 'open', remainingMs: undefined }, TypeError, 'remainingMs', /^remainingMs is missing/);
    refused({}, TypeError, 'state', /^state is missing: adopt takes/);
    refused({ state: 5 }, TypeError, 'state', /^state must be one of open, closed, isolated, got 5; adopt takes/);
    refused({ state: 'opn' }, RangeError, 'state', /^state must be one of open, closed, isolated, got "opn" \(a string\); did you mean open\? adopt takes/);
    refused({ state: 'halfOpen' }, RangeError, 'state', /^state must be one of open, closed, isolated, got "halfOpen"/);
    refused(null, TypeError, '', /^adopt takes .*, got null$/);
    refused([], TypeError, '', /^adopt takes .*, got an array$/);
    // Values out of range, of the wrong type, or given to the wrong state.
    refused({ state: 'open', remainingMs: 2 ** 31 }, RangeError, 'remainingMs', /^remainingMs = 2147483648 is out of range 0\.\.=2147483647$/);
    refused({ state: 'open', remainingMs: -1 }, RangeError, 'remainingMs', /^remainingMs = -1 is out of range/);
    refused({ state: 'open', remainingMs: 1.5 }, RangeError, 'remainingMs', /integer/);
    refused({ state: 'open', remainingMs: '5' }, TypeError, 'remainingMs', /integer/);
    refused({ state: 'open', remainingMs: 5, k: -1 }, RangeError, 'k', /0\.\.=4294967295/);
    refused({ state: 'closed', remainingMs: 5 }, TypeError, 'remainingMs', /only go with state 'open'/);
    refused({ state: 'half-open' }, RangeError, 'state', /one of open, closed, isolated/);
    refused('open', TypeError, '', /adopt takes/);
    assert.equal(b.state, 'closed', 'nothing was adopted');
    assert.equal(b.metrics().transitions, 0);
    // Undefined values are left out, as everywhere.
    b.adopt({ state: 'open', remainingMs: 1_000, k: undefined, other: undefined });
    assert.equal(b.state, 'open');
    b.adopt({ state: 'closed', remainingMs: undefined });
    assert.equal(b.state, 'closed');
});

test('a string of the right type that is not a valid value is a RangeError, everywhere', () => {
    const registry = new Registry();
    const store = { read() {}, write() {}, count() {} };
    const cases = [
        [() => new CircuitBreaker({ name: 'a b' }), 'name', 'name "a b" has " " at index 1: use A-Z a-z 0-9 _ - . :'],
        [() => new FleetBreaker({ name: 'a b', store }), 'name', 'name "a b" has " " at index 1: use A-Z a-z 0-9 _ - . :'],
        [() => checkName('a b'), 'name', 'name "a b" has " " at index 1: use A-Z a-z 0-9 _ - . :'],
        [() => RedisFleetStore.keys('a b'), 'name', 'name "a b" has " " at index 1: use A-Z a-z 0-9 _ - . :'],
        [() => new FleetBreaker({ name: '', store }), 'name', 'name is empty: a breaker name is 1 to 64 characters'],
        [() => new FleetBreaker({ name: 'x'.repeat(65), store }), 'name', 'name is 65 characters long: at most 64'],
        [() => registry.get('a', 'httpapi'), 'preset', /^breaker a: unknown preset "httpapi"; did you mean httpApi\? the presets are /],
        [() => new Registry({ defaults: 'databse' }), 'preset', /^Registry defaults: unknown preset "databse"; did you mean database\?/],
        [() => registry.get('a', { name: 'b' }), 'name', /^breaker a: options name "b" differs/],
        [() => new CircuitBreaker().adopt({ state: 'opn' }), 'state', /did you mean open\?/],
    ];
    for (const [fn, key, message] of cases) {
        assert.throws(fn, (e) => {
            assert.equal(e.constructor, RangeError, String(e));
            assert.equal(e.key, key);
            if (typeof message === 'string') assert.equal(e.message, message);
            else assert.match(e.message, message);
            return true;
        });
    }
    // Not a string at all: a TypeError.
    assert.throws(() => new FleetBreaker({ name: 5, store }), { name: 'TypeError', key: 'name', message: 'name must be a string, got 5' });
    assert.throws(() => registry.get('a', 5), { name: 'TypeError', key: '' });
    assert.equal(registry.size, 0);
});

test('did you mean: a near miss of a key is named, wherever unknown keys are refused', () => {
    const unknown = (fn, key, guess) => {
        assert.throws(fn, (e) => {
            assert.equal(e.constructor, TypeError, String(e));
            assert.equal(e.key, key);
            if (guess === undefined) assert.doesNotMatch(e.message, /did you mean/);
            else assert.match(e.message, new RegExp(`^unknown [a-zA-Z ]*${key.replace('.', '\\.')}; did you mean ${guess.replace('.', '\\.')}\\?`));
            return true;
        });
    };
    unknown(() => new CircuitBreaker({ timeout: 5 }), 'timeout', 'timeoutMs');
    unknown(() => new CircuitBreaker({ openms: 5 }), 'openms', 'openMs');
    unknown(() => new CircuitBreaker({ sucessThreshold: 2 }), 'sucessThreshold', 'successThreshold');
    unknown(() => new CircuitBreaker({ halfOpenMaxCall: 2 }), 'halfOpenMaxCall', 'halfOpenMaxCalls');
    unknown(() => new CircuitBreaker({ isResultFailures: () => false }), 'isResultFailures', 'isResultFailure');
    unknown(() => new CircuitBreaker({ colour: 'red' }), 'colour', undefined);
    unknown(() => new CircuitBreaker({ trip: { consecutive: 3 } }), 'consecutive', 'consecutiveFailures');
    unknown(() => new CircuitBreaker({ trip: { failurerate: {} } }), 'failurerate', 'failureRate');
    unknown(() => new CircuitBreaker({ trip: { failureRate: { percent: 5, windw: 10 } } }), 'failureRate.windw', 'failureRate.window');
    unknown(() => new CircuitBreaker({ backoff: { factor: 2, maxOpen: 1 } }), 'backoff.maxOpen', 'backoff.maxOpenMs');
    unknown(() => new Registry({ default: 'httpApi' }), 'default', 'defaults');
    unknown(() => new Registry().get('x', { openMS: 5 }), 'openMS', 'openMs');
    unknown(() => CircuitBreaker.restore(null, { sameclock: true }), 'sameclock', 'sameClock');
    assert.throws(() => new Registry({ defaults: 'databse' }), { name: 'RangeError', key: 'preset', message: /unknown preset "databse"; did you mean database\? the presets are httpApi, / });
    assert.throws(() => new Registry().get('x', 'HttpApi'), { name: 'RangeError', key: 'preset', message: /unknown preset "HttpApi"; did you mean httpApi\?/ });
    // The full message: the guess, then every option.
    assert.throws(() => new CircuitBreaker({ timeout: 5 }), { message: /^unknown option timeout; did you mean timeoutMs\? the options are name, trip, openMs, .*timeoutMs$/ });
});

test('did you mean, in FleetBreaker options', () => {
    const store = { read() {}, write() {}, count() {} };
    const unknown = (options, key, message) =>
        assert.throws(() => new FleetBreaker({ name: 'x', store, ...options }), (e) => e instanceof TypeError && e.key === key && message.test(e.message));
    unknown({ syncms: 5 }, 'syncms', /^unknown option syncms; did you mean syncMs\? FleetBreaker takes name, store, syncMs, deadlineMs, fleet and the breaker's options$/);
    unknown({ openMS: 5 }, 'openMS', /^unknown option openMS; did you mean openMs\?/);
    unknown({ fleet: { lease: 5 } }, 'fleet.lease', /^unknown option fleet\.lease; did you mean fleet\.leaseMs\? fleet takes/);
    assert.throws(() => new FleetBreaker({ name: 'x', store, syncMs: 5 }), { name: 'RangeError', key: 'syncMs', message: 'syncMs = 5 is out of range 10..=2147483647' });
    assert.throws(() => new FleetBreaker({ name: 'x', store, syncMs: 10.5 }), { name: 'RangeError', key: 'syncMs', message: 'syncMs = 10.5 is out of range 10..=2147483647: not an integer' });
    assert.throws(() => new FleetBreaker({ name: 'x', store, deadlineMs: '5' }), { name: 'TypeError', key: 'deadlineMs' });
    assert.throws(() => new FleetBreaker({ name: 'x', store, fleet: { leaseMs: 1.5 } }), { name: 'RangeError', key: 'fleet.leaseMs' });
    unknown({ fleet: { leaseMs: 5_000, windowms: 1_000 } }, 'fleet.windowms', /^unknown option fleet\.windowms; did you mean fleet\.windowMs\? fleet takes leaseMs, windowMs, buckets, count$/);
    unknown({ deadline: 5 }, 'deadline', /^unknown option deadline; did you mean deadlineMs\? FleetBreaker takes/);
});

test('FleetBreaker options: the breaker\'s rule and wording for every number, and objects checked as the breaker\'s', () => {
    const store = { read() {}, write() {}, count() {} };
    const refused = (options, Ctor, key, message) =>
        assert.throws(
            () => new FleetBreaker({ name: 'x', store, trip: { timeWindow: { failures: 5, windowMs: 10_000, buckets: 10 } }, ...options }),
            (e) => {
                assert.equal(e.constructor, Ctor, `${JSON.stringify(options)}: ${e}`);
                assert.equal(e.key, key);
                if (typeof message === 'string') assert.equal(e.message, message);
                else assert.match(e.message, message);
                return true;
            },
        );
    refused({ fleet: { leaseMs: 1.5 } }, RangeError, 'fleet.leaseMs', 'fleet.leaseMs = 1.5 is out of range 1..=2147483647: not an integer');
    refused({ fleet: { leaseMs: '1' } }, TypeError, 'fleet.leaseMs', 'fleet.leaseMs must be an integer in 1..=2147483647, got "1" (a string)');
    refused({ fleet: { leaseMs: 0 } }, RangeError, 'fleet.leaseMs', 'fleet.leaseMs = 0 is out of range 1..=2147483647');
    refused({ fleet: { leaseMs: NaN } }, RangeError, 'fleet.leaseMs', 'fleet.leaseMs = NaN is out of range 1..=2147483647');
    refused({ fleet: { windowMs: 0, buckets: 10 } }, RangeError, 'fleet.windowMs', 'fleet.windowMs = 0 is out of range 1..=2147483647');
    refused({ fleet: { windowMs: -5, buckets: 1 } }, RangeError, 'fleet.windowMs', 'fleet.windowMs = -5 is out of range 1..=2147483647');
    refused({ fleet: { windowMs: 1_000.5, buckets: 10 } }, RangeError, 'fleet.windowMs', /: not an integer$/);
    refused({ fleet: { windowMs: 1_000, buckets: 65 } }, RangeError, 'fleet.buckets', 'fleet.buckets = 65 is out of range 1..=64');
    refused({ fleet: { windowMs: 1_000, buckets: [] } }, TypeError, 'fleet.buckets', 'fleet.buckets must be an integer in 1..=64, got an array');
    refused({ fleet: { count: 'yes' } }, TypeError, 'fleet.count', 'fleet.count must be a boolean, got "yes" (a string)');
    refused({ fleet: { windowMs: 1_000 } }, TypeError, 'fleet.buckets', /go together: fleet\.buckets is missing$/);
    refused({ syncMs: '1' }, TypeError, 'syncMs', 'syncMs must be an integer in 10..=2147483647, got "1" (a string)');
    refused({ deadlineMs: 60_001 }, RangeError, 'deadlineMs', 'deadlineMs = 60001 is out of range 1..=60000');
    // fleet: null and arrays are refused as the breaker refuses backoff: null.
    for (const fleet of [null, [], 5, 'x']) {
        refused({ fleet }, TypeError, 'fleet', /^fleet must be an object \{leaseMs, windowMs, buckets, count\}, got /);
    }
    assert.throws(() => new CircuitBreaker({ backoff: null }), { name: 'TypeError', key: 'backoff' });
    for (const options of [null, [], 5]) {
        assert.throws(() => new FleetBreaker(options), { name: 'TypeError', key: '', message: /^FleetBreaker takes an options object, got / });
    }
    // Undefined is the same as leaving an option out.
    const f = new FleetBreaker({ name: 'x', store, fleet: undefined, syncMs: undefined, deadlineMs: undefined, openMs: undefined });
    assert.equal(f.name, 'x');
    new FleetBreaker({ name: 'x', store, fleet: { leaseMs: undefined, windowMs: undefined, buckets: undefined, count: undefined } });
});

test('RedisFleetStore options: known keys with the key meant, a subscriber that is a client, no prefix', () => {
    const client = { sendCommand: async () => undefined };
    const subscriber = { subscribe: async () => undefined, unsubscribe: async () => undefined };
    const refused = (args, Ctor, key, message) =>
        assert.throws(
            () => new RedisFleetStore(...args),
            (e) => {
                assert.equal(e.constructor, Ctor, String(e));
                assert.equal(e.key, key);
                if (typeof message === 'string') assert.equal(e.message, message);
                else assert.match(e.message, message);
                return true;
            },
        );
    refused([client, { clustr: true }], TypeError, 'clustr', 'unknown RedisFleetStore option clustr; did you mean cluster? the options are subscriber, cluster');
    refused([client, { subscribr: subscriber }], TypeError, 'subscribr', /^unknown RedisFleetStore option subscribr; did you mean subscriber\?/);
    refused([client, { sub: subscriber }], TypeError, 'sub', /^unknown RedisFleetStore option sub; did you mean subscriber\?/);
    refused([client, { tls: true }], TypeError, 'tls', 'unknown RedisFleetStore option tls; the options are subscriber, cluster');
    refused([client, { subscriber: 5 }], TypeError, 'subscriber', /^subscriber must be a second connected client of the redis package \(client\.duplicate\(\)\), with subscribe\(\) and unsubscribe\(\), got 5$/);
    refused([client, { subscriber: {} }], TypeError, 'subscriber', /got an object$/);
    refused([client, { subscriber: null }], TypeError, 'subscriber', /got null$/);
    refused([client, { cluster: 'yes' }], TypeError, 'cluster', 'cluster must be a boolean, got "yes" (a string)');
    refused([client, null], TypeError, '', "RedisFleetStore's options must be an object {subscriber, cluster}, got null");
    refused([client, []], TypeError, '', /got an array$/);
    refused([{}], TypeError, 'client', /^RedisFleetStore takes a connected client of the redis package/);
    new RedisFleetStore(client);
    new RedisFleetStore(client, {});
    new RedisFleetStore(client, { subscriber, cluster: false });
    new RedisFleetStore(client, { subscriber: undefined, cluster: undefined });
});

test('fleet errors carry no "halfopen: " prefix, as the base layer\'s', () => {
    const messages = [];
    const grab = (fn) => {
        try {
            fn();
        } catch (e) {
            messages.push(e.message);
            return;
        }
        assert.fail('no error');
    };
    grab(() => new RedisFleetStore(5));
    grab(() => new RedisFleetStore({ sendCommand() {} }, { cluster: 1 }));
    grab(() => new DurableObjectFleetStore(5));
    grab(() => new FleetBreaker({ name: 'x', store: { read() {}, write() {}, count() {} } }).onFleetChange(5));
    messages.push(new FleetConfigError('api', 'openMs: 2000 here, 1000 in the fleet').message, new FleetStoreError('redis: down').message);
    assert.equal(messages.length, 6);
    for (const m of messages) assert.doesNotMatch(m, /^halfopen:/, m);
    assert.equal(messages[4], "fleet api: this instance's configuration differs from the fleet's (openMs: 2000 here, 1000 in the fleet): it stays a local breaker");
    assert.equal(messages[5], 'fleet store: redis: down');
});

test('execute refuses unknown options, with the options it takes', async () => {
    const b = new CircuitBreaker();
    let ran = 0;
    const op = async () => ++ran;
    await assert.rejects(b.execute(op, { timeoutMs: 5 }), (e) => {
        assert.ok(e instanceof TypeError);
        assert.equal(e.key, 'timeoutMs');
        assert.equal(e.message, 'unknown execute option timeoutMs; execute takes signal (timeoutMs is an option of the breaker: new CircuitBreaker({ timeoutMs }))');
        return true;
    });
    await assert.rejects(b.execute(op, { sigal: AbortSignal.timeout(10) }), { name: 'TypeError', key: 'sigal', message: /^unknown execute option sigal; did you mean signal\? execute takes signal$/ });
    await assert.rejects(b.execute(op, { timeout: 5 }), { name: 'TypeError', key: 'timeout', message: 'unknown execute option timeout; execute takes signal (timeoutMs is an option of the breaker: new CircuitBreaker({ timeoutMs }))' });
    await assert.rejects(b.execute(op, { signal: 'stop' }), { name: 'TypeError', key: 'signal', message: /^signal must be an AbortSignal, got "stop"/ });
    await assert.rejects(b.execute(op, new AbortController().signal), { name: 'TypeError', message: /execute\(fn, \{ signal \}\)/ });
    await assert.rejects(b.execute(op, 5), { name: 'TypeError', key: '', message: /^execute's options must be an object/ });
    assert.equal(ran, 0, 'a refused call does not run');
    assert.equal(b.metrics().successes + b.metrics().failures + b.metrics().rejected, 0, 'nor count');
    assert.equal(await b.execute(op, { signal: undefined }), 1);
    assert.equal(await b.execute(op, {}), 2);
});

test('FleetBreaker.execute refuses unknown options as the breaker does', async () => {
    const store = { read: () => new Promise(() => {}), write() {}, count() {} };
    const f = new FleetBreaker({ name: 'x', store });
    await assert.rejects(f.execute(async () => 1, { timeoutMs: 5 }), { name: 'TypeError', key: 'timeoutMs' });
    await f.close();
});

test('permit misuse throws a PermitError and changes nothing', () => {
    const b = new CircuitBreaker({ trip: { consecutiveFailures: 2 } });
    const p = b.tryAcquire();
    p.failure();
    const before = b.metrics();
    assert.throws(() => p.success(), (e) => {
        assert.ok(e instanceof PermitError);
        assert.ok(e instanceof Error);
        assert.equal(e.name, 'PermitError');
        assert.equal(e.code, 'alreadyRecorded');
        assert.equal(e.message, 'permit.success() after failure(): a permit records one outcome; take a new one with tryAcquire()');
        return true;
    });
    assert.throws(() => p.failure(), { code: 'alreadyRecorded' });
    assert.deepEqual(b.metrics(), before);
    assert.equal(b.state, 'closed', 'the second failure was not counted');
    p.release(); // a no-op once an outcome is recorded

    const q = b.tryAcquire();
    q.release();
    assert.throws(() => q.ignore(), (e) => e instanceof PermitError && e.code === 'alreadyReleased' && /^permit\.ignore\(\) after release\(\)/.test(e.message));
    q.release(); // twice is fine
});

test('instanceof: every exported class recognises the instances of another copy of the package', async () => {
    // A second copy, as a program that imports and requires the package may
    // load (or two bundles): the CommonJS entry loaded afresh, with its own
    // classes and its own WebAssembly instance.
    const require = createRequire(import.meta.url);
    const dist = dirname(require.resolve('halfopen'));
    const fresh = () => {
        for (const key of Object.keys(require.cache)) if (key.startsWith(dist)) delete require.cache[key];
        return require('halfopen');
    };
    const other = fresh();
    assert.notEqual(other.CircuitBreaker, CircuitBreaker, 'a second copy');
    assert.notEqual(other.BrokenCircuitError, BrokenCircuitError);

    const instances = async (m) => {
        const b = new m.CircuitBreaker({ trip: { consecutiveFailures: 1 }, timeoutMs: 1 });
        const timeout = await b.execute(() => new Promise(() => {})).catch((e) => e);
        const broken = await b.execute(async () => 1).catch((e) => e);
        b.isolate();
        const isolated = await b.execute(async () => 1).catch((e) => e);
        let snapshot;
        try {
            m.CircuitBreaker.restore(new Uint8Array(3));
        } catch (e) {
            snapshot = e;
        }
        b.reset();
        const p = b.tryAcquire();
        p.success();
        let permit;
        try {
            p.success();
        } catch (e) {
            permit = e;
        }
        return { CircuitBreaker: b, CallTimeoutError: timeout, BrokenCircuitError: broken, IsolatedCircuitError: isolated, SnapshotError: snapshot, PermitError: permit };
    };
    const mine = await instances(esm);
    const theirs = await instances(other);
    const names = Object.keys(mine);
    for (const name of names) {
        assert.ok(mine[name] instanceof esm[name], `${name}: own copy`);
        assert.ok(theirs[name] instanceof esm[name], `${name}: the other copy's instance, this copy's class`);
        assert.ok(mine[name] instanceof other[name], `${name}: this copy's instance, the other copy's class`);
        for (const wrong of names.filter((n) => n !== name)) {
            assert.ok(!(theirs[name] instanceof esm[wrong]), `${name} is not a ${wrong}`);
        }
        if (name !== 'CircuitBreaker') assert.ok(theirs[name] instanceof Error, `${name} is an Error`);
    }
    assert.ok(theirs.CircuitBreaker instanceof EventTarget);
    for (const v of [null, undefined, 5, 'x', {}, new Error('x'), Object.create(null)]) assert.ok(!(v instanceof BrokenCircuitError));

    // A subclass is checked by its prototype chain, not by the brand.
    class MyError extends BrokenCircuitError {}
    const e = new MyError('open', 5);
    assert.ok(e instanceof MyError && e instanceof BrokenCircuitError && e instanceof Error);
    assert.ok(!(theirs.BrokenCircuitError instanceof MyError));
    assert.ok(e instanceof other.BrokenCircuitError);

    // halfopen/fleet's errors too.
    const fleetDist = dirname(require.resolve('halfopen/fleet'));
    for (const key of Object.keys(require.cache)) if (key.startsWith(fleetDist)) delete require.cache[key];
    const otherFleet = require('halfopen/fleet');
    for (const [Mine, Theirs] of [[FleetConfigError, otherFleet.FleetConfigError], [FleetStoreError, otherFleet.FleetStoreError]]) {
        assert.notEqual(Mine, Theirs);
        assert.ok(Object.create(Theirs.prototype) instanceof Mine);
        assert.ok(Object.create(Mine.prototype) instanceof Theirs);
        assert.ok(!(new Error('x') instanceof Mine));
    }
    assert.ok(!(Object.create(FleetStoreError.prototype) instanceof FleetConfigError));
});

test('named exports only: no default export', async () => {
    assert.equal(esm.default, undefined);
    assert.equal(createRequire(import.meta.url)('halfopen').default, undefined);
});
