// The app with the package's default entry (browsers, Node).
import * as halfopen from 'halfopen';
import { run, print, fail } from './app.js';

run(halfopen).then(print, fail);
