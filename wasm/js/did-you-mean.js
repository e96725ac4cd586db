// Internal to the package (not exported by its entries): the guess of an
// unknown option's, preset's or key's intended name, for the errors of the
// base and the fleet layers.

/** The edit distance of two strings (Levenshtein), for "did you mean". */
function editDistance(a, b) {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const next = [i];
        for (let j = 1; j <= b.length; j++) {
            next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        row = next;
    }
    return row[b.length];
}

/**
 * The known name an unknown one was probably meant to be, or undefined: the
 * same name in another case (`openms`), a name it starts or ends (`timeout`
 * for `timeoutMs`, at least 3 characters), or one a typo or two away
 * (`halfOpenMaxCall`, `sucessThreshold`; at most 1 edit for names under 6
 * characters), case ignored. Ties go to the first candidate.
 */
export function didYouMean(name, candidates) {
    if (typeof name !== 'string' || name.length === 0) return undefined;
    const lower = name.toLowerCase();
    let best;
    let bestScore = Infinity;
    for (const candidate of candidates) {
        const c = candidate.toLowerCase();
        let score;
        if (c === lower) score = 0;
        else if (lower.length >= 3 && (c.startsWith(lower) || lower.startsWith(c))) score = 1;
        else {
            const d = editDistance(lower, c);
            if (d <= (Math.min(lower.length, c.length) < 6 ? 1 : 2)) score = 1 + d;
        }
        if (score !== undefined && score < bestScore) {
            best = candidate;
            bestScore = score;
        }
    }
    return best;
}
