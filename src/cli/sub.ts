/**
 * `weft sub`: subscribe and print messages, mosquitto_sub style.
 *
 *   weft sub -h HOST -p PORT -t FILTER [-t FILTER ...] [-q N] [-v] [-C COUNT] [-V 311|5]
 *            [-i CLIENT_ID] [-u USER] [-P PASSWORD] [-k KEEPALIVE] [-d]
 *
 * Prints each payload on its own line (`topic payload` with `-v`); exits after COUNT messages
 * with `-C`, or on SIGINT/SIGTERM. Exit status: 0 done, 1 connection failure or refused
 * subscription, 2 usage error.
 */
import { connect } from '../client/client.js';
import { COMMON_FLAGS, commonOptions, oneLine, parseFlags, UsageError } from '../client/cli-args.js';
import type { CliIo } from './pub.js';

const USAGE = 'usage: weft sub -t FILTER [-t FILTER ...] [-h HOST] [-p PORT] [-q 0|1|2] [-v] [-C COUNT] [-V 311|5] [-i CLIENT_ID] [-u USER] [-P PASSWORD] [-k KEEPALIVE] [-d]';

const FLAGS = {
  ...COMMON_FLAGS,
  '-t': { name: 'topics', kind: 'value' as const, multi: true },
  '--topic': { name: 'topics', kind: 'value' as const, multi: true },
  '-v': { name: 'verbose', kind: 'flag' as const },
  '--verbose': { name: 'verbose', kind: 'flag' as const },
  '-C': { name: 'count', kind: 'value' as const },
};

/** Runs `weft sub` with `argv` (the arguments after `sub`); resolves with the exit status. */
export async function runSub(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let url: string;
  let options;
  let qos: 0 | 1 | 2;
  let topics: string[];
  let verbose: boolean;
  let count: number | undefined;
  try {
    const v = parseFlags(argv, FLAGS, 'weft sub');
    if (v.help) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    ({ url, options, qos } = commonOptions(v, 'weft sub'));
    topics = (v.topics as string[] | undefined) ?? [];
    if (topics.length === 0) throw new UsageError('weft sub: at least one -t FILTER is required');
    verbose = v.verbose === true;
    if (v.count !== undefined) {
      count = Number(v.count);
      if (!Number.isInteger(count) || count < 1) throw new UsageError(`weft sub: -C: expected a positive integer, got ${String(v.count)}`);
    }
  } catch (err) {
    io.stderr.write(`${oneLine(err)}\n${err instanceof UsageError ? `${USAGE}\n` : ''}`);
    return 2;
  }
  // A subscriber keeps going across network blips.
  options.reconnectPeriod = 1000;
  let client;
  try {
    client = await connect(url, options);
  } catch (err) {
    io.stderr.write(`weft sub: cannot connect to ${url}: ${oneLine(err)}\n`);
    return 1;
  }
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  const ownSignals = io.signal === undefined;
  if (ownSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  } else io.signal!.addEventListener('abort', onSignal, { once: true });
  try {
    const sub = await client.subscribe(topics, { qos });
    const refused = sub.granted.findIndex((g) => g >= 0x80);
    if (refused >= 0) {
      io.stderr.write(`weft sub: subscription to ${topics[refused]} refused (code 0x${sub.granted[refused]!.toString(16)})\n`);
      await client.end({ force: true });
      return 1;
    }
    const iterator = sub[Symbol.asyncIterator]();
    io.onSubscribed?.();
    const aborted = new Promise<IteratorResult<never>>((resolve) => {
      if (stop.signal.aborted) resolve({ done: true, value: undefined });
      stop.signal.addEventListener('abort', () => resolve({ done: true, value: undefined }), { once: true });
    });
    let received = 0;
    for (;;) {
      const r = await Promise.race([iterator.next(), aborted]);
      if (r.done) break;
      const payload = r.value.payload.toString();
      io.stdout.write(verbose ? `${r.value.topic} ${payload}\n` : `${payload}\n`);
      if (count !== undefined && ++received >= count) break;
    }
    await client.end();
    return 0;
  } catch (err) {
    io.stderr.write(`weft sub: ${oneLine(err)}\n`);
    await client.end({ force: true });
    return 1;
  } finally {
    if (ownSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
