// halfopen/init for Node bundles (the `module` condition, as node-esm.js):
// ES modules only, the module loaded from the base64 the entry carries;
// init() and initSync() check their argument and load nothing.
export * from './node-esm.js';
export { init, initSync } from './node-init.js';
