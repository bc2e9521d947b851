/**
 * N worker threads add 1 to one shared counter, many times each, three ways:
 *
 *   plain   `counter[0] += 1`            read, add, write: two threads can read the same value
 *                                         and one increment is lost (docs/concurrency.md §2)
 *   atomic  `Atomics.add(counter, 0, 1)`  one indivisible read-modify-write
 *   lock    Weft's register mutex around a plain `+= 1` (docs/concurrency.md §4)
 *
 * and prints the total each way reached, out of the N × iterations expected, with timings.
 * Exit code 1 if the atomic or the locked total is wrong (the plain one is expected to be).
 *
 *   npm run build && node dist/examples/lock-demo.js [--workers 4] [--iterations 1000000]
 *
 * The lock is the real one: `tryLock`, `lock` and `unlock` from src/register/shared-lock.ts work
 * on any Int32Array whose word `H.LOCK` is theirs, so this demo gives them one of its own. That
 * module is internal (not part of the package's public API); it is imported here to show it.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { lock, tryLock, unlock } from '../src/register/shared-lock.js';
import { integerOptions } from './integer-options.js';

type Variant = 'plain' | 'atomic' | 'lock';

// Word indices in the shared buffer. The lock's word is `H.LOCK` (word 2, the register's own
// index): `tryLock`, `lock` and `unlock` find it there themselves.
/** On its own 64-byte cache line, away from the lock word and the gate. */
const COUNTER = 16;
/** The start gate: workers wait on it so that they all start at once. */
const GATE = 32;
/** How many workers are at the gate. */
const READY = 48;
const WORDS = 64;

interface Job {
  variant: Variant;
  buffer: SharedArrayBuffer;
  iterations: number;
  /** The lock records its holder: a small owner id, 1 and up, one per thread. */
  owner: number;
}

interface Report {
  /** Absolute times (ms, comparable across threads: timeOrigin + now). */
  start: number;
  end: number;
  /** Lock variant: how often the lock was taken by someone else, so this thread had to wait. */
  waits: number;
}

const now = (): number => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------
// Worker side
// ---------------------------------------------------------------------------------------------

async function count(job: Job): Promise<Report> {
  const m = new Int32Array(job.buffer);
  // Arrive at the gate and sleep until main opens it. A blocking Atomics.wait is fine here:
  // this thread serves nothing else (a session thread must never block; see shared-lock.ts).
  Atomics.add(m, READY, 1);
  Atomics.notify(m, READY);
  Atomics.wait(m, GATE, 0);

  const start = now();
  let waits = 0;
  const n = job.iterations;
  switch (job.variant) {
    case 'plain':
      for (let i = 0; i < n; i++) m[COUNTER]! += 1;
      break;
    case 'atomic':
      for (let i = 0; i < n; i++) Atomics.add(m, COUNTER, 1);
      break;
    case 'lock':
      for (let i = 0; i < n; i++) {
        // Uncontended: one compareExchange, no promise. Contended: `lock` marks the word as
        // waited on and awaits Atomics.waitAsync until the holder's unlock notifies.
        if (!tryLock(m, job.owner)) {
          waits++;
          await lock(m, job.owner);
        }
        // A plain increment is safe here: only the holder touches COUNTER, and the lock's
        // atomic exchange on unlock / compareExchange on lock order it before the next
        // holder's read (sequentially consistent Atomics; docs/concurrency.md §2).
        m[COUNTER]! += 1;
        unlock(m);
      }
      break;
  }
  return { start, end: now(), waits };
}

// ---------------------------------------------------------------------------------------------
// Main side
// ---------------------------------------------------------------------------------------------

async function run(variant: Variant, workers: number, iterations: number): Promise<{ total: number; ms: number; waits: number }> {
  const buffer = new SharedArrayBuffer(WORDS * 4);
  const m = new Int32Array(buffer);
  const threads = Array.from(
    { length: workers },
    (_, i) => new Worker(new URL(import.meta.url), { workerData: { variant, buffer, iterations, owner: i + 1 } satisfies Job }),
  );
  const reports = threads.map(
    (w) =>
      new Promise<Report>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`worker exited with code ${code} before reporting`)));
      }),
  );
  // Main may not block, so it awaits the READY count with waitAsync instead of Atomics.wait.
  for (let ready = Atomics.load(m, READY); ready < workers; ready = Atomics.load(m, READY)) {
    const w = Atomics.waitAsync(m, READY, ready, 1000);
    // A pending waitAsync does not keep Node's event loop alive; the workers' handles do.
    if (w.async) await w.value;
  }
  Atomics.store(m, GATE, 1);
  Atomics.notify(m, GATE);
  const done = await Promise.all(reports);
  const ms = Math.max(...done.map((r) => r.end)) - Math.min(...done.map((r) => r.start));
  return { total: Atomics.load(m, COUNTER), ms, waits: done.reduce((sum, r) => sum + r.waits, 0) };
}

async function main(): Promise<void> {
  const { workers, iterations } = integerOptions({
    workers: { default: 4, min: 1, max: 64 },
    iterations: { default: 1_000_000, min: 1, max: 10_000_000 },
  });
  const expected = workers * iterations;
  console.log(`${workers} workers × ${iterations} increments of one shared counter; expected total ${expected}`);

  let ok = true;
  for (const variant of ['plain', 'atomic', 'lock'] as const) {
    const { total, ms, waits } = await run(variant, workers, iterations);
    const lost = expected - total;
    const perIncrement = (ms * 1e6) / expected;
    const waited = variant === 'lock' ? `, waited for the lock ${waits} times` : '';
    console.log(
      `${variant.padEnd(6)}: total ${String(total).padStart(9)}, lost ${String(lost).padStart(8)}  ` +
        `${ms.toFixed(1).padStart(7)} ms, ${perIncrement.toFixed(1)} ns per increment${waited}`,
    );
    if (variant !== 'plain' && lost !== 0) ok = false;
  }
  console.log(ok ? 'lock-demo: OK, atomic and locked totals exact' : 'lock-demo: FAILED, an atomic or locked total is wrong');
  process.exitCode = ok ? 0 : 1;
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  parentPort!.postMessage(await count(workerData as Job));
}
