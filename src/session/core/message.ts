/** Converting between PUBLISH packets and connection-independent {@link RoutedMessage}s. */
import type { IPublishPacket } from 'mqtt-packet';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { userPropertyOrderOf } from '../../protocol/user-property-order.js';
import { TopicError, validateTopicName } from '../../register/topic.js';
import type { MessageProperties, RoutedMessage } from './api.js';
import { fault, type Fault } from './out.js';

/** A Buffer view of `bytes` without copying (mqtt-packet writes Buffers). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

type PublishLikeProperties = NonNullable<IPublishPacket['properties']>;

/** The application-message properties of a PUBLISH or will (no alias, expiry or subscription ids). */
export function messageProperties(p: PublishLikeProperties | undefined): MessageProperties | undefined {
  if (!p) return undefined;
  const out: MessageProperties = {};
  // Forwarded unaltered [MQTT-3.3.2-4].
  if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator;
  if (p.contentType !== undefined) out.contentType = p.contentType;
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
  if (p.correlationData !== undefined) out.correlationData = p.correlationData;
  // Forwarded unchanged, in the order received [MQTT-3.3.2-17,18; MQTT-3.1.3-10 for a will]:
  // the decoder gives that order where the object would lose it.
  if (p.userProperties !== undefined) {
    out.userProperties = p.userProperties;
    const order = userPropertyOrderOf(p);
    if (order !== undefined) out.userPropertyOrder = order;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Sets the expiry of `message` from a Message Expiry Interval of `intervalSeconds` that starts at
 * `now` (a PUBLISH received, a will published): `expiresAt`, or for 0 `zeroLifetime`. The value
 * is "the lifetime of the Application Message in seconds" (MQTT 5.0 section 3.3.2.3.3), so 0 is a
 * lifetime of zero: whether it is delivered must not depend on whether its delivery lands in the
 * millisecond it arrived, so it is not a time at all but a rule (see `RoutedMessage.zeroLifetime`).
 */
export function setExpiry(message: RoutedMessage, intervalSeconds: number | undefined, now: number): void {
  if (intervalSeconds === undefined) return;
  if (intervalSeconds === 0) message.zeroLifetime = true;
  else message.expiresAt = now + intervalSeconds * 1000;
}

/**
 * The Message Expiry Interval to forward: the received value minus the time waited
 * [MQTT-3.3.2-6], in whole seconds rounded up so the message never loses part of its lifetime
 * to rounding, and 0 once nothing is left: a message of zero lifetime, or one whose delivery had
 * started before it expired and is resent after. Never more than is left: 1 there would give
 * the receiver a second the publisher never granted.
 */
export function remainingExpiry(message: RoutedMessage, now: number): number | undefined {
  if (message.zeroLifetime) return 0;
  if (message.expiresAt === undefined) return undefined;
  return Math.max(0, Math.ceil((message.expiresAt - now) / 1000));
}

/**
 * True when `message` must no longer be delivered: its Message Expiry Interval passed before
 * delivery started [MQTT-3.3.2-5]. A message of zero lifetime has no time to pass: it is never
 * kept (`enqueue`), so it is only ever met as it is routed, when it may go.
 */
export function isExpired(message: RoutedMessage, now: number): boolean {
  return message.expiresAt !== undefined && message.expiresAt <= now;
}

/**
 * What a retained PUBLISH or will leaves as the retained message of its topic: itself, or
 * undefined to delete the one there. A zero-length payload deletes it [MQTT-3.3.1-6,7 (5.0);
 * MQTT-3.3.1-10,11 (3.1.1)]. So does a message of zero lifetime (Message Expiry Interval 0):
 * it MUST replace any existing retained message of the topic [MQTT-3.3.1-5], and there is
 * nothing of it to store for future subscribers, whose delivery could only start after its
 * lifetime ended [MQTT-3.3.2-5].
 */
export function retainedCopy(message: RoutedMessage): RoutedMessage | undefined {
  return message.payload.length > 0 && !message.zeroLifetime ? message : undefined;
}

/**
 * Why a v5 PUBLISH or will may not carry `responseTopic`, or undefined when it may (or has none).
 * A Response Topic "is used as the Topic Name for a response message" (5.0 section 3.3.2.3.5), so
 * it must be a valid Topic Name, and the Server sends it on unaltered [MQTT-3.3.2-15]:
 * - U+0000 or ill-formed UTF-16 (a lone surrogate): 0x81, since the spec says such a packet
 *   "is a Malformed Packet" [MQTT-1.5.4-1, MQTT-1.5.4-2]. The decoder refuses both in every
 *   received string from its bytes (`protocol/utf8-strings.ts`), so only a packet built by
 *   hand gets here with either;
 * - a wildcard [MQTT-3.3.2-14], or empty (no Topic Name is [MQTT-4.7.3-1]): 0x82 Protocol Error.
 *   The packet parsed and holds data the protocol does not allow, which is a Protocol Error
 *   (5.0 section 1.2), and section 4.13.1 says to use 0x82 unless section 3.14.2.1 has a more
 *   specific code. 0x90 Topic Name invalid is not one: it is for a Topic Name that "is correctly
 *   formed, but is not accepted by this Client or Server", and this is not the packet's Topic
 *   Name, nor correctly formed.
 * A will's Response Topic (5.0 section 3.1.3.2.6) has no rule id of its own; the will is
 * published as a PUBLISH carrying it unaltered, so taking it would make the broker send a PUBLISH
 * that breaks [MQTT-3.3.2-14]: the CONNECT is refused the same way (CONNACK 0x81 / 0x82).
 */
export function responseTopicFault(responseTopic: string | undefined): Fault | undefined {
  if (responseTopic === undefined) return undefined;
  if (responseTopic.includes('\u0000')) return fault(ReasonCode.MalformedPacket, 'Response Topic contains U+0000 [MQTT-1.5.4-2]');
  if (!responseTopic.isWellFormed()) return fault(ReasonCode.MalformedPacket, 'Response Topic is not well-formed UTF-8 [MQTT-1.5.4-1]');
  if (responseTopic.includes('+') || responseTopic.includes('#')) {
    return fault(ReasonCode.ProtocolError, 'Response Topic contains a wildcard character [MQTT-3.3.2-14]');
  }
  try {
    validateTopicName(responseTopic);
  } catch (err) {
    if (!(err instanceof TopicError)) throw err;
    return fault(ReasonCode.ProtocolError, `Response Topic is not a valid Topic Name: ${err.message}`);
  }
  return undefined;
}

/** True when `payload` is well-formed UTF-8 (for Payload Format Indicator 1, MQTT 5.0 section 3.3.2.3.2). */
export function isUtf8Payload(payload: Uint8Array): boolean {
  try {
    utf8.decode(payload);
    return true;
  } catch {
    return false;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A payload as bytes (mqtt-packet may hand a string for a will built by hand). */
export function payloadBytes(payload: Buffer | string | Uint8Array): Uint8Array {
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
}
