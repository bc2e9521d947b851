/**
 * The messages a session keeps for later (behind the in-flight window, or while offline): what
 * one of them costs in bytes, the copy that makes what is kept what is counted, and the one way
 * the queue changes. The bound policy is `enqueue` in publish-outbound.ts.
 *
 * Invariant: `s.queuedBytes` is the sum of `size` over `s.queue`, and `size` is fixed when a
 * message is queued. Every change of `s.queue` goes through the four functions below, never
 * through the array itself: queued (`enqueue`), sent (`drain`), expired (`drain`,
 * `purgeExpired`), dropped for room (`enqueue`), handed to another member of a shared group
 * (`takeUnacknowledgedShared`), the session ended or cleaned (`discardAll`,
 * `SessionData.discardState`). A takeover or a resume leaves the queue as it is.
 */
import { compacted, compactedBytes, wastesBuffer } from '../../owned-bytes.js';
import type { MessageProperties, RoutedMessage } from './api.js';
import type { QueuedMessage, SessionData } from './session-data.js';

/**
 * The bytes a kept `message` holds, counted against `maxQueuedBytes`: what its payload and
 * Correlation Data keep alive (see `compactedBytes`: their own bytes once copied, else their
 * whole buffer), plus the length of its topic, Content Type, Response Topic and User Property
 * names and values in UTF-16 code units (what a one-byte string holds; no encoding to measure).
 * Not counted: the fixed cost of the objects around them, which `maxQueued` bounds.
 */
export function keptSize(message: RoutedMessage): number {
  let size = message.topic.length + compactedBytes(message.payload);
  const p = message.properties;
  if (p === undefined) return size;
  if (p.correlationData !== undefined) size += compactedBytes(p.correlationData);
  if (p.contentType !== undefined) size += p.contentType.length;
  if (p.responseTopic !== undefined) size += p.responseTopic.length;
  if (p.userProperties !== undefined) {
    for (const [name, value] of Object.entries(p.userProperties)) {
      size += name.length;
      if (Array.isArray(value)) for (const v of value) size += v.length;
      else size += value.length;
    }
  }
  return size;
}

/**
 * The last routed message that needed a copy, and its copy: a thread hands one message to all
 * its sessions it matched one after another (`Fanout`), so every one of them that keeps it keeps
 * the same copy, as they shared the buffer it was read into (a fan-out to many offline sessions
 * would otherwise copy it once per session). A cache of a pure function, invisible but for the
 * memory saved; one entry, so it holds at most one message and its copy beyond their use. (A
 * WeakMap of every message cost microseconds per message in its upkeep.)
 */
let lastOriginal: RoutedMessage | undefined;
let lastKept: RoutedMessage | undefined;

/**
 * `message` as it is kept: a payload or Correlation Data that is a view into a much larger
 * buffer (a socket read, a pool slab, a cloned mailbox batch) is copied into one of its own,
 * so that the queue keeps what {@link keptSize} counts. A new object when anything is copied
 * (the same one for the sessions that keep it one after another): `message` itself is shared
 * with the other sessions it was routed to, and is not changed.
 */
export function keptMessage(message: RoutedMessage): RoutedMessage {
  const cd = message.properties?.correlationData;
  const copyCorrelationData = cd !== undefined && wastesBuffer(cd);
  if (!wastesBuffer(message.payload) && !copyCorrelationData) return message;
  if (message === lastOriginal) return lastKept!;
  const kept: RoutedMessage = { ...message, payload: compacted(message.payload) };
  if (copyCorrelationData) kept.properties = { ...message.properties, correlationData: compacted(cd) } as MessageProperties;
  lastOriginal = message;
  lastKept = kept;
  return kept;
}

export function pushQueued(s: SessionData, item: QueuedMessage): void {
  s.queue.push(item);
  s.queuedBytes += item.size;
}

export function shiftQueued(s: SessionData): QueuedMessage {
  const item = s.queue.shift()!;
  s.queuedBytes -= item.size;
  return item;
}

export function removeQueued(s: SessionData, index: number): QueuedMessage {
  const [item] = s.queue.splice(index, 1);
  s.queuedBytes -= item!.size;
  return item!;
}

export function clearQueue(s: SessionData): void {
  s.queue.length = 0;
  s.queuedBytes = 0;
}
