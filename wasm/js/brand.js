// Internal to the package (not exported by its entries).
//
// A program can load two copies of the package: Node's ES module and CommonJS
// entries, two bundles, two versions. Each exported class is then two
// classes, and `e instanceof BrokenCircuitError` would be false for the
// other copy's errors. So each exported class marks its prototype with a
// brand, a registered symbol (`Symbol.for('halfopen.BrokenCircuitError')`,
// the same in every copy and realm), and its `static [Symbol.hasInstance]`
// checks the brand: `instanceof` is true for either copy's instances, and
// for instances of subclasses (they inherit the prototype's brand). For a
// subclass itself (`class MyError extends BrokenCircuitError`) the check is
// the ordinary prototype-chain one. A branded error is an ordinary `Error`
// (`instanceof Error`, `cause`, stack) as well.

/** The brand key of each branded class. */
const BRANDS = new Map();

/** Marks `Class`'s prototype with the brand `halfopen.<name>` (a name that minifiers cannot change). */
export function brand(Class, name) {
    const key = Symbol.for(`halfopen.${name}`);
    BRANDS.set(Class, key);
    Object.defineProperty(Class.prototype, key, { value: true });
}

/** `value instanceof ctor`, by the brand when `ctor` is a branded class itself. */
export function isInstance(ctor, value) {
    const key = BRANDS.get(ctor);
    if (key === undefined) return Function.prototype[Symbol.hasInstance].call(ctor, value);
    return value !== null && (typeof value === 'object' || typeof value === 'function') && value[key] === true;
}

/**
 * The base of the package's error classes: an ordinary `Error` whose
 * `instanceof` checks the brand (each subclass inherits this static method,
 * so `e instanceof BrokenCircuitError` is true for either copy's errors).
 */
export class BrandedError extends Error {
    static [Symbol.hasInstance](value) {
        return isInstance(this, value);
    }
}
