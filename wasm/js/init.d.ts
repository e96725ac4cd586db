// halfopen/init: the package's exports, plus init() and initSync() to load
// the WebAssembly module explicitly (no top-level await).
export * from './index.js';

/** What init() loads the WebAssembly module from. */
export type InitInput =
    | string
    | GlobalInstance<'URL'>
    | GlobalInstance<'Request'>
    | GlobalInstance<'Response'>
    | PromiseLike<GlobalInstance<'Response'>>
    | ArrayBuffer
    | ArrayBufferView
    | WasmModule;

/**
 * A compiled WebAssembly.Module. (The DOM library declares it as an empty
 * interface, which any value but null and undefined matches: `object` keeps
 * numbers and strings out.) Looked up on `globalThis`, so that a program
 * whose libraries declare no WebAssembly (Node's types without the DOM
 * library) type-checks too.
 */
export type WasmModule = (typeof globalThis extends { WebAssembly: { Module: { prototype: infer M } } } ? M : never) & object;

/** The instance type of the global class `K` (`URL`, `Request`, `Response`), or `never` where the program's libraries declare none. */
type GlobalInstance<K extends string> = typeof globalThis extends { [P in K]: { prototype: infer T } } ? T : never;

/**
 * Loads the WebAssembly module: from `input` (an URL, a Request, a Response
 * or a promise of one, the bytes, or a compiled WebAssembly.Module), or,
 * without an argument, the `.wasm` beside the module. Resolves once breakers
 * can be made; a second call resolves at once. A breaker made before throws.
 */
export function init(input?: InitInput): Promise<void>;

/** Loads the WebAssembly module synchronously from its bytes or a compiled WebAssembly.Module. */
export function initSync(input: ArrayBuffer | ArrayBufferView | WasmModule): void;
