// Cloudflare Workers (workerd) entry. Workers may not compile WebAssembly
// from bytes at run time, so the .wasm is imported as a module (wrangler and
// miniflare turn `.wasm` imports into a WebAssembly.Module: the CompiledWasm
// rule) and instantiated synchronously when the Worker's modules load.
import wasmModule from './halfopen_bg.wasm';
import { initSync } from './halfopen.js';

initSync({ module: wasmModule });

export * from './breaker.js';
