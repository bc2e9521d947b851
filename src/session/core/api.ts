/**
 * The public contract of the session core: the protocol brain of one MQTT session on the broker.
 *
 * The core is pure. The runtime feeds it decoded packets (mqtt-packet objects), the results of
 * register operations and the current time in milliseconds; every call returns an
 * {@link Output}: the packets to write to the session's current connection, in order, and the
 * {@link Action}s the runtime must carry out, in order. The core never reads a clock, never
 * touches a socket, timer, thread or shared memory; it tells the runtime when to call
 * {@link SessionCoreApi.tick} next through {@link SessionCoreApi.nextDeadline}.
 *
 * Only additive changes are made to this file once published.
 */
import type { IConnectPacket, Packet, UserProperties } from 'mqtt-packet';
import type { UserPropertyOrder } from '../../protocol/user-property-order.js';
import type { QoS, SubscribeEntry } from '../../register/types.js';

export type { Packet, IConnectPacket, UserProperties } from 'mqtt-packet';
export type { QoS, SubscribeEntry, SubscriptionOptions } from '../../register/types.js';

/** Protocol levels the core speaks: 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 4 | 5;

/** The one state of a session (see `state.ts` for the transition table). */
export enum SessionState {
  /** Created; no CONNECT accepted yet. */
  AwaitingConnect = 'awaiting-connect',
  /** MQTT 5 enhanced authentication in progress (CONNECT seen, CONNACK not yet sent). */
  Authenticating = 'authenticating',
  /** A connection is attached and CONNACK was sent. */
  Connected = 'connected',
  /** No connection; the session persists until it expires or a client resumes it. */
  Offline = 'offline',
  /** The session is gone; the core accepts no more input (the runtime drops it). */
  Ended = 'ended',
}

/** MQTT 5 properties an application message carries from publisher to subscriber. */
export interface MessageProperties {
  /** Payload Format Indicator: true = UTF-8 text (MQTT 5 3.3.2.3.2). */
  payloadFormatIndicator?: boolean;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  /** User properties, forwarded unchanged and in the order received [MQTT-3.3.2-17,18]. */
  userProperties?: UserProperties;
  /**
   * The same User Properties in the order received, names and values alternately, where
   * `userProperties` (an object) would give them in another order: interleaved names, names
   * that are array indices. The PUBLISH to subscribers writes them from it [MQTT-3.3.2-18,
   * MQTT-3.1.3-10]. Set from the decoder's `USER_PROPERTY_ORDER` (`protocol/user-property-order.ts`).
   */
  userPropertyOrder?: UserPropertyOrder;
}

/**
 * An application message as it travels between sessions: independent of any connection (no
 * packet id, no topic alias, no DUP).
 */
export interface RoutedMessage {
  /** A valid topic name (aliases already resolved). */
  topic: string;
  payload: Uint8Array;
  /** The QoS it was published with. */
  qos: QoS;
  /** The RETAIN flag it was published with (or true for a message from the retained store). */
  retain: boolean;
  properties?: MessageProperties;
  /** Absolute time (ms, the runtime's clock) after which it must not be delivered; from the Message Expiry Interval. */
  expiresAt?: number;
  /**
   * Set (and `expiresAt` not) for a Message Expiry Interval of 0: a lifetime of zero. The message
   * goes to the subscribers whose delivery starts as it is routed to them (connected, and for
   * QoS 1/2 room in the window) and is never kept for later: not queued, not stored as retained
   * (it deletes the retained message of its topic), not handed to another member of a shared
   * subscription; it is forwarded with a Message Expiry Interval of 0 [MQTT-3.3.2-5,6].
   */
  zeroLifetime?: boolean;
}

/** How the register matched a message to this session (see `Delivery` in `register/types.ts`). */
export interface DeliveryInfo {
  /** Maximum QoS over the matching subscriptions. */
  qos: QoS;
  /** Any matching subscription asked for Retain As Published. */
  retainAsPublished: boolean;
  /** Matching subscription identifiers (v5); empty when none. */
  subscriptionIds: readonly number[];
  /** Set when the message came through a shared subscription group. */
  shareGroup?: string;
}

/** Why a message for this session was not delivered. */
export type DropCause =
  /** The offline/in-flight queue was at `maxQueued` messages or had no room in `maxQueuedBytes`. */
  | 'queue-full'
  /** Its Message Expiry Interval passed before delivery started [MQTT-3.3.2-5]. */
  | 'expired'
  /** Larger than the client's Maximum Packet Size [MQTT-3.1.2-25]. */
  | 'too-large'
  /** QoS 0 while the session is offline and `queueQoS0Offline` is false. */
  | 'offline-qos0'
  /** The session ended with the message still queued or in flight. */
  | 'session-ended';

/** Route an inbound PUBLISH or a will to the matching sessions. */
export interface RouteAction {
  kind: 'route';
  message: RoutedMessage;
  /**
   * Set for an inbound QoS 1/2 PUBLISH: once matched, the runtime calls
   * {@link SessionCoreApi.completeRoute} with this id (the PUBACK/PUBREC waits for it).
   */
  ackPacketId?: number;
  /** `publish` for a client's PUBLISH, `will` for a will message. */
  origin: 'publish' | 'will';
}

/**
 * Store, replace or delete the retained message of `topic`: `message` undefined (a retained
 * PUBLISH with an empty payload) deletes it [MQTT-3.3.1-10,11 (3.1.1); MQTT-3.3.1-6,7 (5.0)].
 */
export interface RetainAction {
  kind: 'retain';
  topic: string;
  message?: RoutedMessage;
}


/**
 * Apply the entries to the register (for this session), then call
 * {@link SessionCoreApi.completeSubscribe} with one result per entry, in the same order.
 */
export interface SubscribeAction {
  kind: 'subscribe';
  packetId: number;
  entries: SubscribeEntry[];
}

/**
 * Remove the filters from the register, then call {@link SessionCoreApi.completeUnsubscribe}
 * with one result per filter, in the same order.
 */
export interface UnsubscribeAction {
  kind: 'unsubscribe';
  packetId: number;
  /** Filters as the client sent them, `$share/{group}/` included. */
  filters: string[];
}

/**
 * Look up the retained messages matching `filter` and pass them to
 * {@link SessionCoreApi.deliverRetained} together with this action object.
 * Emitted after the SUBACK, for a non-shared subscription whose Retain Handling asks for them.
 */
export interface SendRetainedAction {
  kind: 'sendRetained';
  /** A valid, non-shared topic filter. */
  filter: string;
  /** The granted QoS of the subscription. */
  qos: QoS;
  /** The SUBSCRIBE's subscription identifier (v5), if any. */
  subscriptionId?: number;
}

/** Write the output's packets, then close the current connection. */
export interface CloseAction {
  kind: 'close';
  /** Why, for logs. */
  reason: string;
  /** The v5 reason code sent (or that would have been sent to a v3.1.1 client), for logs. */
  reasonCode?: number;
  /** True when the peer broke the protocol (log at warn). */
  peerFault?: boolean;
}

/**
 * A new connection took this session over: write `packets` to the PREVIOUS connection (v5
 * DISCONNECT 0x8E [MQTT-3.1.4-3]) and close it. The output's `packets` go to the new one.
 */
export interface ClosePreviousAction {
  kind: 'closePrevious';
  packets: Packet[];
  reason: string;
  /** The protocol level of the PREVIOUS connection: encode `packets` with it (the core's `protocolVersion` is already the new one's). */
  protocolVersion: ProtocolVersion;
}

/**
 * Clean Start / Clean Session on an existing session: remove this session's register entries
 * (its subscriptions are discarded [MQTT-3.1.2-4 (5.0), MQTT-3.1.2-6 (3.1.1)]). The session
 * id and client id stay bound to this core.
 */
export interface ResetSessionAction {
  kind: 'resetSession';
}

/**
 * The session is over: remove its register entries, free its client id and drop the core.
 * Comes after any will `route` action of the same output.
 */
export interface EndSessionAction {
  kind: 'endSession';
  reason: string;
}

/**
 * The session ended holding a message that came through shared subscription group `shareGroup`
 * and that its client never acknowledged: deliver it to another member of that group (5.0
 * section 4.8.2), once this session's register entries are gone; drop it when there is none.
 * Comes after the `endSession` action of the same output.
 */
export interface ReshareAction {
  kind: 'reshare';
  message: RoutedMessage;
  shareGroup: string;
}

/** A message for this session was dropped (for counters and logs). */
export interface DroppedAction {
  kind: 'dropped';
  topic: string;
  qos: QoS;
  cause: DropCause;
}

/** Everything the core asks the runtime to do, discriminated by `kind`. */
export type Action =
  | RouteAction
  | RetainAction
  | SubscribeAction
  | UnsubscribeAction
  | SendRetainedAction
  | CloseAction
  | ClosePreviousAction
  | ResetSessionAction
  | EndSessionAction
  | ReshareAction
  | DroppedAction;

/** What every input returns. */
export interface Output {
  /** Packets for the session's current connection, in order (empty when there is none). */
  packets: Packet[];
  /** Actions for the runtime, in order. */
  actions: Action[];
}

/** Facts about the connection that only the runtime knows. */
export interface AttachContext {
  /**
   * The client id the runtime allocated when the CONNECT's client id is empty (it is then also
   * the session's `identity.clientId`). Without it an empty client id is refused.
   */
  assignedClientId?: string;
}

/** What the register did with one {@link SubscribeEntry}. */
export type SubscribeResult =
  | { ok: true; /** False when it replaced an existing subscription (Retain Handling 1). */ isNew: boolean }
  | { ok: false; /** v5 reason code for the SUBACK; default 0x97 Quota exceeded (v3.1.1 always 0x80). */ reasonCode?: number };

/** One step of MQTT 5 enhanced authentication, as decided by an {@link AuthHandler}. */
export type AuthStep =
  | { kind: 'success'; data?: Uint8Array }
  | { kind: 'continue'; data?: Uint8Array }
  | { kind: 'fail'; /** A v5 reason code >= 0x80; default 0x87 Not authorized. */ reasonCode?: number };

/**
 * Hook point for MQTT 5 enhanced authentication (section 4.12). Synchronous and pure from the
 * core's point of view. Without a handler a CONNECT with an Authentication Method gets CONNACK
 * 0x8C Bad authentication method and an AUTH packet is a protocol error.
 */
export interface AuthHandler {
  /** Authentication methods supported (compared exactly). */
  readonly methods: readonly string[];
  /** First step, from the CONNECT (or from an AUTH 0x19 re-authentication). */
  start(method: string, data: Uint8Array | undefined, clientId: string): AuthStep;
  /** Further steps, from each AUTH 0x18 Continue authentication. */
  continue(method: string, data: Uint8Array | undefined, clientId: string): AuthStep;
}

/**
 * Bounds and features of a session. Every field has a default (see
 * {@link DEFAULT_SESSION_CONFIG}); build one with `validateSessionConfig`.
 */
export interface SessionConfig {
  /** Outbound QoS 1/2 messages in flight per session (also capped by a v5 client's Receive Maximum). Default 20. */
  maxInflight: number;
  /** Messages waiting per session behind the in-flight window or while offline. Default 1000. */
  maxQueued: number;
  /**
   * Bytes of the messages waiting per session (the same queue as `maxQueued`, same drop policy):
   * per message, the bytes its payload and Correlation Data keep alive (a view into a much
   * larger buffer is copied when queued, so that is its own size) plus the length of its topic,
   * Content Type, Response Topic and User Property names and values. Default 16 MiB, or twice
   * `maxPacketSize` when that is larger and this is not given: a message kept as a view counts
   * the whole buffer it is a view of (at most twice its payload), and the largest message
   * accepted must still fit.
   */
  maxQueuedBytes: number;
  /** Queue QoS 0 messages while a persistent session is offline. Default false. */
  queueQoS0Offline: boolean;
  /** Receive Maximum advertised to v5 clients: inbound QoS 1/2 PUBLISH not yet acknowledged. Default 100. */
  receiveMaximum: number;
  /** Largest packet accepted, advertised to v5 clients as Maximum Packet Size (the runtime's decoder enforces it). Default 1 MiB. */
  maxPacketSize: number;
  /** Topic Alias Maximum advertised to v5 clients (inbound aliases); 0 disables. Default 10. */
  topicAliasMaximum: number;
  /** Use server→client topic aliases when the client allows them. Default true. */
  outboundTopicAliases: boolean;
  /** Largest keep alive (s) accepted; a larger or zero client value is replaced by Server Keep Alive (v5). 65535 = no cap. Default 65535. */
  maxKeepAlive: number;
  /** Largest Session Expiry Interval (s) granted; also the expiry of v3.1.1 persistent sessions. 0xFFFFFFFF = never. Default 0xFFFFFFFF. */
  maxSessionExpiryInterval: number;
  /** Retained messages supported. Default true. */
  retainAvailable: boolean;
  /** Maximum QoS supported (granted on SUBSCRIBE; v5 PUBLISH above it is refused). Default 2. */
  maximumQoS: QoS;
  /** Wildcard subscriptions supported. Default true. */
  wildcardSubscriptionAvailable: boolean;
  /** Subscription identifiers supported (v5). Default true. */
  subscriptionIdentifiersAvailable: boolean;
  /** Shared subscriptions (`$share/{group}/{filter}`) supported. Default true. */
  sharedSubscriptionAvailable: boolean;
  /** Accept an empty client id (the runtime assigns one) [MQTT-3.1.3-6]. Default true. */
  allowEmptyClientId: boolean;
  /** Longest client id accepted, in characters [MQTT-3.1.3-5 allows more than 23]. Default 1024. */
  maxClientIdLength: number;
  /** Enhanced authentication hook (v5); absent = none supported. */
  auth?: AuthHandler;
}

/** Defaults of every {@link SessionConfig} option. */
export const DEFAULT_SESSION_CONFIG: Readonly<SessionConfig> = Object.freeze({
  maxInflight: 20,
  maxQueued: 1000,
  maxQueuedBytes: 16 * 1024 * 1024,
  queueQoS0Offline: false,
  receiveMaximum: 100,
  maxPacketSize: 1024 * 1024,
  topicAliasMaximum: 10,
  outboundTopicAliases: true,
  maxKeepAlive: 65535,
  maxSessionExpiryInterval: 0xffffffff,
  retainAvailable: true,
  maximumQoS: 2,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: true,
  sharedSubscriptionAvailable: true,
  allowEmptyClientId: true,
  maxClientIdLength: 1024,
});

/** Counters of one session, for stats and logs. */
export interface SessionStats {
  state: SessionState;
  /** Outbound QoS 1/2 messages sent and not yet completed. */
  inflight: number;
  /** Messages waiting for the window or for the client to come back. */
  queued: number;
  /** Their bytes, as counted against `maxQueuedBytes`. */
  queuedBytes: number;
  /** Inbound QoS 1/2 PUBLISH not yet acknowledged / QoS 2 ids held until PUBREL. */
  inboundPending: number;
  /** Messages dropped, by cause. */
  dropped: Record<DropCause, number>;
  /** PUBLISH packets sent to the client (first transmissions). */
  sent: number;
  /** PUBLISH packets received from the client. */
  received: number;
}

/** The identity of a session, fixed for its whole life. */
export interface SessionIdentity {
  /** The register's id of this session (positive int32). */
  sessionId: number;
  /** The client id (the assigned one when the CONNECT's was empty). */
  clientId: string;
}

/**
 * The inputs of a session core (implemented by `SessionCore` in `session-core.ts`).
 * Every method returns an {@link Output}; none throws for anything a peer sends. Only two calls
 * are runtime bugs and throw: `attach` on an Ended core and `receive` before any `attach`.
 * Inputs that arrive too late (a packet decoded after the core closed its connection, a
 * completion for an ended session) return an empty output.
 */
export interface SessionCoreApi {
  readonly identity: SessionIdentity;
  readonly state: SessionState;
  /** The protocol level of the current/last connection (4 before the first CONNECT). */
  readonly protocolVersion: ProtocolVersion;
  /** Messages waiting for the window or for the client to come back (cheap: no allocation). */
  readonly queued: number;

  /**
   * A CONNECT for this session: the first, a reconnect of a persistent session, or a takeover
   * while another connection is attached (then the output first has a `closePrevious`).
   * A refused CONNECT leaves an existing session unchanged and ends a new one.
   */
  attach(connect: IConnectPacket, now: number, ctx?: AttachContext): Output;
  /** Every packet the current connection sends after its CONNECT (ignored once the core closed it). */
  receive(packet: Packet, now: number): Output;
  /**
   * The runtime's decoder failed on the current connection's bytes: `malformed` → 0x81,
   * `too-large` → 0x95, `protocol` → 0x82 (v5 DISCONNECT; v3.1.1 just close), will published.
   */
  receiveError(kind: 'malformed' | 'too-large' | 'protocol', detail: string, now: number): Output;
  /**
   * A message the register matched for this session: sent, queued, or dropped (with a `dropped`
   * action). Ignored before the first CONNECT is accepted and after the session ended. `held`:
   * the host kept it back (its socket was behind), so its delivery did not start as it was
   * routed, and a message of zero lifetime is over [MQTT-3.3.2-5].
   */
  deliver(message: RoutedMessage, delivery: DeliveryInfo, now: number, held?: boolean): Output;
  /** Retained messages for a `sendRetained` action (sent with RETAIN=1). */
  deliverRetained(messages: readonly RoutedMessage[], request: SendRetainedAction, now: number): Output;
  /**
   * The register applied a `subscribe` action: one result per entry. Answers for the same packet
   * id must come in the order of the actions (the runtime serialises a session's register writes).
   */
  completeSubscribe(packetId: number, results: readonly SubscribeResult[], now: number): Output;
  /** The register applied an `unsubscribe` action: per filter, whether a subscription existed (same ordering rule as `completeSubscribe`). */
  completeUnsubscribe(packetId: number, existed: readonly boolean[], now: number): Output;
  /** A `route` action with `ackPacketId` was matched to `matchedCount` sessions: PUBACK/PUBREC now. */
  completeRoute(packetId: number, matchedCount: number, now: number): Output;
  /**
   * The current connection closed or failed by itself: will handling, then Offline or the end of
   * the session. A no-op once the core itself closed the connection (`close` action) or after a
   * `closePrevious` (that connection is no longer the current one: do not report it).
   */
  connectionLost(now: number, cause: string): Output;
  /** Timers: keep alive, will delay, session expiry, message expiry. */
  tick(now: number): Output;
  /** When `tick` must be called next (absolute ms), or undefined when no timer is due. */
  nextDeadline(): number | undefined;
  /** The server is shutting down: v5 DISCONNECT 0x8B, will published, session ended. */
  shutdown(now: number): Output;
  /** End the session now (e.g. admin): v5 DISCONNECT `reasonCode` (default 0x98), will published. */
  end(now: number, reason: string, reasonCode?: number): Output;
  /** Current counters. */
  stats(): SessionStats;
}
