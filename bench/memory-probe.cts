/**
 * The isolate side of `bench/memory-breakdown.ts`: V8's per-space figures for the isolate it
 * runs in, and a session-thread entry that answers requests for them. The entry is given to
 * the broker through the test hook `startBrokerWith(options, { threadEntry })`, the way the
 * start-up tests inject faults (test/broker/thread-start-faults.cts): it opens a
 * `BroadcastChannel`, which reaches every thread of the process without touching the broker's
 * own links, then runs the real host. CommonJS like the real entry (pool-entry.cts).
 */
import v8 from 'node:v8';
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import type { ThreadTask } from '../src/broker/thread-messages.js';
import hostSessions = require('../src/session/worker/pool-entry.cjs');

/** The channel's name; main's side is in memory-breakdown-broker.ts. */
export const CHANNEL = 'weft-memory-breakdown';

/** One V8 space: bytes committed (`space_size`) and bytes in objects (`space_used_size`). */
export interface SpaceFigures {
  committed: number;
  used: number;
}

export interface IsolateFigures {
  threadId: number;
  spaces: Record<string, SpaceFigures>;
  /** `v8.getHeapStatistics()`: total committed, used, external, malloced by V8 itself. */
  totalHeapSize: number;
  usedHeapSize: number;
  externalMemory: number;
  mallocedMemory: number;
  peakMallocedMemory: number;
  /** Heap snapshot written (when asked), its path. */
  snapshot?: string;
}

/** A request main sends on the channel. */
export interface ProbeRequest {
  ask: number;
  /** Run a full collection first (needs `--expose-gc` on the process). */
  gc?: boolean;
  /** Write a heap snapshot to this directory first. */
  snapshotDir?: string;
}

export interface ProbeReply {
  reply: number;
  figures: IsolateFigures;
}

/** This isolate's figures, after a full collection and/or a snapshot when asked. */
export function isolateFigures(request: Omit<ProbeRequest, 'ask'> = {}): IsolateFigures {
  let snapshot: string | undefined;
  if (request.snapshotDir !== undefined) {
    // A snapshot collects garbage first, so it also stands for `gc`.
    snapshot = v8.writeHeapSnapshot(`${request.snapshotDir}/${isMainThread ? 'main' : `thread-${threadId}`}-${Date.now()}.heapsnapshot`);
  } else if (request.gc === true) {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) throw new Error('gc asked for: start the broker process with --expose-gc');
    gc();
  }
  const spaces: Record<string, SpaceFigures> = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { committed: s.space_size, used: s.space_used_size };
  const h = v8.getHeapStatistics() as v8.HeapInfo & { external_memory?: number };
  return {
    threadId,
    spaces,
    totalHeapSize: h.total_heap_size,
    usedHeapSize: h.used_heap_size,
    externalMemory: h.external_memory ?? 0,
    mallocedMemory: h.malloced_memory,
    peakMallocedMemory: h.peak_malloced_memory,
    ...(snapshot === undefined ? {} : { snapshot }),
  };
}

/** Session-thread entry: answers probe requests, and hosts sessions as the real entry does. */
export function hostWithProbe(task: ThreadTask): Promise<void> {
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (event) => {
    const request = (event as MessageEvent).data as Partial<ProbeRequest>;
    // Other threads' replies arrive here too: answer requests only.
    if (typeof request.ask !== 'number') return;
    channel.postMessage({ reply: request.ask, figures: isolateFigures(request) } satisfies ProbeReply);
  };
  // The channel must not keep the thread alive once the host is done.
  (channel as unknown as { unref(): void }).unref();
  return hostSessions(task).finally(() => channel.close());
}
