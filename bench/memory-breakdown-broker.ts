/**
 * The broker process of `bench/memory-breakdown.ts`: Weft started with bench/brokers/weft.ts's
 * options, its session threads running the probe entry (memory-probe.cts). Prints
 * `{ port, pid, threads }` on stdout, then answers each JSON line on stdin (`{ gc?, snapshotDir? }`)
 * with one JSON line: main's isolate, every session thread's, and this process's mappings.
 * Exits when stdin ends.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BroadcastChannel } from 'node:worker_threads';
import { startBrokerWith } from '../src/broker/test-hooks.js';
import probe from './memory-probe.cjs';
import { benchWeftOptions } from './brokers/weft-options.js';

const { CHANNEL, isolateFigures } = probe;
type IsolateFigures = ReturnType<typeof isolateFigures>;

const threadsIndex = process.argv.indexOf('--threads');
const threads = threadsIndex < 0 ? undefined : Number(process.argv[threadsIndex + 1]);
const youngIndex = process.argv.indexOf('--thread-young-mb');
const threadYoungGenerationMb = youngIndex < 0 ? undefined : Number(process.argv[youngIndex + 1]);

const broker = await startBrokerWith(
  {
    ...benchWeftOptions(),
    ...(threads === undefined ? {} : { threads }),
    ...(threadYoungGenerationMb === undefined ? {} : { threadYoungGenerationMb }),
  },
  { threadEntry: { filename: new URL('./memory-probe.cjs', import.meta.url).href, name: 'hostWithProbe' } },
);
const expectedThreads = threads ?? broker.options.threads;

const channel = new BroadcastChannel(CHANNEL);
let nextAsk = 1;

/** Every session thread's figures (each thread answers once per request). */
function askThreads(request: { gc?: boolean; snapshotDir?: string }): Promise<IsolateFigures[]> {
  const ask = nextAsk++;
  return new Promise((resolve, reject) => {
    const replies: IsolateFigures[] = [];
    const timer = setTimeout(() => reject(new Error(`${replies.length} of ${expectedThreads} threads answered`)), 60_000);
    channel.onmessage = (event) => {
      const data = (event as MessageEvent).data as { reply?: number; figures: IsolateFigures };
      if (data.reply !== ask) return;
      replies.push(data.figures);
      if (replies.length === expectedThreads) {
        clearTimeout(timer);
        resolve(replies.sort((a, b) => a.threadId - b.threadId));
      }
    };
    channel.postMessage({ ask, ...request });
  });
}

/** One mapping of /proc/self/smaps, the fields used here in KiB. */
interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  name: string;
  sizeKiB: number;
  rssKiB: number;
  anonKiB: number;
}

function readSmaps(): Mapping[] {
  const out: Mapping[] = [];
  let current: Mapping | null = null;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      current = { start: BigInt('0x' + header[1]), end: BigInt('0x' + header[2]), perms: header[3]!, name: header[4] ?? '', sizeKiB: 0, rssKiB: 0, anonKiB: 0 };
      out.push(current);
      continue;
    }
    const field = /^(\w+):\s+(\d+) kB/.exec(line);
    if (!field || current === null) continue;
    if (field[1] === 'Size') current.sizeKiB = Number(field[2]);
    else if (field[1] === 'Rss') current.rssKiB = Number(field[2]);
    else if (field[1] === 'Anonymous') current.anonKiB = Number(field[2]);
  }
  return out;
}

/**
 * RSS by kind of mapping. glibc's thread arenas are 64 MiB-aligned reservations (a rw part
 * then a ---p rest) and Node's thread stacks a rw mapping under a one-page guard, so anonymous
 * mappings are told apart by their reservation: a rw mapping whose run of adjacent mappings
 * (rw + ---p) is exactly 64 MiB is an arena; one right above a 4 KiB ---p guard is a stack;
 * the rest of anonymous memory is V8's pages (heap, code, and its own malloc-free regions).
 */
function classify(maps: Mapping[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  const add = (kind: string, kib: number) => (kinds[kind] = (kinds[kind] ?? 0) + kib);
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i]!;
    if (m.rssKiB === 0) continue;
    if (m.name === '[heap]') add('malloc main arena ([heap])', m.rssKiB);
    else if (m.name === '[stack]') add('main stack', m.rssKiB);
    else if (m.name.startsWith('/')) add(m.anonKiB > 0 ? 'file-backed, private dirty (relocations, .data)' : 'file-backed (binary, libraries)', m.rssKiB);
    else if (m.name.startsWith('[')) add(m.name, m.rssKiB);
    else {
      const next = maps[i + 1];
      const prev = maps[i - 1];
      const arena =
        next !== undefined && next.perms === '---p' && next.start === m.end && m.sizeKiB + next.sizeKiB === 65_536 && (m.start & 0x3ffffffn) === 0n;
      const wholeArena = m.sizeKiB === 65_536 && (m.start & 0x3ffffffn) === 0n;
      const stack = prev !== undefined && prev.perms === '---p' && prev.end === m.start && prev.sizeKiB === 4 && m.sizeKiB >= 1_024;
      add(arena || wholeArena ? 'malloc thread arenas' : stack ? 'thread stacks' : 'anonymous other (V8 pages, mmap-ed malloc chunks)', m.rssKiB);
    }
  }
  return kinds;
}

function statusKiB(field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) : NaN;
}

process.stdout.write(JSON.stringify({ port: broker.port, pid: process.pid, threads: expectedThreads }) + '\n');

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const request = JSON.parse(line) as { gc?: boolean; snapshotDir?: string };
  const sessionThreads = await askThreads(request);
  const main = isolateFigures(request);
  const usage = process.memoryUsage();
  process.stdout.write(
    JSON.stringify({
      rssKiB: statusKiB('VmRSS'),
      rssAnonKiB: statusKiB('RssAnon'),
      rssFileKiB: statusKiB('RssFile'),
      arrayBuffers: usage.arrayBuffers,
      external: usage.external,
      mappings: classify(readSmaps()),
      main,
      sessionThreads,
    }) + '\n',
  );
}
channel.close();
await broker.close();
