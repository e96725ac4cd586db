// A test Worker: runs the vector cases POSTed to it (a JSON array) through
// the package's workerd build and answers with the runner's lines.
import * as halfopen from 'halfopen';
import { runCases } from './vectors-core.mjs';

export default {
    async fetch(request) {
        if (request.method !== 'POST') return new Response('POST the vector cases', { status: 405 });
        const cases = await request.json();
        return Response.json(await runCases(cases, halfopen));
    },
};
