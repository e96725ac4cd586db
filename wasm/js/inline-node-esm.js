// halfopen/inline for Node bundles (the `module` condition, as node-esm.js):
// ES modules only, the module loaded from the base64 the entry carries;
// `ready` resolved.
export * from './node-esm.js';
export { ready } from './node-init.js';
