// The README's code, as it is, compiles under TypeScript `strict` against
// the installed package's types: every ```js and ```ts block of README.md
// is compiled as a TypeScript module of its own (types/tsconfig.json's
// options: strict, nodenext; but not exactOptionalPropertyTypes, which
// `strict` does not include and the Redis example's `createClient({ url:
// process.env.REDIS_URL })` does not meet: tsc -p types checks the
// package's own types with it), with the names it
// uses without declaring them (a URL, a logger, an Express app) declared in
// types/readme-globals.d.ts. So an example cannot drift from the types.
//
// One diagnostic is let through: an implicitly typed parameter of the
// Worker's `fetch(request, env, ctx)` handler, whose types come from the
// host (@cloudflare/workers-types), not from this package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const testDir = join(here, '..');
const typesDir = join(testDir, 'types');
const readme = join(testDir, '..', 'README.md');

/** The parameters whose types the host gives (a Worker's fetch handler). */
const HOST_PARAMETERS = ['request', 'env', 'ctx'];

/**
 * The fenced ```js / ```ts blocks of a Markdown text, each with the line it
 * starts on; a block indented in a list item loses its indentation.
 */
export function codeBlocks(markdown) {
    const blocks = [];
    const lines = markdown.split('\n');
    for (let i = 0; i < lines.length; i++) {
        const open = /^(\s*)```(js|javascript|ts|typescript|mjs)\s*$/.exec(lines[i]);
        if (!open) continue;
        const indent = open[1].length;
        const start = i + 1;
        const body = [];
        for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i].slice(Math.min(indent, lines[i].search(/\S|$/))));
        assert.ok(i < lines.length, `README.md: the block at line ${start} is not closed`);
        blocks.push({ line: start + 1, lang: open[2], code: body.join('\n') });
    }
    return blocks;
}

test('the README has the code blocks this test compiles', () => {
    const blocks = codeBlocks(readFileSync(readme, 'utf8'));
    assert.ok(blocks.length >= 5, `found ${blocks.length} blocks`);
    assert.ok(blocks[0].code.includes('isResultFailure: (res) => res.status >= 500'), 'the first example classifies results');
});

/**
 * The diagnostics of the README's blocks compiled as `ext` files (`.mts`:
 * TypeScript; `.mjs`: JavaScript checked with checkJs, as an editor does),
 * as `README.md:LINE: TS.... message` lines.
 */
function compileBlocks(ext) {
    const blocks = codeBlocks(readFileSync(readme, 'utf8'));
    const { config } = ts.readConfigFile(join(typesDir, 'tsconfig.json'), ts.sys.readFile);
    const { options, errors } = ts.parseJsonConfigFileContent(config, ts.sys, typesDir);
    assert.deepEqual(errors, []);
    assert.equal(options.strict, true);
    // Within test/, so that `halfopen` (and `redis`) resolve to the installed packages.
    const dir = mkdtempSync(join(testDir, '.readme-'));
    try {
        const files = blocks.map((b, i) => {
            const file = join(dir, `block-${String(i).padStart(2, '0')}-line-${b.line}${ext}`);
            // `export {}` makes a block without imports a module too (top-level await).
            writeFileSync(file, `${b.code}\nexport {};\n`);
            return file;
        });
        // Types of dependencies the README imports (redis) are not this
        // package's to check; the package's own are (tsc -p types).
        const js = ext === '.mjs' ? { allowJs: true, checkJs: true } : {};
        const program = ts.createProgram([...files, join(typesDir, 'readme-globals.d.ts')], { ...options, ...js, exactOptionalPropertyTypes: false, skipLibCheck: true });
        const problems = [];
        for (const d of ts.getPreEmitDiagnostics(program)) {
            const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
            if (d.code === 7006 && HOST_PARAMETERS.some((p) => text.includes(`'${p}'`))) continue;
            if (d.file === undefined) {
                problems.push(text);
                continue;
            }
            const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
            const block = blocks[files.indexOf(d.file.fileName)];
            const where = block === undefined ? d.file.fileName : `README.md:${block.line + line}`;
            problems.push(`${where}: TS${d.code} ${text}`);
        }
        return problems;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

test('every code block of the README compiles under TypeScript strict', () => {
    const problems = compileBlocks('.mts');
    assert.deepEqual(problems, [], `README code that does not compile under strict:\n${problems.join('\n')}`);
});

test('every code block of the README type-checks as JavaScript (checkJs, strict)', () => {
    const problems = compileBlocks('.mjs');
    assert.deepEqual(problems, [], `README code that does not type-check as JavaScript:\n${problems.join('\n')}`);
});
