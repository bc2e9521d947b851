/**
 * One row of the register benchmark, run in its own worker (fresh heap): qlobber and the
 * shared register variants on `count` filters, measured in interleaved rounds.
 */
import { parentPort, workerData } from 'node:worker_threads';
import qlobber from 'qlobber';
import { SharedRegister } from '../src/register/shared-register.js';
import { build, makeFilters, makeTopics } from './register-workload.js';

const ROUNDS = 4;
const ROUND_MS = 250;

/**
 * Matches/s of each variant: ROUNDS rounds of ROUND_MS each, variants interleaved so that load
 * from other processes on this shared machine hits all of them alike; the best round counts.
 */
function rates(variants: Record<string, (i: number) => number>): Record<string, number> {
  const best: Record<string, number> = {};
  let sink = 0;
  for (const fn of Object.values(variants)) for (let i = 0; i < 2000; i++) sink += fn(i); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(variants)) {
      let n = 0;
      const start = performance.now();
      let elapsed = 0;
      while (elapsed < ROUND_MS) {
        for (let i = 0; i < 500; i++) sink += fn(n + i);
        n += 500;
        elapsed = performance.now() - start;
      }
      best[name] = Math.max(best[name] ?? 0, (n * 1000) / elapsed);
    }
  }
  if (sink === -1) console.log(sink); // keeps the results alive
  return best;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

const count = (workerData as { count: number }).count;
const topics = makeTopics(10_000);
const filters = makeFilters(count);
const q = new qlobber.Qlobber({ separator: '/', wildcard_one: '+', wildcard_some: '#' });
for (let i = 0; i < filters.length; i++) q.add(filters[i]!, i + 1);
const bare = await build(filters, 1);
const grouped = await build(filters, 4);
const weft = SharedRegister.attach(bare.handle, { owner: 2, resultCacheSize: 0 });
const weft4 = SharedRegister.attach(grouped.handle, { owner: 3, resultCacheSize: 0 });
const t = (i: number): string => topics[i % topics.length]!;
const r = rates({
  qlobber: (i) => q.match(t(i)).length,
  weft: (i) => weft.tryMatch(t(i), 0)!.length,
  bare: (i) => bare.tryMatch(t(i), 0)!.length,
  weft4: (i) => weft4.tryMatch(t(i), 0)!.length,
});
// The result cache (default 1,024 topics) on a hot set of 1,000 topics, measured after the rest
// because the answers it holds enlarge the heap every other variant would then pay for.
const cached = SharedRegister.attach(bare.handle, { owner: 4 });
const hot = rates({ cached: (i) => cached.tryMatch(topics[i % 1000]!, 0)!.length });
let total = 0;
for (let i = 0; i < 1000; i++) total += bare.tryMatch(topics[i]!, 0)!.length;
parentPort!.postMessage(
  `| ${fmt(count)} | ${(total / 1000).toFixed(1)} | ${fmt(r.qlobber!)} | ${fmt(r.weft!)} | **${(r.weft! / r.qlobber!).toFixed(2)}×** | ${fmt(r.bare!)} | ${fmt(r.weft4!)} | ${fmt(hot.cached!)} |`,
);
