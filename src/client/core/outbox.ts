/**
 * Everything the client has been asked to send and has not finished: the preflight PUBLISH
 * queue, SUBSCRIBE/UNSUBSCRIBE waiting to go, publishes waiting for queue room, the in-flight
 * exchanges and their packet ids. Pure bookkeeping with its invariants in one place; the core
 * decides what goes on the wire.
 *
 * Invariants:
 * - every queued or in-flight QoS 1/2 PUBLISH and every SUBSCRIBE/UNSUBSCRIBE holds exactly one
 *   packet id, released when its exchange ends ([MQTT-2.3.1-1], [MQTT-2.2.1-3]);
 * - `queuedMessages` / `queuedBytes` count exactly the entries of `queue`;
 * - `inflight` keeps send order (Map insertion order), which is the resend order [MQTT-4.6.0-1];
 * - `inflightPublishes` counts the PUBLISH entries of `inflight` (the Receive Maximum window).
 */
import type { PublishRequest, SubscriptionRequest } from './types.js';
import { PacketIdAllocator } from './packet-ids.js';

export interface PublishEntry {
  kind: 'publish';
  token: number;
  request: PublishRequest;
  /** Assigned when queued for QoS 1/2 and kept across reconnects. */
  messageId: number | undefined;
  /** `publish`: PUBLISH not yet acknowledged; `pubrel`: past PUBREC, PUBREL is what goes out. */
  stage: 'publish' | 'pubrel';
  /** Set once the PUBLISH has been written, so a resend carries DUP [MQTT-3.3.1-1]. */
  dup: boolean;
  /** Bytes counted against `maxQueuedBytes`. */
  size: number;
}

export interface SubscribeEntry {
  kind: 'subscribe';
  token: number;
  messageId: number;
  subscriptions: SubscriptionRequest[];
  properties: Record<string, unknown> | undefined;
}

export interface UnsubscribeEntry {
  kind: 'unsubscribe';
  token: number;
  messageId: number;
  topics: string[];
  properties: Record<string, unknown> | undefined;
}

export type ControlEntry = SubscribeEntry | UnsubscribeEntry;
export type Entry = PublishEntry | ControlEntry;

interface BlockedPublish {
  token: number;
  request: PublishRequest;
  size: number;
}

/** The queue bounds, read at each check (a reconnect may change them). */
export interface QueueLimits {
  maxQueuedMessages: number;
  maxQueuedBytes: number;
}

export class Outbox {
  private readonly ids = new PacketIdAllocator();
  private queue: PublishEntry[] = [];
  /** Apart from `queue` because the Receive Maximum must not delay them [MQTT-3.3.4-8]. */
  private control: ControlEntry[] = [];
  private blocked: BlockedPublish[] = [];
  private inflight = new Map<number, Entry>();
  private inflightPublishCount = 0;
  private queuedMessages = 0;
  private queuedBytes = 0;

  constructor(private readonly limits: () => QueueLimits) {}

  get idsInUse(): number {
    return this.ids.size;
  }

  get stats(): { queued: number; queuedBytes: number; inflight: number; blocked: number } {
    return { queued: this.queuedMessages, queuedBytes: this.queuedBytes, inflight: this.inflight.size, blocked: this.blocked.length };
  }

  /** QoS 1/2 PUBLISHes written and not yet complete. */
  get inflightPublishes(): number {
    return this.inflightPublishCount;
  }

  /** Nothing queued, waiting or in flight. */
  get isEmpty(): boolean {
    return this.queue.length === 0 && this.control.length === 0 && this.inflight.size === 0 && this.blocked.length === 0;
  }

  get hasBlocked(): boolean {
    return this.blocked.length > 0;
  }

  get hasQueued(): boolean {
    return this.queue.length > 0 || this.control.length > 0;
  }

  /** Room in the queue for a message of `size` bytes. */
  hasRoom(size: number): boolean {
    const l = this.limits();
    return this.queuedMessages < l.maxQueuedMessages && this.queuedBytes + size <= l.maxQueuedBytes;
  }

  /** A free packet id; throws `PacketIdExhaustedError`. */
  allocateId(): number {
    return this.ids.allocate();
  }

  releaseId(id: number): void {
    this.ids.release(id);
  }

  /** Queues a PUBLISH (taking a packet id for QoS 1/2); throws `PacketIdExhaustedError`. */
  admit(token: number, request: PublishRequest, size: number): void {
    const messageId = request.qos > 0 ? this.ids.allocate() : undefined;
    this.queue.push({ kind: 'publish', token, request, messageId, stage: 'publish', dup: false, size });
    this.queuedMessages++;
    this.queuedBytes += size;
  }

  /** Holds a PUBLISH until the queue has room (`queueFullBehavior: 'wait'`). */
  block(token: number, request: PublishRequest, size: number): void {
    this.blocked.push({ token, request, size });
  }

  /** Moves held publishes into the queue, in order, while there is room; reports each that failed. */
  admitBlocked(): { moved: number; failed: Array<{ token: number; error: Error }> } {
    let moved = 0;
    const failed: Array<{ token: number; error: Error }> = [];
    while (this.blocked.length > 0 && this.hasRoom(this.blocked[0]!.size)) {
      const b = this.blocked.shift()!;
      moved++;
      try {
        this.admit(b.token, b.request, b.size);
      } catch (err) {
        failed.push({ token: b.token, error: err as Error });
      }
    }
    return { moved, failed };
  }

  addControl(entry: ControlEntry): void {
    this.control.push(entry);
  }

  /** Puts entries ahead of every other waiting SUBSCRIBE/UNSUBSCRIBE. */
  prependControl(entries: ControlEntry[]): void {
    this.control.unshift(...entries);
  }

  takeControl(): ControlEntry | undefined {
    return this.control.shift();
  }

  peekPublish(): PublishEntry | undefined {
    return this.queue[0];
  }

  /** Removes the first queued PUBLISH (to write it). */
  takePublish(): PublishEntry | undefined {
    const entry = this.queue.shift();
    if (entry) {
      this.queuedMessages--;
      this.queuedBytes -= entry.size;
    }
    return entry;
  }

  /** An entry was written and now awaits its acknowledgement. */
  sent(entry: Entry): void {
    this.inflight.set(entry.messageId!, entry);
    if (entry.kind === 'publish') this.inflightPublishCount++;
  }

  /** The in-flight entry with packet id `id`. */
  inflightEntry(id: number): Entry | undefined {
    return this.inflight.get(id);
  }

  /** An exchange ended: frees its id and its window slot; returns its entry. */
  complete(id: number): Entry | undefined {
    const entry = this.inflight.get(id);
    if (!entry) return undefined;
    this.inflight.delete(id);
    this.ids.release(id);
    if (entry.kind === 'publish') this.inflightPublishCount--;
    return entry;
  }

  /** In-flight work goes back to the front of its queue in its original order [MQTT-4.6.0-1]. */
  requeueInflight(): void {
    if (this.inflight.size === 0) return;
    const publishes: PublishEntry[] = [];
    const control: ControlEntry[] = [];
    for (const entry of this.inflight.values()) {
      if (entry.kind === 'publish') {
        publishes.push(entry);
        this.queuedMessages++;
        this.queuedBytes += entry.size;
      } else control.push(entry);
    }
    this.inflight.clear();
    this.inflightPublishCount = 0;
    this.queue.unshift(...publishes);
    this.control.unshift(...control);
  }

  /**
   * The server has no session for us: entries past PUBREC leave (returned, ids freed) and the
   * rest will go out as new messages (DUP 0).
   */
  forgetSession(): PublishEntry[] {
    const done: PublishEntry[] = [];
    const kept: PublishEntry[] = [];
    for (const entry of this.queue) {
      if (entry.stage === 'pubrel') {
        this.queuedMessages--;
        this.queuedBytes -= entry.size;
        if (entry.messageId !== undefined) this.ids.release(entry.messageId);
        done.push(entry);
      } else {
        entry.dup = false;
        kept.push(entry);
      }
    }
    this.queue = kept;
    return done;
  }

  /** Empties everything; returns the tokens of all unfinished operations, in flight first. */
  clear(): number[] {
    const tokens: number[] = [];
    for (const entry of this.inflight.values()) tokens.push(entry.token);
    for (const entry of this.control) tokens.push(entry.token);
    for (const entry of this.queue) tokens.push(entry.token);
    for (const b of this.blocked) tokens.push(b.token);
    this.inflight.clear();
    this.queue = [];
    this.control = [];
    this.blocked = [];
    this.queuedMessages = 0;
    this.queuedBytes = 0;
    this.inflightPublishCount = 0;
    this.ids.clear();
    return tokens;
  }
}
