/**
 * A publishing loop that measures the broker and not the generator's buffers: it sends only as
 * many messages as its credit allows (a window ahead of what subscribers have seen, an in-flight
 * window for QoS 1/2, or a fixed rate), waits for `drain` whenever the socket says its buffer is
 * full, and yields to I/O after every batch. Each batch is one write of template copies.
 */
import { setImmediate as yieldToIO } from 'node:timers/promises';
import type { GenClient } from './gen-client.js';
import type { PublishTemplate } from './wire.js';

/** Wakes every waiter at once; a publisher waits on it when it has no credit. */
export class Signal {
  private waiters: (() => void)[] = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

export interface PublisherOptions {
  client: GenClient;
  /** One template, or several sent round-robin (wildcard scenario). */
  templates: readonly PublishTemplate[];
  /** Written into every payload so subscribers can tell publishers apart. */
  index: number;
  /** Messages that may be sent now, besides the QoS 1/2 window. Re-evaluated after every wake. */
  credit: () => number;
  /** Woken when credit may have grown; the scenario also wakes it on a timer so deadlines are seen. */
  signal: Signal;
  /** Hard bound on messages sent, whatever the time. */
  maxMessages: number;
  /** Largest batch per write. */
  batch?: number;
  /**
   * Smallest batch worth a write: with less credit than this the publisher waits for more.
   * Refilling a window in batches, not one message per acknowledgement, keeps the generator's
   * per-write cost (the dearest thing it does) from limiting a fast broker. Default 1.
   */
  minBatch?: number;
  /** QoS 1/2 only: most flows in flight at once. */
  window?: number;
  /** Stamp the send time into each payload (latency). */
  stamp?: boolean;
}

export class Publisher {
  /** Messages written to the socket. */
  sent = 0;
  /** QoS 1/2 flows acknowledged (PUBACK / PUBCOMP). */
  completed = 0;
  /** QoS 1/2 acknowledgements whose packet id was not in flight. */
  strayAcks = 0;
  private inflight = 0;
  private readonly busy = new Uint8Array(65_536);
  private nextId = 1;
  private stopped = false;
  private readonly qos: number;
  private readonly window: number;
  private readonly batch: number;
  private readonly minBatch: number;
  private readonly bytesPerMessage: number;

  constructor(private readonly options: PublisherOptions) {
    if (options.templates.length === 0) throw new RangeError('publisher needs a template');
    this.qos = options.templates[0]!.qos;
    if (options.templates.some((t) => t.qos !== this.qos)) throw new RangeError('templates of one publisher share a QoS');
    this.window = this.qos > 0 ? (options.window ?? 100) : Infinity;
    this.batch = options.batch ?? 64;
    this.minBatch = Math.min(options.minBatch ?? 1, this.batch, this.window);
    this.bytesPerMessage = Math.max(...options.templates.map((t) => t.size));
    if (this.qos > 0) {
      options.client.onComplete = (packetId) => this.complete(packetId);
    }
  }

  /** Ends the loop at its next check. */
  stop(): void {
    this.stopped = true;
    this.options.signal.notify();
  }

  /** Flows still waiting for their acknowledgement. */
  get inFlight(): number {
    return this.inflight;
  }

  /** Runs until stopped, past `deadline` (hrtime ns), at the count bound, or the connection fails. */
  async run(deadline: bigint): Promise<void> {
    const { client, templates, signal, maxMessages, index, stamp } = this.options;
    let turn = 0;
    while (!this.stopped && this.sent < maxMessages && !client.closed) {
      if (process.hrtime.bigint() >= deadline) break;
      const left = maxMessages - this.sent;
      const n = Math.min(this.batch, this.options.credit(), this.window - this.inflight, left);
      if (n <= 0 || (n < this.minBatch && n < left)) {
        await signal.wait();
        continue;
      }
      const out = Buffer.allocUnsafe(n * this.bytesPerMessage);
      const sentAt = stamp ? process.hrtime.bigint() : 0n;
      let pos = 0;
      for (let i = 0; i < n; i++) {
        const template = templates[turn]!;
        turn = turn + 1 === templates.length ? 0 : turn + 1;
        const packetId = this.qos > 0 ? this.takeId() : 0;
        pos = template.fill(out, pos, packetId, index, this.sent, sentAt);
        this.sent++;
      }
      const written = client.write(pos === out.length ? out : out.subarray(0, pos));
      if (!written) await client.drain();
      else await yieldToIO();
    }
  }

  /** The next free packet id (1–65535) [MQTT-2.3.1-1]; the window keeps most of them free. */
  private takeId(): number {
    let id = this.nextId;
    while (this.busy[id] === 1) id = id === 65_535 ? 1 : id + 1;
    this.busy[id] = 1;
    this.nextId = id === 65_535 ? 1 : id + 1;
    this.inflight++;
    return id;
  }

  private complete(packetId: number): void {
    if (this.busy[packetId] !== 1) {
      this.strayAcks++;
      return;
    }
    this.busy[packetId] = 0;
    this.inflight--;
    this.completed++;
    this.options.signal.notify();
  }
}
