/**
 * `npm run bench`: measures Weft against aedes and mosquitto on this machine and prints one
 * table. Every broker runs in its own child process, started fresh for each scenario run, so
 * its CPU and memory are its own; brokers alternate scenario by scenario (the order rotates, so
 * none always runs first). Raw results go to `bench/results/<date>.json`.
 *
 *   npm run bench -- [--scenarios fan-in,qos1,...] [--brokers weft,aedes,mosquitto]
 *                    [--threads 1,2,4] [--duration 5] [--warmup 1] [--repeat 1]
 *                    [--payload 32] [--idle-settle 20] [--quick] [--out-dir bench/results]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BROKER_NAMES, BrokerUnavailable, launchBroker, type BrokerName, type RunningBroker } from './lib/broker-process.js';
import { planCpus, pinSelf } from './lib/cpus.js';
import { GENERATOR_BOUND_SHARE } from './lib/report.js';
import { threadCount } from './lib/proc.js';
import { summarize, type ResultsFile, type RunRecord } from './lib/summary.js';
import { PAYLOAD_HEADER_BYTES } from './lib/wire.js';
import { SCENARIOS, fanIn } from './scenarios/index.js';
import type { Scenario, ScenarioOutcome, Settings } from './scenarios/types.js';

/** Bound on one scenario run beyond its warm-up and measured time (set-up, drain, close). */
const RUN_SLACK_S = 90;

interface Options {
  scenarios: Scenario[];
  brokers: BrokerName[];
  threads: number[];
  /** Weft with `threadPerSession: true` (one thread per connection: keep populations small). */
  threadPerSession: boolean;
  /** Weft with `socketHandoff: false`: main keeps every socket and relays (the fallback path). */
  relay: boolean;
  /** Weft with `acceptOnSessionThreads: false`: main accepts every socket and reads its CONNECT. */
  mainAccepts: boolean;
  /** Weft's `threadYoungGenerationMb`; undefined: its default. */
  threadYoungMb: number | undefined;
  repeat: number;
  outDir: string;
  settings: Settings;
}

const USAGE = `usage: node dist/bench/run.js [options]
  --scenarios LIST  ${SCENARIOS.map((s) => s.id).join(',')} (a prefix selects several: fan-out)
  --brokers LIST    ${BROKER_NAMES.join(',')}
  --threads LIST    also measure Weft's fan-in throughput with these session-thread counts
  --thread-per-session  run Weft with one thread per session (at most 200 sessions: leave out
                    the connections and wildcard scenarios)
  --relay           run Weft with socketHandoff: false (main keeps the sockets and relays
                    bytes: the path used where the native hand-off addon is missing)
  --main-accepts    run Weft with acceptOnSessionThreads: false (main accepts every socket and
                    reads its CONNECT, then hands it off)
  --thread-young-mb N  run Weft with threadYoungGenerationMb: N (its session threads' young
                    generation, MiB; default: Weft's default)
  --duration S      measured seconds per run (default 5; --quick: 1)
  --warmup S        unmeasured seconds before each run (default 1; --quick: 0.5)
  --repeat N        runs per scenario and broker; the table shows medians (default 1)
  --payload BYTES   PUBLISH payload size, at least ${PAYLOAD_HEADER_BYTES} (default 32)
  --idle-settle S   connections scenario: seconds its idle-memory broker is left alone before
                    and after opening the connections (default 20; --quick: 2)
  --quick           short smoke run: 1 s runs, 200 connections, 2,000 wildcard subscriptions,
                    2 s idle settles
  --out-dir DIR     where the raw JSON goes (default bench/results)`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function list(value: string | undefined, name: string): string[] {
  if (value === undefined || value === '') fail(`${name} needs a comma-separated list`);
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** A positive number no larger than `max`: every run stays bounded whatever is asked. */
function positive(value: string | undefined, name: string, integer: boolean, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n))) {
    fail(`${name}: expected a positive ${integer ? 'integer' : 'number'} up to ${max}, got ${value}`);
  }
  return n;
}

function parseArgs(argv: readonly string[]): Options {
  const quick = argv.includes('--quick');
  const options: Options = {
    scenarios: [...SCENARIOS],
    brokers: [...BROKER_NAMES],
    threads: [],
    threadPerSession: false,
    relay: false,
    mainAccepts: false,
    threadYoungMb: undefined,
    repeat: 1,
    outDir: path.resolve('bench/results'),
    settings: { durationS: quick ? 1 : 5, warmupS: quick ? 0.5 : 1, quick, payloadBytes: 32, idleSettleS: quick ? 2 : 20 },
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => argv[++i];
    switch (arg) {
      case '--quick':
        break;
      case '--thread-per-session':
        options.threadPerSession = true;
        break;
      case '--relay':
        options.relay = true;
        break;
      case '--main-accepts':
        options.mainAccepts = true;
        break;
      case '--thread-young-mb':
        options.threadYoungMb = positive(value(), arg, true, 1024);
        break;
      case '--scenarios': {
        const wanted = list(value(), arg);
        options.scenarios = SCENARIOS.filter((s) => wanted.some((w) => s.id === w || s.id.startsWith(`${w}-`)));
        const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.id === w || s.id.startsWith(`${w}-`)));
        if (unknown.length > 0) fail(`unknown scenario: ${unknown.join(', ')}`);
        break;
      }
      case '--brokers': {
        const wanted = list(value(), arg);
        const unknown = wanted.filter((w) => !(BROKER_NAMES as readonly string[]).includes(w));
        if (unknown.length > 0) fail(`unknown broker: ${unknown.join(', ')}`);
        options.brokers = BROKER_NAMES.filter((b) => wanted.includes(b));
        break;
      }
      case '--threads':
        options.threads = list(value(), arg).map((t) => positive(t, arg, true, 256));
        break;
      case '--duration':
        options.settings.durationS = positive(value(), arg, false, 300);
        break;
      case '--warmup':
        options.settings.warmupS = positive(value(), arg, false, 60);
        break;
      case '--repeat':
        options.repeat = positive(value(), arg, true, 20);
        break;
      case '--payload':
        options.settings.payloadBytes = positive(value(), arg, true, 65_536);
        if (options.settings.payloadBytes < PAYLOAD_HEADER_BYTES) fail(`--payload: at least ${PAYLOAD_HEADER_BYTES} bytes`);
        break;
      case '--idle-settle':
        options.settings.idleSettleS = positive(value(), arg, false, 120);
        break;
      case '--out-dir':
        options.outDir = path.resolve(value() ?? fail('--out-dir needs a directory'));
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
      default:
        fail(`unknown argument ${arg}`);
    }
  }
  return options;
}

function progress(message: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}


function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return match?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

/** Runs one scenario against a fresh broker, bounded in time; the broker is always stopped. */
async function runOnce(scenario: Scenario, name: BrokerName, options: Options, cpuSet: string | null, threads?: number): Promise<{ broker: RunningBroker; outcome: ScenarioOutcome }> {
  const { settings } = options;
  const threadPerSession = name === 'weft' && options.threadPerSession;
  const relay = name === 'weft' && options.relay;
  const mainAccepts = name === 'weft' && options.mainAccepts;
  const threadYoungMb = name === 'weft' ? options.threadYoungMb : undefined;
  const launch = () =>
    launchBroker({ name, cpuSet, threadPerSession, relay, mainAccepts, ...(threads !== undefined ? { threads } : {}), ...(threadYoungMb !== undefined ? { threadYoungMb } : {}) });
  let broker = await launch();
  const relaunch = async () => {
    await broker.stop();
    broker = await launch();
    return broker;
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const boundS = settings.warmupS + settings.durationS + (scenario.extraBoundS?.(settings) ?? 0) + RUN_SLACK_S;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`run exceeded its bound of ${boundS} s`)), boundS * 1000);
    });
    const osThreadsAtStart = threadCount(broker.pid);
    const outcome = await Promise.race([scenario.run({ broker, settings, log: progress, relaunch }), timeout]);
    outcome.details.osThreadsAtStart = osThreadsAtStart;
    return { broker, outcome };
  } catch (err) {
    const tail = broker.stderrTail().trim();
    throw new Error(`${(err as Error).message}${tail ? ` (broker stderr: ${tail.slice(-300)})` : ''}`);
  } finally {
    clearTimeout(timer);
    await broker.stop();
  }
}

function headline(scenario: Scenario, outcome: ScenarioOutcome): string {
  const figure = scenario.figures[0]!;
  const value = outcome.figures[figure.key];
  return `${figure.label} ${value === undefined ? '–' : Math.round(value * 100) / 100}`;
}

function generatorShare(details: Record<string, unknown> | undefined): number {
  const window = details?.window as { seconds: number; generatorCpuSeconds: number } | undefined;
  return window ? window.generatorCpuSeconds / window.seconds : NaN;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const plan = planCpus();
  if (plan.generator !== null) pinSelf(plan.generator);
  const startedAt = new Date();
  const machine = {
    cpuModel: cpuModel(),
    cpus: plan.cpus,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    loadAverageAtStart: os.loadavg(),
  };
  progress(`machine: ${machine.cpuModel}, ${machine.cpus} CPUs, Node ${machine.node}, load average ${machine.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}`);
  progress(plan.note ?? `pinning: brokers on CPU ${plan.broker}, generator on CPU ${plan.generator}`);

  const runs: RunRecord[] = [];
  const versions = new Map<BrokerName, string>();
  const unavailable = new Map<BrokerName, string>();
  const total = options.scenarios.length * options.repeat * options.brokers.length + options.threads.length * options.repeat;
  let done = 0;

  const attempt = async (scenario: Scenario, name: BrokerName, repeat: number, threads?: number) => {
    done++;
    const label = `[${done}/${total}] ${scenario.id} · ${name}${threads !== undefined ? ` (threads ${threads})` : ''}${options.repeat > 1 ? ` · run ${repeat + 1}/${options.repeat}` : ''}`;
    const record: RunRecord = { scenario: scenario.id, broker: name, repeat, ...(threads !== undefined ? { threads } : {}) };
    runs.push(record);
    if (unavailable.has(name)) {
      record.unavailable = unavailable.get(name)!;
      progress(`${label}: unavailable`);
      return;
    }
    progress(`${label} …`);
    try {
      const { broker, outcome } = await runOnce(scenario, name, options, plan.broker, threads);
      if (threads === undefined) versions.set(name, broker.version);
      Object.assign(record, { version: broker.version, figures: outcome.figures, details: outcome.details });
      const share = generatorShare(outcome.details);
      progress(`${label}: ${headline(scenario, outcome)}${share >= GENERATOR_BOUND_SHARE ? ` (generator at ${Math.round(share * 100)}% CPU: may be the limit)` : ''}`);
    } catch (err) {
      if (err instanceof BrokerUnavailable) {
        unavailable.set(name, err.message);
        record.unavailable = err.message;
        progress(`${label}: unavailable: ${err.message}`);
      } else {
        record.error = (err as Error).message;
        progress(`${label}: error: ${record.error}`);
      }
    }
  };

  for (const [s, scenario] of options.scenarios.entries()) {
    for (let repeat = 0; repeat < options.repeat; repeat++) {
      const shift = (s + repeat) % options.brokers.length;
      const order = [...options.brokers.slice(shift), ...options.brokers.slice(0, shift)];
      for (const name of order) await attempt(scenario, name, repeat);
    }
  }
  for (const threads of options.threads) {
    for (let repeat = 0; repeat < options.repeat; repeat++) await attempt(fanIn, 'weft', repeat, threads);
  }

  const results: ResultsFile = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd: os.loadavg() },
    cpuPlan: plan,
    settings: { ...options.settings, repeat: options.repeat, scenarios: options.scenarios.map((s) => s.id), brokers: options.brokers, threads: options.threads },
    versions: Object.fromEntries(versions),
    unavailable: Object.fromEntries(unavailable),
    runs,
  };
  results.report = summarize(results);
  process.stdout.write(`\n${results.report}\n`);
  mkdirSync(options.outDir, { recursive: true });
  const file = path.join(options.outDir, `${results.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  progress(`raw results: ${file}`);
}

await main();
