/**
 * `weft pub`: publish one message, mosquitto_pub style.
 *
 *   weft pub -h HOST -p PORT -t TOPIC -m MESSAGE [-q 0|1|2] [-r] [-V 311|5] [-i CLIENT_ID]
 *            [-u USER] [-P PASSWORD] [-k KEEPALIVE] [-n] [-d]
 *
 * Exit status: 0 published (QoS handshake complete), 1 connection or publish failure,
 * 2 usage error.
 */
import { connect } from '../client/client.js';
import { COMMON_FLAGS, commonOptions, oneLine, parseFlags, UsageError } from '../client/cli-args.js';

const USAGE = 'usage: weft pub -t TOPIC (-m MESSAGE | -n) [-h HOST] [-p PORT] [-q 0|1|2] [-r] [-V 311|5] [-i CLIENT_ID] [-u USER] [-P PASSWORD] [-k KEEPALIVE] [-d]';

const FLAGS = {
  ...COMMON_FLAGS,
  '-t': { name: 'topic', kind: 'value' as const },
  '--topic': { name: 'topic', kind: 'value' as const },
  '-m': { name: 'message', kind: 'value' as const },
  '--message': { name: 'message', kind: 'value' as const },
  '-n': { name: 'null', kind: 'flag' as const },
  '--null-message': { name: 'null', kind: 'flag' as const },
  '-r': { name: 'retain', kind: 'flag' as const },
  '--retain': { name: 'retain', kind: 'flag' as const },
};

/** Where the CLI writes. */
export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** Stops a long-running command (`weft sub`) as Ctrl-C would. */
  signal?: AbortSignal;
  /** Called once `weft sub`'s subscription is acknowledged. */
  onSubscribed?: () => void;
}

const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

/** Runs `weft pub` with `argv` (the arguments after `pub`); resolves with the exit status. */
export async function runPub(argv: string[], io: CliIo = processIo): Promise<number> {
  let url: string;
  let options;
  let qos: 0 | 1 | 2;
  let topic: string;
  let message: string;
  let retain: boolean;
  try {
    const v = parseFlags(argv, FLAGS, 'weft pub');
    if (v.help) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    ({ url, options, qos } = commonOptions(v, 'weft pub'));
    if (typeof v.topic !== 'string') throw new UsageError('weft pub: -t TOPIC is required');
    if (v.message === undefined && !v.null) throw new UsageError('weft pub: -m MESSAGE or -n is required');
    topic = v.topic;
    message = v.null ? '' : (v.message as string);
    retain = v.retain === true;
  } catch (err) {
    io.stderr.write(`${oneLine(err)}\n${err instanceof UsageError ? `${USAGE}\n` : ''}`);
    return 2;
  }
  let client;
  try {
    client = await connect(url, options);
  } catch (err) {
    io.stderr.write(`weft pub: cannot connect to ${url}: ${oneLine(err)}\n`);
    return 1;
  }
  try {
    await client.publish(topic, message, { qos, retain });
    await client.end();
    return 0;
  } catch (err) {
    io.stderr.write(`weft pub: publish failed: ${oneLine(err)}\n`);
    await client.end({ force: true });
    return 1;
  }
}
