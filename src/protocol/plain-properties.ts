/**
 * MQTT 5 property lists for the plain encoders, written byte for byte as mqtt-packet writes them:
 * in the object's own key order, each value checked as mqtt-packet checks it. Each packet type
 * has its own table of the properties the spec allows on it (MQTT 5.0 section 2.2.2.2); a
 * property outside the table, a value of another type or out of range, an array where one value
 * is expected, or anything mqtt-packet writes in a surprising way (an empty User Property object
 * or Subscription Identifier list, which it turns into an empty packet; a string or Buffer
 * beyond 65,535 bytes, which it refuses) measures as -1, and the packet goes to mqtt-packet.
 */
import { isU16, MAX_VARIABLE_BYTE_INTEGER, remainingLengthBytes, stringBytes, writeBinary, writeRemainingLength, writeString } from './plain-write.js';

/** How a property's value is written (MQTT 5.0 section 2.2.2.2; mqtt-packet's `propertiesTypes`). */
type Kind = 'boolean' | 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pairs';

interface PropertySpec {
  /** The property identifier byte. */
  readonly id: number;
  readonly kind: Kind;
  /** May appear more than once (an array of values): only the Subscription Identifiers of a PUBLISH (MQTT 5.0 section 3.3.2.3.8). */
  readonly repeatable: boolean;
}

/** The properties one packet type may carry, by mqtt-packet's names. */
export type PropertyTable = ReadonlyMap<string, PropertySpec>;

const SPECS: Record<string, [id: number, kind: Kind]> = {
  payloadFormatIndicator: [0x01, 'boolean'],
  messageExpiryInterval: [0x02, 'u32'],
  contentType: [0x03, 'string'],
  responseTopic: [0x08, 'string'],
  correlationData: [0x09, 'binary'],
  subscriptionIdentifier: [0x0b, 'varint'],
  sessionExpiryInterval: [0x11, 'u32'],
  assignedClientIdentifier: [0x12, 'string'],
  serverKeepAlive: [0x13, 'u16'],
  authenticationMethod: [0x15, 'string'],
  authenticationData: [0x16, 'binary'],
  requestProblemInformation: [0x17, 'boolean'],
  willDelayInterval: [0x18, 'u32'],
  requestResponseInformation: [0x19, 'boolean'],
  responseInformation: [0x1a, 'string'],
  serverReference: [0x1c, 'string'],
  reasonString: [0x1f, 'string'],
  receiveMaximum: [0x21, 'u16'],
  topicAliasMaximum: [0x22, 'u16'],
  topicAlias: [0x23, 'u16'],
  maximumQoS: [0x24, 'byte'],
  retainAvailable: [0x25, 'boolean'],
  userProperties: [0x26, 'pairs'],
  maximumPacketSize: [0x27, 'u32'],
  wildcardSubscriptionAvailable: [0x28, 'boolean'],
  subscriptionIdentifiersAvailable: [0x29, 'boolean'],
  sharedSubscriptionAvailable: [0x2a, 'boolean'],
};

function table(names: string[], repeatable: string[] = []): PropertyTable {
  return new Map(names.map((name) => [name, { id: SPECS[name]![0], kind: SPECS[name]![1], repeatable: repeatable.includes(name) }]));
}

export const PUBLISH_PROPERTIES = table(
  ['payloadFormatIndicator', 'messageExpiryInterval', 'topicAlias', 'responseTopic', 'correlationData', 'userProperties', 'subscriptionIdentifier', 'contentType'],
  ['subscriptionIdentifier'],
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
    if (Array.isArray(value)) {
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
function measureValue(kind: Kind, value: unknown): number {
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
      return measurePairs(value);
  }
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
    if (Array.isArray(value)) for (const one of value) pos = writeValue(bytes, pos, spec, one);
    else pos = writeValue(bytes, pos, spec, value);
  }
  return pos;
}

function writeValue(bytes: Buffer, pos: number, spec: PropertySpec, value: unknown): number {
  if (spec.kind === 'pairs') return writePairs(bytes, pos, spec.id, value as Record<string, string | string[]>);
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
  }
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
