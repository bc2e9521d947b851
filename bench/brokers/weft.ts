/**
 * Weft's broker, loaded from the compiled `src/broker/index.js`. The import is by URL so that
 * the harness compiles and runs (reporting Weft as unavailable, with the reason) while the
 * broker module is missing or does not yet export a working `startBroker`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { serveUntilStopped, threadsArg } from './child.js';
import { benchWeftOptions } from './weft-options.js';

interface WeftBroker {
  port: number;
  close(): Promise<void>;
}
type StartBroker = (options: Record<string, unknown>) => Promise<WeftBroker>;

/** The package.json version: the repository root seen from dist/bench/brokers, else the working directory's. */
function packageVersion(): string {
  for (const file of [new URL('../../../package.json', import.meta.url), path.resolve('package.json')]) {
    try {
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      // try the next place
    }
  }
  return '?';
}

await serveUntilStopped(async () => {
  const threads = threadsArg();
  const url = new URL('../../src/broker/index.js', import.meta.url);
  let startBroker: StartBroker;
  try {
    const module = (await import(url.href)) as { startBroker?: unknown };
    if (typeof module.startBroker !== 'function') throw new Error('src/broker/index.js does not export startBroker');
    startBroker = module.startBroker as StartBroker;
  } catch (err) {
    throw new Error(`Weft broker not loadable: ${(err as Error).message.split('\n')[0]}`);
  }
  const options = benchWeftOptions();
  if (threads !== undefined) options.threads = threads;
  const threadPerSession = process.argv.includes('--thread-per-session');
  // A thread costs ~10 MB: keep the pool within what a 2-core bench machine can start.
  if (threadPerSession) Object.assign(options, { threadPerSession: true, maxSessions: 200, maxConnections: 200 });
  if (process.argv.includes('--relay')) options.socketHandoff = false;
  const mainAccepts = process.argv.includes('--main-accepts');
  if (mainAccepts) options.acceptOnSessionThreads = false;
  const youngAt = process.argv.indexOf('--thread-young-mb');
  const threadYoungMb = youngAt < 0 ? undefined : Number(process.argv[youngAt + 1]);
  if (threadYoungMb !== undefined) options.threadYoungGenerationMb = threadYoungMb;
  const broker = await startBroker(options);
  if (typeof broker?.port !== 'number' || broker.port <= 0) throw new Error('startBroker resolved without a port');
  return {
    port: broker.port,
    version: `weft ${packageVersion()}${threads !== undefined ? ` (threads ${threads})` : ''}${threadPerSession ? ' (thread per session)' : ''}${mainAccepts ? ' (main accepts)' : ''}${threadYoungMb !== undefined ? ` (thread young generation ${threadYoungMb} MiB)` : ''}`,
    close: () => broker.close(),
  };
});
