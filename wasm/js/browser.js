// Browser (and bundler) entry. The .wasm is fetched beside this file
// (bundlers recognise the `new URL(..., import.meta.url)` pattern and emit
// it as an asset) and instantiated with streaming compilation; top-level
// await makes the exports usable as soon as the import resolves.
import init from './halfopen.js';

await init({ module_or_path: new URL('./halfopen_bg.wasm', import.meta.url) });

export * from './breaker.js';
