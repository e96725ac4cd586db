// What the workerd and Chromium vector tests compare with: the vector files
// (tests/vectors/*.json, in one order), their cases, and the host runner's
// lines on the same files in the same order.
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** tests/vectors/*.json, sorted. */
export function vectorFiles() {
    const dir = join(repo, 'tests', 'vectors');
    return readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(dir, f));
}

/** The cases of `files`, in order, as one array (every file must parse). */
export function vectorCases(files) {
    return files.flatMap((file) => {
        const cases = JSON.parse(readFileSync(file, 'utf8'));
        if (!Array.isArray(cases)) throw new Error(`${file}: a vector file is a JSON array of cases`);
        return cases;
    });
}

/** The host runner's lines on `files` (cargo run -p halfopen-conformance). */
export function hostLines(files) {
    const run = spawnSync('cargo', ['run', '-q', '-p', 'halfopen-conformance', '--', ...files], {
        cwd: repo,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
    });
    if (run.error) throw run.error;
    if (run.stdout.trim() === '') throw new Error(`the host runner printed nothing (exit ${run.status}): ${run.stderr}`);
    return run.stdout.replace(/\n$/, '').split('\n');
}
