/**
 * Starts one broker in its own child process (pinned with taskset when planned), so its CPU and
 * memory can be read from /proc, and stops it again. The child is one of `bench/brokers/*.js`:
 * it prints one JSON line on stdout, `{ port, pid, version }` (pid: the process doing the work,
 * which for mosquitto is not the Node wrapper) or `{ unavailable }`, and exits when its stdin
 * closes or it gets SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type BrokerName = 'weft' | 'aedes' | 'mosquitto';
export const BROKER_NAMES: readonly BrokerName[] = ['weft', 'aedes', 'mosquitto'];

export interface BrokerLaunch {
  name: BrokerName;
  cpuSet: string | null;
  /** Weft only: session threads. */
  threads?: number;
  /** Weft only: one thread per session. */
  threadPerSession?: boolean;
  /** Weft only: `socketHandoff: false`. */
  relay?: boolean;
  /** Weft only: `acceptOnSessionThreads: false`. */
  mainAccepts?: boolean;
  /** Weft only: `threadYoungGenerationMb`. */
  threadYoungMb?: number;
  /** Bound on start-up, in ms. */
  startTimeoutMs?: number;
}

export interface RunningBroker {
  name: BrokerName;
  host: '127.0.0.1';
  port: number;
  /** Process whose CPU and memory are the broker's. */
  pid: number;
  version: string;
  /** Stops the broker; resolves when the child has exited (SIGKILL after a bound). */
  stop(): Promise<void>;
  /** Last lines the child wrote on stderr (for error reports). */
  stderrTail(): string;
}

export class BrokerUnavailable extends Error {
  override readonly name = 'BrokerUnavailable';
}

interface Hello {
  port?: number;
  pid?: number;
  version?: string;
  unavailable?: string;
}

/** Starts the broker; throws {@link BrokerUnavailable} when it cannot run here, with the reason. */
export async function launchBroker(launch: BrokerLaunch): Promise<RunningBroker> {
  const entry = fileURLToPath(new URL(`../brokers/${launch.name}.js`, import.meta.url));
  // WEFT_BENCH_BROKER_NODE_ARGS: extra Node flags for the broker child, e.g. `--cpu-prof
  // --cpu-prof-dir=prof` to profile it (NODE_OPTIONS refuses --cpu-prof).
  const nodeArgs = (process.env.WEFT_BENCH_BROKER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const args = [...nodeArgs, entry];
  if (launch.threads !== undefined) args.push('--threads', String(launch.threads));
  if (launch.threadPerSession === true) args.push('--thread-per-session');
  if (launch.relay === true) args.push('--relay');
  if (launch.mainAccepts === true) args.push('--main-accepts');
  if (launch.threadYoungMb !== undefined) args.push('--thread-young-mb', String(launch.threadYoungMb));
  const command = launch.cpuSet === null ? process.execPath : 'taskset';
  const argv = launch.cpuSet === null ? args : ['-c', launch.cpuSet, process.execPath, ...args];
  const child = spawn(command, argv, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, WEFT_LOG_LEVEL: process.env.WEFT_LOG_LEVEL ?? 'warn' },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderr = (stderr + text).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const hello = await readHello(child, launch.startTimeoutMs ?? 20_000, () => stderr).catch(async (err: Error) => {
    await stopChild(child, exited);
    throw err;
  });
  if (hello.unavailable !== undefined || hello.port === undefined) {
    await stopChild(child, exited);
    throw new BrokerUnavailable(hello.unavailable ?? 'broker did not report a port');
  }
  return {
    name: launch.name,
    host: '127.0.0.1',
    port: hello.port,
    pid: hello.pid ?? child.pid!,
    version: hello.version ?? 'unknown',
    stop: () => stopChild(child, exited),
    stderrTail: () => stderr,
  };
}

function readHello(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<Hello> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => done(new Error(`no start-up line within ${timeoutMs} ms; stderr: ${stderr().slice(-500)}`)), timeoutMs);
    const onData = (text: string) => {
      out += text;
      const newline = out.indexOf('\n');
      if (newline < 0) return;
      try {
        done(null, JSON.parse(out.slice(0, newline)) as Hello);
      } catch {
        done(new Error(`bad start-up line: ${out.slice(0, newline)}`));
      }
    };
    const onExit = (code: number | null) => done(new Error(`exited with code ${code} before starting; stderr: ${stderr().slice(-500)}`));
    function done(err: Error | null, hello?: Hello) {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(hello!);
    }
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin!.end();
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, 5_000);
  });
  await Promise.race([exited, killed]);
  clearTimeout(timer);
  await exited;
}
