/**
 * Reason codes of MQTT 5.0 (section 2.4) and CONNACK return codes of MQTT 3.1.1 (section
 * 3.2.2.3), named once for the client and the broker.
 */

/** MQTT 5.0 reason codes (one byte), by the name the spec gives them. */
export const ReasonCode = {
  Success: 0x00,
  NormalDisconnection: 0x00,
  GrantedQoS0: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWillMessage: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** MQTT 3.1.1 CONNACK return codes (section 3.2.2.3). */
export const ConnackReturnCode = {
  Accepted: 0x00,
  UnacceptableProtocolVersion: 0x01,
  IdentifierRejected: 0x02,
  ServerUnavailable: 0x03,
  BadUserNameOrPassword: 0x04,
  NotAuthorized: 0x05,
} as const;

/** MQTT 3.1.1 SUBACK return code for a refused filter. */
export const SUBACK_FAILURE = 0x80;

const names = new Map<number, string>();
for (const [name, code] of Object.entries(ReasonCode)) if (!names.has(code)) names.set(code, name);

/** A readable name for an MQTT 5 reason code, for logs and errors (`0x8d KeepAliveTimeout`). */
export function reasonName(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')} ${names.get(code) ?? 'Unknown'}`;
}

/** True for MQTT 5 reason codes that report a failure (0x80 and above) [MQTT-2.4]. */
export function isFailure(code: number): boolean {
  return code >= 0x80;
}
