'use strict';
// Node entry of halfopen/fleet (CommonJS; fleet-node.mjs re-exports it). The
// base package is loaded first (one CircuitBreaker class per process), then
// the fleet's own .wasm is instantiated synchronously from the bytes beside
// this file.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
require('./node.cjs');
const { initSync } = require('./halfopen_fleet.cjs');

initSync({ module: readFileSync(join(__dirname, 'halfopen_fleet_bg.wasm')) });

module.exports = require('./fleet.cjs');
