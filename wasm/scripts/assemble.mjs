// Assembles the npm package's dist/ from the wasm-bindgen output and the
// hand-written JS layer in js/.
//
//   node scripts/assemble.mjs <wasm-bindgen out dir> <dist dir> [<fleet wasm-bindgen out dir>]
//
// The JS layer is written once, as ES modules. Node's CommonJS entry needs
// CommonJS copies of the wasm-bindgen glue and of the layer: they are made
// here by a deliberately narrow ESM -> CJS rewrite of top-level `import` and
// `export` statements (each at the start of a line, as the glue and js/ are
// formatted). Anything it does not recognise stops the build, so an upgrade of
// wasm-bindgen that changes the glue's shape fails loudly instead of shipping
// a broken CommonJS build. No bundler is needed for that.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const here = dirname(fileURLToPath(import.meta.url));
const jsDir = join(here, '..', 'js');
const [bindgenDir, distDir] = process.argv.slice(2);
if (!bindgenDir || !distDir) {
    console.error('usage: node scripts/assemble.mjs <wasm-bindgen out dir> <dist dir> [<fleet wasm-bindgen out dir>]');
    process.exit(2);
}
mkdirSync(distDir, { recursive: true });

const IDENT = String.raw`[A-Za-z_$][\w$]*`;

/** `a, b as c` -> [[local, exported], ...] */
function parseSpecifiers(list) {
    return list
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => {
            const m = s.match(new RegExp(`^(${IDENT})(?:\\s+as\\s+(${IDENT}))?$`));
            if (!m) throw new Error(`unsupported specifier: ${s}`);
            return [m[1], m[2] ?? m[1]];
        });
}

function cjsPath(spec) {
    if (!spec.startsWith('./') || !spec.endsWith('.js')) {
        throw new Error(`unsupported import source ${spec}: only ./name.js`);
    }
    return spec.replace(/\.js$/, '.cjs');
}

/**
 * Rewrites an ES module into CommonJS. Returns the CJS text and the names it
 * exports (those of `export * from` included).
 */
function esmToCjs(source, file, exportsOf) {
    const exported = []; // [local, exported]
    const reexports = []; // module specifiers of `export * from`
    const out = [];
    // An import list over several lines is read as one line.
    source = source.replace(/^import \{([^}]*)\} from/gm, (_, list) => `import {${list.replace(/\s+/g, ' ')}} from`);
    for (const line of source.split('\n')) {
        let m;
        if (!/^(import|export)\b/.test(line)) {
            if (/\bimport\.meta\b/.test(line)) {
                out.push(line.replaceAll('import.meta.url', "require('node:url').pathToFileURL(__filename)"));
            } else {
                out.push(line);
            }
            continue;
        }
        if ((m = line.match(new RegExp(`^export (class|function\\*?|async function|const|let) (${IDENT})(.*)$`)))) {
            out.push(`${m[1]} ${m[2]}${m[3]}`);
            exported.push([m[2], m[2]]);
        } else if ((m = line.match(/^export \{([^}]*)\};?\s*$/))) {
            exported.push(...parseSpecifiers(m[1]));
        } else if ((m = line.match(/^export \* from (['"])([^'"]+)\1;?\s*$/))) {
            reexports.push(m[2]);
        } else if ((m = line.match(/^import \{([^}]*)\} from (['"])([^'"]+)\2;?\s*$/))) {
            const binds = parseSpecifiers(m[1]).map(([imp, local]) => (imp === local ? imp : `${imp}: ${local}`));
            out.push(`const { ${binds.join(', ')} } = require('${cjsPath(m[3])}');`);
        } else if ((m = line.match(new RegExp(`^import \\* as (${IDENT}) from (['"])([^'"]+)\\2;?\\s*$`)))) {
            out.push(`const ${m[1]} = require('${cjsPath(m[3])}');`);
        } else {
            throw new Error(`${file}: unsupported top-level statement for the CommonJS build:\n  ${line}`);
        }
    }
    const names = exported.map(([, e]) => e);
    const tail = ["'use strict';", ...out];
    for (const spec of reexports) {
        tail.push(`Object.assign(module.exports, require('${cjsPath(spec)}'));`);
        names.push(...exportsOf(spec));
    }
    for (const [local, name] of exported) {
        tail.push(`module.exports.${name} = ${local};`);
    }
    const text = tail.join('\n');
    // Parse it as CommonJS now rather than at a user's require().
    new vm.Script(`(function (exports, require, module, __filename, __dirname) {${text}\n})`, { filename: file });
    return { text, names };
}

/** `text` with `from` replaced `count` times exactly, or the build stops. */
function replaceExactly(text, from, to, count, file) {
    const n = text.split(from).length - 1;
    if (n !== count) throw new Error(`${file}: expected ${count} of ${JSON.stringify(from)} in the wasm-bindgen glue, found ${n}`);
    return text.replaceAll(from, to);
}

/**
 * Changes to the wasm-bindgen glue (--target web), each checked so a new
 * glue of another shape stops the build:
 * - until the module is loaded, any call into it throws an error that says
 *   so (halfopen/init: a breaker made before init()), instead of a TypeError
 *   on `undefined`;
 * - the module is instantiated once: an init() that resolves after
 *   initSync() has loaded it keeps the first instance;
 * - `isLoaded()`, exported;
 * - no default URL of the .wasm (`new URL(..., import.meta.url)`): the
 *   entries always say where the module comes from, so the glue has no
 *   import.meta (IIFE and CommonJS bundles have none) and bundlers see one
 *   reference to the .wasm, the entry's.
 */
function patchGlue(source, file) {
    const what = file.startsWith('halfopen_fleet') ? "halfopen/fleet's WebAssembly module" : 'the WebAssembly module of halfopen';
    const message =
        `${what} is not loaded yet: with 'halfopen/init', await init() (or call initSync()) before making a breaker; ` +
        `with 'halfopen/inline', await ready`;
    source = replaceExactly(
        source,
        'let wasmModule, wasmInstance, wasm;',
        [
            '// Until the module is loaded, any use of it says so (scripts/assemble.mjs).',
            `const NOT_LOADED = new Proxy({}, { get() { throw new Error(${JSON.stringify(message)}); } });`,
            'let wasmModule, wasmInstance, wasm = NOT_LOADED;',
        ].join('\n'),
        1,
        file,
    );
    source = replaceExactly(source, 'if (wasm !== undefined) return wasm;', 'if (wasm !== NOT_LOADED) return wasm;', 2, file);
    // One instance, ever: an init() still compiling when initSync() (or
    // another entry) has loaded the module keeps the instance loaded first.
    // Replacing it would leave every breaker made meanwhile holding a pointer
    // into the old instance's memory, then read and freed in the new one's.
    source = replaceExactly(
        source,
        'function __wbg_finalize_init(instance, module) {\n',
        'function __wbg_finalize_init(instance, module) {\n    if (wasm !== NOT_LOADED) return wasm;\n',
        1,
        file,
    );
    if (/\bwasm [!=]== undefined/.test(source)) throw new Error(`${file}: the glue compares wasm with undefined elsewhere`);
    source = source.replace(
        /^( *)module_or_path = new URL\('[\w.]+_bg\.wasm', import\.meta\.url\);$/m,
        "$1throw new TypeError('no WebAssembly module given');",
    );
    if (/\bimport\.meta\b/.test(source)) throw new Error(`${file}: the glue still refers to import.meta`);
    // Whether it is loaded (halfopen/init's init() resolves at once if so).
    source = `${source.trimEnd()}\n\nexport function isLoaded() {\n    return wasm !== NOT_LOADED;\n}\n`;
    return source;
}

/** A module exporting the .wasm as base64 (the Node entries and halfopen/inline), ES module and CommonJS. */
function base64Module(wasmFile, esmName) {
    const src = join(distDir, `${esmName}.src.js`);
    writeFileSync(
        src,
        [
            `// Generated by scripts/assemble.mjs: ${wasmFile} as base64.`,
            `export const WASM_BASE64 = ${JSON.stringify(readFileSync(join(distDir, wasmFile)).toString('base64'))};`,
            '',
        ].join('\n'),
    );
    convert(src, esmName);
    rmSync(src);
}

const namesByFile = new Map();
function convert(srcPath, esmName) {
    let source = readFileSync(srcPath, 'utf8');
    // wasm-bindgen's pointer to its own .d.ts, which is not shipped: the
    // package's types are the hand-written index.d.ts.
    source = source.replace(/^\/\* @ts-self-types="[^"]*" \*\/\n/, '');
    // The glue's import statements load js/hooks.js from a hashed snippets/
    // folder; the package has it beside the glue. (The wasm module's own
    // import name for it, a key of the imports object, stays as it is.)
    source = source.replaceAll(/^(import .*)\.\/snippets\/[\w.-]+\/js\/hooks\.js/gm, '$1./hooks.js');
    if (esmName.startsWith('halfopen')) source = patchGlue(source, esmName);
    writeFileSync(join(distDir, esmName), source);
    const { text, names } = esmToCjs(source, esmName, (spec) => namesByFile.get(spec.slice(2)));
    writeFileSync(join(distDir, esmName.replace(/\.js$/, '.cjs')), text);
    namesByFile.set(esmName, names);
    return names;
}

const snippets = readdirSync(join(bindgenDir, 'snippets'), { recursive: true }).filter((f) => f.endsWith('.js'));
if (snippets.length !== 1 || !snippets[0].endsWith(join('js', 'hooks.js'))) {
    throw new Error(`expected one wasm-bindgen snippet, js/hooks.js; found: ${snippets.join(', ')}`);
}
convert(join(jsDir, 'hooks.js'), 'hooks.js');
convert(join(bindgenDir, 'halfopen.js'), 'halfopen.js');
if (/^import .*\bsnippets\//m.test(readFileSync(join(distDir, 'halfopen.js'), 'utf8'))) {
    throw new Error('the glue still imports from snippets/');
}
// The facts generated from the Rust definitions (tests/generated.rs), which
// breaker.js imports.
convert(join(jsDir, 'facts.js'), 'facts.js');
convert(join(jsDir, 'brand.js'), 'brand.js');
convert(join(jsDir, 'option-errors.js'), 'option-errors.js');
const publicNames = convert(join(jsDir, 'breaker.js'), 'breaker.js');

// The entries: Node (CommonJS, and node.mjs below; node-esm.js for
// bundlers), workerd, the browser's
// (top-level await), halfopen/init (init() and initSync()) and
// halfopen/inline (the .wasm as base64). The .wasm is built into dist/ before
// this script runs.
base64Module('halfopen_bg.wasm', 'wasm-base64.js');
// halfopen/init's argument rules, and its Node build (init() loads nothing:
// the Node entry has loaded the module), ES module and CommonJS.
convert(join(jsDir, 'init-input.js'), 'init-input.js');
convert(join(jsDir, 'node-init.js'), 'node-init.js');
for (const f of [
    'node.cjs',
    'node-esm.js',
    'workerd.js',
    'browser.js',
    'init.js',
    'inline.js',
    'workers-guard.js',
    'init-node.cjs',
    'init-node-esm.js',
    'inline-node.cjs',
    'inline-node-esm.js',
]) {
    copyFileSync(join(jsDir, f), join(distDir, f));
}
// The types of halfopen/init and halfopen/inline, for `import` and `require`.
for (const f of ['init', 'inline']) {
    const text = readFileSync(join(jsDir, `${f}.d.ts`), 'utf8');
    writeFileSync(join(distDir, `${f}.d.ts`), text);
    writeFileSync(join(distDir, `${f}.d.cts`), replaceExactly(text, "from './index.js'", "from './index.cjs'", 1, `${f}.d.ts`));
}

// halfopen/fleet: its own .wasm and glue (built beside the base one, see
// build.sh), the Redis crate's Lua scripts read from redis/lua/ (never
// copied by hand), and the fleet layer.
const [fleetBindgenDir] = process.argv.slice(4);
let fleetNames = [];
if (fleetBindgenDir) {
    convert(join(fleetBindgenDir, 'halfopen_fleet.js'), 'halfopen_fleet.js');
    const luaDir = join(here, '..', '..', 'redis', 'lua');
    const lua = (f) => readFileSync(join(luaDir, f), 'utf8');
    const luaModule = join(distDir, 'fleet-lua.src.js');
    writeFileSync(
        luaModule,
        [
            '// Generated by scripts/assemble.mjs from redis/lua/*.lua: the scripts the Rust',
            '// crate halfopen-redis runs, the same text.',
            `export const READ_LUA = ${JSON.stringify(lua('read.lua'))};`,
            `export const WRITE_LUA = ${JSON.stringify(lua('write.lua'))};`,
            `export const COUNT_LUA = ${JSON.stringify(lua('count.lua'))};`,
            '',
        ].join('\n'),
    );
    convert(luaModule, 'fleet-lua.js');
    rmSync(luaModule);
    fleetNames = convert(join(jsDir, 'fleet.js'), 'fleet.js');
    base64Module('halfopen_fleet_bg.wasm', 'fleet-wasm-base64.js');
    for (const f of ['fleet-node.cjs', 'fleet-node-esm.js', 'fleet-workerd.js']) copyFileSync(join(jsDir, f), join(distDir, f));
    writeFileSync(
        join(distDir, 'fleet-node.mjs'),
        [
            '// Generated by scripts/assemble.mjs: the Node ES module entry of halfopen/fleet',
            '// re-exports the CommonJS one.',
            "import cjs from './fleet-node.cjs';",
            '',
            `export const { ${fleetNames.join(', ')} } = cjs;`,
            '',
        ].join('\n'),
    );
    const fdts = readFileSync(join(jsDir, 'fleet.d.ts'), 'utf8');
    writeFileSync(join(distDir, 'fleet.d.ts'), fdts);
    writeFileSync(join(distDir, 'fleet.d.cts'), fdts.replaceAll("from './index.js'", "from './index.cjs'"));
}

// Node's ES module entry re-exports the CommonJS one (a single instance per
// process, whichever way the package is loaded). The names are listed
// explicitly rather than left to Node's CommonJS export detection.
writeFileSync(
    join(distDir, 'node.mjs'),
    [
        '// Generated by scripts/assemble.mjs: the Node ES module entry re-exports the',
        '// CommonJS entry, so `import` and `require` share one instance.',
        "import cjs from './node.cjs';",
        '',
        `export const { ${publicNames.join(', ')} } = cjs;`,
        '',
    ].join('\n'),
);

// halfopen/init and halfopen/inline in Node: ES module entries re-exporting
// the CommonJS ones, so they share node.cjs's instance too.
for (const [entry, extra] of [
    ['init-node', ['init', 'initSync']],
    ['inline-node', ['ready']],
]) {
    writeFileSync(
        join(distDir, `${entry}.mjs`),
        [
            `// Generated by scripts/assemble.mjs: re-exports ${entry}.cjs (one instance with node.cjs).`,
            `import cjs from './${entry}.cjs';`,
            '',
            `export const { ${[...publicNames, ...extra].join(', ')} } = cjs;`,
            '',
        ].join('\n'),
    );
}

const dts = readFileSync(join(jsDir, 'index.d.ts'), 'utf8');
writeFileSync(join(distDir, 'index.d.ts'), dts);
writeFileSync(join(distDir, 'index.d.cts'), dts);

console.log(`assembled ${distDir}: exports ${publicNames.join(', ')}; halfopen/fleet exports ${fleetNames.join(', ')}`);
