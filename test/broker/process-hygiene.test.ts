/**
 * Start and close leave nothing behind (a process that only starts and closes a broker exits by
 * itself), and bad options fail at start naming the key.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerOptionError, loadBrokerConfig, resolveBrokerOptions, startBroker } from '../../src/broker/index.js';

const brokerModule = fileURLToPath(new URL('../../src/broker/index.js', import.meta.url));
const cliMain = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const testHooksModule = fileURLToPath(new URL('../../src/broker/test-hooks.js', import.meta.url));
/** Session-thread entries that fail before `ready` (thread-start-faults.cts). */
const threadFaults = new URL('./thread-start-faults.cjs', import.meta.url).href;

/** Runs `node -e script` (or a file with args); resolves with its exit code and stderr. */
async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, WEFT_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr, stdout };
}

describe('broker process hygiene', function () {
  this.timeout(20000);

  for (const threadPerSession of [false, true]) {
    it(`a process that starts and closes a broker exits by itself (threadPerSession: ${threadPerSession})`, async () => {
      // No process.exit in the script: it only ends if no handle (thread, socket, timer) is left.
      const script = `
        import(${JSON.stringify(brokerModule)}).then(async ({ startBroker }) => {
          const mqtt = (await import('mqtt')).default;
          const broker = await startBroker({ port: 0, threadPerSession: ${threadPerSession}, threads: 2, maxSessions: 8, maxConnections: 8 });
          const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clientId: 'hygiene' });
          await c.subscribeAsync('x', { qos: 1 });
          await c.publishAsync('x', 'y', { qos: 1, retain: true });
          await broker.close();
          await c.endAsync(true);
          console.log('closed');
        });`;
      const { code, stdout, stderr } = await run(['--input-type=module', '-e', script]);
      expect(stderr).to.equal('');
      expect(stdout.trim()).to.equal('closed');
      expect(code).to.equal(0);
    });
  }

  // A failed start leaves nothing either: listener closed, every thread stopped (the one that
  // was fine included), no replacement thread started.
  for (const fault of ['throwsBeforeReady', 'exitsBeforeReady', 'oddThreadsThrow', 'closed while starting', 'threadStartTimeoutMs passed'] as const) {
    it(`a process whose startBroker fails exits by itself (${fault})`, async () => {
      const closes = fault === 'closed while starting';
      const timesOut = fault === 'threadStartTimeoutMs passed';
      const script = `
        import(${JSON.stringify(testHooksModule)}).then(async ({ startBrokerWith }) => {
          let broker;
          const starting = startBrokerWith(
            { port: 0, logLevel: 'silent', threads: 2${timesOut ? ', threadStartTimeoutMs: 100' : ''} },
            { threadEntry: { filename: ${JSON.stringify(threadFaults)}, name: ${JSON.stringify(closes || timesOut ? 'neverReady' : fault)} }, created: (b) => (broker = b) },
          );
          ${closes ? 'await broker.close();' : ''}
          try {
            await starting;
            console.log('started');
          } catch (err) {
            console.log(err.name);
          }
        });`;
      const { code, stdout, stderr } = await run(['--input-type=module', '-e', script]);
      expect(stderr).to.equal('');
      expect(stdout.trim()).to.equal('SessionThreadStartError');
      expect(code).to.equal(0);
    });
  }

  it('the CLI closes cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [cliMain, 'broker', '--port', '0', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('broker listening')) resolve();
      });
    });
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).to.equal(0);
    expect(stderr).to.include('broker closed');
  });

  it('an unknown option fails at start and names the key', async () => {
    let error: unknown;
    try {
      await startBroker({ port: 0, maxSesions: 3 } as never);
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(BrokerOptionError);
    expect((error as BrokerOptionError).key).to.equal('maxSesions');
  });

  it('a bad value fails and names the key', () => {
    expect(() => resolveBrokerOptions({ maxPacketSize: -1 })).to.throw(BrokerOptionError, /^maxPacketSize: expected an integer/);
    expect(() => resolveBrokerOptions({ threadPerSession: 'yes' as never })).to.throw(/^threadPerSession: expected true or false/);
    expect(() => resolveBrokerOptions({ threadStartTimeoutMs: 0 })).to.throw(BrokerOptionError, /^threadStartTimeoutMs: expected an integer from 1 to 3600000, got 0$/);
    expect(resolveBrokerOptions({}).threadStartTimeoutMs).to.equal(30_000);
    expect(() => resolveBrokerOptions({ logLevel: 'loud' as never })).to.throw(/^logLevel: /);
    expect(() => resolveBrokerOptions({ socketHandoff: 1 as never })).to.throw(/^socketHandoff: expected true or false/);
    expect(() => resolveBrokerOptions({ threadYoungGenerationMb: 0 })).to.throw(/^threadYoungGenerationMb: expected an integer/);
    expect(() => resolveBrokerOptions({ maxConnections: 10, maxSessions: 5 })).to.throw(/^maxConnections: must not exceed maxSessions/);
  });

  it('a config file uses the option names and its errors name the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-config-'));
    try {
      const good = join(dir, 'good.json');
      await writeFile(good, JSON.stringify({ port: 0, maxSessions: 10, threadPerSession: true }));
      expect(await loadBrokerConfig(good)).to.deep.equal({ port: 0, maxSessions: 10, threadPerSession: true });
      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ port: 0, maxRetainedByte: 5 }));
      let error: unknown;
      try {
        await loadBrokerConfig(bad);
      } catch (err) {
        error = err;
      }
      expect((error as BrokerOptionError).key).to.equal('maxRetainedByte');
      // The CLI reports it and exits with 2 before listening.
      const { code, stderr } = await run([cliMain, 'broker', '--config', bad]);
      expect(code).to.equal(2);
      expect(stderr).to.match(/maxRetainedByte: unknown option/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
