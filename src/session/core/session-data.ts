/**
 * The data of one session, shared by the packet-family modules. Only `session-core.ts`
 * changes `state` (through `transition`); the modules change the parts they own, named below.
 */
import type { DropCause, ProtocolVersion, RoutedMessage, SessionConfig, SessionIdentity, SubscribeEntry, QoS } from './api.js';
import { SessionState } from './api.js';
import type { AcceptedConnect } from './connect.js';
import { clearQueue } from './queue.js';

/** A will message held for the current connection or waiting for its delay (owned by `will.ts`). */
export interface Will {
  message: RoutedMessage;
  /** Will Delay Interval in seconds (v5; 0 for v3.1.1). */
  delaySeconds: number;
  /** The will's Message Expiry Interval (v5), counted from when it is published. */
  expirySeconds?: number;
}

/** What lives only as long as one network connection (owned by `connect.ts`). */
export interface Connection {
  version: ProtocolVersion;
  /** Keep alive in effect, seconds; 0 = none. */
  keepAlive: number;
  /** When the last packet arrived (ms). */
  lastPacketAt: number;
  /** v5 Request Problem Information (true for v3.1.1: it has no reason strings anyway). */
  requestProblemInformation: boolean;
  /** The client's Receive Maximum (v5), 65535 when absent. */
  clientReceiveMaximum: number;
  /** The client's Maximum Packet Size (v5), undefined = protocol maximum. */
  clientMaxPacketSize: number | undefined;
  /** The client's Topic Alias Maximum (v5): aliases we may send. */
  clientTopicAliasMaximum: number;
  // The aliases and inboundQoS1 are made on first use: most connections never need them, and
  // an empty Map or Set costs ~150-180 bytes, which idle connections add up to.
  /** Inbound topic aliases set by the client [MQTT-3.3.2-10..12]. */
  inboundAliases: Map<number, string> | undefined;
  /** Outbound topic aliases we assigned on this connection. */
  outboundAliases: Map<string, number> | undefined;
  /** The v5 Authentication Method of the CONNECT, if any. */
  authMethod: string | undefined;
  /** The will of this connection (cleared by a normal DISCONNECT). */
  will: Will | undefined;
  /** Inbound QoS 1 PUBLISH ids routed and not yet acknowledged. */
  inboundQoS1: Set<number> | undefined;
  /** A v5 re-authentication (AUTH 0x19) is in progress. */
  reauthenticating: boolean;
}

/** An outbound QoS 1/2 message sent and not completed (owned by `publish-outbound.ts`). */
export interface InflightMessage {
  message: RoutedMessage;
  qos: 1 | 2;
  retain: boolean;
  subscriptionIds: readonly number[];
  /** The shared subscription group it came through, if any (handed to another member if this session ends). */
  shareGroup?: string;
  /** `publish`: waiting for PUBACK/PUBREC; `pubrel`: PUBREL sent, waiting for PUBCOMP. */
  phase: 'publish' | 'pubrel';
  /** Owed a resend on this connection, held back by the client's Receive Maximum. */
  awaitingResend?: boolean;
  /**
   * In `pubrel` phase with its PUBLISH sent on an earlier connection: it takes none of this
   * connection's send quota, which counts only PUBLISH packets sent on it (MQTT 5.0 section 4.9).
   */
  outsideQuota?: boolean;
}

/** A message waiting for the window or for the client (owned by `publish-outbound.ts`). */
export interface QueuedMessage {
  message: RoutedMessage;
  qos: QoS;
  retain: boolean;
  subscriptionIds: readonly number[];
  /** The shared subscription group it came through, if any. */
  shareGroup?: string;
  /** Bytes counted against `maxQueuedBytes` (`keptSize` in queue.ts), set when queued. */
  size: number;
}

/** A SUBSCRIBE waiting for the register (owned by `subscribe.ts`). */
export interface PendingSubscribe {
  /** SUBACK codes per filter; undefined where the register's answer is awaited. */
  codes: (number | undefined)[];
  /** For each entry of the `subscribe` action, its index in `codes`. */
  slots: number[];
  entries: SubscribeEntry[];
  subscriptionId: number | undefined;
}

/** An UNSUBSCRIBE waiting for the register (owned by `subscribe.ts`). */
export interface PendingUnsubscribe {
  codes: (number | undefined)[];
  slots: number[];
}

/**
 * SUBSCRIBEs or UNSUBSCRIBEs waiting for the register, by packet id. When a connection ends its
 * operations become orphans: the register still answers them, in the order asked (the runtime
 * serialises a session's register writes), and those answers are ignored. So a new connection
 * may reuse the packet id at once, and a late answer never lands on the new operation.
 */
export class PendingOperations<T> {
  /** Made by the first operation: a session that is idle between them holds no Map. */
  private byId: Map<number, { value: T; orphan: boolean }[]> | undefined;

  /** True when the current connection has an operation waiting with this id. */
  inUse(packetId: number): boolean {
    return this.byId?.get(packetId)?.some((p) => !p.orphan) ?? false;
  }

  add(packetId: number, value: T): void {
    const byId = (this.byId ??= new Map());
    const list = byId.get(packetId);
    if (list) list.push({ value, orphan: false });
    else byId.set(packetId, [{ value, orphan: false }]);
  }

  /** The oldest operation with this id, removed; undefined when none or when it was orphaned. */
  take(packetId: number): T | undefined {
    const list = this.byId?.get(packetId);
    if (list === undefined) return undefined;
    const first = list.shift();
    if (list.length === 0) this.byId!.delete(packetId);
    if (this.byId!.size === 0) this.byId = undefined;
    return first && !first.orphan ? first.value : undefined;
  }

  /** The connection ended: keep the slots (answers are still due) but never act on them. */
  orphanAll(): void {
    if (this.byId === undefined) return;
    for (const list of this.byId.values()) for (const p of list) p.orphan = true;
  }

  clear(): void {
    this.byId = undefined;
  }
}

/** All the state of one session. */
export class SessionData {
  state: SessionState = SessionState.AwaitingConnect;
  /** Protocol level of the current or last connection. */
  version: ProtocolVersion = 4;
  /** The attached connection (Connected/Authenticating only). */
  conn: Connection | undefined;
  /** Session Expiry Interval in effect, seconds; 0xFFFFFFFF = never. */
  sessionExpiry = 0;
  /**
   * The Session Expiry Interval the client asked for in the current connection's CONNECT (v5;
   * absent = 0), before `maxSessionExpiryInterval` capped it. A DISCONNECT raising it from 0 is
   * a protocol error (MQTT 5.0 section 3.14.2.2.2); a server cap must not make it one.
   */
  connectSessionExpiry = 0;
  /** When an offline session ends (ms); undefined = never or not offline. */
  sessionEndsAt: number | undefined;
  /** A will waiting for its delay while offline, and when it goes (ms). */
  pendingWill: { will: Will; at: number } | undefined;

  /**
   * Outbound in-flight messages by packet id, in the order they were first sent. Made by the
   * first QoS 1/2 delivery and kept (see `publish-outbound.ts`): a session that only ever gets
   * QoS 0 carries no empty Map (~210 bytes), and one that gets QoS 1/2 does not make a Map per
   * message when its window empties after each.
   */
  inflight: Map<number, InflightMessage> | undefined;
  /** Changed only through queue.ts, which keeps `queuedBytes` its exact sum. */
  readonly queue: QueuedMessage[] = [];
  /** Bytes of the messages in `queue` (the sum of their `size`), against `maxQueuedBytes`. */
  queuedBytes = 0;
  /** How many `inflight` entries are still owed their resend on this connection. */
  awaitingResend = 0;
  /** How many `inflight` entries are `outsideQuota` (PUBRELs resent on this connection). */
  releasesOutsideQuota = 0;
  /** Next outbound packet id to try (1..65535) [MQTT-2.3.1-1]. */
  nextPacketId = 1;

  /**
   * Inbound QoS 2 ids: `routing` until completeRoute, then `received` until PUBREL [MQTT-4.3.3-*].
   * Made by the first QoS 2 PUBLISH (most sessions never receive one).
   */
  inboundQoS2: Map<number, 'routing' | 'received'> | undefined;
  readonly pendingSubscribes = new PendingOperations<PendingSubscribe>();
  readonly pendingUnsubscribes = new PendingOperations<PendingUnsubscribe>();

  /** Enhanced authentication in progress (Authenticating): the accepted CONNECT to finish once it succeeds. */
  authenticating: { accepted: AcceptedConnect; sessionPresent: boolean } | undefined;
  /** True once a CONNECT was accepted: the session exists (for Session Present). */
  established = false;

  /** Messages dropped, by cause: made by the first drop (or stats read), as most sessions drop none. */
  get dropped(): Record<DropCause, number> {
    return (this.droppedByCause ??= { 'queue-full': 0, expired: 0, 'too-large': 0, 'offline-qos0': 0, 'session-ended': 0 });
  }
  private droppedByCause: Record<DropCause, number> | undefined;
  sent = 0;
  received = 0;

  constructor(
    readonly config: SessionConfig,
    readonly identity: SessionIdentity,
  ) {}

  /** Inbound QoS 1/2 PUBLISH not yet acknowledged (counted against our Receive Maximum). */
  get inboundPending(): number {
    return (this.conn?.inboundQoS1?.size ?? 0) + (this.inboundQoS2?.size ?? 0);
  }

  /** Discards everything a Clean Start / Clean Session drops [MQTT-3.1.2-4 (5.0), MQTT-3.1.2-6 (3.1.1)]. */
  discardState(): void {
    this.inflight = undefined;
    this.awaitingResend = 0;
    this.releasesOutsideQuota = 0;
    clearQueue(this);
    this.inboundQoS2 = undefined;
    this.pendingSubscribes.clear();
    this.pendingUnsubscribes.clear();
    this.nextPacketId = 1;
  }
}
