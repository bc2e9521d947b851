/**
 * The part of a CONNECT with a will that main keeps while the connection lasts, to publish the
 * will itself if the session's thread dies (`crash-wills.ts`): the client id, the protocol
 * level, the will and the Session Expiry Interval; nothing else (no password, user name or
 * other properties). Made on main from a CONNECT it decoded, or on the session thread that
 * accepted the socket, which sends it to main packed ({@link packWill}) in its `accepted`.
 */
import type { IConnectPacket } from 'mqtt-packet';
import { setUserPropertyOrder, userPropertyOrderOf, type UserPropertyOrder } from '../protocol/user-property-order.js';

/**
 * A kept will as it crosses to main: the structured clone turns its Buffers into Uint8Arrays
 * and drops the User Properties' received order (kept under a symbol), which rides beside it.
 */
export interface PackedWill {
  readonly connect: IConnectPacket;
  /** The will's User Properties in the order received [MQTT-3.1.3-10], when the object form reorders them. */
  readonly order?: UserPropertyOrder;
}

/**
 * What main keeps of `connect` (which has a will). The decoded CONNECT's buffers are views of
 * the socket chunks, whose memory moves on (transferred or read on): the will's bytes are copied.
 */
export function keepWill(connect: IConnectPacket): IConnectPacket {
  const kept: IConnectPacket = { cmd: 'connect', clientId: connect.clientId, protocolVersion: connect.protocolVersion };
  const sessionExpiryInterval = connect.properties?.sessionExpiryInterval;
  if (sessionExpiryInterval !== undefined) kept.properties = { sessionExpiryInterval };
  if (connect.will) {
    const will = { ...connect.will, payload: Buffer.from(connect.will.payload) };
    const correlation = connect.will.properties?.correlationData;
    if (correlation) {
      will.properties = { ...connect.will.properties, correlationData: Buffer.from(correlation) };
      // A spread leaves out the User Properties' received order (not enumerable): carried by hand.
      const order = userPropertyOrderOf(connect.will.properties);
      if (order !== undefined) setUserPropertyOrder(will.properties, order);
    }
    kept.will = will;
  }
  return kept;
}

/** `kept` ready for `postMessage` (see {@link PackedWill}). */
export function packWill(kept: IConnectPacket): PackedWill {
  const order = userPropertyOrderOf(kept.will?.properties);
  return order === undefined ? { connect: kept } : { connect: kept, order };
}

/** The kept will again, on main: Buffers where the clone left Uint8Arrays, the order put back. */
export function unpackWill(packed: PackedWill): IConnectPacket {
  const connect = packed.connect;
  const will = connect.will;
  if (will === undefined) return connect;
  const payload = will.payload as unknown;
  if (payload instanceof Uint8Array && !Buffer.isBuffer(payload)) will.payload = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const correlation = will.properties?.correlationData as unknown;
  if (correlation instanceof Uint8Array && !Buffer.isBuffer(correlation)) {
    will.properties!.correlationData = Buffer.from(correlation.buffer, correlation.byteOffset, correlation.byteLength);
  }
  if (packed.order !== undefined && will.properties !== undefined) setUserPropertyOrder(will.properties, packed.order);
  return connect;
}
