/**
 * `weft broker`: runs a broker until SIGINT/SIGTERM.
 *
 *   weft broker [--host 127.0.0.1] [--port 1883] [--config weft.json] [--thread-per-session]
 *               [--threads N] [--log-level info]
 *
 * Flags override the config file; the config file uses the option names of `startBroker`.
 */
import { parseArgs } from 'node:util';
import { startBroker } from '../broker/broker.js';
import { BrokerOptionError, loadBrokerConfig, resolveBrokerOptions, type BrokerOptions } from '../broker/options.js';

const USAGE = `usage: weft broker [--host HOST] [--port PORT] [--config FILE] [--threads N]
                   [--thread-per-session] [--log-level LEVEL]
`;

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new BrokerOptionError(name, `expected an integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Runs the broker command; resolves with the process exit code once the broker has closed. */
export async function runBroker(argv: string[]): Promise<number> {
  let options: BrokerOptions;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        config: { type: 'string' },
        threads: { type: 'string' },
        'thread-per-session': { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    options = values.config !== undefined ? await loadBrokerConfig(values.config) : {};
    const flags: BrokerOptions = {
      host: values.host,
      port: integerFlag('--port', values.port),
      threads: integerFlag('--threads', values.threads),
      threadPerSession: values['thread-per-session'],
      logLevel: values['log-level'] as BrokerOptions['logLevel'],
    };
    for (const [key, value] of Object.entries(flags)) {
      if (value !== undefined) (options as Record<string, unknown>)[key] = value;
    }
    resolveBrokerOptions(options);
  } catch (err) {
    process.stderr.write(`weft broker: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }

  // Listen for signals before starting, so one that arrives during start-up still closes cleanly.
  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const stop = (): void => stopRequested();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    let broker;
    try {
      broker = await startBroker(options);
    } catch (err) {
      process.stderr.write(`weft broker: ${(err as Error).message}\n`);
      return 1;
    }
    await stopped;
    await broker.close();
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
