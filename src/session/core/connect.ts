/**
 * CONNECT validation and the CONNACK. `checkConnect` is pure and touches no session, so a
 * refused CONNECT never disturbs an existing session or its live connection [MQTT-3.1.4-2].
 */
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import { ConnackReturnCode, ReasonCode } from '../../protocol/reason-codes.js';
import { validateTopicName, TopicError } from '../../register/topic.js';
import type { AttachContext, ProtocolVersion, SessionConfig } from './api.js';
import { isUtf8Payload, payloadBytes, responseTopicFault } from './message.js';
import { UNKNOWN_CLIENT, withReasonString, type ReasonStringLimits } from './reason-string.js';
import type { Connection } from './session-data.js';

/** Session Expiry Interval meaning "never expires". */
export const NEVER_EXPIRES = 0xffffffff;

/** A CONNECT that passed validation: everything the session needs to attach it. */
export interface AcceptedConnect {
  version: ProtocolVersion;
  cleanStart: boolean;
  /** Keep alive in effect (s); `serverKeepAlive` set when it differs from the client's (v5). */
  keepAlive: number;
  serverKeepAlive: number | undefined;
  /** Session Expiry Interval in effect (s) and whether it was lowered from the client's. */
  sessionExpiry: number;
  sessionExpiryCapped: boolean;
  /**
   * The Session Expiry Interval the client asked for in this CONNECT (s; v5, absent = 0), before
   * any cap: a DISCONNECT is checked against it, not against the value in effect (MQTT 5.0
   * section 3.14.2.2.2).
   */
  requestedSessionExpiry: number;
  /** The client id to return in CONNACK (v5, empty client id) [MQTT-3.2.2-16]. */
  assignedClientId: string | undefined;
  requestProblemInformation: boolean;
  authMethod: string | undefined;
}

/** A refused CONNECT: the CONNACK to send (none for some v3.1.1 faults) and why. */
export interface RefusedConnect {
  connack: IConnackPacket | undefined;
  code: number;
  reason: string;
}

/** The v3.1.1 return code for a v5 reason code, where 3.1.1 has one. */
const V3_CODES: Partial<Record<number, number>> = {
  [ReasonCode.UnsupportedProtocolVersion]: ConnackReturnCode.UnacceptableProtocolVersion,
  [ReasonCode.ClientIdentifierNotValid]: ConnackReturnCode.IdentifierRejected,
  [ReasonCode.ServerUnavailable]: ConnackReturnCode.ServerUnavailable,
  [ReasonCode.ServerBusy]: ConnackReturnCode.ServerUnavailable,
  [ReasonCode.BadUserNameOrPassword]: ConnackReturnCode.BadUserNameOrPassword,
  [ReasonCode.NotAuthorized]: ConnackReturnCode.NotAuthorized,
  [ReasonCode.BadAuthenticationMethod]: ConnackReturnCode.NotAuthorized,
};

/**
 * A refusing CONNACK in the client's protocol: v5 reason code [MQTT-3.2.2-6,7 (5.0)] or the
 * 3.1.1 return code; 3.1.1 has no code for most protocol errors, so it just closes. The v5
 * Reason String follows `limits` (see `reason-string.ts`): none when the client set Request
 * Problem Information to 0, none when it would not fit the client's Maximum Packet Size
 * [MQTT-3.2.2-19].
 */
export function refuse(version: ProtocolVersion, code: number, reason: string, limits: ReasonStringLimits = UNKNOWN_CLIENT): RefusedConnect {
  if (version === 5) {
    return { connack: withReasonString<IConnackPacket>({ cmd: 'connack', sessionPresent: false, reasonCode: code }, reason, limits), code, reason };
  }
  const v3 = V3_CODES[code];
  return { connack: v3 === undefined ? undefined : { cmd: 'connack', sessionPresent: false, returnCode: v3 }, code, reason };
}

/**
 * Validates a CONNECT; returns what to attach or why it is refused. A refusing v5 CONNACK
 * carries a Reason String only within the limits the CONNECT set (`reason-string.ts`).
 */
export function checkConnect(connect: IConnectPacket, config: SessionConfig, ctx: AttachContext = {}): AcceptedConnect | RefusedConnect {
  const result = validate(connect, config, ctx);
  // validate() refuses without the client's limits; a v5 refusal is rebuilt within them.
  if (isRefused(result) && result.connack?.reasonCode !== undefined) {
    result.connack = refuse(5, result.code, result.reason, reasonStringLimitsOf(connect)).connack;
  }
  return result;
}

/**
 * What a v5 CONNECT says about Reason Strings: Request Problem Information (absent = 1) and the
 * Maximum Packet Size (a 0, itself refused as a protocol error, bounds nothing).
 */
export function reasonStringLimitsOf(connect: IConnectPacket): ReasonStringLimits {
  const p = connect.protocolVersion === 5 ? connect.properties : undefined;
  return { requestProblemInformation: p?.requestProblemInformation !== false, clientMaxPacketSize: p?.maximumPacketSize || undefined };
}

function validate(connect: IConnectPacket, config: SessionConfig, ctx: AttachContext): AcceptedConnect | RefusedConnect {
  const level = connect.protocolVersion ?? 4;
  const name = connect.protocolId ?? 'MQTT';
  // Only 3.1.1 (level 4) and 5.0 (level 5) are spoken; others get 0x01 in the 3.1.1 form,
  // which every version understands [MQTT-3.1.2-2].
  if (level !== 4 && level !== 5) return refuse(4, ReasonCode.UnsupportedProtocolVersion, `protocol level ${level} is not supported`);
  const version = level as ProtocolVersion;
  if (name !== 'MQTT') return refuse(version, ReasonCode.UnsupportedProtocolVersion, `protocol name ${name} with level ${level} [MQTT-3.1.2-1]`);
  const v5 = version === 5;
  const props = v5 ? connect.properties : undefined;

  const cleanStart = connect.clean ?? true;
  const clientId = connect.clientId ?? '';
  let assignedClientId: string | undefined;
  if (clientId.length === 0) {
    // 3.1.1: an empty id needs Clean Session 1 [MQTT-3.1.3-7,8]; 5.0: the Server assigns one [MQTT-3.1.3-6].
    if (!config.allowEmptyClientId || ctx.assignedClientId === undefined || (!v5 && !cleanStart)) {
      return refuse(version, ReasonCode.ClientIdentifierNotValid, 'empty client identifier not accepted [MQTT-3.1.3-8]');
    }
    if (v5) assignedClientId = ctx.assignedClientId;
  } else if (clientId.length > config.maxClientIdLength) {
    return refuse(version, ReasonCode.ClientIdentifierNotValid, `client identifier longer than ${config.maxClientIdLength} characters`);
  }

  if (v5) {
    // A property included more than once (5.0 sections 3.1.2.11, 3.1.3.2) never gets here: the
    // decoder refuses it (`scanFrame` in protocol/frame-walk.ts), answered with CONNACK 0x82.
    if (props?.receiveMaximum === 0) return refuse(5, ReasonCode.ProtocolError, 'Receive Maximum 0 is a protocol error (MQTT 5.0 section 3.1.2.11.3)');
    if (props?.maximumPacketSize === 0) return refuse(5, ReasonCode.ProtocolError, 'Maximum Packet Size 0: protocol error');
    if (props?.authenticationData !== undefined && props.authenticationMethod === undefined) {
      return refuse(5, ReasonCode.ProtocolError, 'Authentication Data without Authentication Method');
    }
  }

  const will = connect.will;
  if (will) {
    if (will.qos !== undefined && will.qos !== 0 && will.qos !== 1 && will.qos !== 2) {
      return refuse(version, ReasonCode.MalformedPacket, 'will QoS 3 [MQTT-3.1.2-14]');
    }
    try {
      validateTopicName(will.topic);
    } catch (err) {
      if (!(err instanceof TopicError)) throw err;
      return refuse(version, ReasonCode.TopicNameInvalid, `will topic: ${err.message}`);
    }
    if (v5) {
      // A Server without retain / with a lower Maximum QoS refuses such a will [MQTT-3.2.2-12,13].
      if (will.retain && !config.retainAvailable) return refuse(5, ReasonCode.RetainNotSupported, 'will RETAIN but Retain Available is 0');
      if ((will.qos ?? 0) > config.maximumQoS) return refuse(5, ReasonCode.QoSNotSupported, `will QoS above Maximum QoS ${config.maximumQoS}`);
      if (will.properties?.payloadFormatIndicator === true && !isUtf8Payload(payloadBytes(will.payload))) {
        return refuse(5, ReasonCode.PayloadFormatInvalid, 'will Payload Format Indicator 1 with a payload that is not UTF-8');
      }
      // Published as a PUBLISH with it unaltered, so held to [MQTT-3.3.2-13,14] (see responseTopicFault).
      const badResponseTopic = responseTopicFault(will.properties?.responseTopic);
      if (badResponseTopic !== undefined) return refuse(5, badResponseTopic.code, `will ${badResponseTopic.reason}`);
    }
  }

  const authMethod = props?.authenticationMethod;
  if (authMethod !== undefined && !config.auth?.methods.includes(authMethod)) {
    return refuse(5, ReasonCode.BadAuthenticationMethod, `authentication method ${authMethod} is not supported`);
  }

  // Keep alive: the client's, unless above maxKeepAlive (or 0 while a cap is set); a v5 client
  // is told with Server Keep Alive [MQTT-3.2.2-21]. A 3.1.1 client cannot be told, so its own
  // value stands.
  const asked = connect.keepalive ?? 0;
  let keepAlive = asked;
  let serverKeepAlive: number | undefined;
  if (v5 && config.maxKeepAlive < 65535 && (asked === 0 || asked > config.maxKeepAlive)) {
    keepAlive = config.maxKeepAlive;
    serverKeepAlive = keepAlive;
  }

  // Session expiry: v5 from the property (absent = 0); 3.1.1 Clean Session 0 keeps the session
  // for maxSessionExpiryInterval, Clean Session 1 ends it with the connection [MQTT-3.1.2-6 (3.1.1)].
  const requested = v5 ? (props?.sessionExpiryInterval ?? 0) : cleanStart ? 0 : NEVER_EXPIRES;
  const sessionExpiry = Math.min(requested, config.maxSessionExpiryInterval);

  return {
    version,
    cleanStart,
    keepAlive,
    serverKeepAlive,
    sessionExpiry,
    sessionExpiryCapped: v5 && sessionExpiry !== requested,
    requestedSessionExpiry: v5 ? requested : 0,
    assignedClientId,
    requestProblemInformation: v5 ? props?.requestProblemInformation !== false : true,
    authMethod,
  };
}

/** True when `checkConnect` refused. */
export function isRefused(r: AcceptedConnect | RefusedConnect): r is RefusedConnect {
  return 'reason' in r;
}

/** The per-connection state of an accepted CONNECT. */
export function connectionFor(connect: IConnectPacket, accepted: AcceptedConnect, now: number): Connection {
  const props = accepted.version === 5 ? connect.properties : undefined;
  return {
    version: accepted.version,
    keepAlive: accepted.keepAlive,
    lastPacketAt: now,
    requestProblemInformation: accepted.requestProblemInformation,
    clientReceiveMaximum: props?.receiveMaximum ?? 65535,
    clientMaxPacketSize: props?.maximumPacketSize,
    clientTopicAliasMaximum: props?.topicAliasMaximum ?? 0,
    inboundAliases: undefined,
    outboundAliases: undefined,
    authMethod: accepted.authMethod,
    will: undefined,
    inboundQoS1: undefined,
    reauthenticating: false,
  };
}

/** The accepting CONNACK, with the v5 properties that tell the client our limits [MQTT-3.2.2-*]. */
export function acceptingConnack(
  accepted: AcceptedConnect,
  config: SessionConfig,
  sessionPresent: boolean,
  authData: Uint8Array | undefined,
): IConnackPacket {
  if (accepted.version === 4) return { cmd: 'connack', sessionPresent, returnCode: ConnackReturnCode.Accepted };
  const p: NonNullable<IConnackPacket['properties']> = {};
  if (accepted.sessionExpiryCapped) p.sessionExpiryInterval = accepted.sessionExpiry;
  if (config.receiveMaximum !== 65535) p.receiveMaximum = config.receiveMaximum;
  if (config.maximumQoS < 2) p.maximumQoS = config.maximumQoS;
  if (!config.retainAvailable) p.retainAvailable = false;
  p.maximumPacketSize = config.maxPacketSize;
  if (accepted.assignedClientId !== undefined) p.assignedClientIdentifier = accepted.assignedClientId;
  if (config.topicAliasMaximum > 0) p.topicAliasMaximum = config.topicAliasMaximum;
  if (!config.wildcardSubscriptionAvailable) p.wildcardSubscriptionAvailable = false;
  if (!config.subscriptionIdentifiersAvailable) p.subscriptionIdentifiersAvailable = false;
  if (!config.sharedSubscriptionAvailable) p.sharedSubscriptionAvailable = false;
  if (accepted.serverKeepAlive !== undefined) p.serverKeepAlive = accepted.serverKeepAlive;
  if (accepted.authMethod !== undefined) {
    p.authenticationMethod = accepted.authMethod;
    if (authData !== undefined) p.authenticationData = Buffer.from(authData);
  }
  return { cmd: 'connack', sessionPresent, reasonCode: ReasonCode.Success, properties: p };
}

/** What a CONNECT that could not be decoded gets: a CONNACK (`version` is its encoding) or none. */
export interface UndecodableConnectAnswer extends RefusedConnect {
  version: ProtocolVersion;
}

const MQTT_NAME = [0x4d, 0x51, 0x54, 0x54]; // "MQTT"

/**
 * The answer to a first packet that could not be decoded, from its raw bytes: the decoder
 * stopped, so only the fixed header, Protocol Name and Protocol Level are read here. Both
 * versions agree on those fields, which is how a server tells the versions apart.
 *
 * - Not a CONNECT → no CONNACK [MQTT-3.1.0-1].
 * - Protocol Name or Level not readable → no CONNACK (3.1.1 [MQTT-3.1.4-1]).
 * - Level 5: name other than "MQTT" → CONNACK 0x84 [MQTT-3.1.2-1 (5.0)]; otherwise the fault's
 *   code, 0x81 / 0x82 / 0x95, which the Server MAY send before closing (5.0 [MQTT-3.1.4-1],
 *   section 4.13).
 * - Level 4 with the name "MQTT" → no CONNACK: a malformed CONNECT is closed without one
 *   (3.1.1 [MQTT-3.1.4-1]).
 * - Level 4 with another name → CONNACK 0x01: 3.1.1 lets the Server just disconnect
 *   [MQTT-3.1.2-1], the return code tells the client it reached an MQTT server all the same.
 * - Any other level → CONNACK 0x01 in the 3.1.1 form, which every version reads [MQTT-3.1.2-2].
 *
 * The v5 CONNACK carries its Reason String with no limit applied (`UNKNOWN_CLIENT`), on purpose:
 * the limits are the CONNECT's Request Problem Information [MQTT-3.1.2-29] and Maximum Packet
 * Size [MQTT-3.2.2-19], and this CONNECT could not be read, so the client specified neither
 * (absent means 1 and the protocol's own maximum). The strings here are short and fixed.
 */
export function answerUndecodableConnect(bytes: Uint8Array, fault: 'malformed' | 'protocol' | 'too-large'): UndecodableConnectAnswer {
  const silent = (reason: string): UndecodableConnectAnswer => ({ connack: undefined, code: ReasonCode.MalformedPacket, reason, version: 4 });
  if (bytes.length === 0 || bytes[0]! >> 4 !== 1) return silent('first packet is not CONNECT [MQTT-3.1.0-1]');
  let at = 1;
  for (; (bytes[at] ?? 0x80) & 0x80; at++) {
    if (at >= 4 || at >= bytes.length) return silent('CONNECT fixed header not readable [MQTT-3.1.4-1]');
  }
  at++; // past the last Remaining Length byte
  if (at + 2 > bytes.length) return silent('CONNECT too short to read its protocol [MQTT-3.1.4-1]');
  const nameLength = (bytes[at]! << 8) | bytes[at + 1]!;
  const levelAt = at + 2 + nameLength;
  if (levelAt >= bytes.length) return silent('CONNECT too short to read its protocol [MQTT-3.1.4-1]');
  const level = bytes[levelAt]!;
  const isMqtt = nameLength === 4 && MQTT_NAME.every((b, i) => bytes[at + 2 + i] === b);
  if (level === 5) {
    const code = !isMqtt
      ? ReasonCode.UnsupportedProtocolVersion
      : fault === 'too-large'
        ? ReasonCode.PacketTooLarge
        : fault === 'protocol'
          ? ReasonCode.ProtocolError
          : ReasonCode.MalformedPacket;
    const reason = isMqtt ? `undecodable CONNECT (${fault}) [MQTT-3.1.4-1]` : 'protocol name is not MQTT [MQTT-3.1.2-1]';
    return { ...refuse(5, code, reason), version: 5 };
  }
  if (level === 4 && isMqtt) return silent(`undecodable CONNECT (${fault}) [MQTT-3.1.4-1]`);
  const reason = level === 4 ? 'protocol name is not MQTT [MQTT-3.1.2-1]' : `protocol level ${level} is not supported [MQTT-3.1.2-2]`;
  return { ...refuse(4, ReasonCode.UnsupportedProtocolVersion, reason), version: 4 };
}
