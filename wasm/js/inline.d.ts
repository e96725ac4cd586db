// halfopen/inline: the package's exports, with the .wasm inlined (base64)
// and instantiated when the module is evaluated.
export * from './index.js';

/**
 * Resolves when the WebAssembly module is loaded: already at import, unless
 * the runtime refused to compile it synchronously (then breakers can be made
 * once it resolves).
 */
export const ready: Promise<void>;
