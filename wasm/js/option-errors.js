// Internal to the package (not exported by its entries): the wording of the
// option errors the base and the fleet layers share (one rule, one message
// per kind of mistake, wherever the option is), and the guess of an unknown
// option's, preset's or key's intended name.
//
// The class rule, for every option: a value of the wrong type (a string for
// a number, an object for a function, an unknown or missing key) is a
// `TypeError`; a value of the right type that is not valid (a number out of
// range or not an integer, a string that is not a valid name, preset or
// state) is a `RangeError`. The message starts with the option's path,
// which is also `error.key`. Option errors carry no `halfopen: ` prefix
// (only the loading errors of the entries do, which no call of the
// program's own is on the stack of).
import { CONFIG_ERRORS } from './facts.js';

/** The edit distance of two strings (Levenshtein), for "did you mean". */
function editDistance(a, b) {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const next = [i];
        for (let j = 1; j <= b.length; j++) {
            next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        row = next;
    }
    return row[b.length];
}

/**
 * The known name an unknown one was probably meant to be, or undefined: the
 * same name in another case (`openms`), a name it starts or ends (`timeout`
 * for `timeoutMs`, at least 3 characters), or one a typo or two away
 * (`halfOpenMaxCall`, `sucessThreshold`; at most 1 edit for names under 6
 * characters), case ignored. Ties go to the first candidate.
 */
export function didYouMean(name, candidates) {
    if (typeof name !== 'string' || name.length === 0) return undefined;
    const lower = name.toLowerCase();
    let best;
    let bestScore = Infinity;
    for (const candidate of candidates) {
        const c = candidate.toLowerCase();
        let score;
        if (c === lower) score = 0;
        else if (lower.length >= 3 && (c.startsWith(lower) || lower.startsWith(c))) score = 1;
        else {
            const d = editDistance(lower, c);
            if (d <= (Math.min(lower.length, c.length) < 6 ? 1 : 2)) score = 1 + d;
        }
        if (score !== undefined && score < bestScore) {
            best = candidate;
            bestScore = score;
        }
    }
    return best;
}

/** A value as an error message shows it: `"5" (a string)`, `null`, `an object`. */
export function describe(value) {
    if (typeof value === 'string') return `${JSON.stringify(value)} (a string)`;
    if (typeof value === 'bigint') return `${value}n (a bigint)`;
    if (typeof value === 'function') return 'a function';
    if (value === null) return 'null';
    if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
    return String(value);
}

/** `error`, its `key` set to the option's path. */
export function keyed(error, key) {
    error.key = key;
    return error;
}

/** An option's error (`Ctor` TypeError or RangeError, by the class rule above). */
export function optionError(Ctor, key, message) {
    return keyed(new Ctor(message), key);
}

/** Whether `value` is an object of keys: not null, not an array. */
export function isPlainObject(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The core's wording of a value out of range (its ConfigError's Display). */
const OUT_OF_RANGE = CONFIG_ERRORS.find((k) => k.name === 'outOfRange');
export const outOfRange = (key, value, min, max) => OUT_OF_RANGE.message(key, value, min, max);

/**
 * The error for a number option's value that is not valid: the core's
 * wording (`openMs = 0 is out of range 1..=2147483647`) for every number,
 * with the reason when the number is not an integer (`openMs = 1.5 is out
 * of range 1..=2147483647: not an integer`). A value that is not a number at
 * all is a TypeError (`openMs must be an integer in 1..=2147483647, got "5"
 * (a string)`).
 */
export function numberError(key, value, min, max) {
    if (typeof value !== 'number') {
        return optionError(TypeError, key, `${key} must be an integer in ${min}..=${max}, got ${describe(value)}`);
    }
    const why = Number.isFinite(value) && !Number.isInteger(value) ? ': not an integer' : '';
    return optionError(RangeError, key, `${outOfRange(key, value, min, max)}${why}`);
}

/** `unknown option X; did you mean Y? ...`: the message of an unknown key. */
export function unknownKey(what, name, candidates, list) {
    return `unknown ${what} ${name}; ${meant(name, candidates)}${list}`;
}

/**
 * The TypeError of the first key of `object` that is not one of `names`
 * (undefined values are skipped, as everywhere), or undefined: `unknown
 * WHAT KEY; did you mean ...? LIST`, its `key` `prefix + KEY`.
 */
export function unknownKeyError(object, names, what, list, prefix = '') {
    for (const k of Object.keys(object)) {
        if (object[k] === undefined || names.includes(k)) continue;
        return optionError(TypeError, `${prefix}${k}`, unknownKey(what, `${prefix}${k}`, names.map((n) => `${prefix}${n}`), list));
    }
    return undefined;
}

/** The longest breaker name (the fleet's keys' and the metrics' label rule). */
export const MAX_NAME_LENGTH = 64;

/**
 * Checks a breaker name: 1 to 64 characters of A-Z a-z 0-9 _ - . : (the
 * names a fleet record, its Redis keys and a metrics label take as they
 * are; the Rust crate halfopen-redis's rule). Not a string: a TypeError; a
 * string that is not a valid name: a RangeError.
 */
export function checkName(name) {
    if (typeof name !== 'string') {
        throw optionError(TypeError, 'name', `name must be a string, got ${describe(name)}`);
    }
    if (name.length === 0) throw optionError(RangeError, 'name', 'name is empty: a breaker name is 1 to 64 characters');
    if (name.length > MAX_NAME_LENGTH) {
        throw optionError(RangeError, 'name', `name is ${name.length} characters long: at most ${MAX_NAME_LENGTH}`);
    }
    const bad = name.search(/[^A-Za-z0-9_.:-]/);
    if (bad >= 0) {
        throw optionError(RangeError, 'name', `name ${JSON.stringify(name)} has ${JSON.stringify(name[bad])} at index ${bad}: use A-Z a-z 0-9 _ - . :`);
    }
    return name;
}

/** `did you mean X? ` for a name not among `candidates`, or nothing. */
export function meant(name, candidates) {
    const guess = didYouMean(name, candidates);
    return guess === undefined ? '' : `did you mean ${guess}? `;
}
