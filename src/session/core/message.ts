/** Converting between PUBLISH packets and connection-independent {@link RoutedMessage}s. */
import type { IPublishPacket } from 'mqtt-packet';
import type { MessageProperties, RoutedMessage } from './api.js';

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
  // Forwarded unchanged, in the order received [MQTT-3.3.2-17,18].
  if (p.userProperties !== undefined) out.userProperties = p.userProperties;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** `expiresAt` for a Message Expiry Interval in seconds received at `now`. */
export function expiryFrom(intervalSeconds: number | undefined, now: number): number | undefined {
  return intervalSeconds === undefined ? undefined : now + intervalSeconds * 1000;
}

/**
 * The Message Expiry Interval to forward: the received value minus the time waited, in whole
 * seconds rounded up so a message never outlives its publisher's interval by less [MQTT-3.3.2-6].
 */
export function remainingExpiry(message: RoutedMessage, now: number): number | undefined {
  if (message.expiresAt === undefined) return undefined;
  return Math.max(1, Math.ceil((message.expiresAt - now) / 1000));
}

/** True when `message` must no longer be delivered [MQTT-3.3.2-5]. */
export function isExpired(message: RoutedMessage, now: number): boolean {
  return message.expiresAt !== undefined && message.expiresAt <= now;
}

/**
 * The first of `names` that `properties` holds more than once, or undefined. Each property's own
 * section of MQTT 5.0 says "It is a Protocol Error to include [it] more than once" (all but User
 * Property, and Subscription Identifier on a PUBLISH from the Server). mqtt-packet does not
 * refuse a repeat but decodes the values into an array, which the core would misread: a
 * repeated Message Expiry Interval went out as 0, a repeated Subscription Identifier made the
 * register refuse the whole SUBSCRIBE and no SUBACK was ever sent.
 */
export function repeatedProperty<P extends object>(properties: P | undefined, names: readonly (keyof P & string)[]): string | undefined {
  if (properties === undefined) return undefined;
  return names.find((name) => Array.isArray(properties[name]));
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
