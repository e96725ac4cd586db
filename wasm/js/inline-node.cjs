'use strict';
// halfopen/inline in Node, `require`: the Node entry (node.cjs, one instance
// per process shared with `require('halfopen')` and `import 'halfopen'`),
// plus `ready`, resolved.
const { ready } = require('./node-init.cjs');

module.exports = Object.assign({}, require('./node.cjs'), { ready });
