/**
 * mosquitto (the Debian package) run by a thin Node wrapper: the wrapper writes a config for a
 * free loopback port, starts `mosquitto -c`, waits until the port accepts, and reports
 * mosquitto's own pid, which is the process the harness measures.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveUntilStopped } from './child.js';

/**
 * Settings stated on purpose (mosquitto 2.0 defaults in brackets): anonymous clients on
 * 127.0.0.1 only; no persistence [none]; up to 100 QoS 1/2 messages in flight to each client
 * [20], the same window the generator's publishers use; 1000 queued messages per client [1000];
 * no connection limit [-1]; only errors and warnings logged.
 */
function config(port: number): string {
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    'max_inflight_messages 100',
    'max_queued_messages 1000',
    'max_connections -1',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    '',
  ].join('\n');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

await serveUntilStopped(async () => {
  let version: string;
  try {
    // `mosquitto -h` prints its version on the first line and exits with status 3.
    version = execFileSync('mosquitto', ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!;
  } catch (err) {
    const out = (err as { stdout?: string; code?: string }).stdout;
    if ((err as { code?: string }).code === 'ENOENT' || !out) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
    version = out.split('\n')[0]!;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-mosquitto-'));
  const port = await freePort();
  const file = path.join(dir, 'mosquitto.conf');
  writeFileSync(file, config(port));
  const child = spawn('mosquitto', ['-c', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanUp = () => rmSync(dir, { recursive: true, force: true });
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) {
      cleanUp();
      throw new Error(`mosquitto exited with code ${child.exitCode} at start`);
    }
    if (await accepts(port)) break;
    if (tries >= 100) {
      child.kill('SIGKILL');
      cleanUp();
      throw new Error(`mosquitto did not accept on port ${port} within 5 s`);
    }
    await sleep(50);
  }
  return {
    port,
    pid: child.pid!,
    version: version.replace(/^mosquitto version /, 'mosquitto '),
    close: async () => {
      child.kill('SIGTERM');
      await exited;
      cleanUp();
    },
  };
});
