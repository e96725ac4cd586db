// The app with the .wasm inlined (IIFE builds, CDNs): no top-level await.
import * as halfopen from 'halfopen/inline';
import { run, print, fail } from './app.js';

halfopen.ready.then(() => run(halfopen)).then(print, fail);
