/**
 * The session core: ties the packet-family modules together, owns the one state, and is the
 * one place where a protocol fault becomes the end of a connection (v5 DISCONNECT with the
 * fault's reason code; v3.1.1 just closes), as mosquitto's `read_handle.c` does.
 */
import type { IAuthPacket, IConnectPacket, IDisconnectPacket, Packet } from 'mqtt-packet';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { DECODE_ERROR_REASON_CODES } from '../../protocol/decoder.js';
import {
  SessionState,
  type AttachContext,
  type AuthStep,
  type DeliveryInfo,
  type Output,
  type ProtocolVersion,
  type RoutedMessage,
  type SendRetainedAction,
  type SessionConfig,
  type SessionCoreApi,
  type SessionIdentity,
  type SessionStats,
  type SubscribeResult,
} from './api.js';
import { authPacket, handleAuth } from './auth.js';
import { acceptingConnack, checkConnect, connectionFor, isRefused, NEVER_EXPIRES, reasonStringLimitsOf, refuse, type AcceptedConnect } from './connect.js';
import { keepAliveDeadline, keepAliveExpired } from './keepalive.js';
import { Out, type Fault } from './out.js';
import { handleDisconnect, handlePingreq } from './ping-disconnect.js';
import { completeRoute, handlePublish, handlePubrel } from './publish-inbound.js';
import {
  deliver,
  deliverHeld,
  discardAll,
  drain,
  earliestQueuedExpiry,
  inflightCount,
  onPuback,
  onPubcomp,
  onPubrec,
  purgeExpired,
  resendInflight,
  takeUnacknowledgedShared,
} from './publish-outbound.js';
import { UNKNOWN_CLIENT, withReasonString } from './reason-string.js';
import { SessionData, type Connection } from './session-data.js';
import { transition } from './state.js';
import { completeSubscribe, completeUnsubscribe, handleSubscribe, handleUnsubscribe } from './subscribe.js';
import { cancelPendingWill, connectionEndedWithWill, firePendingWill, publishWill, willFromConnect } from './will.js';

/** The protocol brain of one broker session; see {@link SessionCoreApi} for the contract. */
export class SessionCore implements SessionCoreApi {
  private readonly s: SessionData;

  /** @param config a complete config, from `validateSessionConfig`. */
  constructor(config: SessionConfig, identity: SessionIdentity) {
    this.s = new SessionData(config, { ...identity });
  }

  get identity(): SessionIdentity {
    return this.s.identity;
  }

  get state(): SessionState {
    return this.s.state;
  }

  get queued(): number {
    return this.s.queue.length;
  }

  get protocolVersion(): ProtocolVersion {
    return this.s.version;
  }

  attach(connect: IConnectPacket, now: number, ctx: AttachContext = {}): Output {
    const s = this.s;
    if (s.state === SessionState.Ended) throw new Error('session core: attach on an ended session');
    const out = new Out();
    const checked = checkConnect(connect, s.config, ctx);
    if (isRefused(checked)) return this.refuseConnect(out, checked.connack, checked.code, checked.reason);

    // Enhanced authentication decides before anything changes.
    let authStep: AuthStep | undefined;
    if (checked.authMethod !== undefined) {
      authStep = s.config.auth!.start(checked.authMethod, connect.properties?.authenticationData, s.identity.clientId);
      if (authStep.kind === 'fail') {
        const code = authStep.reasonCode !== undefined && authStep.reasonCode >= 0x80 ? authStep.reasonCode : ReasonCode.NotAuthorized;
        const refused = refuse(5, code, 'authentication failed', reasonStringLimitsOf(connect));
        return this.refuseConnect(out, refused.connack, code, refused.reason);
      }
    }

    if (s.conn) this.takeOver(out, checked, now);
    // A will still waiting for its delay goes when its session ends, and Clean Start ends the old
    // session (§3.1.3.2.2, §3.1.2.4); a resumed session does not send it [MQTT-3.1.3-9].
    if (checked.cleanStart) firePendingWill(s, out, now, true);
    else cancelPendingWill(s);
    const hadSession = s.established;
    if (checked.cleanStart && hadSession) {
      // Clean Start / Clean Session discards the old session [MQTT-3.1.2-4 (5.0); MQTT-3.1.2-6 (3.1.1)].
      discardAll(s);
      s.discardState();
      out.act({ kind: 'resetSession' });
    }
    // Session Present is 0 on Clean Start, else whether a session existed [MQTT-3.2.2-1,2,3 (both)].
    const sessionPresent = !checked.cleanStart && hadSession;
    s.version = checked.version;
    s.sessionExpiry = checked.sessionExpiry;
    s.connectSessionExpiry = checked.requestedSessionExpiry;
    s.sessionEndsAt = undefined;
    s.conn = connectionFor(connect, checked, now);
    s.conn.will = willFromConnect(connect);

    if (authStep?.kind === 'continue') {
      s.state = transition(s.state, SessionState.Authenticating);
      s.authenticating = { accepted: checked, sessionPresent };
      out.send(authPacket(checked.authMethod!, ReasonCode.ContinueAuthentication, authStep.data));
      return out;
    }
    this.finishConnect(out, checked, sessionPresent, authStep?.kind === 'success' ? authStep.data : undefined, now);
    return out;
  }

  receive(packet: Packet, now: number): Output {
    const s = this.s;
    const out = new Out();
    if (s.state === SessionState.AwaitingConnect) throw new Error('session core: receive before attach');
    // Packets decoded after the core closed the connection are ignored.
    if (!s.conn) return out;
    s.conn.lastPacketAt = now;
    const f = this.dispatch(out, packet, now);
    if (f) this.fail(out, f, now);
    return out;
  }

  receiveError(kind: 'malformed' | 'too-large' | 'protocol', detail: string, now: number): Output {
    const out = new Out();
    if (this.s.conn) this.fail(out, { code: DECODE_ERROR_REASON_CODES[kind], reason: detail }, now);
    return out;
  }

  deliver(message: RoutedMessage, delivery: DeliveryInfo, now: number, held = false): Output {
    const out = new Out();
    if (!this.s.established || this.s.state === SessionState.Ended) return out;
    if (held) deliverHeld(this.s, out, message, delivery, now);
    else deliver(this.s, out, message, delivery, now);
    return out;
  }

  deliverRetained(messages: readonly RoutedMessage[], request: SendRetainedAction, now: number): Output {
    const out = new Out();
    if (!this.s.established || this.s.state === SessionState.Ended) return out;
    const delivery: DeliveryInfo = {
      qos: request.qos,
      retainAsPublished: true,
      subscriptionIds: request.subscriptionId !== undefined ? [request.subscriptionId] : [],
    };
    // Retained messages for a new subscription go with RETAIN=1 [MQTT-3.3.1-8 (3.1.1)].
    for (const m of messages) deliver(this.s, out, m, delivery, now, true);
    return out;
  }

  completeSubscribe(packetId: number, results: readonly SubscribeResult[], _now: number): Output {
    const out = new Out();
    if (this.s.state !== SessionState.Ended) completeSubscribe(this.s, out, packetId, results);
    return out;
  }

  completeUnsubscribe(packetId: number, existed: readonly boolean[], _now: number): Output {
    const out = new Out();
    if (this.s.state !== SessionState.Ended) completeUnsubscribe(this.s, out, packetId, existed);
    return out;
  }

  completeRoute(packetId: number, matchedCount: number, _now: number): Output {
    const out = new Out();
    if (this.s.state !== SessionState.Ended) completeRoute(this.s, out, packetId, matchedCount);
    return out;
  }

  connectionLost(now: number, _cause: string): Output {
    const out = new Out();
    // After the core itself closed the connection there is nothing left to do.
    if (this.s.conn) this.endConnection(out, now, true);
    return out;
  }

  tick(now: number): Output {
    const s = this.s;
    const out = new Out();
    if (s.conn) {
      if (keepAliveExpired(s.conn, now)) {
        this.fail(out, { code: ReasonCode.KeepAliveTimeout, reason: `no packet for 1.5 × keep alive (${s.conn.keepAlive} s) [MQTT-3.1.2-24 (3.1.1), MQTT-3.1.2-22 (5.0)]` }, now);
      }
      return out;
    }
    if (s.state !== SessionState.Offline) return out;
    firePendingWill(s, out, now, false);
    if (s.sessionEndsAt !== undefined && now >= s.sessionEndsAt) {
      this.endSession(out, now, 'session expired');
      return out;
    }
    purgeExpired(s, out, now);
    return out;
  }

  nextDeadline(): number | undefined {
    const s = this.s;
    // Asked after every output (the host's timer), so no array of candidates is built for it.
    let min = s.conn ? keepAliveDeadline(s.conn) : undefined;
    if (s.state === SessionState.Offline) {
      min = earlier(min, s.pendingWill?.at);
      min = earlier(min, s.sessionEndsAt);
      min = earlier(min, earliestQueuedExpiry(s));
    }
    return min;
  }

  shutdown(now: number): Output {
    return this.end(now, 'server shutting down', ReasonCode.ServerShuttingDown);
  }

  end(now: number, reason: string, reasonCode: number = ReasonCode.AdministrativeAction): Output {
    const s = this.s;
    const out = new Out();
    if (s.state === SessionState.Ended) return out;
    if (s.conn) {
      if (s.conn.version === 5) out.send(this.closingPacket(reasonCode, reason));
      out.act({ kind: 'close', reason, reasonCode });
      const will = this.detach().will;
      // The session ends now, so a delayed will goes at once (none before a CONNECT was accepted).
      if (will && s.established) publishWill(s, out, will, now);
    }
    this.endSession(out, now, reason);
    return out;
  }

  stats(): SessionStats {
    const s = this.s;
    return {
      state: s.state,
      inflight: inflightCount(s),
      queued: s.queue.length,
      queuedBytes: s.queuedBytes,
      inboundPending: s.inboundPending,
      dropped: { ...s.dropped },
      sent: s.sent,
      received: s.received,
    };
  }

  /** Routes one packet to its family's handler; returns a fault to close with. */
  private dispatch(out: Out, packet: Packet, now: number): Fault | undefined {
    const s = this.s;
    if (s.state === SessionState.Authenticating && packet.cmd !== 'auth' && packet.cmd !== 'disconnect') {
      return { code: ReasonCode.ProtocolError, reason: `${packet.cmd.toUpperCase()} before authentication completed [MQTT-3.1.2-30]` };
    }
    switch (packet.cmd) {
      case 'connect':
        return { code: ReasonCode.ProtocolError, reason: 'a second CONNECT [MQTT-3.1.0-2]' };
      case 'publish':
        return handlePublish(s, out, packet, now);
      case 'puback':
        onPuback(s, out, packet.messageId ?? 0, now);
        return undefined;
      case 'pubrec':
        onPubrec(s, out, packet.messageId ?? 0, packet.reasonCode, now);
        return undefined;
      case 'pubcomp':
        onPubcomp(s, out, packet.messageId ?? 0, now);
        return undefined;
      case 'pubrel':
        return handlePubrel(s, out, packet);
      case 'subscribe':
        return handleSubscribe(s, out, packet);
      case 'unsubscribe':
        return handleUnsubscribe(s, out, packet);
      case 'pingreq':
        handlePingreq(out);
        return undefined;
      case 'disconnect':
        return this.onDisconnect(out, packet, now);
      case 'auth':
        return this.onAuth(out, packet, now);
      default:
        // CONNACK, SUBACK, UNSUBACK, PINGRESP only flow from server to client.
        return { code: ReasonCode.ProtocolError, reason: `${packet.cmd.toUpperCase()} is not sent by a client` };
    }
  }

  private onDisconnect(out: Out, packet: IDisconnectPacket, now: number): Fault | undefined {
    const request = handleDisconnect(this.s, packet);
    if ('code' in request) return request;
    out.act({ kind: 'close', reason: 'client DISCONNECT', ...(packet.reasonCode !== undefined ? { reasonCode: packet.reasonCode } : {}) });
    // A normal DISCONNECT discards the will [MQTT-3.1.2-10 (3.1.1); MQTT-3.14.4-3 (5.0)]; any
    // other v5 reason code (0x04, or an error) leaves it to be published [MQTT-3.1.2-8 (5.0)].
    this.endConnection(out, now, request.publishWill);
    return undefined;
  }

  private onAuth(out: Out, packet: IAuthPacket, now: number): Fault | undefined {
    const s = this.s;
    const outcome = handleAuth(s, packet);
    if ('code' in outcome && !('kind' in outcome)) return outcome;
    switch (outcome.kind) {
      case 'reply':
        out.send(outcome.packet);
        return undefined;
      case 'connect-succeeded': {
        const pending = s.authenticating!;
        s.authenticating = undefined;
        this.finishConnect(out, pending.accepted, pending.sessionPresent, outcome.data, now);
        return undefined;
      }
      case 'connect-failed': {
        s.authenticating = undefined;
        const refused = refuse(5, outcome.code, 'authentication failed', s.conn!);
        if (refused.connack) out.send(refused.connack);
        out.act({ kind: 'close', reason: refused.reason, reasonCode: outcome.code, peerFault: true });
        // The CONNECT was never accepted: no will.
        this.endConnection(out, now, false);
        return undefined;
      }
    }
    return undefined;
  }

  /** CONNACK, then resend what was in flight and drain the queue [MQTT-4.4.0-1]. */
  private finishConnect(out: Out, accepted: AcceptedConnect, sessionPresent: boolean, authData: Uint8Array | undefined, now: number): void {
    const s = this.s;
    s.state = transition(s.state, SessionState.Connected);
    s.established = true;
    out.send(acceptingConnack(accepted, s.config, sessionPresent, authData));
    resendInflight(s, out, now);
    drain(s, out, now);
  }

  /**
   * A second connection for a connected session: close the old one with v5 0x8E
   * [MQTT-3.1.4-3]. Its will goes if its delay is 0 or the session ends now (Clean Start or
   * Session Expiry 0); a 3.1.1 connection closed by the server without DISCONNECT sends its will.
   */
  private takeOver(out: Out, accepted: AcceptedConnect, now: number): void {
    const s = this.s;
    const old = s.conn!;
    const packets: Packet[] = old.version === 5 ? [this.closingPacket(ReasonCode.SessionTakenOver, 'session taken over')] : [];
    out.act({ kind: 'closePrevious', packets, reason: 'session taken over [MQTT-3.1.4-3]', protocolVersion: old.version });
    const sessionEnds = accepted.cleanStart || s.sessionExpiry === 0;
    if (old.will && (old.version === 4 || old.will.delaySeconds === 0 || sessionEnds)) publishWill(s, out, old.will, now);
    this.detach();
  }

  /**
   * Forgets the current connection and what only it could receive: a SUBACK/UNSUBACK that can no
   * longer reach the client (the register still applies the operation; its late answer is
   * ignored and the client resubscribes if it never saw the SUBACK). Returns the connection.
   */
  private detach(): Connection {
    const s = this.s;
    const conn = s.conn!;
    s.conn = undefined;
    s.authenticating = undefined;
    s.pendingSubscribes.orphanAll();
    s.pendingUnsubscribes.orphanAll();
    return conn;
  }

  private refuseConnect(out: Out, connack: Packet | undefined, code: number, reason: string): Output {
    const s = this.s;
    if (connack) out.send(connack);
    out.act({ kind: 'close', reason, reasonCode: code, peerFault: true });
    // A refused CONNECT leaves an existing session as it was; a new one never existed.
    if (s.state === SessionState.AwaitingConnect) {
      s.state = transition(s.state, SessionState.Ended);
      out.act({ kind: 'endSession', reason: 'CONNECT refused' });
    }
    return out;
  }

  /**
   * The v5 packet that ends the current connection with `code`: DISCONNECT, or a refusing
   * CONNACK while enhanced authentication has not sent one yet (nothing but AUTH may precede
   * the CONNACK [MQTT-3.2.0-1]). Its Reason String follows the client's limits
   * (`reason-string.ts`: Request Problem Information [MQTT-3.1.2-29], Maximum Packet Size
   * [MQTT-3.14.2-3, MQTT-3.2.2-19]).
   */
  private closingPacket(code: number, reason: string): Packet {
    const limits = this.s.conn ?? UNKNOWN_CLIENT;
    if (this.s.state === SessionState.Authenticating) return refuse(5, code, reason, limits).connack!;
    return withReasonString<IDisconnectPacket>({ cmd: 'disconnect', reasonCode: code }, reason, limits);
  }

  /**
   * THE place where a protocol fault ends a connection: v5 DISCONNECT with the fault's reason
   * code, v3.1.1 just closes [MQTT-4.8.0-1 (3.1.1); MQTT-4.13.1-1 (5.0)]; the will is published
   * [MQTT-3.1.2-8].
   */
  private fail(out: Out, f: Fault, now: number): void {
    const conn = this.s.conn!;
    if (conn.version === 5) out.send(this.closingPacket(f.code, f.reason));
    out.act({ kind: 'close', reason: f.reason, reasonCode: f.code, peerFault: true });
    this.endConnection(out, now, true);
  }

  /** The connection is gone: will, then Offline or the end of the session. */
  private endConnection(out: Out, now: number, withWill: boolean): void {
    const s = this.s;
    const conn = this.detach();
    const sessionEnds = s.sessionExpiry === 0 || !s.established;
    connectionEndedWithWill(s, out, withWill && s.established ? conn.will : undefined, now, sessionEnds);
    if (sessionEnds) {
      this.endSession(out, now, s.established ? 'connection closed; session expiry interval 0' : 'connection closed before CONNACK');
      return;
    }
    s.state = transition(s.state, SessionState.Offline);
    s.sessionEndsAt = s.sessionExpiry === NEVER_EXPIRES ? undefined : now + s.sessionExpiry * 1000;
  }

  /** The session ends: a will still waiting goes now, queued messages are dropped. */
  private endSession(out: Out, now: number, reason: string): void {
    const s = this.s;
    firePendingWill(s, out, now, true);
    const shared = takeUnacknowledgedShared(s);
    discardAll(s);
    s.pendingSubscribes.clear();
    s.pendingUnsubscribes.clear();
    s.inboundQoS2 = undefined;
    s.sessionEndsAt = undefined;
    s.state = transition(s.state, SessionState.Ended);
    out.act({ kind: 'endSession', reason });
    // After endSession: the runtime removes this session from the register first, so another
    // member of the group is chosen.
    for (const { message, shareGroup } of shared) out.act({ kind: 'reshare', message, shareGroup });
  }
}

/** The earlier of two optional times. */
function earlier(a: number | undefined, b: number | undefined): number | undefined {
  return b === undefined || (a !== undefined && a <= b) ? a : b;
}
