// The app with init() given the .wasm's URL from the bundler: esbuild's file
// loader (--loader:.wasm=file) copies the package's exported
// halfopen/halfopen_bg.wasm into the output and imports its URL. No
// top-level await, no import.meta, no cp.
import * as halfopen from 'halfopen/init';
import wasmUrl from 'halfopen/halfopen_bg.wasm';
import { run, print, fail } from './app.js';

halfopen
    .init(wasmUrl)
    .then(() => run(halfopen))
    .then(print, fail);
