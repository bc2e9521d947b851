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
  /** v5 0x04 Disconnect with Will Message: publish the will anyway [MQTT-3.14.4-3]. */
  publishWill: boolean;
}

/**
 * Checks a client DISCONNECT and applies its v5 Session Expiry Interval. A non-zero interval
 * after a CONNECT that had 0 is a protocol error (MQTT 5.0 section 3.14.2.2.2).
 */
export function handleDisconnect(s: SessionData, packet: IDisconnectPacket): DisconnectRequest | Fault {
  if (s.conn!.version !== 5) return { publishWill: false };
  const requested = packet.properties?.sessionExpiryInterval;
  if (requested !== undefined) {
    if (s.sessionExpiry === 0 && requested !== 0) return fault(ReasonCode.ProtocolError, 'DISCONNECT sets a Session Expiry Interval after CONNECT had 0 (section 3.14.2.2.2)');
    s.sessionExpiry = Math.min(requested, s.config.maxSessionExpiryInterval);
  }
  return { publishWill: packet.reasonCode === ReasonCode.DisconnectWithWillMessage };
}
