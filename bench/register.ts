/**
 * Register benchmark: match throughput of the shared register against qlobber (the matcher
 * behind aedes) at 1k / 10k / 100k filters, then matches/s with 1, 2 and 4 reading threads.
 * `npm run bench:register`. Variants are measured in interleaved rounds (see `rates`); the whole
 * run stays under two minutes.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { SharedRegister } from '../src/register/shared-register.js';
import { build, makeFilters } from './register-workload.js';

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function threads(register: SharedRegister, count: number): Promise<number> {
  const control = new SharedArrayBuffer(12);
  const c = new Int32Array(control);
  const workers = Array.from({ length: count }, (_, k) =>
    new Worker(new URL('./register-worker.js', import.meta.url), {
      workerData: { handle: register.handle, owner: 10 + k, control, seed: 100 + k },
    }),
  );
  const exits = workers.map((w) => new Promise((r) => w.once('exit', r)));
  // wait until every worker has attached and built its topics (control[2] counts them)
  for (let ready = Atomics.load(c, 2); ready < count; ready = Atomics.load(c, 2)) await Atomics.waitAsync(c, 2, ready, 1000).value;
  const results = workers.map(
    (w) => new Promise<{ matches: number }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    }),
  );
  const start = process.hrtime.bigint();
  Atomics.store(c, 0, 1);
  Atomics.notify(c, 0);
  await new Promise((r) => setTimeout(r, 1500));
  Atomics.store(c, 1, 1);
  const done = await Promise.all(results);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  await Promise.all(exits);
  return done.reduce((s, d) => s + d.matches, 0) / secs;
}

async function main(): Promise<void> {
  console.log(`# Register benchmark — ${new Date().toISOString()}`);
  console.log(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${os.platform()} ${os.arch()}`);
  console.log('\nSingle thread, 10,000 distinct topics in turn. qlobber returns the matching values (session ids, one per');
  console.log('filter, no dedupe); Weft returns Delivery objects, one per session. Best of 4 interleaved 250 ms rounds.\n');
  console.log('| filters | deliveries/match | qlobber | Weft default | **Weft/qlobber** | Weft, no reuse | Weft, 4 filters/session | Weft + result cache, 1,000 hot topics |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const count of [1_000, 10_000, 100_000]) {
    // Each size in a fresh worker: its own heap, so one size's garbage does not tax the next.
    const worker = new Worker(new URL('./register-size.js', import.meta.url), { workerData: { count } });
    const [row] = (await Promise.all([
      new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject)),
      new Promise((resolve) => worker.once('exit', resolve)),
    ])) as [string, unknown];
    console.log(row);
  }
  const register = await build(makeFilters(100_000), 1);
  const s = register.stats();
  console.log(`\n100k filters: ${fmt(s.nodes)} nodes, ${(s.bytesUsed / 1048576).toFixed(1)} MiB used of ${(s.bytesCapacity / 1048576).toFixed(1)} MiB`);
  console.log('\n| reading threads (100k filters, default attach, no result cache) | total matches/s | per thread |');
  console.log('|---:|---:|---:|');
  for (const n of [1, 2, 4]) {
    const total = await threads(register, n);
    console.log(`| ${n} | ${fmt(total)} | ${fmt(total / n)} |`);
  }
}

await main();
