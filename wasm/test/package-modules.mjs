// The installed package's files as a bundler resolving the `workerd`
// condition would hand them to workerd (miniflare `modules`): every module
// reachable from the `halfopen` and `halfopen/fleet` entries, the .wasm
// files as CompiledWasm, and modules of those two names re-exporting them.
import { readFileSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

/** The modules root: wasm/test, where the packed package is installed. */
export const root = dirname(fileURLToPath(import.meta.url));

export function packageModules() {
    const require = createRequire(join(root, 'x.js'));
    const pkgJson = require.resolve('halfopen/package.json');
    const exports = JSON.parse(readFileSync(pkgJson, 'utf8')).exports;
    const seen = new Set();
    const modules = [];
    const visit = (file) => {
        if (seen.has(file)) return;
        seen.add(file);
        if (file.endsWith('.wasm')) {
            modules.push({ type: 'CompiledWasm', path: file, contents: readFileSync(file) });
            return;
        }
        const code = readFileSync(file, 'utf8');
        modules.push({ type: 'ESModule', path: file, contents: code });
        // An import or export statement may span lines (an import list), or import for effect only.
        for (const m of code.matchAll(/^(?:import|export)\b[^;]*?['"](\.[^'"]+)['"];?$/gm)) {
            visit(join(dirname(file), m[1]));
        }
    };
    for (const [spec, sub] of [['halfopen', '.'], ['halfopen/fleet', './fleet']]) {
        const entry = join(dirname(pkgJson), exports[sub].workerd.default);
        visit(entry);
        const at = join(root, spec);
        modules.push({ type: 'ESModule', path: at, contents: `export * from './${relative(dirname(at), entry)}';` });
    }
    return modules;
}
