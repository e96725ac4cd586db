// The browser entries, evaluated in Cloudflare Workers (a bundle made without
// the workerd condition): Workers may not fetch or compile WebAssembly at run
// time, so say which condition was forgotten instead of failing on the way.
export function assertNotWorkers(entry) {
    if (globalThis.navigator?.userAgent === 'Cloudflare-Workers') {
        throw new Error(
            `halfopen: ${entry} is the browser build, evaluated in Cloudflare Workers, which cannot fetch or ` +
                `compile WebAssembly at run time: bundle with the workerd condition (wrangler does; esbuild: ` +
                `--conditions=workerd --loader:.wasm=copy), whose entry imports the .wasm as a module`,
        );
    }
}
