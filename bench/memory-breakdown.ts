/**
 * Where a Weft broker's memory per idle connection goes: a tool for issue 6's memory target,
 * not part of the bench's table.
 *
 * Starts the broker as bench/brokers/weft.ts does (same options, its own process pinned as the
 * bench pins it, this process on the generator's CPU), its session threads running the probe of
 * memory-probe.cts (through the test hook `startBrokerWith(..., { threadEntry })`). Then, as the
 * connections scenario does: 2,000 clients, each CONNECT + SUBSCRIBE to its own topic, 50 being
 * set up at once, a 500 ms settle; closed; 2,000 more ("again"). Before and after each round it
 * reads, per connection: RSS (by kind of mapping, from /proc/<pid>/smaps), and for main's isolate
 * and each session thread's, V8's committed and used bytes per space, external memory and V8's
 * own malloc.
 *
 *   node dist/bench/memory-breakdown.js [--connections N] [--threads N] [--thread-young-mb N]
 *     [--gc] [--idle-s S] [--snapshot-dir DIR] [--settle-ms MS] [--node-args "--max-semi-space-size=2"] [--json FILE]
 *
 * `--gc` adds a reading after a full collection in every isolate at each end of each round
 * (the broker process runs with --expose-gc; the collection changes what the next round starts
 * from, so compare the plain readings of runs with and without it). `--idle-s S` waits S
 * seconds idle before each round's first reading and adds a reading after S more seconds with
 * the connections open: for the fresh round, the connections scenario's idle row (a fresh
 * process, both ends settled). `--snapshot-dir` writes a heap snapshot of every isolate before
 * and after each round, for differences per constructor (each snapshot collects garbage first).
 * Needs WEFT_FD_HANDOFF_ADDON or a built addon, as the bench does.
 *
 * Reading the figures: V8's committed bytes are not all resident. A semi-space counts as
 * committed as soon as it is, but its pages enter RSS only when first written, so a young
 * generation's growth shows partly as "committed" in one round and partly as "RSS not in V8
 * heaps" in a later one. Attribute RSS by difference between runs that change one thing
 * (`--thread-young-mb 4` against 8, `--node-args --max-semi-space-size=1`), not by summing rows.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { planCpus, pinSelf } from './lib/cpus.js';
import { GenClient } from './lib/gen-client.js';
import { assertHealthy, eachLimited } from './lib/measure.js';

const CONCURRENT_SETUPS = 50;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}
const n = Number(arg('--connections') ?? 2_000);
const settleMs = Number(arg('--settle-ms') ?? 500);
const withGc = process.argv.includes('--gc');
/** Seconds to stay idle before each round and after it (the bench's idle row), 0 for none. */
const idleS = Number(arg('--idle-s') ?? 0);
const snapshotDir = arg('--snapshot-dir');
const nodeArgs = (arg('--node-args') ?? '').split(' ').filter((a) => a !== '');
if (withGc) nodeArgs.push('--expose-gc');
const brokerArgs: string[] = [];
for (const name of ['--threads', '--thread-young-mb']) if (arg(name) !== undefined) brokerArgs.push(name, arg(name)!);

type Isolate = {
  threadId: number;
  spaces: Record<string, { committed: number; used: number }>;
  totalHeapSize: number;
  usedHeapSize: number;
  externalMemory: number;
  mallocedMemory: number;
};
type Reading = {
  rssKiB: number;
  rssAnonKiB: number;
  rssFileKiB: number;
  arrayBuffers: number;
  external: number;
  mappings: Record<string, number>;
  main: Isolate;
  sessionThreads: Isolate[];
};

const plan = planCpus();
if (plan.generator !== null) pinSelf(plan.generator);
const entry = fileURLToPath(new URL('./memory-breakdown-broker.js', import.meta.url));
const argv = [...nodeArgs, entry, ...brokerArgs];
const child = spawn(plan.broker === null ? process.execPath : 'taskset', plan.broker === null ? argv : ['-c', plan.broker, process.execPath, ...argv], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
async function nextLine(): Promise<string> {
  const { value, done } = await replies.next();
  if (done === true) throw new Error('broker process ended');
  return value as string;
}
const hello = JSON.parse(await nextLine()) as { port: number; pid: number };

async function read(gc = false, snapshot = false): Promise<Reading> {
  child.stdin!.write(JSON.stringify({ gc, ...(snapshot && snapshotDir !== undefined ? { snapshotDir } : {}) }) + '\n');
  return JSON.parse(await nextLine()) as Reading;
}

async function openAll(name: string, clients: GenClient[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  await eachLimited(
    Array.from({ length: n }, (_, i) => i),
    CONCURRENT_SETUPS,
    async (i) => {
      const client = await GenClient.connect({ host: '127.0.0.1', port: hello.port, clientId: `${name}-${i}` });
      clients.push(client);
      await client.subscribe([`bench/${name}/${i}`], 0);
    },
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Flattens a reading into named figures, in bytes. */
function flatten(r: Reading): Map<string, number> {
  const f = new Map<string, number>();
  f.set('RSS', r.rssKiB * 1024);
  f.set('  RssAnon', r.rssAnonKiB * 1024);
  f.set('  RssFile', r.rssFileKiB * 1024);
  for (const [kind, kib] of Object.entries(r.mappings)) f.set(`  smaps: ${kind}`, kib * 1024);
  const isolates: [string, Isolate][] = [['main', r.main], ...r.sessionThreads.map((t, i): [string, Isolate] => [`thread${r.sessionThreads.length > 1 ? i + 1 : ''}`, t])];
  let committed = 0;
  for (const [name, iso] of isolates) {
    committed += iso.totalHeapSize;
    f.set(`${name}: V8 committed`, iso.totalHeapSize);
    f.set(`${name}: V8 used`, iso.usedHeapSize);
    for (const [space, s] of Object.entries(iso.spaces)) {
      if (s.committed === 0 && s.used === 0) continue;
      f.set(`${name}:   ${space} committed`, s.committed);
      f.set(`${name}:   ${space} used`, s.used);
    }
    f.set(`${name}: external`, iso.externalMemory);
    f.set(`${name}: V8 malloced`, iso.mallocedMemory);
  }
  f.set('main: ArrayBuffers (process.memoryUsage)', r.arrayBuffers);
  f.set('all isolates: V8 committed', committed);
  f.set('RSS not in V8 heaps (RSS - committed)', r.rssKiB * 1024 - committed);
  return f;
}

function perConnection(before: Reading, after: Reading): Record<string, number> {
  const b = flatten(before);
  const a = flatten(after);
  const out: Record<string, number> = {};
  for (const key of new Set([...b.keys(), ...a.keys()])) out[key] = Math.round(((a.get(key) ?? 0) - (b.get(key) ?? 0)) / n);
  return out;
}

const results: Record<string, unknown> = { connections: n, nodeArgs, brokerArgs, settleMs };
const columns: [string, Record<string, number>][] = [];
try {
  await sleep(settleMs);
  for (const round of ['fresh', 'again']) {
    const clients: GenClient[] = [];
    if (idleS > 0) await sleep(idleS * 1000);
    // A snapshot run writes one before the round too (each collects garbage first).
    const before = await read(false, snapshotDir !== undefined);
    const beforeGc = withGc ? await read(true) : undefined;
    const setupSeconds = await openAll(`${round}-${Date.now().toString(36)}`, clients);
    await sleep(settleMs);
    assertHealthy(clients);
    const after = await read(false, true);
    columns.push([round, perConnection(before, after)]);
    let afterIdle: Reading | undefined;
    if (idleS > 0) {
      await sleep(idleS * 1000);
      afterIdle = await read();
      columns.push([`${round}, after ${idleS} s idle`, perConnection(before, afterIdle)]);
    }
    const afterGc = withGc ? await read(true) : undefined;
    if (beforeGc !== undefined && afterGc !== undefined) columns.push([`${round}, after gc`, perConnection(beforeGc, afterGc)]);
    results[round] = { setupSeconds, before, after, afterIdle, beforeGc, afterGc };
    await Promise.all(clients.map((c) => c.close()));
    await sleep(settleMs);
  }
} finally {
  child.stdin!.end();
}

const keys = [...new Set(columns.flatMap(([, c]) => Object.keys(c)))];
process.stdout.write(`bytes per connection (${n} connections; node args: ${nodeArgs.join(' ') || 'none'}; broker args: ${brokerArgs.join(' ') || 'none'})\n`);
process.stdout.write(`| figure | ${columns.map(([name]) => name).join(' | ')} |\n|---|${columns.map(() => '---:').join('|')}|\n`);
for (const key of keys) process.stdout.write(`| ${key} | ${columns.map(([, c]) => c[key] ?? '').join(' | ')} |\n`);
const jsonOut = arg('--json');
if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify({ ...results, perConnection: Object.fromEntries(columns) }, null, 2));
