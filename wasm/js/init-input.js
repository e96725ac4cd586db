// What halfopen/init's init() and initSync() take, and the TypeError for
// anything else: one rule for the browser build (init.js), which loads the
// module from it, and the Node build (node-init.js), which has loaded it
// already and only checks it.

export function isBytes(x) {
    return x instanceof ArrayBuffer || ArrayBuffer.isView(x);
}

export function isUrl(x) {
    return typeof x === 'string' || x instanceof URL || (typeof Request === 'function' && x instanceof Request);
}

export function isResponse(x) {
    return typeof Response === 'function' && x instanceof Response;
}

export function isModuleInput(x) {
    return isBytes(x) || x instanceof WebAssembly.Module;
}

export function describe(x) {
    if (x === null) return 'null';
    if (typeof x === 'object') return `an object (${Object.prototype.toString.call(x).slice(8, -1)})`;
    return `${typeof x} ${String(x)}`;
}

export function initInputError(input) {
    return new TypeError(
        `halfopen: init() takes the .wasm's URL (a string, URL or Request), a Response, its bytes (an ArrayBuffer or ` +
            `typed array) or a WebAssembly.Module, or nothing (the .wasm beside the module); got ${describe(input)}`,
    );
}

export function initSyncInputError(input) {
    return new TypeError(
        `halfopen: initSync() takes the .wasm's bytes (an ArrayBuffer or typed array) or a WebAssembly.Module; ` +
            `got ${describe(input)}`,
    );
}
