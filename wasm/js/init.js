// halfopen/init: every export of the package, plus `init()` and `initSync()`
// to load the WebAssembly module when and from where the program says. No
// top-level await, and nothing is loaded at import: a breaker made before
// init() has resolved throws an error saying so.
//
//   init()                    the .wasm beside this module (new URL(..., import.meta.url))
//   init(url | Request)       fetched; a failed fetch names the URL and the fix
//   init(Response | Promise<Response>)
//   init(bytes | WebAssembly.Module)
//   initSync(bytes | WebAssembly.Module)
//
// `import.meta.url` is read only by init() without an argument, so an IIFE or
// CommonJS bundle (which has no import.meta) may use this entry with an URL or
// the bytes. In Node (the `node` condition) halfopen/init is the Node entry
// instead, loaded at import, with an init() that loads nothing (node-init.js).
import loadGlue, { initSync as glueInitSync, isLoaded } from './halfopen.js';
import { initInputError, initSyncInputError, isModuleInput, isResponse, isUrl } from './init-input.js';
import { assertNotWorkers } from './workers-guard.js';

export * from './breaker.js';

const WASM = 'halfopen_bg.wasm';

const FIX =
    `the file is node_modules/halfopen/dist/${WASM}: serve it at that URL (esbuild does not copy files a module ` +
    `refers to with new URL(..., import.meta.url): copy it beside the bundle), pass its URL or bytes to init() ` +
    `from 'halfopen/init', or import 'halfopen/inline', which carries the .wasm in its JavaScript`;

function defaultUrl() {
    assertNotWorkers("halfopen/init's init() without an argument");
    if (typeof import.meta.url !== 'string') {
        throw new TypeError(
            `halfopen: init() without an argument loads ${WASM} beside this module, but this build has no ` +
                `import.meta.url (an IIFE or CommonJS bundle): pass the .wasm's URL or bytes to init(), or import ` +
                `'halfopen/inline'`,
        );
    }
    return new URL('./halfopen_bg.wasm', import.meta.url);
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

async function fromResponse(response, url) {
    if (!response.ok) {
        throw new Error(
            `halfopen: could not load the WebAssembly module: ${url} answered ${response.status} ` +
                `${response.statusText}`.trimEnd() + `; ${FIX}`,
        );
    }
    const type = (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type === 'application/wasm') {
        // Streaming compilation.
        await loadGlue({ module_or_path: response });
        return;
    }
    // Another type: compile from the bytes, if they are WebAssembly (a
    // server's fallback page for a missing file is not).
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (!MAGIC.every((b, i) => bytes[i] === b)) {
        throw new Error(
            `halfopen: could not load the WebAssembly module: ${url} answered ${response.status} with ` +
                `${type || 'no content type'}, not WebAssembly (a missing file answered with a page?); ${FIX}`,
        );
    }
    await loadGlue({ module_or_path: bytes });
}

/**
 * Loads the WebAssembly module: from `input` (an URL, a Request, a Response
 * or a promise of one, the bytes, or a compiled WebAssembly.Module), or the
 * .wasm beside this module. Resolves once breakers can be made; a second call
 * resolves at once.
 */
export async function init(input) {
    if (isLoaded()) return;
    if (input === undefined) input = defaultUrl();
    if (typeof input?.then === 'function') input = await input;
    if (isUrl(input)) {
        const url = typeof input === 'string' || input instanceof URL ? String(input) : input.url;
        let response;
        try {
            response = await fetch(input);
        } catch (e) {
            throw new Error(`halfopen: could not load the WebAssembly module: fetch(${url}) failed (${e?.message ?? e}); ${FIX}`, {
                cause: e,
            });
        }
        return fromResponse(response, url);
    }
    if (isResponse(input)) return fromResponse(input, input.url || 'the Response');
    if (isModuleInput(input)) {
        await loadGlue({ module_or_path: input });
        return;
    }
    throw initInputError(input);
}

/**
 * Loads the WebAssembly module synchronously from its bytes or a compiled
 * WebAssembly.Module. A second call does nothing.
 */
export function initSync(input) {
    if (!isModuleInput(input)) throw initSyncInputError(input);
    if (!isLoaded()) glueInitSync({ module: input });
}
