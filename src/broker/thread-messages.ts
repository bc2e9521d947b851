/**
 * Every message that crosses a thread boundary in the broker, typed once.
 *
 * Three kinds of link:
 * - a thread link (one MessageChannel per worker thread, both ways): main → thread, the session
 *   starts, socket bytes, connection lifecycle and retained answers of every session of the
 *   thread, one {@link ToThreadBatch} per event-loop turn; thread → main, the socket bytes and
 *   session events of every session of the thread, one {@link FromThreadBatch} per turn. One
 *   ordered port each way, so nothing a session sends is overtaken by what it sends after;
 * - a thread mailbox (a MessagePort pair per sending and receiving thread, the receiving end
 *   handed over through main as a {@link MailboxOffer}): batches of routed messages for
 *   sessions on that thread;
 * - the piscina task (its argument, {@link ThreadTask}) that starts a thread's host: one per
 *   thread, pending for the thread's life, its link in the transferList. A session costs no
 *   task, port or channel of its own: it is a {@link StartMessage} on its thread's link.
 */
import type { MessagePort } from 'node:worker_threads';
import type { RoutedMessage } from '../session/core/api.js';
import type { SessionId } from '../register/types.js';

/** The piscina task argument: one per worker thread, pending until its link closes. */
export interface ThreadTask {
  /** The thread's end of its link; also in the task's transferList. */
  readonly port: MessagePort;
}

/** Per-thread constants, passed to every worker as piscina `workerData`. */
export interface WorkerSetup {
  /** The register's shareable handle (see `register-link.ts`). */
  readonly registerHandle: import("./register-link.js").RegisterLinkHandle;
  /** The session→thread table's buffer (see `session-threads.ts`). */
  readonly sessionThreads: SharedArrayBuffer;
  /** Queued QoS 1/2 messages per session, for backpressure (see `session-backlog.ts`). */
  readonly backlog: SharedArrayBuffer;
  readonly backlogLimits: import('./session-backlog.js').BacklogLimits;
  /** Counters every worker adds to (see `shared-counters.ts`). */
  readonly counters: SharedArrayBuffer;
  /** `SessionConfig` options (plain data, validated on the main thread first). */
  readonly sessionOptions: Record<string, unknown>;
  readonly maxPacketSize: number;
  /** Milliseconds a socket a session thread accepted has to deliver its CONNECT. */
  readonly connectTimeout: number;
  /** The broker-wide bound on sockets awaiting their CONNECT (see `pending-gauge.ts`). */
  readonly maxPendingConnections: number;
  /** The broker-wide bound on the bytes of first packets being read (see `pending-gauge.ts`). */
  readonly maxPendingConnectBytes: number;
  readonly relayBufferBytes: number;
  readonly logLevel: string;
}

// ---- main → thread link, per session ----

/** A new session on this thread; its first attach follows. */
export interface StartMessage {
  t: 'start';
  session: SessionId;
  /** The client id the session is bound to (the assigned one for an empty CONNECT client id). */
  clientId: string;
}
/** Hand a (new or taking-over) connection to the session; `bytes` start with its CONNECT. */
export interface AttachMessage {
  t: 'attach';
  session: SessionId;
  connection: number;
  bytes: Uint8Array[];
  assignedClientId?: string;
  /** The peer's `address:port`, for a relayed connection (a handed-off one's thread reads its own socket's). */
  remote?: string;
  /** The socket itself, as a duplicate fd the session's thread now owns (see `fd-handoff.ts`). */
  fd?: number;
  /**
   * The socket is one this thread accepted and still holds (its {@link AcceptedMessage.local}):
   * the session takes it and the bytes read with its CONNECT from the thread's listener; `bytes` is empty.
   */
  local?: number;
}
/** More bytes from a connection's socket (their buffers transferred). */
export interface InMessage {
  t: 'in';
  session: SessionId;
  connection: number;
  chunks: Uint8Array[];
}
/** The socket closed or failed (not at the session's request). */
export interface LostMessage {
  t: 'lost';
  session: SessionId;
  connection: number;
  cause: string;
}
/** The socket flushed `bytes` more of what the session sent. */
export interface DrainedMessage {
  t: 'drained';
  session: SessionId;
  connection: number;
  bytes: number;
}
/** The answer to a {@link RetainedQueryMessage}. */
export interface RetainedAnswerMessage {
  t: 'retained';
  session: SessionId;
  request: number;
  messages: RoutedMessage[];
}
/** Main agreed the session may end (no connection was attached since it asked). */
export interface EndMessage {
  t: 'end';
  session: SessionId;
}
/** The broker is closing: end the session now. */
export interface ShutdownMessage {
  t: 'shutdown';
  session: SessionId;
}
/** Test hook: make this worker thread die, by `process.exit` or by an uncaught exception. */
export interface CrashMessage {
  t: 'crash';
  session: SessionId;
  how: 'exit' | 'throw';
}

export type ToSession =
  | StartMessage
  | AttachMessage
  | InMessage
  | LostMessage
  | DrainedMessage
  | RetainedAnswerMessage
  | EndMessage
  | ShutdownMessage
  | CrashMessage;

/**
 * A per-session message without its `session` field (the sender adds it): `Omit` applied to
 * each member of the union, so the `t` tags still narrow.
 */
export type WithoutSession<M> = M extends { session: SessionId } ? Omit<M, 'session'> : never;

// ---- main → thread link, for the thread's listener (thread-listener.ts) ----

/** Listen on `fd`, a duplicate of the broker's listening socket this thread now owns. */
export interface ListenMessage {
  t: 'listen';
  fd: number;
  /** The thread's share of the pending-connections and pending-bytes gauges (Int32 words; see `pending-gauge.ts`). */
  pending: SharedArrayBuffer;
}
/** Stop listening, and close the connections main has not been told about (the broker is closing). */
export interface UnlistenMessage {
  t: 'unlisten';
}
/**
 * The accepted connection `local` belongs to a session on another thread: duplicate its fd,
 * close this thread's socket and send both back ({@link ReleasedMessage}) as main connection `connection`.
 */
export interface ReleaseMessage {
  t: 'release';
  local: number;
  connection: number;
}
/** Refuse the accepted connection `local`: write `connack` (main's answer) and close. */
export interface RefuseMessage {
  t: 'refuse';
  local: number;
  connack: Uint8Array;
  /**
   * Main's warn line for this refusal, which names the peer: only the thread can read its
   * address, so it sends it back ({@link RefusedMessage}) before it writes the CONNACK. Absent
   * when main does not log at warn.
   */
  log?: { clientId: string; why: string };
}
/** Close the accepted connection `local` (the broker is closing). */
export interface DropMessage {
  t: 'drop';
  local: number;
}

export type ToListener = ListenMessage | UnlistenMessage | ReleaseMessage | RefuseMessage | DropMessage;

/** Everything main sends one thread in one event-loop turn, in order. */
export interface ToThreadBatch {
  t: 'batch';
  items: (ToSession | ToListener)[];
}

// ---- thread link → main ----

/** The thread's host runs; sent once, first. */
export interface ReadyMessage {
  t: 'ready';
  threadId: number;
}
/** Bytes for a connection's socket (their buffers transferred); `close` after writing them. */
export interface OutMessage {
  t: 'out';
  /** The session the connection is relayed to. */
  session: SessionId;
  connection: number;
  chunks: Uint8Array[];
  /** Bytes of `in` messages the session has consumed since it last said so. */
  consumed: number;
  close?: boolean;
}
/** Store, replace or (no message) delete a retained message. */
export interface RetainMessage {
  t: 'retain';
  session: SessionId;
  topic: string;
  message?: RoutedMessage;
  /** Its number in `CounterWord.retainSeq`, drawn before it was routed. */
  seq: number;
}
/** Which retained messages match `filter`? */
export interface RetainedQueryMessage {
  t: 'retained?';
  session: SessionId;
  request: number;
  filter: string;
  /** `CounterWord.retainSeq` read once the subscription was in the register. */
  seq: number;
}
/** The session is over as far as the core knows; `lastConnection` is the last one it saw. */
export interface EndingMessage {
  t: 'ending';
  session: SessionId;
  lastConnection: number;
}
/** A handed-off connection is closed or closing: the thread will not read or write it again. */
export interface ClosedMessage {
  t: 'closed';
  session: SessionId;
  connection: number;
  cause: string;
}
/** The session has finished on its thread (after `end` or `shutdown`): main may clean up. */
export interface EndedMessage {
  t: 'ended';
  session: SessionId;
}

export type FromSession = OutMessage | RetainMessage | RetainedQueryMessage | EndingMessage | ClosedMessage | EndedMessage;

// ---- thread link → main, from the thread's listener ----

/** The thread opened its duplicate of the listening socket (it closes with the thread from now on). */
export interface ListeningMessage {
  t: 'listening';
}
/**
 * A socket this thread accepted sent a CONNECT: where does it go? Only what main decides with
 * (and keeps) crosses; the socket and its bytes stay on the thread under `local` until main
 * answers with an attach, a {@link ReleaseMessage}, a {@link RefuseMessage} or a {@link DropMessage}.
 */
export interface AcceptedMessage {
  t: 'accepted';
  /** The thread's number for the connection. */
  local: number;
  /** The CONNECT's client id ('' when the client left it to the server). */
  clientId: string;
  protocolVersion: number;
  /** The CONNECT's will as main keeps it for crash wills (`kept-will.ts`), when it has one. */
  will?: import('./kept-will.js').PackedWill;
}
/**
 * The peer of a connection main refused with a {@link RefuseMessage} `log`, for main's warn line;
 * sent before the CONNACK is written. (Not in `accepted`: reading the address is a
 * `getpeername(2)` and a string per connection, for a line that is rare.)
 */
export interface RefusedMessage {
  t: 'refused';
  remote: string;
  clientId: string;
  why: string;
}
/** The answer to a {@link ReleaseMessage}: the socket as a duplicate fd (undefined: it had closed) and its unread bytes. */
export interface ReleasedMessage {
  t: 'released';
  connection: number;
  fd?: number;
  ino?: number;
  bytes: Uint8Array[];
}

export type FromListener = ListeningMessage | AcceptedMessage | ReleasedMessage | RefusedMessage;

/** Whether a thread's item comes from its listener rather than from one of its sessions (one test for main's link and the test gate). */
export function isFromListener(item: FromSession | FromListener): item is FromListener {
  return item.t === 'accepted' || item.t === 'released' || item.t === 'listening' || item.t === 'refused';
}

/** Everything one thread's sessions sent main in one event-loop turn, in order. */
export interface FromThreadBatch {
  t: 'batch';
  items: (FromSession | FromListener)[];
}

/**
 * The receiving end of a new mailbox for thread `to` (transferred): from its sending thread to
 * main over the sender's thread link, then from main to `to` over that thread's link.
 */
export interface MailboxOffer {
  t: 'mailbox';
  to: number;
  port: MessagePort;
}

export type ToThread = ToThreadBatch | MailboxOffer;
export type FromThread = ReadyMessage | FromThreadBatch | MailboxOffer;

// ---- thread mailboxes ----

/** One routed message and every session on the destination thread that receives it. */
export interface MailboxItem {
  message: RoutedMessage;
  /** Flat triples: session id, granted QoS, retainAsPublished (0/1). */
  targets: number[];
  /** Subscription ids per target, only when any target has some (index-aligned with targets / 3). */
  subscriptionIds?: (readonly number[])[];
  /** Share group per target, when any. */
  shareGroups?: (string | undefined)[];
}

/** All messages for one destination thread in one event-loop turn of one sender. */
export interface MailboxBatch {
  items: MailboxItem[];
}
