/**
 * MQTT 5 enhanced authentication (section 4.12) wired to the {@link AuthHandler} hook. Without
 * a handler no method is supported: CONNECT with a method gets 0x8C (see `connect.ts`) and an
 * AUTH packet is a protocol error, because enhanced authentication only exists once CONNECT named a
 * method (MQTT 5.0 section 4.12).
 */
import type { IAuthPacket } from 'mqtt-packet';
import { ReasonCode } from '../../protocol/reason-codes.js';
import type { AuthStep } from './api.js';
import { fault, type Fault } from './out.js';
import type { SessionData } from './session-data.js';

/** What an AUTH packet led to. */
export type AuthOutcome =
  | { kind: 'connect-succeeded'; data?: Uint8Array }
  | { kind: 'reply'; packet: IAuthPacket }
  | { kind: 'connect-failed'; code: number }
  | Fault;

/** The AUTH packet answering a step (Continue, or Success after re-authentication). */
export function authPacket(method: string, code: number, data: Uint8Array | undefined): IAuthPacket {
  const properties: NonNullable<IAuthPacket['properties']> = { authenticationMethod: method };
  if (data !== undefined) properties.authenticationData = Buffer.from(data);
  return { cmd: 'auth', reasonCode: code, properties };
}

function failCode(step: Extract<AuthStep, { kind: 'fail' }>): number {
  return step.reasonCode !== undefined && step.reasonCode >= 0x80 ? step.reasonCode : ReasonCode.NotAuthorized;
}

/** An AUTH from the client, during the CONNECT exchange or a re-authentication. */
export function handleAuth(s: SessionData, packet: IAuthPacket): AuthOutcome {
  const conn = s.conn!;
  const auth = s.config.auth;
  const method = conn.authMethod;
  if (conn.version !== 5 || method === undefined || !auth) {
    return fault(ReasonCode.ProtocolError, 'AUTH without an Authentication Method in CONNECT (MQTT 5.0 section 4.12)');
  }
  if (packet.properties?.authenticationMethod !== method) {
    return fault(ReasonCode.ProtocolError, 'AUTH with a different Authentication Method (MQTT 5.0 section 4.12)');
  }
  const data = packet.properties?.authenticationData;
  const code = packet.reasonCode ?? ReasonCode.Success;
  const duringConnect = s.authenticating !== undefined;
  let step: AuthStep;
  if (code === ReasonCode.ContinueAuthentication && (duringConnect || conn.reauthenticating)) {
    step = auth.continue(method, data, s.identity.clientId);
  } else if (code === ReasonCode.ReAuthenticate && !duringConnect && !conn.reauthenticating) {
    conn.reauthenticating = true;
    step = auth.start(method, data, s.identity.clientId);
  } else {
    return fault(ReasonCode.ProtocolError, `AUTH reason code 0x${code.toString(16)} out of sequence`);
  }
  if (step.kind === 'continue') return { kind: 'reply', packet: authPacket(method, ReasonCode.ContinueAuthentication, step.data) };
  if (duringConnect) return step.kind === 'success' ? { kind: 'connect-succeeded', ...(step.data ? { data: step.data } : {}) } : { kind: 'connect-failed', code: failCode(step) };
  conn.reauthenticating = false;
  if (step.kind === 'success') return { kind: 'reply', packet: authPacket(method, ReasonCode.Success, step.data) };
  return fault(failCode(step), 're-authentication failed');
}
