// The app with an explicit init(): the .wasm from an URL the app chooses
// (here the page's own directory), no top-level await, no import.meta.
import * as halfopen from 'halfopen/init';
import { run, print, fail } from './app.js';

halfopen
    .init('halfopen_bg.wasm')
    .then(() => run(halfopen))
    .then(print, fail);
