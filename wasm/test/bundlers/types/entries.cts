// halfopen/init and halfopen/inline from CommonJS (`require`, the .d.cts
// types): the same classes as `require('halfopen')`. Checked by tsc in
// ../bundlers.test.mjs.
import halfopen = require('halfopen');
import withInit = require('halfopen/init');
import inline = require('halfopen/inline');

async function main(): Promise<void> {
    await withInit.init();
    withInit.initSync(new Uint8Array(8));
    await inline.ready;
    const a: halfopen.CircuitBreaker = new withInit.CircuitBreaker();
    const b: halfopen.CircuitBreaker = new inline.CircuitBreaker();
    void a;
    void b;
    // @ts-expect-error initSync cannot fetch: bytes or a Module only
    withInit.initSync('halfopen_bg.wasm');
}
void main;
