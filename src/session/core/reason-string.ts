/**
 * The one place that decides whether a Reason String goes on a packet the server builds for an
 * MQTT 5 client. It goes only when both hold:
 *
 * - The client did not set Request Problem Information to 0. With 0 the server MUST NOT send a
 *   Reason String or User Properties on any packet other than PUBLISH, CONNACK or DISCONNECT
 *   [MQTT-3.1.2-29]; on CONNACK and DISCONNECT it MAY, and Weft chooses not to, so a client that
 *   asked for none gets none anywhere.
 * - The packet with it still fits the client's Maximum Packet Size: the sender MUST NOT add a
 *   Reason String that would take the packet beyond it (CONNACK [MQTT-3.2.2-19], PUBACK
 *   [MQTT-3.4.2-2], PUBREC [MQTT-3.5.2-2], PUBREL [MQTT-3.6.2-2], PUBCOMP [MQTT-3.7.2-2], SUBACK
 *   [MQTT-3.9.2-1], UNSUBACK [MQTT-3.11.2-1], DISCONNECT [MQTT-3.14.2-3], AUTH [MQTT-3.15.2-2]).
 *   The string is dropped whole rather than cut: it is for diagnostics, and a cut one misleads.
 *
 * The server sends no User Properties on these packets at all, so only the Reason String is
 * decided here.
 */
import type {
  IAuthPacket,
  IConnackPacket,
  IDisconnectPacket,
  IPubackPacket,
  IPubcompPacket,
  IPubrecPacket,
  IPubrelPacket,
  ISubackPacket,
  IUnsubackPacket,
} from 'mqtt-packet';
import { encodePlainFirst } from '../../protocol/encoder.js';

/** The v5 packets that may carry a Reason String. */
export type PacketWithReasonString =
  | IConnackPacket
  | IPubackPacket
  | IPubrecPacket
  | IPubrelPacket
  | IPubcompPacket
  | ISubackPacket
  | IUnsubackPacket
  | IDisconnectPacket
  | IAuthPacket;

/** What the client's CONNECT said that bounds a Reason String (a `Connection` has both). */
export interface ReasonStringLimits {
  /** v5 Request Problem Information (absent = 1). */
  requestProblemInformation: boolean;
  /** The client's Maximum Packet Size; undefined = only the protocol's own limit. */
  clientMaxPacketSize: number | undefined;
}

/** For a client whose CONNECT could not be read: nothing known limits the Reason String. */
export const UNKNOWN_CLIENT: ReasonStringLimits = { requestProblemInformation: true, clientMaxPacketSize: undefined };

/** `packet` with `reason` as its Reason String when the client's limits allow it, else `packet` unchanged. */
export function withReasonString<P extends PacketWithReasonString>(packet: P, reason: string, limits: ReasonStringLimits): P {
  if (!limits.requestProblemInformation) return packet;
  const withReason = { ...packet, properties: { ...packet.properties, reasonString: reason } } as P;
  const max = limits.clientMaxPacketSize;
  if (max !== undefined && encodePlainFirst(withReason, 5).length > max) return packet;
  return withReason;
}
