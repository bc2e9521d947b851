/**
 * Messages from the broker to the client: the in-flight window, the queue behind it, packet
 * ids, server→client topic aliases, the client's Maximum Packet Size, and the PUBACK / PUBREC /
 * PUBCOMP that complete QoS 1 and 2 deliveries.
 *
 * Queue policy (documented in docs/protocol.md): the queue holds at most `maxQueued` messages
 * and `maxQueuedBytes` bytes (`keptSize` in queue.ts). When one arrives that does not fit, QoS 0
 * goes first: the arriving one if it is QoS 0, else the oldest queued QoS 0s until it fits; only
 * when dropping every queued QoS 0 would not make room is the arriving QoS 1/2 message dropped
 * (and then none of them is). Every drop is counted ('queue-full') and reported.
 */
import type { IPublishPacket, IPubrelPacket } from 'mqtt-packet';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { encodePacket } from '../../protocol/encoder.js';
import { plainPublishSize } from '../../protocol/plain-publish-encode.js';
import { setUserPropertyOrder } from '../../protocol/user-property-order.js';
import type { DeliveryInfo, DropCause, QoS, RoutedMessage } from './api.js';
import { SessionState } from './api.js';
import { asBuffer, isExpired, remainingExpiry } from './message.js';
import type { Out } from './out.js';
import { clearQueue, keptMessage, keptSize, pushQueued, removeQueued, shiftQueued } from './queue.js';
import type { InflightMessage, QueuedMessage, SessionData } from './session-data.js';

/** How many QoS 1/2 messages may be in flight now. */
function windowSize(s: SessionData): number {
  const client = s.conn && s.conn.version === 5 ? s.conn.clientReceiveMaximum : Infinity;
  // The client's Receive Maximum bounds what we send unacknowledged [MQTT-3.3.4-9].
  return Math.min(s.config.maxInflight, client);
}

/**
 * QoS 1/2 PUBLISH packets sent on this connection and not yet completed: what the client's
 * Receive Maximum counts [MQTT-3.3.4-9]. A PUBREL resent on resume is not one of them: its
 * PUBLISH went on an earlier connection (MQTT 5.0 section 4.9).
 */
function onWire(s: SessionData): number {
  return inflightCount(s) - s.awaitingResend - s.releasesOutsideQuota;
}

/** Messages in flight, PUBRELs included. */
export function inflightCount(s: SessionData): number {
  return s.inflight?.size ?? 0;
}

/**
 * Room for a new QoS 1/2 message: the client's Receive Maximum (and `maxInflight`) allow one
 * more PUBLISH on this connection, and the session holds fewer than `maxInflight` in flight
 * (resent PUBRELs fall outside the first count but not the second).
 */
function roomForNew(s: SessionData): boolean {
  return onWire(s) < windowSize(s) && inflightCount(s) < s.config.maxInflight;
}

/** Next free packet id: 1..65535, never 0, never one in use [MQTT-2.3.1-1,2]. */
function allocatePacketId(s: SessionData): number {
  // windowSize <= 65535 and inflight.size < windowSize, so a free id exists.
  for (;;) {
    const id = s.nextPacketId;
    s.nextPacketId = id === 65535 ? 1 : id + 1;
    if (s.inflight?.has(id) !== true) return id;
  }
}

function drop(s: SessionData, out: Out, message: RoutedMessage, qos: QoS, cause: DropCause): void {
  s.dropped[cause]++;
  out.act({ kind: 'dropped', topic: message.topic, qos, cause });
}

/** Builds the PUBLISH for `item`, without topic alias. */
function buildPublish(s: SessionData, item: Omit<QueuedMessage, 'size'>, packetId: number | undefined, now: number, dup: boolean): IPublishPacket {
  const { message } = item;
  const packet: IPublishPacket = {
    cmd: 'publish',
    topic: message.topic,
    payload: asBuffer(message.payload),
    qos: item.qos,
    retain: item.retain,
    dup,
  };
  if (packetId !== undefined) packet.messageId = packetId;
  if (s.conn?.version === 5) {
    const props: NonNullable<IPublishPacket['properties']> = {};
    const mp = message.properties;
    if (mp?.payloadFormatIndicator !== undefined) props.payloadFormatIndicator = mp.payloadFormatIndicator;
    const expiry = remainingExpiry(message, now);
    if (expiry !== undefined) props.messageExpiryInterval = expiry;
    if (mp?.contentType !== undefined) props.contentType = mp.contentType;
    if (mp?.responseTopic !== undefined) props.responseTopic = mp.responseTopic;
    if (mp?.correlationData !== undefined) props.correlationData = asBuffer(mp.correlationData);
    if (mp?.userProperties !== undefined) {
      props.userProperties = mp.userProperties;
      // The order received, where the object would change it [MQTT-3.3.2-18] (plain-properties.ts writes it).
      if (mp.userPropertyOrder !== undefined) setUserPropertyOrder(props, mp.userPropertyOrder);
    }
    // Every matching subscription's identifier goes with the message [MQTT-3.3.4-3,4].
    if (item.subscriptionIds.length === 1) props.subscriptionIdentifier = item.subscriptionIds[0]!;
    else if (item.subscriptionIds.length > 1) props.subscriptionIdentifier = [...item.subscriptionIds];
    if (Object.keys(props).length > 0) packet.properties = props;
  }
  return packet;
}

/**
 * Applies a server→client topic alias when the client allows them: a topic seen before on this
 * connection goes as an empty topic with its alias; a new one gets the next free alias while
 * any is left (no eviction: simple, and never reuses an alias the client may still map).
 * Returns the alias to record once the packet is known to be sent.
 */
function applyAlias(s: SessionData, packet: IPublishPacket): { topic: string; alias: number } | undefined {
  const conn = s.conn!;
  if (conn.version !== 5 || !s.config.outboundTopicAliases || conn.clientTopicAliasMaximum === 0) return undefined;
  const known = conn.outboundAliases?.get(packet.topic);
  packet.properties ??= {};
  if (known !== undefined) {
    packet.properties.topicAlias = known;
    packet.topic = '';
    return undefined;
  }
  // Aliases stay within the client's Topic Alias Maximum [MQTT-3.3.2-9].
  const used = conn.outboundAliases?.size ?? 0;
  if (used >= conn.clientTopicAliasMaximum) {
    if (Object.keys(packet.properties).length === 0) delete packet.properties;
    return undefined;
  }
  const alias = used + 1;
  packet.properties.topicAlias = alias;
  return { topic: packet.topic, alias };
}

function fitsClient(s: SessionData, packet: IPublishPacket): boolean {
  const max = s.conn!.clientMaxPacketSize;
  if (max === undefined) return true;
  // Measured, not encoded: the worker encodes what is sent (publish-codec.ts).
  return (plainPublishSize(packet, 5) ?? encodePacket(packet, 5).length) <= max;
}

/**
 * Sends `item` now (the caller checked the window). Returns false when it could not be sent
 * because it is larger than the client's Maximum Packet Size: then it is discarded as if its
 * delivery had completed [MQTT-3.1.2-25].
 */
function transmit(s: SessionData, out: Out, item: QueuedMessage, now: number): boolean {
  const packetId = item.qos > 0 ? allocatePacketId(s) : undefined;
  const packet = buildPublish(s, item, packetId, now, false);
  const newAlias = applyAlias(s, packet);
  if (!fitsClient(s, packet)) {
    if (packetId !== undefined) s.nextPacketId = packetId;
    drop(s, out, item.message, item.qos, 'too-large');
    return false;
  }
  if (newAlias) (s.conn!.outboundAliases ??= new Map()).set(newAlias.topic, newAlias.alias);
  if (packetId !== undefined) {
    const inflight: InflightMessage = { message: item.message, qos: item.qos as 1 | 2, retain: item.retain, subscriptionIds: item.subscriptionIds, phase: 'publish' };
    if (item.shareGroup !== undefined) inflight.shareGroup = item.shareGroup;
    (s.inflight ??= new Map()).set(packetId, inflight);
  }
  s.sent++;
  out.send(packet);
  return true;
}

function enqueue(s: SessionData, out: Out, item: QueuedMessage): void {
  // A zero lifetime (Message Expiry Interval 0) is over before any later delivery [MQTT-3.3.2-5].
  if (item.message.zeroLifetime) return drop(s, out, item.message, item.qos, 'expired');
  const size = keptSize(item.message);
  if (!makeRoom(s, out, item.qos, size)) return drop(s, out, item.message, item.qos, 'queue-full');
  // Copied here, not on the direct path: only what is kept must not hold a larger buffer.
  item.message = keptMessage(item.message);
  item.size = size;
  pushQueued(s, item);
}

/**
 * Makes room under both bounds for an arriving message of `qos` and `size` bytes, dropping the
 * oldest queued QoS 0 messages if it is QoS 1/2 and that is enough. Returns false when the
 * arriving message is to be dropped instead (then nothing queued was).
 */
function makeRoom(s: SessionData, out: Out, qos: QoS, size: number): boolean {
  const { maxQueued, maxQueuedBytes } = s.config;
  if (s.queue.length < maxQueued && s.queuedBytes + size <= maxQueuedBytes) return true;
  if (qos === 0) return false;
  let count = s.queue.length;
  let bytes = s.queuedBytes;
  for (const q of s.queue) {
    if (q.qos !== 0) continue;
    count--;
    bytes -= q.size;
  }
  if (count >= maxQueued || bytes + size > maxQueuedBytes) return false;
  // The check above means the loop ends before `i` passes the end; the bound on `i` keeps a
  // worker thread alive should the accounting ever be wrong.
  for (let i = 0; i < s.queue.length && (s.queue.length >= maxQueued || s.queuedBytes + size > maxQueuedBytes); ) {
    if (s.queue[i]!.qos !== 0) {
      i++;
      continue;
    }
    const victim = removeQueued(s, i);
    drop(s, out, victim.message, 0, 'queue-full');
  }
  return true;
}

/** A message the register matched for this session. */
export function deliver(s: SessionData, out: Out, message: RoutedMessage, delivery: DeliveryInfo, now: number, retainOverride?: boolean): void {
  // Outbound QoS is the lower of the published and the granted QoS [MQTT-3.8.4-6 (3.1.1); MQTT-3.8.4-8 (5.0)].
  const qos = Math.min(message.qos, delivery.qos) as QoS;
  // RETAIN is cleared on ordinary forwarding unless Retain As Published [MQTT-3.3.1-9 (3.1.1); MQTT-3.3.1-12,13 (5.0)].
  const retain = retainOverride ?? (delivery.retainAsPublished ? message.retain : false);
  const subscriptionIds = s.config.subscriptionIdentifiersAvailable ? delivery.subscriptionIds : [];
  // `size` is set if it is queued (enqueue).
  const item: QueuedMessage = { message, qos, retain, subscriptionIds, size: 0 };
  if (delivery.shareGroup !== undefined) item.shareGroup = delivery.shareGroup;
  if (isExpired(message, now)) return drop(s, out, message, qos, 'expired');
  if (s.state !== SessionState.Connected) {
    if (qos === 0 && !s.config.queueQoS0Offline) return drop(s, out, message, 0, 'offline-qos0');
    return enqueue(s, out, item);
  }
  if (qos === 0) {
    transmit(s, out, item, now);
    return;
  }
  // Keep QoS 1/2 order behind anything already queued or owed a resend.
  if (s.queue.length === 0 && s.awaitingResend === 0 && roomForNew(s)) {
    transmit(s, out, item, now);
    return;
  }
  enqueue(s, out, item);
}

/**
 * {@link deliver} for a message the host kept back while the connection's socket was behind:
 * its delivery did not start as it was routed, so a message of zero lifetime (Message Expiry
 * Interval 0) is over [MQTT-3.3.2-5] and is dropped as expired, like one kept in the queue.
 */
export function deliverHeld(s: SessionData, out: Out, message: RoutedMessage, delivery: DeliveryInfo, now: number): void {
  if (message.zeroLifetime) return drop(s, out, message, Math.min(message.qos, delivery.qos) as QoS, 'expired');
  deliver(s, out, message, delivery, now);
}

/** Sends queued messages while the window has room; expired ones are dropped [MQTT-3.3.2-5]. */
export function drain(s: SessionData, out: Out, now: number): void {
  if (s.state !== SessionState.Connected) return;
  const window = windowSize(s);
  if (s.awaitingResend > 0 && s.inflight !== undefined) {
    for (const [packetId, m] of s.inflight) {
      if (onWire(s) >= window) return;
      if (!m.awaitingResend) continue;
      m.awaitingResend = false;
      s.awaitingResend--;
      resendPublish(s, out, packetId, m, now);
    }
  }
  while (s.queue.length > 0) {
    const head = s.queue[0]!;
    if (isExpired(head.message, now)) {
      shiftQueued(s);
      drop(s, out, head.message, head.qos, 'expired');
      continue;
    }
    if (head.qos > 0 && !roomForNew(s)) return;
    shiftQueued(s);
    transmit(s, out, head, now);
  }
}

/**
 * Resends an unacknowledged PUBLISH with DUP=1. The client's Maximum Packet Size is the one of
 * this connection, maybe smaller than when the message was first sent: a PUBLISH that no
 * longer fits is not sent [MQTT-3.1.2-24] but discarded as if its delivery had completed
 * [MQTT-3.1.2-25], as live delivery does. Returns whether it was sent.
 */
function resendPublish(s: SessionData, out: Out, packetId: number, m: InflightMessage, now: number): boolean {
  // Delivery has started, so an expired message is still resent; aliases are per connection
  // [MQTT-3.3.2-7] and this is a new one, so the full topic goes.
  const packet = buildPublish(s, m, packetId, now, true);
  if (!fitsClient(s, packet)) {
    complete(s, packetId, m);
    drop(s, out, m.message, m.qos, 'too-large');
    return false;
  }
  out.send(packet);
  return true;
}

/**
 * On resuming a session: resend every unacknowledged PUBLISH with DUP=1 and every PUBREL, in
 * their original order and with their original packet ids [MQTT-4.4.0-1, MQTT-3.3.1-1]. What
 * the client's Receive Maximum does not allow yet of the PUBLISHes is resent, still in order, as
 * acks come [MQTT-3.3.4-9]. PUBRELs all go at once: Receive Maximum never delays a packet other
 * than PUBLISH [MQTT-3.3.4-10], and a resent PUBREL takes none of the new connection's send
 * quota (MQTT 5.0 section 4.9), so it does not hold back the PUBLISHes either.
 */
export function resendInflight(s: SessionData, out: Out, now: number): void {
  const window = windowSize(s);
  let published = 0;
  s.awaitingResend = 0;
  s.releasesOutsideQuota = 0;
  if (s.inflight === undefined) return;
  for (const [packetId, m] of s.inflight) {
    m.awaitingResend = false;
    if (m.phase === 'pubrel') {
      // Only `pubrel` entries are ever marked, so `publish` ones need no reset.
      m.outsideQuota = true;
      s.releasesOutsideQuota++;
      out.send({ cmd: 'pubrel', messageId: packetId } satisfies IPubrelPacket);
    } else if (published < window) {
      if (resendPublish(s, out, packetId, m, now)) published++;
    } else {
      m.awaitingResend = true;
      s.awaitingResend++;
    }
  }
}

/**
 * Removes a completed (or refused, or discarded) in-flight message, and the Map with the last
 * one. A loop over the Map may call this: the Map is dropped only when it is empty, so the loop
 * has nothing left to visit.
 */
function complete(s: SessionData, packetId: number, m: InflightMessage): void {
  if (m.awaitingResend) s.awaitingResend--;
  if (m.outsideQuota) s.releasesOutsideQuota--;
  s.inflight!.delete(packetId);
}

/** Drops expired queued messages (while offline, so the queue does not hold dead messages). */
export function purgeExpired(s: SessionData, out: Out, now: number): void {
  for (let i = 0; i < s.queue.length; ) {
    const q = s.queue[i]!;
    if (isExpired(q.message, now)) {
      removeQueued(s, i);
      drop(s, out, q.message, q.qos, 'expired');
    } else i++;
  }
}

/** Earliest expiry among queued messages, for `nextDeadline`. */
export function earliestQueuedExpiry(s: SessionData): number | undefined {
  let earliest: number | undefined;
  for (const q of s.queue) {
    const at = q.message.expiresAt;
    if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
  }
  return earliest;
}

/** PUBACK: a QoS 1 delivery is complete [MQTT-4.3.2-*]. Unknown ids are ignored. */
export function onPuback(s: SessionData, out: Out, packetId: number, now: number): void {
  const m = s.inflight?.get(packetId);
  if (!m || m.qos !== 1) return;
  complete(s, packetId, m);
  drain(s, out, now);
}

/**
 * PUBREC: answer PUBREL with the same id [MQTT-4.3.3-*]. A v5 PUBREC with a failure code ends
 * the flow and frees the id. For an unknown id, v5 answers PUBREL 0x92.
 */
export function onPubrec(s: SessionData, out: Out, packetId: number, reasonCode: number | undefined, now: number): void {
  const m = s.inflight?.get(packetId);
  if (!m || m.qos !== 2) {
    const pubrel: IPubrelPacket = { cmd: 'pubrel', messageId: packetId };
    if (s.conn?.version === 5) pubrel.reasonCode = ReasonCode.PacketIdentifierNotFound;
    out.send(pubrel);
    return;
  }
  if (reasonCode !== undefined && reasonCode >= 0x80) {
    complete(s, packetId, m);
    drain(s, out, now);
    return;
  }
  if (m.awaitingResend) {
    // The client had this PUBLISH from an earlier connection: its PUBREL, like one resent on
    // resume, takes none of this connection's send quota (MQTT 5.0 section 4.9).
    m.awaitingResend = false;
    s.awaitingResend--;
    m.outsideQuota = true;
    s.releasesOutsideQuota++;
  }
  m.phase = 'pubrel';
  out.send({ cmd: 'pubrel', messageId: packetId });
}

/** PUBCOMP: a QoS 2 delivery is complete. Unknown ids are ignored. */
export function onPubcomp(s: SessionData, out: Out, packetId: number, now: number): void {
  const m = s.inflight?.get(packetId);
  if (!m || m.phase !== 'pubrel') return;
  complete(s, packetId, m);
  drain(s, out, now);
}

/**
 * Takes out the messages that came through a shared subscription and that the client has not
 * acknowledged (queued, or sent and waiting for PUBACK/PUBREC), in order: when the session ends
 * they go to another member of their group (5.0 section 4.8.2). A QoS 2 message past PUBREC
 * stays: the client has it.
 */
export function takeUnacknowledgedShared(s: SessionData): { message: RoutedMessage; shareGroup: string }[] {
  const taken: { message: RoutedMessage; shareGroup: string }[] = [];
  for (const [packetId, m] of s.inflight ?? []) {
    // A zero lifetime is over before another member's delivery could start [MQTT-3.3.2-5]: left to `discardAll`.
    if (m.shareGroup === undefined || m.phase !== 'publish' || m.message.zeroLifetime) continue;
    taken.push({ message: m.message, shareGroup: m.shareGroup });
    complete(s, packetId, m);
  }
  for (let i = 0; i < s.queue.length; ) {
    const q = s.queue[i]!;
    if (q.shareGroup === undefined) {
      i++;
      continue;
    }
    taken.push({ message: q.message, shareGroup: q.shareGroup });
    removeQueued(s, i);
  }
  return taken;
}

/** Counts everything still held as dropped because the session ended. */
export function discardAll(s: SessionData): void {
  s.dropped['session-ended'] += s.queue.length + inflightCount(s);
  clearQueue(s);
  s.inflight = undefined;
  s.awaitingResend = 0;
  s.releasesOutsideQuota = 0;
}
