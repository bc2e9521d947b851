/**
 * The file piscina loads in each session thread: CommonJS, so that piscina's `require()` of it
 * is plain CommonJS, and the thread's real entry (`entry.ts`, an ES module) is loaded with
 * `import()`. Given the ES module itself, piscina would `require()` it (Node 20.19+ can), and a
 * thread terminated during that load (a broker closed, or a dead thread's replacement cut
 * short) fails a CHECK in Node's require(esm) and aborts the whole process: seen once in the
 * test suite. A termination during `import()` only rejects it.
 */
import type { ThreadTask } from '../../broker/thread-messages.js';

type HostSessions = (task: ThreadTask) => Promise<void>;
let entry: Promise<HostSessions> | undefined;

export = function hostSessions(task: ThreadTask): Promise<void> {
  entry ??= import('./entry.js').then((module: { default: HostSessions }) => module.default);
  return entry.then((host) => host(task));
};
