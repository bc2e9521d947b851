/** PINGREQ and the client's DISCONNECT. */
import type { IDisconnectPacket, IPingrespPacket } from 'mqtt-packet';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { fault, type Fault, type Out } from './out.js';
import type { SessionData } from './session-data.js';

/** PINGREQ → PINGRESP [MQTT-3.12.4-1]. */
export function handlePingreq(out: Out): void {
  out.send({ cmd: 'pingresp' } satisfies IPingrespPacket);
}

/** What a DISCONNECT asks for once it is accepted. */
export interface DisconnectRequest {
  /** The will is still published: any v5 reason code but 0x00 [MQTT-3.1.2-8, MQTT-3.14.4-3]. */
  publishWill: boolean;
}

/**
 * Checks a client DISCONNECT and applies its v5 Session Expiry Interval. A non-zero interval
 * when the CONNECT asked for 0 is a protocol error (MQTT 5.0 section 3.14.2.2.2; the section
 * has no conformance id). What the CONNECT asked for counts, not the value in effect: a server
 * that capped the client's interval to 0 has not made a later non-zero one an error.
 */
export function handleDisconnect(s: SessionData, packet: IDisconnectPacket): DisconnectRequest | Fault {
  // 3.1.1: DISCONNECT always discards the will [MQTT-3.1.2-10 (3.1.1)].
  if (s.conn!.version !== 5) return { publishWill: false };
  const requested = packet.properties?.sessionExpiryInterval;
  if (requested !== undefined) {
    if (s.connectSessionExpiry === 0 && requested !== 0) {
      return fault(ReasonCode.ProtocolError, 'DISCONNECT sets a Session Expiry Interval after CONNECT asked for 0 (section 3.14.2.2.2)');
    }
    s.sessionExpiry = Math.min(requested, s.config.maxSessionExpiryInterval);
  }
  // Only 0x00 Normal disconnection (also when the reason code is absent) deletes the will
  // [MQTT-3.1.2-8, MQTT-3.1.2-10, MQTT-3.14.4-3]; 0x04 asks for it and an error code is no
  // normal disconnection, so both leave it to be published.
  return { publishWill: (packet.reasonCode ?? ReasonCode.NormalDisconnection) !== ReasonCode.NormalDisconnection };
}
