/**
 * MQTT 5 property lists for the plain encoders, written byte for byte as mqtt-packet writes them:
 * in the object's own key order, each value checked as mqtt-packet checks it. Each packet type
 * has its own table of the properties the spec allows on it (MQTT 5.0 section 2.2.2.2); a
 * property outside the table, a value of another type or out of range, an array where one value
 * is expected, or a string or Buffer beyond 65,535 bytes (which mqtt-packet refuses) measures as
 * -1, and the packet goes to mqtt-packet. An empty User Property object or Subscription
 * Identifier list is written as none (mqtt-packet would make the whole packet empty).
 * One difference, on purpose: a property list carrying a `UserPropertyOrder`
 * (`user-property-order.ts`: a forwarded message whose User Properties the object form would
 * reorder) has its User Properties written in that order, where the object's key is.
 */
import { mayRepeat, PROPERTY_DEFINITIONS, type PropertyKind } from './properties.js';
import { userPropertyOrderOf, type UserPropertyOrder } from './user-property-order.js';
import { isU16, MAX_VARIABLE_BYTE_INTEGER, remainingLengthBytes, stringBytes, writeBinary, writeRemainingLength, writeString } from './plain-write.js';

interface PropertySpec {
  /** The property identifier byte. */
  readonly id: number;
  readonly kind: PropertyKind;
  /**
   * May be given as an array of values, one property each: a property that may repeat in this
   * packet type (`mayRepeat` in properties.ts), but User Property, whose repeats are the names
   * and values of one object. That leaves the Subscription Identifiers of a PUBLISH.
   */
  readonly repeatable: boolean;
}

/** The properties one packet type may carry, by mqtt-packet's names. */
export type PropertyTable = ReadonlyMap<string, PropertySpec>;

function table(names: string[], publish = false): PropertyTable {
  return new Map(
    names.map((name) => {
      const property = PROPERTY_DEFINITIONS[name]!;
      return [name, { id: property.id, kind: property.kind, repeatable: property.kind !== 'pairs' && mayRepeat(property, publish) }];
    }),
  );
}

export const PUBLISH_PROPERTIES = table(
  ['payloadFormatIndicator', 'messageExpiryInterval', 'topicAlias', 'responseTopic', 'correlationData', 'userProperties', 'subscriptionIdentifier', 'contentType'],
  true,
);
export const WILL_PROPERTIES = table(['willDelayInterval', 'payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData', 'userProperties']);
export const CONNECT_PROPERTIES = table([
  'sessionExpiryInterval',
  'receiveMaximum',
  'maximumPacketSize',
  'topicAliasMaximum',
  'requestResponseInformation',
  'requestProblemInformation',
  'userProperties',
  'authenticationMethod',
  'authenticationData',
]);
export const CONNACK_PROPERTIES = table([
  'sessionExpiryInterval',
  'receiveMaximum',
  'maximumQoS',
  'retainAvailable',
  'maximumPacketSize',
  'assignedClientIdentifier',
  'topicAliasMaximum',
  'reasonString',
  'userProperties',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
  'serverKeepAlive',
  'responseInformation',
  'serverReference',
  'authenticationMethod',
  'authenticationData',
]);
export const SUBSCRIBE_PROPERTIES = table(['subscriptionIdentifier', 'userProperties']);
export const UNSUBSCRIBE_PROPERTIES = table(['userProperties']);
/** PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK. */
export const ACK_PROPERTIES = table(['reasonString', 'userProperties']);
export const DISCONNECT_PROPERTIES = table(['sessionExpiryInterval', 'reasonString', 'userProperties', 'serverReference']);

/**
 * Bytes of the property list `properties` without its length prefix (0 for none or an empty
 * object), or -1 when it is not plain for `allowed` (see above).
 */
export function measureProperties(properties: unknown, allowed: PropertyTable): number {
  if (properties === undefined) return 0;
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return -1;
  let total = 0;
  for (const name in properties) {
    // mqtt-packet measures inherited keys but writes own ones only: leave such objects to it.
    if (!Object.hasOwn(properties, name)) return -1;
    const value = (properties as Record<string, unknown>)[name];
    if (value === undefined) continue;
    const spec = allowed.get(name);
    if (spec === undefined) return -1;
    if (spec.kind === 'pairs') {
      const size = measureUserProperties(properties, value);
      if (size < 0) return -1;
      total += size;
    } else if (Array.isArray(value)) {
      // An empty list of a repeatable property is none of it (mqtt-packet writes no packet at all).
      if (!spec.repeatable) return -1;
      for (const one of value) {
        const size = measureValue(spec.kind, one);
        if (size < 0) return -1;
        total += size;
      }
    } else {
      const size = measureValue(spec.kind, value);
      if (size < 0) return -1;
      total += size;
    }
  }
  return total <= MAX_VARIABLE_BYTE_INTEGER ? total : -1;
}

/** Bytes of one property (identifier byte included), or -1 when `value` is not plain for `kind`. */
function measureValue(kind: PropertyKind, value: unknown): number {
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean' ? 2 : -1;
    case 'byte':
      return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xff ? 2 : -1;
    case 'u16':
      return isU16(value) ? 3 : -1;
    case 'u32':
      return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff ? 5 : -1;
    case 'varint':
      return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_VARIABLE_BYTE_INTEGER ? 1 + remainingLengthBytes(value) : -1;
    case 'string': {
      const length = typeof value === 'string' ? stringBytes(value) : -1;
      return length < 0 ? -1 : 3 + length;
    }
    case 'binary':
      return Buffer.isBuffer(value) && value.length <= 0xffff ? 3 + value.length : -1;
    case 'pairs':
      // Never reached: measureProperties measures User Properties with measureUserProperties.
      return -1;
  }
}

/**
 * Bytes of the User Properties `value` of the property list `properties`: from the list's
 * {@link UserPropertyOrder} when it carries one (the order received, which the object form
 * would change [MQTT-3.3.2-18]), else from the object. -1 when not plain.
 */
function measureUserProperties(properties: object, value: unknown): number {
  const order = userPropertyOrderOf(properties);
  return order === undefined ? measurePairs(value) : measureOrder(order);
}

/** A {@link UserPropertyOrder}: names and values alternately. */
function measureOrder(order: UserPropertyOrder): number {
  if (!Array.isArray(order) || order.length % 2 !== 0) return -1;
  let total = 0;
  for (const one of order) {
    const size = typeof one === 'string' ? stringBytes(one) : -1;
    if (size < 0) return -1;
    total += 2 + size;
  }
  // One identifier byte per pair.
  return total + order.length / 2;
}

/** User Properties as mqtt-packet takes them: `{ name: value }` or `{ name: [values] }`, in own-name order. */
function measurePairs(value: unknown): number {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return -1;
  let total = 0;
  for (const name of Object.getOwnPropertyNames(value)) {
    const nameBytes = stringBytes(name);
    if (nameBytes < 0) return -1;
    const values = (value as Record<string, unknown>)[name];
    for (const one of Array.isArray(values) ? values : [values]) {
      const valueBytes = typeof one === 'string' ? stringBytes(one) : -1;
      if (valueBytes < 0) return -1;
      total += 1 + 2 + nameBytes + 2 + valueBytes;
    }
  }
  // `{}` is no User Property: nothing to write (mqtt-packet writes no packet at all for it).
  return total;
}

/**
 * Writes the property list `properties` (checked by {@link measureProperties}, which gave
 * `length`) with its length prefix; returns the next position.
 */
export function writeProperties(bytes: Buffer, pos: number, properties: object | undefined, length: number, allowed: PropertyTable): number {
  pos = writeRemainingLength(bytes, pos, length);
  if (length === 0 || properties === undefined) return pos;
  for (const name in properties) {
    const value = (properties as Record<string, unknown>)[name];
    if (value === undefined) continue;
    const spec = allowed.get(name)!;
    if (spec.kind === 'pairs') pos = writeUserProperties(bytes, pos, spec.id, properties, value as Record<string, string | string[]>);
    else if (Array.isArray(value)) for (const one of value) pos = writeValue(bytes, pos, spec, one);
    else pos = writeValue(bytes, pos, spec, value);
  }
  return pos;
}

function writeValue(bytes: Buffer, pos: number, spec: PropertySpec, value: unknown): number {
  bytes[pos++] = spec.id;
  switch (spec.kind) {
    case 'boolean':
      bytes[pos] = value ? 1 : 0;
      return pos + 1;
    case 'byte':
      bytes[pos] = value as number;
      return pos + 1;
    case 'u16':
      bytes[pos] = (value as number) >> 8;
      bytes[pos + 1] = (value as number) & 0xff;
      return pos + 2;
    case 'u32':
      return bytes.writeUInt32BE(value as number, pos);
    case 'varint':
      return writeRemainingLength(bytes, pos, value as number);
    case 'string':
      return writeString(bytes, pos, value as string, stringBytes(value as string));
    case 'binary':
      return writeBinary(bytes, pos, value as Buffer);
    case 'pairs':
      // Never reached: writeProperties writes User Properties with writeUserProperties.
      throw new TypeError('User Properties are written by writeUserProperties');
  }
}

/** Writes User Properties as {@link measureUserProperties} measured them. */
function writeUserProperties(bytes: Buffer, pos: number, id: number, properties: object, pairs: Record<string, string | string[]>): number {
  const order = userPropertyOrderOf(properties);
  if (order === undefined) return writePairs(bytes, pos, id, pairs);
  for (let i = 0; i < order.length; i += 2) {
    bytes[pos++] = id;
    pos = writeString(bytes, pos, order[i]!, stringBytes(order[i]!));
    pos = writeString(bytes, pos, order[i + 1]!, stringBytes(order[i + 1]!));
  }
  return pos;
}

function writePairs(bytes: Buffer, pos: number, id: number, pairs: Record<string, string | string[]>): number {
  for (const name of Object.getOwnPropertyNames(pairs)) {
    const nameBytes = stringBytes(name);
    const values = pairs[name]!;
    for (const one of Array.isArray(values) ? values : [values]) {
      bytes[pos++] = id;
      pos = writeString(bytes, pos, name, nameBytes);
      pos = writeString(bytes, pos, one, stringBytes(one));
    }
  }
  return pos;
}

/** Bytes a property list of `length` takes with its length prefix. */
export function propertiesBytes(length: number): number {
  return remainingLengthBytes(length) + length;
}
