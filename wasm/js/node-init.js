// halfopen/init's init() and initSync() in Node (and Node bundles): the Node
// entry has loaded the WebAssembly module already (from the base64 it
// carries), so they load nothing. They check their argument as the browser
// build does, so code written for both runs the same in both (SSR, test
// runners), and ignore it: one instance per process, shared with
// `import 'halfopen'`.
import { initInputError, initSyncInputError, isModuleInput, isResponse, isUrl } from './init-input.js';

/** Resolves at once (after `input`, if it is a promise): the module is loaded. */
export async function init(input) {
    if (typeof input?.then === 'function') input = await input;
    if (!(input === undefined || isUrl(input) || isResponse(input) || isModuleInput(input))) throw initInputError(input);
}

/** Does nothing: the module is loaded. */
export function initSync(input) {
    if (!isModuleInput(input)) throw initSyncInputError(input);
}

/** halfopen/inline's `ready`: resolved, the module is loaded. */
export const ready = Promise.resolve();
