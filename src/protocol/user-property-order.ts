/**
 * User Properties in the order received, where mqtt-packet's object form would change it.
 *
 * mqtt-packet gives User Properties as an object, `{ name: value }` or `{ name: [values] }`:
 * interleaved names (a=1, b=2, a=3) come out grouped by name (a=[1,3], b=2), and JavaScript
 * puts names that are array indices ('0', '1', … up to 2^32 − 2) first, in numeric order. A
 * Server MUST maintain the order of User Properties when forwarding the Application Message
 * [MQTT-3.3.2-18] and when publishing the Will Message [MQTT-3.1.3-10]. So where the object
 * would reorder them (the decoder's walk over the frame, `frame-walk.ts`, decides from the
 * bytes with {@link UserPropertyOrderCheck}), a broker's decoder also hangs the
 * {@link UserPropertyOrder} on the property list, under a symbol mqtt-packet, `for … in`,
 * spreads and the object form never see; the session core carries it in the routed message
 * (`MessageProperties.userPropertyOrder`, plain data, so it survives the structured clone
 * between threads) and puts it back on the outgoing PUBLISH, whose plain encoder
 * (`plain-properties.ts`) writes the User Properties from it.
 */

/**
 * The User Properties of one property list in the order received: names and values
 * alternately (`[name0, value0, name1, value1, …]`). Flat, so a routed message carries one
 * array of strings (cheap to clone between threads), and the same pairs as its object form.
 */
export type UserPropertyOrder = readonly string[];

/** Where a property list holds its {@link UserPropertyOrder}. */
export const USER_PROPERTY_ORDER: unique symbol = Symbol('weft.userPropertyOrder');

/** A property list that may carry a {@link UserPropertyOrder}. */
type WithOrder = { [USER_PROPERTY_ORDER]?: UserPropertyOrder };

/** The {@link UserPropertyOrder} `properties` carries, or undefined: the object form's order is the received one. */
export function userPropertyOrderOf(properties: object | undefined): UserPropertyOrder | undefined {
  return properties === undefined ? undefined : (properties as WithOrder)[USER_PROPERTY_ORDER];
}

/**
 * Hangs `order` on the property list `properties`, whose `userProperties` must hold the same
 * pairs. Not enumerable: deep equality, spreads and `Object.assign` leave it out, so a copy of
 * the list that is changed never writes stale pairs; whoever copies a list to forward it copies
 * the order by hand.
 */
export function setUserPropertyOrder(properties: object, order: UserPropertyOrder): void {
  Object.defineProperty(properties, USER_PROPERTY_ORDER, { value: order, enumerable: false, configurable: true, writable: true });
}

/** Most distinct User Property names one list is checked for; a list with more is taken as reordered (read from the bytes: right, only dearer). */
const MAX_CHECKED_NAMES = 64;

/**
 * Decides from the bytes, one User Property after another, whether mqtt-packet's object form
 * of a list's User Properties (`{ name: value | [values] }`, in JavaScript's key order) would
 * give them in another order than received. It does when
 * - a name comes again after another name (a=1, b=2, a=3 becomes a=[1,3], b=2); a name
 *   repeated at once (a=1, a=2) keeps its order, as an array;
 * - a name that is an array index ('0' … '4294967294', no leading zero) follows a name that is
 *   not, or a greater index: JavaScript orders index keys first, ascending.
 * Names are compared byte for byte, kept as offsets into the frame; one instance serves list
 * after list ({@link reset}), allocating nothing.
 */
export class UserPropertyOrderCheck {
  private readonly names = new Int32Array(2 * MAX_CHECKED_NAMES);
  private count = 0;
  /** Index (in `names`) of the name of the User Property before, or -1. */
  private last = -1;
  private nonIndexSeen = false;
  private maxIndex = -1;
  /** The object form would reorder the User Properties taken since the last {@link reset}. */
  reordered = false;

  /** Starts a new list. */
  reset(): void {
    this.count = 0;
    this.last = -1;
    this.nonIndexSeen = false;
    this.maxIndex = -1;
    this.reordered = false;
  }

  /** Takes the next User Property of the list, whose name is the `length` bytes at `at` of `frame`. */
  add(frame: Buffer, at: number, length: number): void {
    if (this.reordered) return;
    const names = this.names;
    const last = this.last;
    if (last >= 0 && sameBytes(frame, names[2 * last]!, names[2 * last + 1]!, at, length)) return;
    const index = arrayIndexName(frame, at, length);
    if (index < 0) this.nonIndexSeen = true;
    else if (this.nonIndexSeen || index < this.maxIndex) {
      this.reordered = true;
      return;
    } else this.maxIndex = index;
    for (let i = 0; i < this.count; i++) {
      if (i !== last && sameBytes(frame, names[2 * i]!, names[2 * i + 1]!, at, length)) {
        this.reordered = true;
        return;
      }
    }
    if (this.count === MAX_CHECKED_NAMES) {
      this.reordered = true;
      return;
    }
    names[2 * this.count] = at;
    names[2 * this.count + 1] = length;
    this.last = this.count++;
  }
}

/** True when the `aLength` bytes at `a` and the `bLength` bytes at `b` of `frame` are the same. */
function sameBytes(frame: Buffer, a: number, aLength: number, b: number, bLength: number): boolean {
  if (aLength !== bLength) return false;
  for (let i = 0; i < aLength; i++) if (frame[a + i] !== frame[b + i]) return false;
  return true;
}

/**
 * The value of the name of `length` bytes at `at` when JavaScript orders it as an array index
 * (a canonical decimal integer from 0 to 2^32 − 2), else -1.
 */
function arrayIndexName(frame: Buffer, at: number, length: number): number {
  if (length === 0 || length > 10) return -1;
  const first = frame[at]!;
  if (first < 0x30 || first > 0x39 || (first === 0x30 && length > 1)) return -1;
  let value = 0;
  for (let i = 0; i < length; i++) {
    const digit = frame[at + i]! - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value <= 0xffff_fffe ? value : -1;
}
