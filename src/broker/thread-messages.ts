/**
 * Every message that crosses a thread boundary in the broker, typed once.
 *
 * Four kinds of link:
 * - a session port (a MessageChannel per session, main ↔ the session's worker): socket bytes
 *   to the worker, connection lifecycle, retained-store updates and queries;
 * - a thread link (one MessageChannel per worker thread, worker → main): the bytes for every
 *   socket of the thread's sessions, one {@link ThreadOutBatch} per event-loop turn. Main reads
 *   a thread's link empty before it handles any message or close of a session port of that
 *   thread, so nothing a session sent over its link is overtaken by what it sent after;
 * - a thread mailbox (a MessagePort pair per sending and receiving thread, the receiving end
 *   handed over through main as a {@link MailboxOffer}): batches of routed messages for
 *   sessions on that thread;
 * - the piscina task (its argument, {@link SessionTask}) that starts a session.
 */
import type { MessagePort } from 'node:worker_threads';
import type { RoutedMessage } from '../session/core/api.js';
import type { SessionId } from '../register/types.js';

/**
 * The piscina task argument: one per session, pending for the session's whole life. The task
 * answers {@link StartedMessage} at once and touches nothing shared until main sends its first
 * {@link AttachMessage}; a {@link CancelMessage} instead ends it untouched (main sends one when
 * piscina refused the task, which piscina 5.3 may still run later).
 */
export interface SessionTask {
  readonly sessionId: SessionId;
  /** The client id the session is bound to (the assigned one for an empty CONNECT client id). */
  readonly clientId: string;
  /** The session's end of its port; also in the task's transferList. */
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
  readonly relayBufferBytes: number;
  readonly logLevel: string;
}

// ---- main → session port ----

/** Hand a (new or taking-over) connection to the session; `bytes` start with its CONNECT. */
export interface AttachMessage {
  t: 'attach';
  connection: number;
  bytes: Uint8Array[];
  assignedClientId?: string;
  remote: string;
}
/** More bytes from a connection's socket (their buffers transferred). */
export interface InMessage {
  t: 'in';
  connection: number;
  chunks: Uint8Array[];
}
/** The socket closed or failed (not at the session's request). */
export interface LostMessage {
  t: 'lost';
  connection: number;
  cause: string;
}
/** The socket flushed `bytes` more of what the session sent. */
export interface DrainedMessage {
  t: 'drained';
  connection: number;
  bytes: number;
}
/** The answer to a {@link RetainedQueryMessage}. */
export interface RetainedAnswerMessage {
  t: 'retained';
  request: number;
  messages: RoutedMessage[];
}
/** Main agreed the session may end (no connection was attached since it asked). */
export interface EndMessage {
  t: 'end';
}
/** The broker is closing: end the session now. */
export interface ShutdownMessage {
  t: 'shutdown';
}
/** The session's task was refused by the pool after all: end at once, do nothing. */
export interface CancelMessage {
  t: 'cancel';
}
/** Test hook: make this worker thread exit, as a crash would. */
export interface CrashMessage {
  t: 'crash';
}

export type ToSession =
  | AttachMessage
  | InMessage
  | LostMessage
  | DrainedMessage
  | RetainedAnswerMessage
  | EndMessage
  | ShutdownMessage
  | CancelMessage
  | CrashMessage;

// ---- session port → main ----

/** The task runs on `threadId` (and has placed itself in the session→thread table). */
export interface StartedMessage {
  t: 'started';
  threadId: number;
  /** The thread's link to main (main's end, transferred), with the first session of a thread. */
  link?: MessagePort;
}
/** Bytes for a connection's socket (their buffers transferred); `close` after writing them. */
export interface OutMessage {
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
  topic: string;
  message?: RoutedMessage;
}
/** Which retained messages match `filter`? */
export interface RetainedQueryMessage {
  t: 'retained?';
  request: number;
  filter: string;
}
/** The session is over as far as the core knows; `lastConnection` is the last one it saw. */
export interface EndingMessage {
  t: 'ending';
  lastConnection: number;
}

export type FromSession = StartedMessage | RetainMessage | RetainedQueryMessage | EndingMessage;

// ---- thread link → main ----

/** Everything one worker thread's sessions wrote to their sockets in one event-loop turn. */
export interface ThreadOutBatch {
  t: 'outs';
  outs: OutMessage[];
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

export type ThreadLinkMessage = ThreadOutBatch | MailboxOffer;

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
