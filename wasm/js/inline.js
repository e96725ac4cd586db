// halfopen/inline: the .wasm carried in this module as base64, for IIFE
// builds, CDNs and builds that copy no assets. No top-level await: the module
// is compiled and instantiated synchronously when this module is evaluated
// (browsers allow it for a module of this size on the main thread; Chromium
// once limited synchronous compilation there to 4 KB). Should the synchronous
// compilation be refused, it is done asynchronously instead: `ready` resolves
// when breakers can be made (at once, normally), and a breaker made before
// throws an error saying so.
import loadGlue, { initSync } from './halfopen.js';
import { WASM_BASE64 } from './wasm-base64.js';
import { assertNotWorkers } from './workers-guard.js';

export * from './breaker.js';

function decode(base64) {
    if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(base64);
    const text = atob(base64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
}

function load() {
    assertNotWorkers("the entry 'halfopen/inline'");
    const bytes = decode(WASM_BASE64);
    try {
        initSync({ module: bytes });
        return Promise.resolve();
    } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        // A main thread that refuses synchronous compilation.
        return loadGlue({ module_or_path: bytes }).then(() => undefined);
    }
}

/** Resolves when the WebAssembly module is loaded (already, unless the runtime refused to compile synchronously). */
export const ready = load();
