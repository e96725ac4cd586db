// A CommonJS project on TypeScript's older module resolution (node10, the
// default for `module: commonjs`), which reads no `exports`: the subpath
// entries resolve through package.json's typesVersions. Checked by tsc in
// ../bundlers.test.mjs.
import { init, initSync, CircuitBreaker } from 'halfopen/init';
import { ready } from 'halfopen/inline';
import { FleetBreaker } from 'halfopen/fleet';
import { CircuitBreaker as Base } from 'halfopen';

async function main(): Promise<void> {
    await init();
    initSync(new Uint8Array(8));
    await ready;
    const a: Base = new CircuitBreaker({ trip: { consecutiveFailures: 3 } });
    void a;
    void FleetBreaker;
    // @ts-expect-error init takes no number
    await init(42);
}
void main;
