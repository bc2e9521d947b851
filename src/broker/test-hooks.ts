/**
 * Hooks for tests only; not part of the public API (not exported from the package index).
 */
import { kCrashSessionThread, kPendingCrashWills, kRelayStateOf, kSessionThreadOf, kSocketOwnerOf, type Broker } from './broker.js';

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
