'use strict';
// halfopen/init in Node, `require`: the Node entry (node.cjs, one instance
// per process shared with `require('halfopen')` and `import 'halfopen'`),
// plus init() and initSync(), which check their argument and load nothing.
const { init, initSync } = require('./node-init.cjs');

module.exports = Object.assign({}, require('./node.cjs'), { init, initSync });
