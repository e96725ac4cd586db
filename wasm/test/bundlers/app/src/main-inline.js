// The app with the .wasm inlined (IIFE builds, CDNs): no top-level await.
import * as halfopen from 'halfopen/inline';
import { run, print, fail } from './app.js';

// Loaded when the import returns (compiled synchronously, on a page's main
// thread too), before `ready` has resolved.
let synchronous;
try {
    new halfopen.CircuitBreaker();
    synchronous = true;
} catch {
    synchronous = false;
}
console.log(`halfopen-inline-synchronous ${synchronous}`);

halfopen.ready.then(() => run(halfopen)).then(print, fail);
