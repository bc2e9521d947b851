/**
 * PUBLISH from the client, and the acknowledgements the broker owes for it: PUBACK for QoS 1,
 * PUBREC → PUBREL → PUBCOMP for QoS 2. The PUBACK/PUBREC waits for the runtime's
 * `completeRoute`, so a v5 client learns 0x10 No matching subscribers. A QoS 2 packet id is held
 * from its PUBLISH until PUBREL, so a DUP resend is routed only once [MQTT-4.3.3-*].
 */
import type { IPubackPacket, IPubcompPacket, IPublishPacket, IPubrecPacket, IPubrelPacket } from 'mqtt-packet';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { validateTopicName, TopicError } from '../../register/topic.js';
import type { RoutedMessage } from './api.js';
import { isUtf8Payload, messageProperties, responseTopicFault, retainedCopy, setExpiry } from './message.js';
import { fault, type Fault, type Out } from './out.js';
import type { SessionData } from './session-data.js';

/** Resolves the v5 Topic Alias of an inbound PUBLISH; returns the topic name or a fault. */
function resolveTopic(s: SessionData, packet: IPublishPacket): string | Fault {
  const conn = s.conn!;
  const alias = packet.properties?.topicAlias;
  if (conn.version !== 5 || alias === undefined) {
    if (packet.topic === '') return fault(conn.version === 5 ? ReasonCode.ProtocolError : ReasonCode.TopicNameInvalid, 'empty topic name without a topic alias [MQTT-4.7.3-1]');
    return packet.topic;
  }
  // Alias 0 or above the Topic Alias Maximum we sent: 0x94 [MQTT-3.3.2-8, MQTT-3.3.2-9, MQTT-3.2.2-17].
  if (alias === 0 || alias > s.config.topicAliasMaximum) {
    return fault(ReasonCode.TopicAliasInvalid, `topic alias ${alias} outside 1..${s.config.topicAliasMaximum}`);
  }
  if (packet.topic === '') {
    const mapped = conn.inboundAliases?.get(alias);
    if (mapped === undefined) return fault(ReasonCode.ProtocolError, `topic alias ${alias} has no mapping on this connection`);
    return mapped;
  }
  // A topic with an alias (re)sets the mapping [MQTT-3.3.2-12]; it is set only once the topic is valid.
  return packet.topic;
}

/**
 * An inbound PUBLISH; returns a fault to close the connection with. A property included more
 * than once never gets here: the decoder refuses it (`scanFrame` in protocol/frame-walk.ts).
 */
export function handlePublish(s: SessionData, out: Out, packet: IPublishPacket, now: number): Fault | undefined {
  const conn = s.conn!;
  const v5 = conn.version === 5;
  const { qos } = packet;
  if (qos !== 0 && qos !== 1 && qos !== 2) return fault(ReasonCode.MalformedPacket, 'PUBLISH QoS 3 [MQTT-3.3.1-4]');
  if (qos === 0 && packet.dup) return fault(ReasonCode.MalformedPacket, 'DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]');
  if (qos > 0 && !(Number.isInteger(packet.messageId) && packet.messageId! > 0 && packet.messageId! <= 65535)) {
    return fault(ReasonCode.ProtocolError, 'QoS 1/2 PUBLISH without a non-zero packet identifier [MQTT-2.3.1-1]');
  }
  const topic = resolveTopic(s, packet);
  if (typeof topic !== 'string') return topic;
  try {
    validateTopicName(topic);
  } catch (err) {
    if (err instanceof TopicError) return fault(ReasonCode.TopicNameInvalid, `PUBLISH topic: ${err.message}`);
    throw err;
  }
  const alias = packet.properties?.topicAlias;
  if (v5 && alias !== undefined && packet.topic !== '') (conn.inboundAliases ??= new Map()).set(alias, packet.topic);

  if (v5) {
    // A v5 client must not exceed the Maximum QoS / Retain Available we sent [MQTT-3.2.2-11,14].
    if (qos > s.config.maximumQoS) return fault(ReasonCode.QoSNotSupported, `QoS ${qos} above Maximum QoS ${s.config.maximumQoS}`);
    if (packet.retain && !s.config.retainAvailable) return fault(ReasonCode.RetainNotSupported, 'RETAIN set but Retain Available is 0');
    if (packet.properties?.subscriptionIdentifier !== undefined) {
      return fault(ReasonCode.ProtocolError, 'a PUBLISH from a client must not carry a Subscription Identifier [MQTT-3.3.4-6]');
    }
    if (packet.properties?.payloadFormatIndicator === true && !isUtf8Payload(packet.payload as Uint8Array)) {
      return fault(ReasonCode.PayloadFormatInvalid, 'Payload Format Indicator is 1 but the payload is not UTF-8 (section 3.3.2.3.2)');
    }
    // A Response Topic is a Topic Name without wildcards [MQTT-3.3.2-13,14]: 0x82 (or 0x81).
    const badResponseTopic = responseTopicFault(packet.properties?.responseTopic);
    if (badResponseTopic !== undefined) return badResponseTopic;
  }

  const packetId = packet.messageId;
  if (qos === 2 && s.inboundQoS2?.has(packetId!)) {
    // A resend of a QoS 2 message we already have: never route it twice [MQTT-4.3.3-10 (5.0), MQTT-4.3.3-2 (3.1.1)].
    if (s.inboundQoS2.get(packetId!) === 'received') out.send(pubrec(s, packetId!, 1));
    return undefined;
  }
  if (qos > 0 && v5 && s.inboundPending >= s.config.receiveMaximum) {
    // The client broke [MQTT-3.3.4-7]; 0x93 as section 3.3.4 says.
    return fault(ReasonCode.ReceiveMaximumExceeded, `more than Receive Maximum (${s.config.receiveMaximum}) unacknowledged QoS 1/2 PUBLISH`);
  }

  s.received++;
  const message: RoutedMessage = {
    topic,
    payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
    qos,
    retain: packet.retain && s.config.retainAvailable,
  };
  const props = v5 ? messageProperties(packet.properties) : undefined;
  if (props) message.properties = props;
  if (v5) setExpiry(message, packet.properties?.messageExpiryInterval, now);

  if (message.retain) {
    // A zero-length payload, or a zero lifetime, deletes the stored message (retainedCopy).
    const retained = retainedCopy(message);
    out.act({ kind: 'retain', topic, ...(retained ? { message: retained } : {}) });
  }
  if (qos === 0) {
    out.act({ kind: 'route', message, origin: 'publish' });
    return undefined;
  }
  if (qos === 1) (conn.inboundQoS1 ??= new Set()).add(packetId!);
  else (s.inboundQoS2 ??= new Map()).set(packetId!, 'routing');
  out.act({ kind: 'route', message, ackPacketId: packetId!, origin: 'publish' });
  return undefined;
}

function pubrec(s: SessionData, packetId: number, matched: number): IPubrecPacket {
  const packet: IPubrecPacket = { cmd: 'pubrec', messageId: packetId };
  if (s.conn?.version === 5 && matched === 0) packet.reasonCode = ReasonCode.NoMatchingSubscribers;
  return packet;
}

/** The runtime routed the inbound QoS 1/2 PUBLISH `packetId`: acknowledge it now. */
export function completeRoute(s: SessionData, out: Out, packetId: number, matched: number): void {
  const conn = s.conn;
  if (conn?.inboundQoS1?.delete(packetId)) {
    const puback: IPubackPacket = { cmd: 'puback', messageId: packetId };
    if (conn.version === 5 && matched === 0) puback.reasonCode = ReasonCode.NoMatchingSubscribers;
    out.send(puback);
    return;
  }
  if (s.inboundQoS2?.get(packetId) === 'routing') {
    // The id stays held until PUBREL, even if the connection is gone: it is session state.
    s.inboundQoS2.set(packetId, 'received');
    if (conn) out.send(pubrec(s, packetId, matched));
  }
  // Otherwise the connection that sent it is gone (QoS 1): the client resends it.
}

/** PUBREL: release the QoS 2 id and answer PUBCOMP [MQTT-4.3.3-*]; v5 answers 0x92 for an unknown id. */
export function handlePubrel(s: SessionData, out: Out, packet: IPubrelPacket): Fault | undefined {
  const packetId = packet.messageId;
  if (!packetId) return fault(ReasonCode.ProtocolError, 'PUBREL without a non-zero packet identifier [MQTT-2.3.1-1]');
  const held = s.inboundQoS2?.get(packetId);
  if (held === 'routing') return fault(ReasonCode.ProtocolError, `PUBREL ${packetId} before its PUBREC`);
  const pubcomp: IPubcompPacket = { cmd: 'pubcomp', messageId: packetId };
  if (held === undefined) {
    if (s.conn!.version === 5) pubcomp.reasonCode = ReasonCode.PacketIdentifierNotFound;
  } else s.inboundQoS2!.delete(packetId);
  out.send(pubcomp);
  return undefined;
}
