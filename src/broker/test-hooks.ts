/**
 * Hooks for tests only; not part of the public API (not exported from the package index).
 */
import { kCrashSessionThread, kSessionThreadOf, type Broker } from './broker.js';

interface Hooks {
  [kCrashSessionThread](clientId: string): number;
  [kSessionThreadOf](clientId: string): number;
}

/**
 * Makes the worker thread that hosts `clientId`'s session exit, as a crash would. Returns that
 * thread's id.
 */
export function crashSessionThread(broker: Broker, clientId: string): number {
  return (broker as unknown as Hooks)[kCrashSessionThread](clientId);
}

/** The thread id hosting `clientId`'s session (0 when there is none). */
export function sessionThreadOf(broker: Broker, clientId: string): number {
  return (broker as unknown as Hooks)[kSessionThreadOf](clientId);
}
