/**
 * The Weft client as a pure state machine: bytes, operations and `now` in; packets to write,
 * transport actions, events and the next deadline out. No sockets, timers or threads live
 * here, and time is only ever the `now` the caller passes, so every path is deterministic.
 *
 * Reliability follows haka-mqtt's send paths: a PUBLISH waits in the preflight queue until it
 * is written; QoS 0 leaves the client when written; QoS 1/2 stay in flight until PUBACK /
 * PUBCOMP; on a lost connection every in-flight entry goes back to the front of the queue in
 * its original order, PUBLISHes with DUP set and their packet ids kept, and a QoS 2 message
 * already past PUBREC is resumed with PUBREL, never published again [MQTT-4.4.0-1].
 *
 * Liveness follows haka-mqtt and rumqtt: a PINGREQ goes out after `keepalive` seconds of send
 * silence or `recvIdlePingPeriod` seconds of receive silence; at most one PINGREQ is ever
 * outstanding; a successful write is no proof of life, so an unanswered PINGREQ
 * (`pingTimeout`) or receive silence (`recvIdleAbortPeriod`) ends the connection.
 */
import type { IConnackPacket, IDisconnectPacket, IPublishPacket, Packet, QoS } from 'mqtt-packet';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import { DECODE_ERROR_REASON_CODES, DecodeError, PacketDecoder } from '../../protocol/decoder.js';
import { ReasonCode, reasonName } from '../../protocol/reason-codes.js';
import { parseSubscriptionFilter, validateTopicName, TopicError } from '../../register/topic.js';
import {
  ClientClosedError,
  ConnectError,
  ConnectionLostError,
  InvalidArgumentError,
  PacketTooLargeError,
  QueueFullError,
  ReasonCodeError,
  SessionTakenOverError,
} from '../errors.js';
import { reconnectDelay, resetsBackoff } from './backoff.js';
import { connackPropertyError, isRetryableRefusal } from './connack.js';
import { DERIVED_PERIODS, KeepaliveTimer, periodsFor, type DerivedPeriod, type KeepalivePeriods } from './keepalive.js';
import { Outbox, type ControlEntry, type PublishEntry, type SubscribeEntry } from './outbox.js';
import { describePacket } from './packet-trace.js';
import { serverDisconnectAction } from './server-disconnect.js';
import { IncomingAliases, OutgoingAliases } from './topic-aliases.js';
import { encodeOutgoing, receivedUserPropertyList, userPropertyListFault, withUserPropertyList, type UserPropertyList } from './user-property-list.js';
import {
  ClientState,
  type ClientEvent,
  type CoreConfig,
  type CoreOutput,
  type DisconnectRequest,
  type OutgoingPacket,
  type PublishProperties,
  type PublishRequest,
  type ReceivedMessage,
  type SubscriptionRequest,
  type UserProperties,
  type WithUserPropertyList,
} from './types.js';

/** Token used for operations the core makes itself (resubscribe); they produce no events. */
const INTERNAL_TOKEN = -1;

/** Largest packet MQTT can frame: remaining length 268,435,455 plus a 5-byte fixed header. */
const PROTOCOL_MAX_PACKET = 268_435_460;

/**
 * The client protocol as a pure state machine: every method takes the current time and returns
 * a {@link CoreOutput} (packets to write, transport actions, events, next deadline). The
 * client thread drives one; tests drive one with a settable clock.
 *
 * @example
 * ```ts
 * const core = new ClientCore(config);                 // config: a complete CoreConfig
 * let out = core.start(Date.now());                    // actions: [{ type: 'open' }]
 * const socket = net.connect(1883, '127.0.0.1', () => {
 *   out = core.transportOpen(Date.now());              // writes: [CONNECT]
 *   for (const w of out.writes) socket.write(w.bytes);
 * });
 * socket.on('data', (bytes) => {
 *   out = core.receive(bytes, Date.now());             // CONNACK → event 'connect'
 *   for (const w of out.writes) socket.write(w.bytes);
 * });
 * ```
 */
export class ClientCore {
  private stateValue = ClientState.Idle;
  private config: CoreConfig;
  private readonly log: Logger;
  private readonly random: () => number;
  /** What we have been asked to send and have not finished (queues, in flight, packet ids). */
  private readonly outbox = new Outbox(() => this.config);

  /** Server packet ids of QoS 2 PUBLISHes delivered and not yet released [MQTT-4.3.3-10]. */
  private inboundQos2 = new Set<number>();
  /** Filters we hold, for resubscribing when the server lost our session. */
  private subscriptions = new Map<string, SubscriptionRequest>();

  private decoder: PacketDecoder | undefined;
  private writable = true;
  private everConnected = false;
  /** Failed attempts and short-lived connections since the backoff was last reset (see `backoff.ts`). */
  private reconnectAttempt = 0;
  /** When the current connection's CONNACK came: its loss resets the backoff only if it lived long enough. */
  private connectedAt = 0;

  // Per-connection values from CONNACK.
  private serverReceiveMaximum = 65535;
  private serverMaxPacketSize = PROTOCOL_MAX_PACKET;
  private serverMaximumQoS: QoS = 2;
  private serverRetainAvailable = true;
  private serverWildcardAvailable = true;
  private serverSharedAvailable = true;
  private serverSubscriptionIdsAvailable = true;
  private readonly outgoingAliases = new OutgoingAliases();
  private readonly incomingAliases = new IncomingAliases();

  // Deadlines (ms, the caller's clock).
  private readonly liveness: KeepaliveTimer;
  private connectDeadline = 0;
  private backoffDeadline = 0;
  private drainDeadline = 0;

  private out: CoreOutput = { writes: [], actions: [], events: [], deadline: undefined };
  /** What the DISCONNECT that ends the client carries, from `end`. */
  private disconnectRequest: DisconnectRequest | undefined;

  constructor(config: CoreConfig, options: { logger?: Logger; random?: () => number } = {}) {
    this.config = { ...config };
    this.liveness = new KeepaliveTimer(config);
    this.log = options.logger ?? silentLogger();
    this.random = options.random ?? Math.random;
  }

  /** The one state. */
  get state(): ClientState {
    return this.stateValue;
  }

  /** The configuration in use (after `reconnect(newConfig)` and an assigned client id). */
  get currentConfig(): Readonly<CoreConfig> {
    return this.config;
  }

  /** Packet ids in use by our own operations. */
  get packetIdsInUse(): number {
    return this.outbox.idsInUse;
  }

  /** Numbers for tests and introspection. */
  get stats(): { queued: number; queuedBytes: number; inflight: number; blocked: number; inboundQos2: number } {
    return { ...this.outbox.stats, inboundQos2: this.inboundQos2.size };
  }

  // ---------------------------------------------------------------- transport lifecycle

  /** Begins the first connection attempt. */
  start(now: number): CoreOutput {
    if (this.stateValue === ClientState.Idle) this.beginConnect(now);
    return this.flush(now);
  }

  /** The driver opened the transport: CONNECT goes out. */
  transportOpen(now: number): CoreOutput {
    if (this.stateValue !== ClientState.Connecting) return this.flush(now);
    this.stateValue = ClientState.AwaitingConnack;
    // userPropertyOrder: received User Properties reach the application in the order received
    // (`user-property-list.ts`), where mqtt-packet's object form would group them by name.
    this.decoder = new PacketDecoder(this.config.maxIncomingPacketSize, this.config.protocolVersion, { userPropertyOrder: true });
    this.liveness.reset(now);
    const packet = this.connectPacket();
    let bytes: Buffer;
    try {
      bytes = encodeOutgoing(packet, this.config.protocolVersion);
    } catch (err) {
      this.lose(new InvalidArgumentError(`cannot encode CONNECT (check will and properties): ${(err as Error).message}`), now, true);
      return this.flush(now);
    }
    this.write(packet, bytes, now);
    return this.flush(now);
  }

  /** The driver could not open the transport (DNS, refused, TLS ...). */
  transportFailed(error: Error, now: number): CoreOutput {
    if (this.stateValue === ClientState.Connecting) this.lose(error, now, false);
    return this.flush(now);
  }

  /** The transport closed or failed by itself. */
  transportClosed(now: number, error?: Error): CoreOutput {
    const s = this.stateValue;
    if (s === ClientState.Connecting || s === ClientState.AwaitingConnack) {
      this.lose(error ?? new ConnectError('connection closed before CONNACK', 'network'), now, false);
    } else if (s === ClientState.Connected || s === ClientState.Draining) {
      const lost = new ConnectionLostError(`connection lost${error ? `: ${error.message}` : ''}`, 'network');
      this.lose(lost, now, false);
    }
    return this.flush(now);
  }

  /** The socket accepted (true) or refused (false) more data; publishes wait while it is full. */
  setWritable(writable: boolean, now: number): CoreOutput {
    this.writable = writable;
    if (writable) this.pump(now);
    return this.flush(now);
  }

  /** Bytes from the server. */
  receive(data: Buffer, now: number): CoreOutput {
    const s = this.stateValue;
    if (!this.decoder || (s !== ClientState.AwaitingConnack && s !== ClientState.Connected && s !== ClientState.Draining)) {
      return this.flush(now);
    }
    this.liveness.received(now);
    let packets: Packet[];
    try {
      packets = this.decoder.push(data);
    } catch (err) {
      const e = err as Error;
      const code = err instanceof DecodeError ? DECODE_ERROR_REASON_CODES[err.kind] : ReasonCode.MalformedPacket;
      this.violation(`undecodable data from server: ${e.message}`, code, now);
      return this.flush(now);
    }
    for (const packet of packets) {
      if (!this.decoder) break; // a previous packet ended the connection
      this.handle(packet, now);
    }
    this.checkTimers(now);
    this.pump(now);
    return this.flush(now);
  }

  /** Fires whatever deadline has passed. */
  tick(now: number): CoreOutput {
    this.checkTimers(now);
    this.pump(now);
    return this.flush(now);
  }

  // ---------------------------------------------------------------- operations

  /** Queues a PUBLISH; `publish-done` / `operation-failed` with `token` report the outcome. */
  publish(token: number, request: PublishRequest, now: number): CoreOutput {
    const refusal = this.refuseOperation() ?? this.checkPublish(request);
    if (refusal) {
      this.fail(token, refusal);
      return this.flush(now);
    }
    const size = request.payload.length + Buffer.byteLength(request.topic);
    if (size > this.config.maxQueuedBytes) {
      this.fail(token, new QueueFullError(`message of ${size} bytes is larger than maxQueuedBytes (${this.config.maxQueuedBytes})`));
    } else if (this.outbox.hasBlocked || !this.outbox.hasRoom(size)) {
      if (this.config.queueFullBehavior === 'reject') {
        this.fail(token, new QueueFullError(`publish queue is full (maxQueuedMessages ${this.config.maxQueuedMessages}, maxQueuedBytes ${this.config.maxQueuedBytes})`));
      } else {
        this.outbox.block(token, request, size);
      }
    } else {
      this.admit(token, request, size);
    }
    this.pump(now);
    return this.flush(now);
  }

  /**
   * Queues a SUBSCRIBE. `userPropertyList`: its User Properties in that order (MQTT 5), not with
   * `properties.userProperties`.
   */
  subscribe(token: number, subscriptions: SubscriptionRequest[], properties: Record<string, unknown> | undefined, now: number, userPropertyList?: UserPropertyList): CoreOutput {
    let refusal = this.refuseOperation() ?? orderedPropertiesFault('subscribe', properties, userPropertyList);
    if (!refusal && subscriptions.length === 0) refusal = new InvalidArgumentError('subscribe: at least one topic filter is required [MQTT-3.8.3-2]');
    for (const sub of subscriptions) {
      if (refusal) break;
      try {
        parseSubscriptionFilter(sub.topic);
        if (sub.qos !== 0 && sub.qos !== 1 && sub.qos !== 2) throw new InvalidArgumentError(`subscribe: qos must be 0, 1 or 2, got ${String(sub.qos)}`);
      } catch (err) {
        refusal = err instanceof TopicError ? new InvalidArgumentError(`subscribe: ${err.message}`) : (err as Error);
      }
    }
    if (refusal) {
      this.fail(token, refusal);
      return this.flush(now);
    }
    try {
      this.outbox.addControl({ kind: 'subscribe', token, messageId: this.outbox.allocateId(), subscriptions, properties: ordered(properties, userPropertyList) });
    } catch (err) {
      this.fail(token, err as Error);
    }
    this.pump(now);
    return this.flush(now);
  }

  /** Queues an UNSUBSCRIBE. `userPropertyList`: as for {@link subscribe}. */
  unsubscribe(token: number, topics: string[], properties: Record<string, unknown> | undefined, now: number, userPropertyList?: UserPropertyList): CoreOutput {
    let refusal = this.refuseOperation() ?? orderedPropertiesFault('unsubscribe', properties, userPropertyList);
    if (!refusal && topics.length === 0) refusal = new InvalidArgumentError('unsubscribe: at least one topic filter is required [MQTT-3.10.3-2]');
    for (const topic of topics) {
      if (refusal) break;
      try {
        parseSubscriptionFilter(topic);
      } catch (err) {
        refusal = new InvalidArgumentError(`unsubscribe: ${(err as Error).message}`);
      }
    }
    if (refusal) {
      this.fail(token, refusal);
      return this.flush(now);
    }
    try {
      this.outbox.addControl({ kind: 'unsubscribe', token, messageId: this.outbox.allocateId(), topics, properties: ordered(properties, userPropertyList) });
    } catch (err) {
      this.fail(token, err as Error);
    }
    this.pump(now);
    return this.flush(now);
  }

  /** Sends an AUTH packet (MQTT 5 enhanced authentication: continue or re-authenticate). */
  auth(reasonCode: number, properties: Record<string, unknown> | undefined, now: number): CoreOutput {
    const s = this.stateValue;
    if (this.config.protocolVersion === 5 && (s === ClientState.AwaitingConnack || s === ClientState.Connected)) {
      if (!this.config.properties?.authenticationMethod) {
        this.out.events.push({ type: 'error', error: new InvalidArgumentError('auth: CONNECT had no Authentication Method, so no AUTH may be sent [MQTT-4.12.0-7]') });
        return this.flush(now);
      }
      const packet: Packet = { cmd: 'auth', reasonCode, properties: properties as never };
      let bytes: Buffer;
      try {
        bytes = encodeOutgoing(packet, 5);
      } catch (err) {
        this.out.events.push({ type: 'error', error: new InvalidArgumentError(`auth: cannot encode: ${(err as Error).message}`) });
        return this.flush(now);
      }
      // Before CONNACK the server's Maximum Packet Size is not known yet.
      if (s === ClientState.Connected && bytes.length > this.serverMaxPacketSize) {
        this.out.events.push({ type: 'error', error: new PacketTooLargeError(`AUTH of ${bytes.length} bytes exceeds the server's Maximum Packet Size (${this.serverMaxPacketSize}) [MQTT-3.2.2-15]`) });
        return this.flush(now);
      }
      this.write(packet, bytes, now);
    }
    return this.flush(now);
  }

  /** Stops network activity (DISCONNECT if connected); the queue and in-flight work are kept. */
  pause(now: number): CoreOutput {
    const s = this.stateValue;
    if (s === ClientState.Ended || s === ClientState.Draining || s === ClientState.Paused) return this.flush(now);
    this.dropConnection(now);
    this.stateValue = ClientState.Paused;
    this.out.events.push({ type: 'paused' });
    this.log.info('paused');
    return this.flush(now);
  }

  /** Restarts network activity after `pause()`. */
  resume(now: number): CoreOutput {
    if (this.stateValue === ClientState.Paused) {
      this.reconnectAttempt = 0;
      this.out.events.push({ type: 'reconnect' });
      this.beginConnect(now);
    }
    return this.flush(now);
  }

  /**
   * Reconnects now with changed options (rumqtt's `update_connection`): the current
   * connection ends with DISCONNECT, queued and in-flight work carries over.
   */
  reconnect(changes: Partial<CoreConfig>, now: number): CoreOutput {
    const s = this.stateValue;
    if (s === ClientState.Ended || s === ClientState.Draining) return this.flush(now);
    this.config = { ...this.config, ...changes };
    this.liveness.configure(this.config);
    if (s === ClientState.Paused || s === ClientState.Idle) return this.flush(now);
    this.dropConnection(now);
    this.reconnectAttempt = 0;
    this.out.events.push({ type: 'reconnect' });
    this.beginConnect(now);
    return this.flush(now);
  }

  /**
   * Ends the client. Connected and not `force`: keeps writing queued work and waits for every
   * in-flight acknowledgement (at most `endTimeout` ms), then DISCONNECT. Otherwise ends now;
   * unfinished operations fail with {@link ClientClosedError}. `disconnect`: what that
   * DISCONNECT carries (MQTT 5); one that is not valid is reported as an `error` event and left out.
   */
  end(now: number, force = false, disconnect?: DisconnectRequest): CoreOutput {
    const s = this.stateValue;
    if (disconnect !== undefined && s !== ClientState.Ended) {
      const fault = orderedPropertiesFault('end', disconnect.userProperties === undefined ? undefined : { userProperties: disconnect.userProperties }, disconnect.userPropertyList);
      if (fault) this.out.events.push({ type: 'error', error: fault });
      else this.disconnectRequest = disconnect;
    }
    if (s === ClientState.Ended) {
      this.out.events.push({ type: 'ended' });
    } else if (s === ClientState.Connected && !force) {
      this.stateValue = ClientState.Draining;
      this.drainDeadline = now + this.config.endTimeout;
      this.log.info('ending: draining in-flight messages');
      this.pump(now);
      this.finishDrainIfDone(now);
    } else if (s === ClientState.Connected || s === ClientState.Draining) {
      this.finishEnd(now);
    } else {
      if (s === ClientState.Connecting || s === ClientState.AwaitingConnack) this.out.actions.push({ type: 'close', graceful: false });
      this.decoder = undefined;
      this.enterEnded(new ClientClosedError('client ended before the operation completed'));
    }
    return this.flush(now);
  }

  // ---------------------------------------------------------------- connection internals

  private beginConnect(now: number): void {
    this.stateValue = ClientState.Connecting;
    this.connectDeadline = now + this.config.connectTimeout;
    this.out.actions.push({ type: 'open' });
    this.log.info({ attempt: this.reconnectAttempt }, 'connecting');
  }

  private connectPacket(): Packet {
    const c = this.config;
    const packet: Packet = {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: c.protocolVersion,
      clientId: c.clientId,
      clean: c.clean,
      keepalive: c.keepalive,
    };
    if (c.username !== undefined) packet.username = c.username;
    if (c.password !== undefined) packet.password = c.password;
    if (c.will) {
      const { userPropertyList: willList, ...will } = c.will;
      // The will's User Properties in the order given; the Server keeps it [MQTT-3.1.3-10].
      if (willList !== undefined && c.protocolVersion === 5) will.properties = withUserPropertyList(will.properties, willList);
      packet.will = { qos: 0, retain: false, ...will } as never;
    }
    if (c.protocolVersion === 5) {
      const properties = c.userPropertyList === undefined ? { ...(c.properties ?? {}) } : withUserPropertyList(c.properties, c.userPropertyList);
      // [MQTT-3.1.2-27] the server must not send us packets above this size.
      if (c.maxIncomingPacketSize < PROTOCOL_MAX_PACKET) properties.maximumPacketSize = c.maxIncomingPacketSize;
      packet.properties = properties;
    }
    return packet;
  }

  private onConnack(packet: IConnackPacket, now: number): void {
    const code = this.config.protocolVersion === 5 ? (packet.reasonCode ?? 0) : (packet.returnCode ?? 0);
    if (code !== 0) {
      const name = this.config.protocolVersion === 5 ? reasonName(code) : `return code ${code}`;
      const reason = packet.properties?.reasonString;
      const retry = isRetryableRefusal(this.config.protocolVersion, code);
      const message = `server refused the connection: ${name}${reason ? ` (${JSON.stringify(reason)})` : ''}${retry ? '' : '; not retried'}`;
      this.lose(new ConnectError(message, 'connack', code), now, true, retry);
      return;
    }
    // [MQTT-3.2.2-4] we sent Clean Start 1, so we have no session state: a server claiming one
    // is answered by closing (the next attempt asks for a clean start again). In 3.1.1 such a
    // CONNACK breaks the server's [MQTT-3.2.2-1]; the answer is the same.
    if (packet.sessionPresent && this.config.clean) {
      return this.violation('CONNACK has Session Present 1 although we sent Clean Start 1 [MQTT-3.2.2-4]', ReasonCode.ProtocolError, now);
    }
    const propertyError = connackPropertyError(packet.properties);
    if (propertyError) return this.violation(propertyError, ReasonCode.ProtocolError, now);
    const props = packet.properties ?? {};
    this.serverReceiveMaximum = props.receiveMaximum ?? 65535;
    this.serverMaxPacketSize = props.maximumPacketSize ?? PROTOCOL_MAX_PACKET;
    this.outgoingAliases.maximum = props.topicAliasMaximum ?? 0;
    this.serverMaximumQoS = (props.maximumQoS ?? 2) as QoS;
    this.serverRetainAvailable = props.retainAvailable ?? true;
    this.serverWildcardAvailable = props.wildcardSubscriptionAvailable ?? true;
    this.serverSharedAvailable = props.sharedSubscriptionAvailable ?? true;
    this.serverSubscriptionIdsAvailable = props.subscriptionIdentifiersAvailable ?? true;
    // [MQTT-3.2.2-21] the Server Keep Alive replaces ours, and the periods we did not set follow it.
    this.liveness.configure(livenessPeriods(this.config, props.serverKeepAlive));
    if (props.assignedClientIdentifier) this.config = { ...this.config, clientId: props.assignedClientIdentifier };
    const reconnect = this.everConnected;
    this.everConnected = true;
    // The CONNACK does not reset the backoff by itself: the connection has to last (see `lose`).
    this.connectedAt = now;
    this.stateValue = ClientState.Connected;
    if (!packet.sessionPresent) this.startNewSession();
    this.log.info({ sessionPresent: packet.sessionPresent, reconnect }, 'connected');
    this.out.events.push({ type: 'connect', connack: withReceivedList(packet), sessionPresent: packet.sessionPresent, reconnect });
    this.liveness.received(now);
  }

  /**
   * The server has no session for us, so ours is discarded [MQTT-3.2.2-5] and nothing is
   * resent in the protocol's sense [MQTT-4.4.0-1]. What that would lose is kept by other means:
   * a QoS 2 message past PUBREC was already owned by the server (PUBREC accepted it), so it is
   * complete; a PUBLISH still unacknowledged is published again as a new message (DUP 0,
   * [MQTT-4.3.2-2] / [MQTT-4.3.3-2]); SUBSCRIBE/UNSUBSCRIBE go again; filters are resubscribed.
   */
  private startNewSession(): void {
    this.inboundQos2.clear();
    for (const done of this.outbox.forgetSession()) this.out.events.push({ type: 'publish-done', token: done.token });
    if (this.config.resubscribe && this.subscriptions.size > 0) this.queueResubscribe();
  }

  private queueResubscribe(): void {
    const subs = [...this.subscriptions.values()];
    // Chunks keep each SUBSCRIBE small; they go before anything else in the queue.
    const resubscribes: SubscribeEntry[] = [];
    for (let i = 0; i < subs.length; i += 64) {
      try {
        resubscribes.push({ kind: 'subscribe', token: INTERNAL_TOKEN, messageId: this.outbox.allocateId(), subscriptions: subs.slice(i, i + 64), properties: undefined });
      } catch (err) {
        this.out.events.push({ type: 'error', error: err as Error });
        break;
      }
    }
    this.outbox.prependControl(resubscribes);
  }

  /** Closes the current connection on our own initiative and puts in-flight work back. */
  private dropConnection(now: number): void {
    const s = this.stateValue;
    if (s === ClientState.Connected) {
      this.send({ cmd: 'disconnect', reasonCode: ReasonCode.NormalDisconnection }, now);
      this.out.actions.push({ type: 'close', graceful: true });
      this.out.events.push({ type: 'offline' });
    } else if (s === ClientState.Connecting || s === ClientState.AwaitingConnack) {
      this.out.actions.push({ type: 'close', graceful: false });
    }
    this.resetConnection();
  }

  private resetConnection(): void {
    this.decoder = undefined;
    this.liveness.pingAnswered();
    this.writable = true;
    this.outgoingAliases.clear();
    this.incomingAliases.clear();
    this.outbox.requeueInflight();
  }

  /**
   * The connection failed or was lost: decide between reconnecting after a delay, failing the
   * first connect, and ending.
   */
  private lose(error: Error, now: number, closeTransport: boolean, retry = true): void {
    const prev = this.stateValue;
    if (closeTransport) this.out.actions.push({ type: 'close', graceful: false });
    this.resetConnection();
    if (prev === ClientState.Draining) {
      this.log.warn({ err: error.message }, 'connection lost while ending');
      this.enterEnded(new ClientClosedError(`connection lost before the operation completed: ${error.message}`));
      return;
    }
    const firstAttempt = !this.everConnected && (prev === ClientState.Connecting || prev === ClientState.AwaitingConnack);
    if (firstAttempt) {
      this.log.warn({ err: error.message }, 'connect failed');
      const final = !retry || !this.config.retryFirstConnect || this.config.reconnectPeriod === 0;
      this.out.events.push({ type: 'connect-failed', error, final });
      if (final) {
        this.enterEnded(error, true);
        return;
      }
    } else {
      this.log.warn({ err: error.message }, prev === ClientState.Connected ? 'connection lost' : 'reconnect failed');
      if (prev === ClientState.Connected) this.out.events.push({ type: 'offline', error });
      this.out.events.push({ type: 'error', error });
      if (!retry) {
        this.enterEnded(error, true);
        return;
      }
    }
    if (this.config.reconnectPeriod === 0) {
      this.enterEnded(new ClientClosedError(`connection lost and reconnectPeriod is 0: ${error.message}`), true);
      return;
    }
    // One rule for every lost connection, however it ended (`backoff.ts`): only one that stayed
    // up long enough after its CONNACK resets the backoff; a shorter one is one more failed attempt.
    if (prev === ClientState.Connected && resetsBackoff(now - this.connectedAt, this.config)) this.reconnectAttempt = 0;
    const delay = reconnectDelay(this.reconnectAttempt++, this.config, this.random);
    this.stateValue = ClientState.Backoff;
    this.backoffDeadline = now + delay;
    this.log.info({ delay }, 'reconnect scheduled');
  }

  /** A peer protocol violation: DISCONNECT with a reason (MQTT 5), close, reconnect. */
  private violation(message: string, reasonCode: number, now: number): void {
    this.log.warn({ reasonCode: reasonName(reasonCode) }, message);
    if (this.config.protocolVersion === 5 && this.decoder) this.send({ cmd: 'disconnect', reasonCode }, now);
    const error =
      this.stateValue === ClientState.AwaitingConnack
        ? new ConnectError(`protocol violation by server: ${message}`, 'protocol', reasonCode)
        : new ConnectionLostError(`protocol violation by server: ${message}`, 'protocol', reasonCode);
    this.lose(error, now, true);
  }

  private finishEnd(now: number): void {
    const { packet, bytes } = this.endDisconnect();
    this.write(packet, bytes, now);
    this.out.actions.push({ type: 'close', graceful: true });
    this.decoder = undefined;
    this.enterEnded(new ClientClosedError('client ended before the operation completed'));
    this.log.info('disconnected');
  }

  /** The DISCONNECT that ends the client and its bytes: reason 0x00, with what `end` was given (MQTT 5). */
  private endDisconnect(): OutgoingPacket {
    const packet: Packet = { cmd: 'disconnect', reasonCode: ReasonCode.NormalDisconnection };
    const d = this.disconnectRequest;
    if (d !== undefined && this.config.protocolVersion === 5) {
      const properties: NonNullable<IDisconnectPacket['properties']> = {};
      if (d.reasonString !== undefined) properties.reasonString = d.reasonString;
      if (d.userProperties !== undefined) properties.userProperties = d.userProperties;
      const withList = d.userPropertyList === undefined ? properties : withUserPropertyList(properties, d.userPropertyList);
      if (Object.keys(withList).length > 0) packet.properties = withList;
      try {
        return { packet, bytes: encodeOutgoing(packet, 5) };
      } catch (err) {
        // Properties that cannot be written must not keep the session from ending properly (0x00
        // discards the will [MQTT-3.14.4-3]): the DISCONNECT goes without them.
        this.out.events.push({ type: 'error', error: new InvalidArgumentError(`end: the DISCONNECT's properties cannot be written, sent without them: ${(err as Error).message}`) });
        delete packet.properties;
      }
    }
    return { packet, bytes: encodeOutgoing(packet, this.config.protocolVersion) };
  }

  private finishDrainIfDone(now: number): void {
    if (this.stateValue === ClientState.Draining && this.outbox.isEmpty) {
      this.finishEnd(now);
    }
  }

  /**
   * Terminal state: every unfinished operation fails with `error`. `byItself`: the application
   * did not ask for the end, so `ended` carries the error for the API to end its promises and
   * iterators with.
   */
  private enterEnded(error: Error, byItself = false): void {
    this.stateValue = ClientState.Ended;
    for (const token of this.outbox.clear()) this.fail(token, error);
    this.out.events.push(byItself ? { type: 'ended', error } : { type: 'ended' });
  }

  // ---------------------------------------------------------------- timers

  private checkTimers(now: number): void {
    const s = this.stateValue;
    if (s === ClientState.Connecting || s === ClientState.AwaitingConnack) {
      if (now >= this.connectDeadline) {
        this.lose(new ConnectError(`no CONNACK within connectTimeout (${this.config.connectTimeout} ms)`, 'timeout'), now, true);
      }
      return;
    }
    if (s === ClientState.Backoff) {
      if (now >= this.backoffDeadline) {
        this.out.events.push({ type: 'reconnect' });
        this.beginConnect(now);
      }
      return;
    }
    if (s !== ClientState.Connected && s !== ClientState.Draining) return;
    if (s === ClientState.Draining && now >= this.drainDeadline) {
      this.log.warn('endTimeout passed with work in flight');
      this.finishEnd(now);
      return;
    }
    const c = this.liveness.current;
    switch (this.liveness.due(now)) {
      case 'no-pingresp':
        this.lose(new ConnectionLostError(`no PINGRESP within pingTimeout (${c.pingTimeout} s)`, 'keepalive'), now, true);
        return;
      case 'recv-idle':
        this.lose(new ConnectionLostError(`nothing received for recvIdleAbortPeriod (${c.recvIdleAbortPeriod} s)`, 'keepalive'), now, true);
        return;
      case 'ping':
        this.send({ cmd: 'pingreq' }, now);
        this.liveness.pingSent(now);
        return;
      default:
        return;
    }
  }

  private nextDeadline(): number | undefined {
    const s = this.stateValue;
    if (s === ClientState.Connecting || s === ClientState.AwaitingConnack) return this.connectDeadline;
    if (s === ClientState.Backoff) return this.backoffDeadline;
    if (s !== ClientState.Connected && s !== ClientState.Draining) return undefined;
    const live = this.liveness.deadline();
    if (s === ClientState.Draining) return live === undefined ? this.drainDeadline : Math.min(live, this.drainDeadline);
    return live;
  }

  // ---------------------------------------------------------------- receive path

  private handle(packet: Packet, now: number): void {
    this.log.debug({ packet: describePacket(packet) }, 'received');
    if (this.stateValue === ClientState.AwaitingConnack) {
      if (packet.cmd === 'connack') return this.onConnack(packet, now);
      if (packet.cmd === 'auth') {
        this.out.events.push({ type: 'auth', packet: withReceivedList(packet) });
        return;
      }
      if (packet.cmd === 'disconnect') return this.onServerDisconnect(packet, now);
      // [MQTT-3.2.0-1] nothing but AUTH may come before CONNACK.
      return this.violation(`expected CONNACK, got ${packet.cmd.toUpperCase()}`, ReasonCode.ProtocolError, now);
    }
    switch (packet.cmd) {
      case 'publish':
        return this.onPublish(packet, now);
      case 'puback':
        return this.onPuback(packet.messageId ?? 0, packet.reasonCode ?? 0, packet.properties);
      case 'pubrec':
        return this.onPubrec(packet.messageId ?? 0, packet.reasonCode ?? 0, now);
      case 'pubcomp':
        return this.onPubcomp(packet.messageId ?? 0, packet.reasonCode ?? 0, packet.properties);
      case 'pubrel':
        return this.onPubrel(packet.messageId ?? 0, now);
      case 'suback':
        return this.onSuback(packet);
      case 'unsuback':
        return this.onUnsuback(packet);
      case 'pingresp':
        this.liveness.pingAnswered();
        return;
      case 'disconnect':
        return this.onServerDisconnect(packet, now);
      case 'auth':
        this.out.events.push({ type: 'auth', packet: withReceivedList(packet) });
        return;
      default:
        return this.violation(`a server must not send ${packet.cmd.toUpperCase()}`, ReasonCode.ProtocolError, now);
    }
  }

  private onServerDisconnect(packet: import('mqtt-packet').IDisconnectPacket, now: number): void {
    if (this.config.protocolVersion === 4) {
      // MQTT 3.1.1 Table 2.1: DISCONNECT flows Client to Server only, and section 3.14 calls it
      // "the final Control Packet sent from the Client to the Server". One from a server is a
      // protocol violation [MQTT-4.8.0-1]: close, and reconnect as after any other. It has no
      // reason code in 3.1.1 (the decoder gives none, whatever bytes follow), so it is never
      // read as a 5.0 one: a 0x8E in its body does not end the client.
      return this.violation('a server must not send DISCONNECT in MQTT 3.1.1 (Table 2.1: Client to Server only) [MQTT-4.8.0-1]', ReasonCode.ProtocolError, now);
    }
    const reasonCode = packet.reasonCode ?? 0;
    // The Reason String is for diagnostics (MQTT 5.0 section 3.14.2.2.3); a Server Reference
    // (0x9C / 0x9D, section 4.11) is reported, never followed: the next attempt goes to the same URL.
    const reason = packet.properties?.reasonString;
    const reference = packet.properties?.serverReference;
    const detail = `${reasonName(reasonCode)}${reason ? ` (${JSON.stringify(reason)})` : ''}${reference ? `; server reference ${JSON.stringify(reference)} not followed` : ''}`;
    const beforeConnack = this.stateValue === ClientState.AwaitingConnack;
    const action = serverDisconnectAction(reasonCode, beforeConnack, this.config);
    if (action === 'violation') {
      // Not a DISCONNECT the application hears of (no 'disconnect' event): the server broke the protocol.
      const message = beforeConnack
        ? `DISCONNECT ${detail} before CONNACK: a server must not send DISCONNECT until after a CONNACK accepting the connection [MQTT-3.14.0-1]`
        : `DISCONNECT ${detail}: a reason code only a Client may send (MQTT 5.0 Table 3-10)`;
      return this.violation(message, ReasonCode.ProtocolError, now);
    }
    this.out.events.push({ type: 'disconnect', packet: withReceivedList(packet) });
    if (action === 'end') {
      const error = new SessionTakenOverError(`server sent DISCONNECT: ${detail}: another connection with client id ${JSON.stringify(this.config.clientId)} took the session over; not reconnecting, which would take it back (set reconnectOnTakeover to reconnect)`);
      this.log.warn({ clientId: this.config.clientId }, 'session taken over by another connection with our client id: ending, not reconnecting');
      this.lose(error, now, true, false);
      return;
    }
    this.lose(new ConnectionLostError(`server sent DISCONNECT: ${detail}`, 'server-disconnect', reasonCode), now, true);
  }

  private onPublish(packet: IPublishPacket, now: number): void {
    let topic = packet.topic;
    const alias = packet.properties?.topicAlias;
    if (this.config.protocolVersion === 5 && alias !== undefined) {
      const max = this.config.properties?.topicAliasMaximum ?? 0;
      // MQTT 5.0 section 3.3.4: an alias of 0 or above our Topic Alias Maximum is 0x94
      // [MQTT-3.3.2-11]; an empty topic with an alias that has no mapping yet is 0x82.
      if (!Number.isInteger(alias) || alias < 1 || alias > max) {
        return this.violation(`topic alias ${alias} outside 1..${max} [MQTT-3.3.2-11]`, ReasonCode.TopicAliasInvalid, now);
      }
      const resolved = this.incomingAliases.resolve(topic, alias, max);
      if (resolved === undefined) return this.violation(`empty topic with topic alias ${alias}, which has no mapping on this connection (MQTT 5.0 section 3.3.4)`, ReasonCode.ProtocolError, now);
      topic = resolved;
    }
    if (topic === '') {
      // MQTT 5.0 section 3.3.2.1: a zero-length topic without a Topic Alias is a Protocol Error
      // (3.1.1: a topic name is at least one character [MQTT-4.7.3-1]).
      return this.violation('PUBLISH with an empty topic and no topic alias (MQTT 5.0 section 3.3.2.1)', ReasonCode.ProtocolError, now);
    }
    try {
      validateTopicName(topic);
    } catch (err) {
      // [MQTT-3.3.2-2] no wildcards in a topic name; 0x90 as our broker answers the same fault.
      return this.violation(`PUBLISH topic name invalid: ${(err as Error).message} [MQTT-3.3.2-2]`, ReasonCode.TopicNameInvalid, now);
    }
    const message: ReceivedMessage = {
      topic,
      payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
      ...(packet.properties ? { properties: packet.properties } : {}),
    };
    const list = receivedUserPropertyList(packet.properties);
    if (list !== undefined) message.userPropertyList = list;
    const id = packet.messageId ?? 0;
    if (packet.qos === 0) {
      this.out.events.push({ type: 'message', message });
    } else if (packet.qos === 1) {
      this.out.events.push({ type: 'message', message });
      this.send({ cmd: 'puback', messageId: id }, now);
    } else {
      // QoS 2: deliver once; hold the id until PUBREL so a resent PUBLISH is not delivered again [MQTT-4.3.3-10].
      if (!this.inboundQos2.has(id)) {
        const max = this.config.properties?.receiveMaximum ?? 65535;
        if (this.inboundQos2.size >= max) {
          // [MQTT-3.3.4-9] QoS 1 is acknowledged at once, so only unreleased QoS 2 can pile up.
          return this.violation(`more than Receive Maximum (${max}) QoS 2 messages unreleased [MQTT-3.3.4-9]`, ReasonCode.ReceiveMaximumExceeded, now);
        }
        this.inboundQos2.add(id);
        this.out.events.push({ type: 'message', message });
      }
      this.send({ cmd: 'pubrec', messageId: id }, now);
    }
  }

  private onPubrel(id: number, now: number): void {
    const known = this.inboundQos2.delete(id);
    if (!known) this.log.warn({ messageId: id }, 'PUBREL for an unknown packet id');
    const packet: Packet = { cmd: 'pubcomp', messageId: id };
    if (!known && this.config.protocolVersion === 5) packet.reasonCode = ReasonCode.PacketIdentifierNotFound;
    this.send(packet, now);
  }

  private onPuback(id: number, reasonCode: number, properties: IPublishPacket['properties']): void {
    const entry = this.outbox.inflightEntry(id);
    if (!entry || entry.kind !== 'publish' || entry.request.qos !== 1) {
      this.log.warn({ messageId: id }, 'PUBACK for a packet id not in flight');
      return;
    }
    this.outbox.complete(id);
    if (reasonCode >= 0x80) this.fail(entry.token, new ReasonCodeError('server refused the PUBLISH', reasonCode));
    else this.out.events.push(publishDone(entry.token, reasonCode, properties));
  }

  private onPubrec(id: number, reasonCode: number, now: number): void {
    const entry = this.outbox.inflightEntry(id);
    if (!entry || entry.kind !== 'publish' || entry.request.qos !== 2) {
      this.log.warn({ messageId: id }, 'PUBREC for a packet id not in flight');
      if (this.config.protocolVersion === 5) this.send({ cmd: 'pubrel', messageId: id, reasonCode: ReasonCode.PacketIdentifierNotFound }, now);
      return;
    }
    if (reasonCode >= 0x80) {
      // [MQTT-4.4.0-2] a failed PUBREC acknowledges the PUBLISH; no PUBREL follows and nothing is resent.
      this.outbox.complete(id);
      this.fail(entry.token, new ReasonCodeError('server refused the PUBLISH', reasonCode));
      return;
    }
    entry.stage = 'pubrel';
    this.send({ cmd: 'pubrel', messageId: id }, now);
  }

  private onPubcomp(id: number, reasonCode: number, properties: IPublishPacket['properties']): void {
    const entry = this.outbox.inflightEntry(id);
    if (!entry || entry.kind !== 'publish' || entry.stage !== 'pubrel') {
      this.log.warn({ messageId: id }, 'PUBCOMP for a packet id not awaiting it');
      return;
    }
    this.outbox.complete(id);
    this.out.events.push(publishDone(entry.token, reasonCode, properties));
  }

  private onSuback(packet: import('mqtt-packet').ISubackPacket): void {
    const id = packet.messageId ?? 0;
    const entry = this.outbox.inflightEntry(id);
    if (!entry || entry.kind !== 'subscribe') {
      this.log.warn({ messageId: id }, 'SUBACK for a packet id not in flight');
      return;
    }
    this.outbox.complete(id);
    const granted = packet.granted as number[];
    entry.subscriptions.forEach((sub, i) => {
      const code = granted[i];
      if (code !== undefined && code < 0x80) this.subscriptions.set(sub.topic, { ...sub, qos: Math.min(sub.qos, code) as QoS });
    });
    if (entry.token !== INTERNAL_TOKEN) this.out.events.push({ type: 'subscribe-done', token: entry.token, suback: withReceivedList(packet) });
  }

  private onUnsuback(packet: import('mqtt-packet').IUnsubackPacket): void {
    const id = packet.messageId ?? 0;
    const entry = this.outbox.inflightEntry(id);
    if (!entry || entry.kind !== 'unsubscribe') {
      this.log.warn({ messageId: id }, 'UNSUBACK for a packet id not in flight');
      return;
    }
    this.outbox.complete(id);
    for (const topic of entry.topics) this.subscriptions.delete(topic);
    this.out.events.push({ type: 'unsubscribe-done', token: entry.token, unsuback: withReceivedList(packet) });
  }

  // ---------------------------------------------------------------- send path

  private refuseOperation(): Error | undefined {
    const s = this.stateValue;
    if (s === ClientState.Ended || s === ClientState.Draining) return new ClientClosedError('client is ending or ended');
    return undefined;
  }

  private checkPublish(request: PublishRequest): Error | undefined {
    if (request.qos !== 0 && request.qos !== 1 && request.qos !== 2) return new InvalidArgumentError(`publish: qos must be 0, 1 or 2, got ${String(request.qos)}`);
    try {
      validateTopicName(request.topic);
    } catch (err) {
      return new InvalidArgumentError(`publish: ${(err as Error).message}`);
    }
    const listFault = orderedPropertiesFault('publish', request.properties, request.userPropertyList);
    if (listFault) return listFault;
    const alias = request.properties?.topicAlias;
    if (alias !== undefined && (this.config.protocolVersion !== 5 || !Number.isInteger(alias) || alias < 1 || alias > 65535)) {
      return new InvalidArgumentError(`publish: topicAlias must be an integer 1..65535 (MQTT 5 only), got ${alias}`);
    }
    return undefined;
  }

  private admit(token: number, request: PublishRequest, size: number): void {
    try {
      this.outbox.admit(token, request, size);
    } catch (err) {
      this.fail(token, err as Error);
    }
  }

  private sendWindow(): number {
    return Math.min(this.config.maxInflight, this.serverReceiveMaximum);
  }

  /** Writes queued work while connected, writable and within the send window. */
  private pump(now: number): void {
    for (;;) {
      const s = this.stateValue;
      if (s !== ClientState.Connected && s !== ClientState.Draining) return;
      let progressed = false;
      while (this.writable && this.decoder) {
        const control = this.outbox.takeControl();
        if (!control) break;
        this.sendControlEntry(control, now);
        progressed = true;
      }
      while (this.writable && this.decoder) {
        const entry = this.outbox.peekPublish();
        if (!entry) break;
        // [MQTT-3.3.4-7] [MQTT-4.9.0-2] never more unacknowledged QoS 1/2 PUBLISHes than the
        // server's Receive Maximum; QoS 0 behind them waits too, so messages keep their order.
        if (entry.request.qos > 0 && this.outbox.inflightPublishes >= this.sendWindow()) break;
        this.outbox.takePublish();
        progressed = true;
        this.sendPublishEntry(entry, now);
      }
      const admitted = this.outbox.admitBlocked();
      for (const f of admitted.failed) this.fail(f.token, f.error);
      if (admitted.moved > 0) progressed = true;
      this.finishDrainIfDone(now);
      if (!progressed || !this.outbox.hasQueued) return;
    }
  }

  private sendControlEntry(entry: ControlEntry, now: number): void {
    const refusal = entry.kind === 'subscribe' ? this.checkSubscribeAvailable(entry) : undefined;
    if (refusal) {
      this.outbox.releaseId(entry.messageId);
      this.failControl(entry, refusal);
      return;
    }
    const packet: Packet =
      entry.kind === 'subscribe'
        ? { cmd: 'subscribe', messageId: entry.messageId, subscriptions: entry.subscriptions }
        : { cmd: 'unsubscribe', messageId: entry.messageId, unsubscriptions: entry.topics };
    if (entry.properties) packet.properties = entry.properties as never;
    let bytes: Buffer;
    try {
      bytes = encodeOutgoing(packet, this.config.protocolVersion);
    } catch (err) {
      this.outbox.releaseId(entry.messageId);
      this.failControl(entry, new InvalidArgumentError(`${entry.kind}: cannot encode: ${(err as Error).message}`));
      return;
    }
    if (bytes.length > this.serverMaxPacketSize) {
      this.outbox.releaseId(entry.messageId);
      const name = entry.kind.toUpperCase();
      this.failControl(entry, new PacketTooLargeError(`${name} of ${bytes.length} bytes exceeds the server's Maximum Packet Size (${this.serverMaxPacketSize}) [MQTT-3.2.2-15]`));
      return;
    }
    this.write(packet, bytes, now);
    this.outbox.sent(entry);
  }

  /**
   * A SUBSCRIBE the server said it cannot take (CONNACK Wildcard Subscription / Shared
   * Subscription / Subscription Identifiers Available 0, MQTT 5.0 sections 3.2.2.3.11-13):
   * sending it is a Protocol Error the server answers with DISCONNECT 0xA2 / 0x9E / 0xA1, so
   * it fails here with that reason code instead of costing the connection.
   */
  private checkSubscribeAvailable(entry: SubscribeEntry): Error | undefined {
    if (this.config.protocolVersion !== 5) return undefined;
    if (!this.serverSubscriptionIdsAvailable && (entry.properties as { subscriptionIdentifier?: unknown } | undefined)?.subscriptionIdentifier !== undefined) {
      return new ReasonCodeError('subscribe: the server does not support Subscription Identifiers', ReasonCode.SubscriptionIdentifiersNotSupported);
    }
    for (const sub of entry.subscriptions) {
      const { filter, group } = parseSubscriptionFilter(sub.topic);
      if (group !== undefined && !this.serverSharedAvailable) {
        return new ReasonCodeError(`subscribe: the server does not support shared subscriptions (${sub.topic})`, ReasonCode.SharedSubscriptionsNotSupported);
      }
      if (!this.serverWildcardAvailable && (filter.includes('+') || filter.includes('#'))) {
        return new ReasonCodeError(`subscribe: the server does not support wildcard subscriptions (${sub.topic})`, ReasonCode.WildcardSubscriptionsNotSupported);
      }
    }
    return undefined;
  }

  /** Fails a SUBSCRIBE/UNSUBSCRIBE; one the core made itself (resubscribe) is reported as an error. */
  private failControl(entry: ControlEntry, error: Error): void {
    if (entry.token === INTERNAL_TOKEN) this.out.events.push({ type: 'error', error });
    else this.fail(entry.token, error);
  }

  private sendPublishEntry(entry: PublishEntry, now: number): void {
    const req = entry.request;
    const id = entry.messageId;
    if (entry.stage === 'pubrel' && id !== undefined) {
      // Past PUBREC: the server has the message; resume with PUBREL, never publish again.
      this.send({ cmd: 'pubrel', messageId: id }, now);
      this.outbox.sent(entry);
      return;
    }
    const refusal =
      req.qos > this.serverMaximumQoS
        ? new ReasonCodeError(`publish: QoS ${req.qos} is above the server's Maximum QoS ${this.serverMaximumQoS} [MQTT-3.2.2-11]`, ReasonCode.QoSNotSupported)
        : req.retain && !this.serverRetainAvailable
          ? new ReasonCodeError('publish: the server does not support retained messages [MQTT-3.2.2-14]', ReasonCode.RetainNotSupported)
          : undefined;
    if (refusal) {
      if (id !== undefined) this.outbox.releaseId(id);
      this.fail(entry.token, refusal);
      return;
    }
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic: req.topic,
      payload: req.payload,
      qos: req.qos,
      retain: req.retain ?? false,
      // [MQTT-3.3.1-2] DUP is 0 for QoS 0.
      dup: req.qos > 0 && entry.dup,
    };
    if (id !== undefined) packet.messageId = id;
    const properties = this.publishProperties(req);
    if (properties) packet.properties = properties;
    // A topic already bound to this alias on this connection goes out as an empty topic (MQTT 5.0 section 3.3.2.3.4).
    if (properties?.topicAlias !== undefined && this.outgoingAliases.get(req.topic) === properties.topicAlias) packet.topic = '';
    if (properties?.topicAlias !== undefined && properties.topicAlias > this.outgoingAliases.maximum) {
      if (id !== undefined) this.outbox.releaseId(id);
      this.fail(entry.token, new InvalidArgumentError(`publish: topicAlias ${properties.topicAlias} exceeds the server's Topic Alias Maximum (${this.outgoingAliases.maximum}) [MQTT-3.3.2-9]`));
      return;
    }
    let bytes: Buffer;
    try {
      bytes = encodeOutgoing(packet, this.config.protocolVersion);
    } catch (err) {
      if (id !== undefined) this.outbox.releaseId(id);
      this.fail(entry.token, new InvalidArgumentError(`publish: cannot encode: ${(err as Error).message}`));
      return;
    }
    if (bytes.length > this.serverMaxPacketSize) {
      if (id !== undefined) this.outbox.releaseId(id);
      this.fail(entry.token, new PacketTooLargeError(`PUBLISH of ${bytes.length} bytes exceeds the server's Maximum Packet Size (${this.serverMaxPacketSize}) [MQTT-3.2.2-15]`));
      return;
    }
    if (properties?.topicAlias !== undefined && packet.topic !== '') this.outgoingAliases.bind(req.topic, properties.topicAlias);
    this.write(packet, bytes, now);
    if (req.qos === 0) {
      this.out.events.push({ type: 'publish-done', token: entry.token });
    } else {
      entry.dup = true;
      this.outbox.sent(entry);
    }
  }

  /** The request's properties plus an automatic topic alias when enabled and allowed. */
  private publishProperties(req: PublishRequest): PublishProperties | undefined {
    if (this.config.protocolVersion !== 5) return undefined;
    // With a list, the User Properties go out in its order (`user-property-list.ts`).
    const props = req.userPropertyList !== undefined ? withUserPropertyList(req.properties, req.userPropertyList) : req.properties ? { ...req.properties } : undefined;
    if (props?.topicAlias !== undefined || !this.config.autoAssignTopicAlias) return props;
    const alias = this.outgoingAliases.assign(req.topic);
    return alias === undefined ? props : { ...(props ?? {}), topicAlias: alias };
  }

  private send(packet: Packet, now: number): void {
    this.write(packet, encodeOutgoing(packet, this.config.protocolVersion), now);
  }

  private write(packet: Packet, bytes: Buffer, now: number): void {
    this.log.debug({ packet: describePacket(packet) }, 'sending');
    this.out.writes.push({ packet, bytes });
    this.liveness.sent(now);
  }

  private fail(token: number, error: Error): void {
    if (token !== INTERNAL_TOKEN) this.out.events.push({ type: 'operation-failed', token, error });
  }

  private flush(_now: number): CoreOutput {
    const out = this.out;
    out.deadline = this.nextDeadline();
    this.out = { writes: [], actions: [], events: [], deadline: undefined };
    return out;
  }
}

export type { ClientEvent };

/**
 * Why User Properties given to `operation` as `list` are refused: not a {@link UserPropertyList},
 * or given both ways (with `properties.userProperties`). Undefined when fine or not given.
 */
function orderedPropertiesFault(operation: string, properties: { userProperties?: unknown } | undefined, list: UserPropertyList | undefined): Error | undefined {
  return userPropertyListFault(`${operation}: userPropertyList`, list, 'properties.userProperties', properties);
}

/** `properties` with `list` as its User Properties in order, or `properties` as they are. */
function ordered(properties: Record<string, unknown> | undefined, list: UserPropertyList | undefined): Record<string, unknown> | undefined {
  return list === undefined ? properties : withUserPropertyList(properties, list);
}

/** A received packet with its User Properties, if any, also as a list in the order received. */
function withReceivedList<T extends { properties?: object }>(packet: T): T & WithUserPropertyList {
  const list = receivedUserPropertyList(packet.properties as { userProperties?: UserProperties } | undefined);
  if (list !== undefined) (packet as T & WithUserPropertyList).userPropertyList = list;
  return packet;
}

/** The `publish-done` event of a PUBACK / PUBCOMP: reason code, properties and their User Properties in order. */
function publishDone(token: number, reasonCode: number, properties: IPublishPacket['properties']): ClientEvent {
  const list = receivedUserPropertyList(properties);
  return { type: 'publish-done', token, reasonCode, properties, ...(list !== undefined ? { userPropertyList: list } : {}) };
}

/** The liveness periods of a connection whose CONNACK gave `serverKeepAlive` (or none). */
function livenessPeriods(config: CoreConfig, serverKeepAlive: number | undefined): KeepalivePeriods {
  if (serverKeepAlive === undefined || serverKeepAlive === config.keepalive) return config;
  const given: Partial<Record<DerivedPeriod, number>> = {};
  for (const name of config.givenPeriods ?? DERIVED_PERIODS) given[name] = config[name];
  return periodsFor(serverKeepAlive, given);
}
