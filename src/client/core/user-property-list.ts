/**
 * MQTT 5 User Properties as the client gives and takes them in order: a list of `[name, value]`
 * pairs. A name may repeat and the order is the application's (the Server MUST keep it when
 * forwarding [MQTT-3.3.2-18] and when publishing a will [MQTT-3.1.3-10]). mqtt-packet's object
 * form (`{ name: value | [values] }`) groups interleaved names (a=1, b=2, a=3 becomes
 * a=[1,3], b=2) and puts array-index names first, so it cannot say that order.
 *
 * Outgoing: a property list built here carries both forms, the object (derived from the list,
 * for anything that reads the object) and the order under `USER_PROPERTY_ORDER`
 * (`protocol/user-property-order.ts`), from which the plain encoders write the User Properties.
 * Only the plain encoders read that order, so {@link encodeOutgoing} refuses to hand such a packet
 * to mqtt-packet, which would write the object's order without a word.
 *
 * Incoming: the decoder (option `userPropertyOrder`) hangs the received order on a property
 * list where the object would give another; {@link receivedUserPropertyList} reads it from
 * there, else from the object, whose order is then the received one.
 */
import type { Packet, UserProperties } from 'mqtt-packet';
import { encodePacket, encodePlain } from '../../protocol/encoder.js';
import { setUserPropertyOrder, userPropertyOrderOf } from '../../protocol/user-property-order.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * MQTT 5 User Properties in order: `[name, value]` pairs, a name as often as wanted.
 *
 * @example
 * ```ts
 * const list: UserPropertyList = [['a', '1'], ['b', '2'], ['a', '3']];
 * await client.publish('t', 'x', { userPropertyList: list });
 * client.on('message', (_topic, _payload, message) => console.log(message.userPropertyList)); // [['a','1'],['b','2'],['a','3']]
 * ```
 */
export type UserPropertyList = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * Why User Properties given as `list` (the option `option`) are refused, or undefined when they
 * are fine or not given: `list` is no {@link UserPropertyList} (an array of `[name, value]`
 * arrays of two strings), or `properties` also has them in mqtt-packet's object form (the
 * option `objectOption`): neither wins, so the caller hears which two clash.
 */
export function userPropertyListFault(
  option: string,
  list: unknown,
  objectOption: string,
  properties: { userProperties?: unknown } | undefined,
): InvalidArgumentError | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) return new InvalidArgumentError(`${option}: expected an array of [name, value] string pairs, got ${typeof list}`);
  for (let i = 0; i < list.length; i++) {
    const pair: unknown = list[i];
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      return new InvalidArgumentError(`${option}: element ${i} is not a [name, value] pair of two strings`);
    }
  }
  if (properties?.userProperties !== undefined) {
    return new InvalidArgumentError(`${option} and ${objectOption} are both given: give User Properties one way (${option} keeps their order)`);
  }
  return undefined;
}

/**
 * A copy of the property list `properties` (or a new one) whose User Properties are `list`: the
 * object form in `userProperties`, the order hung beside it for the plain encoders. The caller
 * has checked both ({@link userPropertyListFault}).
 */
export function withUserPropertyList<P extends object>(properties: P | undefined, list: UserPropertyList): P & { userProperties?: UserProperties } {
  const out = { ...(properties ?? {}) } as P & { userProperties?: UserProperties };
  if (list.length === 0) return out;
  // Null prototype: a name such as `__proto__` is a name like any other (as in mqtt-packet's own).
  const object = Object.create(null) as Record<string, string | string[]>;
  const order: string[] = [];
  for (const [name, value] of list) {
    const seen = object[name];
    object[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    order.push(name, value);
  }
  out.userProperties = object as UserProperties;
  setUserPropertyOrder(out, order);
  return out;
}

/**
 * The User Properties of a received property list in the order received, or undefined when it has
 * none: from the decoder's order where the object form would change it, else from the object.
 */
export function receivedUserPropertyList(properties: { userProperties?: UserProperties } | undefined): UserPropertyList | undefined {
  if (properties === undefined) return undefined;
  const order = userPropertyOrderOf(properties);
  const object = properties.userProperties;
  // Most received property lists have none: no list is made for them.
  if (order === undefined && object === undefined) return undefined;
  const list: Array<[string, string]> = [];
  if (order !== undefined) {
    for (let i = 0; i + 1 < order.length; i += 2) list.push([order[i]!, order[i + 1]!]);
  } else {
    for (const name of Object.keys(object!)) {
      const values = object![name]!;
      for (const value of Array.isArray(values) ? values : [values]) list.push([name, value]);
    }
  }
  return list.length === 0 ? undefined : list;
}

/** True when `packet` (or its will) carries a User Property order only the plain encoders write. */
function carriesOrder(packet: Packet): boolean {
  const p = packet as { properties?: object; will?: { properties?: object } };
  return userPropertyOrderOf(p.properties) !== undefined || userPropertyOrderOf(p.will?.properties) !== undefined;
}

/**
 * The bytes of `packet` for `version`: the plain encoders', else mqtt-packet's (and its error).
 * A packet carrying a User Property order the plain encoders do not take is refused even where
 * mqtt-packet would write it, since mqtt-packet writes the object form's order.
 */
export function encodeOutgoing(packet: Packet, version: number): Buffer {
  const plain = encodePlain(packet, version);
  if (plain !== undefined) return plain;
  const bytes = encodePacket(packet, version);
  if (carriesOrder(packet)) {
    throw new TypeError('this packet cannot be written with its User Properties in the order given (only the object form could be written, grouped by name); check its other properties');
  }
  return bytes;
}
