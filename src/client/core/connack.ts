/**
 * What a CONNACK means for the client beyond accept/refuse: which refusals are worth retrying,
 * and which CONNACK properties the spec calls a Protocol Error.
 */
import type { IConnackPacket } from 'mqtt-packet';
import { ConnackReturnCode, ReasonCode } from '../../protocol/reason-codes.js';

/**
 * Refusals that can go away by themselves (the server is busy, down or rate-limiting). Every
 * other refusal answers something in our CONNECT (version, client id, credentials, will,
 * authentication method, a redirect) that the next identical CONNECT would repeat, so the
 * client ends instead of retrying forever (MQTT.js does not reconnect on a CONNACK error either).
 */
const RETRYABLE_V5 = new Set<number>([
  ReasonCode.UnspecifiedError,
  ReasonCode.ImplementationSpecificError,
  ReasonCode.ServerUnavailable,
  ReasonCode.ServerBusy,
  ReasonCode.QuotaExceeded,
  ReasonCode.ConnectionRateExceeded,
]);

/** True when a CONNACK refusal with `code` may succeed on a later attempt with the same CONNECT. */
export function isRetryableRefusal(protocolVersion: 4 | 5, code: number): boolean {
  if (protocolVersion === 5) return RETRYABLE_V5.has(code);
  return code === ConnackReturnCode.ServerUnavailable;
}

/**
 * The first CONNACK property the spec calls a Protocol Error, described, or undefined. A
 * Receive Maximum of 0 would otherwise stop every QoS 1/2 publish for the whole connection.
 */
export function connackPropertyError(properties: IConnackPacket['properties']): string | undefined {
  if (!properties) return undefined;
  // MQTT 5.0 section 3.2.2.3.3: "a Protocol Error ... for it to have the value 0".
  if (properties.receiveMaximum === 0) return 'CONNACK Receive Maximum is 0 (MQTT 5.0 section 3.2.2.3.3)';
  // Section 3.2.2.3.4: "a Protocol Error ... to have a value other than 0 or 1".
  const maxQoS = properties.maximumQoS as number | undefined;
  if (maxQoS !== undefined && maxQoS !== 0 && maxQoS !== 1) return `CONNACK Maximum QoS is ${maxQoS}, not 0 or 1 (MQTT 5.0 section 3.2.2.3.4)`;
  // Section 3.2.2.3.6: "a Protocol Error ... for the value to be set to zero".
  if (properties.maximumPacketSize === 0) return 'CONNACK Maximum Packet Size is 0 (MQTT 5.0 section 3.2.2.3.6)';
  return undefined;
}
