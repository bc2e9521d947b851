/**
 * SUBSCRIBE and UNSUBSCRIBE. Each filter is validated here; the valid ones go to the runtime as
 * one `subscribe`/`unsubscribe` action, and the SUBACK/UNSUBACK is sent when the runtime reports
 * what the register did, with one code per filter in the order received [MQTT-3.8.4-2,5 (3.1.1);
 * MQTT-3.8.4-1,6 and 3.10.4-4,5 (5.0)]. Retained messages are asked for after the SUBACK.
 */
import type { ISubackPacket, ISubscribePacket, IUnsubackPacket, IUnsubscribePacket } from 'mqtt-packet';
import { ReasonCode, SUBACK_FAILURE } from '../../protocol/reason-codes.js';
import { parseSubscriptionFilter, TopicError } from '../../register/topic.js';
import type { QoS, SubscribeEntry, SubscribeResult, SubscriptionOptions } from './api.js';
import { fault, type Fault, type Out } from './out.js';
import type { SessionData } from './session-data.js';

function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/** A SUBSCRIBE; returns a fault to close the connection with. */
export function handleSubscribe(s: SessionData, out: Out, packet: ISubscribePacket): Fault | undefined {
  const v5 = s.conn!.version === 5;
  const packetId = packet.messageId;
  if (!packetId) return fault(ReasonCode.ProtocolError, 'SUBSCRIBE without a non-zero packet identifier [MQTT-2.3.1-1]');
  if (!packet.subscriptions || packet.subscriptions.length === 0) {
    return fault(ReasonCode.ProtocolError, 'SUBSCRIBE with no topic filter [MQTT-3.8.3-3 (3.1.1), MQTT-3.8.3-2 (5.0)]');
  }
  if (s.pendingSubscribes.inUse(packetId)) return fault(ReasonCode.PacketIdentifierInUse, `SUBSCRIBE packet id ${packetId} already in use`);
  const subscriptionId = v5 ? packet.properties?.subscriptionIdentifier : undefined;
  // One at most: the decoder refuses a SUBSCRIBE with two (5.0 section 3.8.2.1.2) before it gets here.
  if (subscriptionId !== undefined) {
    if (!s.config.subscriptionIdentifiersAvailable) {
      return fault(ReasonCode.SubscriptionIdentifiersNotSupported, 'Subscription Identifier, but Subscription Identifiers Available is 0 (5.0 section 3.2.2.3.12)');
    }
    if (subscriptionId < 1 || subscriptionId > 268_435_455) return fault(ReasonCode.ProtocolError, `Subscription Identifier ${subscriptionId}: 0 is a protocol error and the most is 268,435,455 (MQTT 5.0 section 3.8.2.1.2)`);
  }
  // v3.1.1 has one failure code; v5 names the reason.
  const failure = (code: number): number => (v5 ? code : SUBACK_FAILURE);
  const codes: (number | undefined)[] = [];
  const slots: number[] = [];
  const entries: SubscribeEntry[] = [];
  for (const sub of packet.subscriptions) {
    let group: string | undefined;
    let filter: string;
    try {
      ({ group, filter } = parseSubscriptionFilter(sub.topic));
    } catch (err) {
      if (!(err instanceof TopicError)) throw err;
      codes.push(failure(ReasonCode.TopicFilterInvalid));
      continue;
    }
    // No Local on a shared subscription is a protocol error [MQTT-3.8.3-4].
    if (v5 && group !== undefined && sub.nl) return fault(ReasonCode.ProtocolError, 'No Local on a shared subscription [MQTT-3.8.3-4]');
    // A v5 client was told in CONNACK that these are not available: a SUBSCRIBE with one is a
    // Protocol Error answered with DISCONNECT 0x9E / 0xA2 (5.0 sections 3.2.2.3.13, 3.2.2.3.11),
    // as a Subscription Identifier is with 0xA1 above. A 3.1.1 client was told nothing: 0x80.
    if (group !== undefined && !s.config.sharedSubscriptionAvailable) {
      if (v5) return fault(ReasonCode.SharedSubscriptionsNotSupported, 'shared subscription, but Shared Subscription Available is 0 (5.0 section 3.2.2.3.13)');
      codes.push(SUBACK_FAILURE);
      continue;
    }
    if (hasWildcard(filter) && !s.config.wildcardSubscriptionAvailable) {
      if (v5) return fault(ReasonCode.WildcardSubscriptionsNotSupported, 'wildcard subscription, but Wildcard Subscription Available is 0 (5.0 section 3.2.2.3.11)');
      codes.push(SUBACK_FAILURE);
      continue;
    }
    // The Server may grant a lower QoS than asked (MQTT 3.1.1 and 5.0 section 3.8.4).
    const qos = Math.min(sub.qos, s.config.maximumQoS) as QoS;
    const options: SubscriptionOptions = { qos };
    if (v5) {
      if (sub.nl) options.noLocal = true;
      if (sub.rap) options.retainAsPublished = true;
      options.retainHandling = (sub.rh ?? 0) as 0 | 1 | 2;
      if (subscriptionId !== undefined) options.subscriptionId = subscriptionId;
    }
    slots.push(codes.length);
    codes.push(undefined);
    entries.push({ filter: sub.topic, options });
  }
  const pending = { codes, slots, entries, subscriptionId };
  if (entries.length === 0) {
    sendSuback(s, out, packetId, codes as number[]);
    return undefined;
  }
  s.pendingSubscribes.add(packetId, pending);
  out.act({ kind: 'subscribe', packetId, entries });
  return undefined;
}

function sendSuback(s: SessionData, out: Out, packetId: number, granted: number[]): void {
  if (!s.conn) return;
  out.send({ cmd: 'suback', messageId: packetId, granted } satisfies ISubackPacket);
}

/** The register applied a SUBSCRIBE: SUBACK, then ask for retained messages where wanted. */
export function completeSubscribe(s: SessionData, out: Out, packetId: number, results: readonly SubscribeResult[]): void {
  const pending = s.pendingSubscribes.take(packetId);
  if (!pending) return;
  const v5 = s.version === 5;
  const wantRetained: number[] = [];
  pending.entries.forEach((entry, i) => {
    const result = results[i] ?? { ok: false };
    const slot = pending.slots[i]!;
    if (!result.ok) {
      pending.codes[slot] = v5 ? (result.reasonCode ?? ReasonCode.QuotaExceeded) : SUBACK_FAILURE;
      return;
    }
    pending.codes[slot] = entry.options.qos;
    const shared = entry.filter.startsWith('$share/');
    const rh = entry.options.retainHandling ?? 0;
    // Retained messages: Retain Handling 0 always (a replaced subscription too [MQTT-3.8.4-4]),
    // 1 only for a new subscription, 2 never [MQTT-3.3.1-9,10,11 (5.0)]; never for a shared one
    // ("No retained messages are sent", 5.0 section 3.8.4, no rule id); 3.1.1 always
    // [MQTT-3.3.1-6, MQTT-3.8.4-3].
    if (!shared && s.config.retainAvailable && (rh === 0 || (rh === 1 && result.isNew))) wantRetained.push(i);
  });
  sendSuback(s, out, packetId, pending.codes as number[]);
  for (const i of wantRetained) {
    const entry = pending.entries[i]!;
    out.act({
      kind: 'sendRetained',
      filter: entry.filter,
      qos: entry.options.qos,
      ...(pending.subscriptionId !== undefined ? { subscriptionId: pending.subscriptionId } : {}),
    });
  }
}

/** An UNSUBSCRIBE; returns a fault to close the connection with. */
export function handleUnsubscribe(s: SessionData, out: Out, packet: IUnsubscribePacket): Fault | undefined {
  const v5 = s.conn!.version === 5;
  const packetId = packet.messageId;
  if (!packetId) return fault(ReasonCode.ProtocolError, 'UNSUBSCRIBE without a non-zero packet identifier [MQTT-2.3.1-1]');
  if (!packet.unsubscriptions || packet.unsubscriptions.length === 0) {
    return fault(ReasonCode.ProtocolError, 'UNSUBSCRIBE with no topic filter [MQTT-3.10.3-2]');
  }
  if (s.pendingUnsubscribes.inUse(packetId)) return fault(ReasonCode.PacketIdentifierInUse, `UNSUBSCRIBE packet id ${packetId} already in use`);
  const codes: (number | undefined)[] = [];
  const slots: number[] = [];
  const filters: string[] = [];
  for (const raw of packet.unsubscriptions) {
    try {
      parseSubscriptionFilter(raw);
    } catch (err) {
      if (!(err instanceof TopicError)) throw err;
      codes.push(ReasonCode.TopicFilterInvalid);
      continue;
    }
    slots.push(codes.length);
    codes.push(undefined);
    filters.push(raw);
  }
  if (filters.length === 0) {
    sendUnsuback(s, out, packetId, codes as number[], v5);
    return undefined;
  }
  s.pendingUnsubscribes.add(packetId, { codes, slots });
  out.act({ kind: 'unsubscribe', packetId, filters });
  return undefined;
}

function sendUnsuback(s: SessionData, out: Out, packetId: number, codes: number[], v5: boolean): void {
  if (!s.conn) return;
  // v3.1.1 UNSUBACK carries no codes [MQTT-3.11.3]; mqtt-packet wants an empty list then.
  out.send({ cmd: 'unsuback', messageId: packetId, granted: v5 ? codes : [] } as IUnsubackPacket);
}

/** The register applied an UNSUBSCRIBE: UNSUBACK with 0x00 or v5 0x11 No subscription existed. */
export function completeUnsubscribe(s: SessionData, out: Out, packetId: number, existed: readonly boolean[]): void {
  const pending = s.pendingUnsubscribes.take(packetId);
  if (!pending) return;
  pending.slots.forEach((slot, i) => {
    pending.codes[slot] = existed[i] ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted;
  });
  sendUnsuback(s, out, packetId, pending.codes as number[], s.version === 5);
}
