// Offers the vector runner core to the test: window.__runVectors(cases)
// runs the cases through the package's browser (ESM) build and resolves to
// the runner's lines.
import * as halfopen from 'halfopen';
import { runCases } from '../vectors-core.mjs';

window.__runVectors = async (cases) => {
    const lines = await runCases(cases, halfopen);
    document.getElementById('out').textContent = lines.join('\n');
    return lines;
};
