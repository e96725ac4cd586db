// What the README's code blocks take from the program around them: the
// names they use without declaring. A block that declares one itself (the
// Registry example's `breakers`) shadows it. Used by
// node/readme-types.test.mjs, which compiles every block under `strict`.

/** The downstream's URL. */
declare const url: string;
declare const searchUrl: string;
/** A database client's query. */
declare function query(sql: string): Promise<unknown[]>;
declare const sql: string;
/** The Prometheus example's `Registry.contentType`, imported where the README made the registry. */
declare const Registry: typeof import('halfopen').Registry;
/** A registry made earlier in the README. */
declare const breakers: import('halfopen').Registry;
/** A logger. */
declare const log: { warn(message: string): void; info(message: string): void };
/** An Express-like app. */
declare const app: {
    get(path: string, handler: (req: unknown, res: { type(contentType: string): { send(body: string): void } }) => void): void;
};
/** Node's process, for its environment (the README's Redis example). */
declare const process: { readonly env: Record<string, string | undefined> };
