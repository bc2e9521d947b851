/**
 * Routing a message to the sessions that subscribed to it, from whichever thread publishes it
 * (a session worker for PUBLISH and wills, the main thread for the wills of a crashed worker).
 *
 * 1. Match in the shared register: `tryMatch`, or `await match` while another thread writes.
 *    Routes run strictly one after another per thread, so a publisher's messages keep their
 *    order even when one of them had to wait [MQTT-4.6.0-5]/[MQTT-4.6.0-6].
 * 2. Group the deliveries by destination thread (the shared session→thread table).
 * 3. Sessions on this thread get a direct call; each other thread gets one mailbox message per
 *    event-loop turn carrying every message for it, so a payload is copied at most once per
 *    destination thread. The mailbox from one thread to another is a MessagePort pair of their
 *    own (the receiving end goes to the destination through main), which keeps the order of
 *    one sender's messages and delivers each batch only to its destination (a BroadcastChannel
 *    per destination, used before, also delivered every batch to the other senders' instances
 *    of its name: N−1 wasted deserializations per batch).
 * 4. Each QoS 1/2 delivery is counted in the shared {@link SessionBacklog}; a route that finds a
 *    subscriber congested tells its publisher, which then stops reading until it drains.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Delivery, SessionId, SubscriptionRegister } from '../register/types.js';
import type { DeliveryInfo, RoutedMessage } from '../session/core/api.js';
import type { SessionBacklog } from './session-backlog.js';
import type { SessionThreadTable } from './session-threads.js';
import type { MailboxBatch, MailboxItem } from './thread-messages.js';
import { TurnBatch, type Flushable } from './turn-batch.js';

/** Hands `port`, the receiving end of a new mailbox from this thread, to thread `thread`. */
export type MailboxConnect = (thread: number, port: MessagePort) => void;

/** Delivers to a session hosted on this thread; returns false when the id is unknown here. */
export type LocalDeliver = (session: SessionId, message: RoutedMessage, info: DeliveryInfo) => boolean;

interface PendingRoute {
  message: RoutedMessage;
  publisher: SessionId;
  done: ((matched: number) => void) | undefined;
}

/** A subscriber that is behind: its publisher waits for `backlog.waitUntilClear(session, since)`. */
export interface Congestion {
  session: SessionId;
  since: number;
}

/** Counters, for stats and tests. */
export interface FanoutCounters {
  routed: number;
  /** Routes that found the register mid-write and had to wait. */
  waited: number;
  /** Deliveries to sessions no longer in the session→thread table. */
  unplaced: number;
}

class Outbox implements Flushable {
  items: MailboxItem[] = [];
  constructor(private readonly channel: Pick<MessagePort, 'postMessage' | 'close'>) {}
  close(): void {
    this.flush();
    this.channel.close();
  }
  flush(): void {
    if (this.items.length === 0) return;
    const batch: MailboxBatch = { items: this.items };
    this.items = [];
    this.channel.postMessage(batch);
  }
}

/** One per thread that routes messages. */
export class Fanout {
  private readonly queue: PendingRoute[] = [];
  private draining = false;
  private readonly outboxes = new Map<number, Outbox>();
  private readonly batch = new TurnBatch();
  private closed = false;
  readonly counters: FanoutCounters = { routed: 0, waited: 0, unplaced: 0 };

  constructor(
    private readonly register: SubscriptionRegister,
    private readonly table: SessionThreadTable,
    private readonly backlog: SessionBacklog,
    /** This thread's id (0 on the main thread, which hosts no session). */
    private readonly threadId: number,
    private readonly local: LocalDeliver,
    /** How a new mailbox's receiving end reaches its thread. */
    private readonly connect: MailboxConnect,
  ) {}

  /**
   * Routes `message` published by `publisher` (0: no session); calls `done` with the number of
   * sessions matched once it is dispatched (synchronously when the register was free).
   * Returns the first congested subscriber when the message was dispatched at once and found
   * one (a route that had to wait for the register reports none: it is rare and one message).
   */
  route(message: RoutedMessage, publisher: SessionId, done?: (matched: number) => void): Congestion | undefined {
    if (this.closed) return undefined;
    if (!this.draining) {
      const deliveries = this.register.tryMatch(message.topic, publisher);
      if (deliveries !== undefined) {
        const congestion = this.dispatch(message, deliveries);
        done?.(deliveries.length);
        return congestion;
      }
    }
    this.queue.push({ message, publisher, done });
    if (!this.draining) void this.drain();
    return undefined;
  }

  /**
   * Hands `message` to the member of `shareGroup` the register picks now, other than `from`
   * (whose register entries must already be removed): a departing member's unacknowledged
   * messages are not lost (MQTT 5.0 section 4.8.2). Only that group's delivery is used, so
   * subscribers outside the group never see the message twice. Resolves with whether a member
   * took it.
   */
  async reshare(message: RoutedMessage, shareGroup: string, from: SessionId): Promise<boolean> {
    // Publisher 0: No Local cannot apply (it is refused on shared subscriptions [MQTT-3.8.3-4]).
    const deliveries = this.register.tryMatch(message.topic, 0) ?? (await this.register.match(message.topic, 0));
    const target = deliveries.find((d) => d.shareGroup === shareGroup && d.session !== from);
    if (target === undefined || this.table.threadOf(target.session) === 0 || this.closed) return false;
    this.dispatch(message, [target]);
    return true;
  }

  /** Receives a mailbox batch addressed to this thread. */
  receive(batch: MailboxBatch): void {
    for (const item of batch.items) {
      const { targets } = item;
      for (let i = 0, n = 0; i < targets.length; i += 3, n++) {
        const info: DeliveryInfo = {
          qos: targets[i + 1] as 0 | 1 | 2,
          retainAsPublished: targets[i + 2] === 1,
          subscriptionIds: item.subscriptionIds?.[n] ?? [],
        };
        const group = item.shareGroups?.[n];
        if (group !== undefined) info.shareGroup = group;
        this.local(targets[i]!, item.message, info);
      }
    }
  }

  /** Forgets the mailbox of a thread that is gone. */
  forgetThread(threadId: number): void {
    const outbox = this.outboxes.get(threadId);
    if (outbox === undefined) return;
    this.outboxes.delete(threadId);
    outbox.close();
  }

  /** Sends what is batched now (e.g. before this thread exits). */
  flush(): void {
    this.batch.flushNow();
  }

  /** Flushes and closes every mailbox channel this thread opened (else the process stays up). */
  close(): void {
    this.batch.flushNow();
    this.closed = true;
    for (const threadId of [...this.outboxes.keys()]) this.forgetThread(threadId);
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const next = this.queue.shift()!;
        let deliveries = this.register.tryMatch(next.message.topic, next.publisher);
        if (deliveries === undefined) {
          this.counters.waited++;
          deliveries = await this.register.match(next.message.topic, next.publisher);
        }
        this.dispatch(next.message, deliveries);
        next.done?.(deliveries.length);
      }
    } finally {
      this.draining = false;
    }
  }

  private dispatch(message: RoutedMessage, deliveries: readonly Delivery[]): Congestion | undefined {
    this.counters.routed++;
    let congestion: Congestion | undefined;
    // Read once per message, and only when a QoS 1/2 delivery needs it for the backlog.
    let now = 0;
    // One item per destination thread for this message; targets are appended to it.
    let items: Map<number, MailboxItem> | undefined;
    for (const delivery of deliveries) {
      const thread = this.table.threadOf(delivery.session);
      if (thread === 0) {
        this.counters.unplaced++;
        continue;
      }
      // Counted before it is handed over: the receiving host subtracts it (see SessionBacklog).
      if (countsInBacklog(message, delivery.qos)) {
        if (now === 0) now = Date.now();
        const since = this.backlog.added(delivery.session, now);
        if (since !== 0 && congestion === undefined) congestion = { session: delivery.session, since };
      }
      if (thread === this.threadId) {
        this.local(delivery.session, message, toInfo(delivery));
        continue;
      }
      items ??= new Map();
      let item = items.get(thread);
      if (item === undefined) {
        item = { message, targets: [] };
        items.set(thread, item);
        this.outbox(thread).items.push(item);
      }
      const index = item.targets.length / 3;
      item.targets.push(delivery.session, delivery.qos, delivery.retainAsPublished ? 1 : 0);
      if (delivery.subscriptionIds.length > 0) {
        item.subscriptionIds ??= [];
        item.subscriptionIds[index] = delivery.subscriptionIds;
      }
      if (delivery.shareGroup !== undefined) {
        item.shareGroups ??= [];
        item.shareGroups[index] = delivery.shareGroup;
      }
    }
    return congestion;
  }

  private outbox(thread: number): Outbox {
    let outbox = this.outboxes.get(thread);
    if (outbox === undefined) {
      // Batches posted before the destination listens wait in the port, in order.
      const { port1, port2 } = new MessageChannel();
      this.connect(thread, port2);
      outbox = new Outbox(port1);
      this.outboxes.set(thread, outbox);
    }
    this.batch.mark(outbox);
    return outbox;
  }
}

/** Whether a delivery at subscription QoS `qos` is QoS 1/2 (what the backlog counts). */
export function countsInBacklog(message: RoutedMessage, qos: number): boolean {
  return message.qos > 0 && qos > 0;
}

function toInfo(delivery: Delivery): DeliveryInfo {
  const info: DeliveryInfo = {
    qos: delivery.qos,
    retainAsPublished: delivery.retainAsPublished,
    subscriptionIds: delivery.subscriptionIds,
  };
  if (delivery.shareGroup !== undefined) info.shareGroup = delivery.shareGroup;
  return info;
}
