/**
 * Everything the pure client core takes and gives: its configuration, the one state enum,
 * the operations the caller queues, and the output of every call (bytes to write, transport
 * actions, events, next deadline).
 */
import type { IConnackPacket, IPublishPacket, ISubackPacket, IUnsubackPacket, IAuthPacket, IDisconnectPacket, Packet, QoS, UserProperties } from 'mqtt-packet';

/**
 * The client's one state.
 *
 * @example
 * ```ts
 * const core = new ClientCore(config);
 * core.start(Date.now());
 * console.log(core.state === ClientState.Connecting); // true
 * ```
 */
export enum ClientState {
  /** Created; `start()` not called yet. */
  Idle = 'idle',
  /** The driver is opening the transport (DNS, TCP, TLS). */
  Connecting = 'connecting',
  /** CONNECT written; waiting for CONNACK (or an AUTH exchange). */
  AwaitingConnack = 'awaiting-connack',
  /** CONNACK accepted; traffic flows. */
  Connected = 'connected',
  /** Connection lost; waiting out the reconnect delay. */
  Backoff = 'backoff',
  /** Network stopped on request (`pause()`); the queue is kept. */
  Paused = 'paused',
  /** `end()` called while connected: finishing in-flight work before DISCONNECT. */
  Draining = 'draining',
  /** Terminal: the client is done. */
  Ended = 'ended',
}

/**
 * Last will, as MQTT.js spells it.
 *
 * @example
 * ```ts
 * await connect(url, { will: { topic: 'devices/7/status', payload: 'gone', qos: 1, retain: true } });
 * ```
 */
export interface WillOptions {
  topic: string;
  payload: Buffer | string;
  qos?: QoS;
  retain?: boolean;
  properties?: NonNullable<NonNullable<import('mqtt-packet').IConnectPacket['will']>['properties']>;
}

/**
 * MQTT 5 CONNECT properties.
 *
 * @example
 * ```ts
 * await connect(url, { protocolVersion: 5, properties: { sessionExpiryInterval: 3600, receiveMaximum: 100 } });
 * ```
 */
export type ConnectProperties = NonNullable<import('mqtt-packet').IConnectPacket['properties']>;
/**
 * MQTT 5 PUBLISH properties.
 *
 * @example
 * ```ts
 * await client.publish('rpc/add', '[1,2]', {
 *   qos: 1,
 *   properties: { responseTopic: 'rpc/replies/me', correlationData: Buffer.from('42'), messageExpiryInterval: 60 },
 * });
 * ```
 */
export type PublishProperties = NonNullable<IPublishPacket['properties']>;

/**
 * Configuration of one core; every field already validated and defaulted (see `options.ts`).
 *
 * @example
 * ```ts
 * // Usually built from ClientOptions by the client; a test harness may write one out.
 * const core = new ClientCore({ ...config, keepalive: 10, recvIdleAbortPeriod: 0 });
 * ```
 */
export interface CoreConfig {
  protocolVersion: 4 | 5;
  clientId: string;
  clean: boolean;
  /** Seconds; 0 disables send-idle pings. */
  keepalive: number;
  username?: string;
  password?: Buffer;
  will?: WillOptions;
  properties?: ConnectProperties;
  /** Seconds without receiving a byte before a PINGREQ is sent; 0 disables. */
  recvIdlePingPeriod: number;
  /** Seconds without receiving a byte before the connection is aborted; 0 disables. */
  recvIdleAbortPeriod: number;
  /** Seconds a PINGREQ may stay unanswered before the connection is aborted. */
  pingTimeout: number;
  /**
   * Which of the three periods above the caller set. The others were derived from `keepalive`
   * and are derived again from the server's Keep Alive when it replaces ours. Absent: all three
   * count as set (a config built by hand keeps its numbers).
   */
  givenPeriods?: readonly import('./keepalive.js').DerivedPeriod[];
  /** Ms from starting a connection attempt to CONNACK. */
  connectTimeout: number;
  /** Ms; 0 disables reconnecting. */
  reconnectPeriod: number;
  maxReconnectPeriod: number;
  reconnectJitter: number;
  /**
   * Ms a connection must stay up after its CONNACK for its loss (of any kind) to reset the
   * reconnect backoff; 0: every CONNACK resets it. Absent: `maxReconnectPeriod`, and it follows
   * that option when `reconnect()` changes it (see `backoff.ts`).
   */
  minConnectedTimeToResetBackoff?: number;
  /** Keep trying when the very first attempt fails (else that failure ends the client). */
  retryFirstConnect: boolean;
  /**
   * Reconnect after a server DISCONNECT 0x8E (Session taken over) instead of ending the client
   * (see `server-disconnect.ts`).
   */
  reconnectOnTakeover: boolean;
  /** Our own cap on outgoing QoS 1/2 PUBLISHes in flight (the server's Receive Maximum also applies). */
  maxInflight: number;
  /** Bound of the preflight queue, in messages. */
  maxQueuedMessages: number;
  /** Bound of the preflight queue, in payload + topic bytes. */
  maxQueuedBytes: number;
  /** What `publish` does when the queue is full. */
  queueFullBehavior: 'wait' | 'reject';
  /** Largest incoming packet accepted, in bytes (sent as Maximum Packet Size in MQTT 5). */
  maxIncomingPacketSize: number;
  /** Assign topic aliases to outgoing PUBLISHes when the server allows them (MQTT 5). */
  autoAssignTopicAlias: boolean;
  /** Subscribe again to every filter when the server has no session for us. */
  resubscribe: boolean;
  /** Ms `end()` waits for in-flight work before sending DISCONNECT anyway. */
  endTimeout: number;
}

/** What the driver must do with the transport. */
export type TransportAction = { type: 'open' } | { type: 'close'; graceful: boolean };

/** A packet the driver must write, with its bytes already encoded. */
export interface OutgoingPacket {
  packet: Packet;
  bytes: Buffer;
}

/** A message received from the server and delivered to the application. */
export interface ReceivedMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  properties?: IPublishPacket['properties'];
}

/**
 * Events for the application, in the order they happened. `ended` carries an `error` when the
 * client ended by itself (a refusal or server DISCONNECT not worth retrying, a loss with
 * reconnecting off), not when the application ended it.
 *
 * @example
 * ```ts
 * for (const event of core.receive(bytes, Date.now()).events) {
 *   if (event.type === 'message') console.log(event.message.topic);
 *   else if (event.type === 'connect') console.log('session present:', event.sessionPresent);
 * }
 * ```
 */
export type ClientEvent =
  | { type: 'connect'; connack: IConnackPacket; sessionPresent: boolean; reconnect: boolean }
  | { type: 'reconnect' }
  | { type: 'offline'; error?: Error }
  | { type: 'connect-failed'; error: Error; final: boolean }
  | { type: 'error'; error: Error }
  | { type: 'message'; message: ReceivedMessage }
  | { type: 'publish-done'; token: number; reasonCode?: number; properties?: unknown }
  | { type: 'operation-failed'; token: number; error: Error }
  | { type: 'subscribe-done'; token: number; suback: ISubackPacket }
  | { type: 'unsubscribe-done'; token: number; unsuback: IUnsubackPacket }
  | { type: 'auth'; packet: IAuthPacket }
  | { type: 'disconnect'; packet: IDisconnectPacket }
  | { type: 'paused' }
  | { type: 'ended'; error?: Error };

/**
 * The result of every core call.
 *
 * @example
 * ```ts
 * function carryOut(out: CoreOutput): void {
 *   for (const w of out.writes) socket.write(w.bytes);
 *   for (const a of out.actions) if (a.type === 'close') socket.end();
 *   for (const e of out.events) emit(e);
 *   if (out.deadline !== undefined) setTimeout(() => carryOut(core.tick(Date.now())), out.deadline - Date.now());
 * }
 * ```
 */
export interface CoreOutput {
  /** Packets to write, in order, before any action. */
  writes: OutgoingPacket[];
  /** Transport actions, in order, after the writes. */
  actions: TransportAction[];
  events: ClientEvent[];
  /** When to call `tick` next (same clock as `now`), or undefined for never. */
  deadline: number | undefined;
}

/** A PUBLISH the application asked for. */
export interface PublishRequest {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain?: boolean;
  properties?: PublishProperties;
}

/** One filter of a SUBSCRIBE. */
export interface SubscriptionRequest {
  topic: string;
  qos: QoS;
  nl?: boolean;
  rap?: boolean;
  rh?: number;
}

export type { UserProperties };
