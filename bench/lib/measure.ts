/**
 * The measuring window of a scenario: wall time from `process.hrtime.bigint()`, the broker's
 * CPU and memory from /proc, the generator's own CPU (to flag runs where the generator, not
 * the broker, was the limit), and the bounded waits every scenario shares.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds, rssKiB } from './proc.js';

export interface Window {
  seconds: number;
  brokerCpuSeconds: number;
  generatorCpuSeconds: number;
  rssStartKiB: number;
  rssEndKiB: number;
  rssPeakKiB: number;
}

export class Meter {
  private t0 = 0n;
  private cpu0 = 0;
  private gen0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private rss0 = 0;
  private peak = 0;
  private sampler: NodeJS.Timeout | null = null;

  constructor(private readonly pid: number) {}

  start(): void {
    this.t0 = process.hrtime.bigint();
    this.cpu0 = cpuSeconds(this.pid);
    this.gen0 = process.cpuUsage();
    this.rss0 = rssKiB(this.pid);
    this.peak = this.rss0;
    this.sampler = setInterval(() => {
      const rss = rssKiB(this.pid);
      if (rss > this.peak) this.peak = rss;
    }, 100);
  }

  stop(): Window {
    const seconds = Number(process.hrtime.bigint() - this.t0) / 1e9;
    if (this.sampler !== null) clearInterval(this.sampler);
    this.sampler = null;
    const gen = process.cpuUsage(this.gen0);
    const rssEnd = rssKiB(this.pid);
    return {
      seconds,
      brokerCpuSeconds: cpuSeconds(this.pid) - this.cpu0,
      generatorCpuSeconds: (gen.user + gen.system) / 1e6,
      rssStartKiB: this.rss0,
      rssEndKiB: rssEnd,
      rssPeakKiB: Math.max(this.peak, rssEnd),
    };
  }
}

/** hrtime deadline `seconds` from now. */
export function deadlineIn(seconds: number): bigint {
  return process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
}

/**
 * Waits until `done()` or until `progress()` has not moved for `quietMs`, at most `maxMs`.
 * Returns true when `done()` was reached. Used after the publishers stop, so messages still in
 * the broker are counted as delivered rather than lost.
 */
export async function settle(done: () => boolean, progress: () => number, quietMs = 500, maxMs = 5_000): Promise<boolean> {
  const end = Date.now() + maxMs;
  let last = progress();
  let lastMove = Date.now();
  while (!done()) {
    const now = Date.now();
    if (now >= end || now - lastMove >= quietMs) return false;
    await sleep(20);
    const p = progress();
    if (p !== last) {
      last = p;
      lastMove = Date.now();
    }
  }
  return true;
}

/** Runs `task` on at most `limit` items at once; after the first failure starts no more, and rejects with it. */
export async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        await task(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  const results = await Promise.allSettled(workers);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** Throws the first connection error among `clients` (a scenario with a broken connection has no figures). */
export function assertHealthy(clients: readonly { error: Error | null; clientId: string }[]): void {
  for (const c of clients) if (c.error !== null) throw new Error(`${c.clientId}: ${c.error.message}`);
}
