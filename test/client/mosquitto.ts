/**
 * Starts a private mosquitto (Debian package) on a free loopback port for interop tests, and
 * stops it. Never touches port 1883 or a system service.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/index.js';
import { closedPort } from './brokers.js';

export interface Mosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startMosquitto(): Promise<Mosquitto> {
  const port = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), 'weft-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'));
  const child: ChildProcess = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit');
  const url = `mqtt://127.0.0.1:${port}`;
  // Ready once it accepts an MQTT connection: our own client retries until then.
  const ready = connect(url, { thread: false, retryFirstConnect: true, reconnectPeriod: 20, reconnectJitter: 0, logger: false });
  const outcome = await Promise.race([ready.then((c) => c), exited.then(() => undefined)]);
  if (!outcome) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mosquitto did not start: ${stderr}`);
  }
  await outcome.end();
  return {
    url,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
