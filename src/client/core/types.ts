/**
 * Everything the pure client core takes and gives: its configuration, the one state enum,
 * the operations the caller queues, and the output of every call (bytes to write, transport
 * actions, events, next deadline).
 */
import type { IConnackPacket, IPublishPacket, ISubackPacket, IUnsubackPacket, IAuthPacket, IDisconnectPacket, Packet, QoS, UserProperties } from 'mqtt-packet';
import type { UserPropertyList } from './user-property-list.js';

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
  /**
   * MQTT 5: the will's User Properties in this order, names repeated and interleaved as given
   * (the Server publishes the will keeping it [MQTT-3.1.3-10]). Not with `properties.userProperties`:
   * both is an `InvalidArgumentError`. Ignored in MQTT 3.1.1, as `properties` is.
   */
  userPropertyList?: UserPropertyList;
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
  /** The CONNECT's own User Properties in order (not with `properties.userProperties`). */
  userPropertyList?: UserPropertyList;
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
  /** MQTT 5 PUBLISH properties; `userProperties` in mqtt-packet's object form, which groups names. */
  properties?: IPublishPacket['properties'];
  /**
   * MQTT 5: the User Properties in the order they arrived, as `[name, value]` pairs (a=1, b=2,
   * a=3 stays so, where `properties.userProperties` says a=[1,3], b=2). Absent when the message
   * has none.
   */
  userPropertyList?: UserPropertyList;
}

/**
 * What a received packet the client hands on (CONNACK, DISCONNECT, AUTH, SUBACK, UNSUBACK)
 * carries beside mqtt-packet's fields: its MQTT 5 User Properties in the order received.
 */
export interface WithUserPropertyList {
  /** The packet's User Properties in the order received, as `[name, value]` pairs; absent when none. */
  userPropertyList?: UserPropertyList;
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
  | { type: 'connect'; connack: IConnackPacket & WithUserPropertyList; sessionPresent: boolean; reconnect: boolean }
  | { type: 'reconnect' }
  | { type: 'offline'; error?: Error }
  | { type: 'connect-failed'; error: Error; final: boolean }
  | { type: 'error'; error: Error }
  | { type: 'message'; message: ReceivedMessage }
  | { type: 'publish-done'; token: number; reasonCode?: number; properties?: unknown; userPropertyList?: UserPropertyList }
  | { type: 'operation-failed'; token: number; error: Error }
  | { type: 'subscribe-done'; token: number; suback: ISubackPacket & WithUserPropertyList }
  | { type: 'unsubscribe-done'; token: number; unsuback: IUnsubackPacket & WithUserPropertyList }
  | { type: 'auth'; packet: IAuthPacket & WithUserPropertyList }
  | { type: 'disconnect'; packet: IDisconnectPacket & WithUserPropertyList }
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
  /** User Properties in this order (MQTT 5; not with `properties.userProperties`). */
  userPropertyList?: UserPropertyList;
}

/** What the DISCONNECT that ends the client carries (MQTT 5; ignored in 3.1.1). */
export interface DisconnectRequest {
  /** A Reason String for the server's diagnostics (MQTT 5.0 section 3.14.2.2.3). */
  reasonString?: string;
  /** User Properties in mqtt-packet's object form (not with `userPropertyList`). */
  userProperties?: UserProperties;
  /** User Properties in this order (not with `userProperties`). */
  userPropertyList?: UserPropertyList;
}

/** One filter of a SUBSCRIBE. */
export interface SubscriptionRequest {
  topic: string;
  qos: QoS;
  nl?: boolean;
  rap?: boolean;
  rh?: number;
}

export type { UserProperties, UserPropertyList };
