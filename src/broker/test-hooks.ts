/**
 * Hooks for tests only; not part of the public API (not exported from the package index).
 */
import {
  kAcceptOnly,
  kCrashSessionThread,
  kDropAccepted,
  kPendingCrashWills,
  kRelayStateOf,
  kSessionThreadOf,
  kSessionThreads,
  kSocketOwnerOf,
  launchBroker,
  type Broker,
  type BrokerInternals,
} from './broker.js';
import type { BrokerOptions } from './options.js';

export type { HoldItem, ThreadItem } from './thread-gate.js';

/** How main relays one client's socket. */
export interface RelayState {
  /** Main stopped reading the socket (`socket.isPaused()`). */
  paused: boolean;
  /** Bytes relayed to the session's thread (or waiting to be) and not consumed there yet. */
  unconsumed: number;
}

interface Hooks {
  [kCrashSessionThread](clientId: string, how: 'exit' | 'throw'): number;
  [kSessionThreadOf](clientId: string): number;
  [kPendingCrashWills](): number;
  [kRelayStateOf](clientId: string): RelayState | undefined;
  [kSocketOwnerOf](clientId: string): 'session thread' | 'main' | undefined;
  [kSessionThreads](): SessionThreadStatus[];
  [kAcceptOnly](ordinal: number): Promise<void>;
  [kDropAccepted](ordinal: number, local: number): void;
}

/** One session worker thread as main sees it. */
export interface SessionThreadStatus {
  /** Its `threadId`; 0 until it said `ready`. */
  readonly threadId: number;
  /** Whether it said `ready` (loaded, register attached, link open). */
  readonly ready: boolean;
  /** Sessions main placed on it. */
  readonly sessions: number;
}

/** The broker's session worker threads (started and not gone), in start order. */
export function sessionThreads(broker: Broker): SessionThreadStatus[] {
  return (broker as unknown as Hooks)[kSessionThreads]();
}

/**
 * `startBroker`, with its session threads running `threadEntry` (a module and its export,
 * called with each thread's host task) instead of the real host: how tests make a thread fail
 * before it is ready. `created` gets the broker before it listens (to close it while starting).
 * `listensOn` picks the threads (by start ordinal) that accept at first; `hold` sees every item a
 * thread sends main before main handles it, and holds it (and that thread's later ones) while a
 * promise it returns is pending (broker/thread-gate.ts).
 */
export function startBrokerWith(options: BrokerOptions, internals: BrokerInternals): Promise<Broker> {
  return launchBroker(options, internals);
}

/**
 * Who holds `clientId`'s newest open connection's socket: its session thread (handed off) or
 * main (still reading the CONNECT, or relayed); undefined when it has no open connection.
 */
export function socketOwnerOf(broker: Broker, clientId: string): 'session thread' | 'main' | undefined {
  return (broker as unknown as Hooks)[kSocketOwnerOf](clientId);
}

/**
 * Makes the worker thread that hosts `clientId`'s session die, as a crash would: by
 * `process.exit` (default) or by an uncaught exception (`'throw'`, which Node reports as the
 * worker's 'error' before its 'exit'). Returns that thread's id.
 */
export function crashSessionThread(broker: Broker, clientId: string, how: 'exit' | 'throw' = 'exit'): number {
  return (broker as unknown as Hooks)[kCrashSessionThread](clientId, how);
}

/** The thread id hosting `clientId`'s session (0 when there is none). */
export function sessionThreadOf(broker: Broker, clientId: string): number {
  return (broker as unknown as Hooks)[kSessionThreadOf](clientId);
}

/** Wills of dead threads' sessions that wait for their Will Delay Interval. */
export function pendingCrashWills(broker: Broker): number {
  return (broker as unknown as Hooks)[kPendingCrashWills]();
}

/** How main relays `clientId`'s newest connection (undefined when it has none). */
export function relayStateOf(broker: Broker, clientId: string): RelayState | undefined {
  return (broker as unknown as Hooks)[kRelayStateOf](clientId);
}

/**
 * With `hold` given to {@link startBrokerWith}: only session thread `ordinal` (start order)
 * accepts connections from now on; resolves once it listens and every other thread has stopped.
 * Tests pick the thread that accepts each connection with it. Called from inside `hold` (before
 * main handles the item), the other threads stop before they read what main answers that item.
 */
export function acceptOnly(broker: Broker, ordinal: number): Promise<void> {
  return (broker as unknown as Hooks)[kAcceptOnly](ordinal);
}

/**
 * Fault injection: session thread `ordinal` closes the connection it accepted as `local` (its
 * `accepted` item's number) before main's answer reaches it, as if main had answered twice.
 */
export function dropAccepted(broker: Broker, ordinal: number, local: number): void {
  (broker as unknown as Hooks)[kDropAccepted](ordinal, local);
}
