// halfopen/fleet in a Node bundle: a FleetBreaker on a store that answers
// from memory makes one call (which loads the fleet's own .wasm: its rules
// decide what to write).
import { FleetBreaker } from 'halfopen/fleet';

const calls = [];
const store = {
    timers: true,
    read: async () => {
        calls.push('read');
        return { nowMs: 1000, gen: '', record: null, config: null, counts: [] };
    },
    write: async () => {
        calls.push('write');
        return { written: true, nowMs: 1000 };
    },
    count: async () => {
        throw new Error('unused');
    },
};
const fleet = new FleetBreaker({ name: 'app', store, trip: { consecutiveFailures: 3 } });
fleet
    .execute(() => 42)
    .then(async (value) => {
        await fleet.flush();
        await fleet.close();
        console.log(`halfopen-app ${JSON.stringify({ value, calls })}`);
    })
    .catch((e) => {
        console.log(`halfopen-app-error ${e?.stack ?? e}`);
        process.exitCode = 1;
    });
