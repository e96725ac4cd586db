// The app as a Cloudflare Worker: the result is the response.
import * as halfopen from 'halfopen';
import { run } from './app.js';

export default {
    async fetch() {
        return Response.json(await run(halfopen));
    },
};
