/**
 * Shared life cycle of a broker child process (`bench/brokers/<name>.js`): start the broker,
 * print one JSON line with its port on stdout, and close it when stdin closes (the harness
 * went away) or on SIGTERM. A broker that cannot start here prints `{ "unavailable": reason }`.
 */
export interface StartedBroker {
  port: number;
  /** Process doing the broker's work when it is not this one (mosquitto). */
  pid?: number;
  version: string;
  close(): Promise<void>;
}

/** `--threads N` from argv, or undefined. */
export function threadsArg(argv: readonly string[] = process.argv): number | undefined {
  const i = argv.indexOf('--threads');
  if (i < 0) return undefined;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads: expected a positive integer, got ${argv[i + 1]}`);
  return n;
}

export async function serveUntilStopped(start: () => Promise<StartedBroker>): Promise<void> {
  let broker: StartedBroker;
  try {
    broker = await start();
  } catch (err) {
    process.stdout.write(JSON.stringify({ unavailable: (err as Error).message }) + '\n');
    process.exitCode = 2;
    return;
  }
  process.stdout.write(JSON.stringify({ port: broker.port, pid: broker.pid ?? process.pid, version: broker.version }) + '\n');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const bound = setTimeout(() => process.exit(0), 3_000);
    bound.unref();
    broker.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}
