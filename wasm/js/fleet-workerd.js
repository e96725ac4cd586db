// Cloudflare Workers (workerd) entry of halfopen/fleet: the base package's
// entry first (its .wasm), then the fleet's own .wasm, imported as a module
// and instantiated synchronously when the Worker's modules load. Nothing
// else runs at global scope: a FleetBreaker starts its exchanges with the
// coordinator in the first request that uses it.
import './workerd.js';
import fleetModule from './halfopen_fleet_bg.wasm';
import { initSync } from './halfopen_fleet.js';

initSync({ module: fleetModule });

export * from './fleet.js';
