/**
 * Wills of the connections of a dead session thread, which main publishes in the thread's place
 * (docs/architecture.md, "A worker thread dies"). A will goes after the v5 Will Delay Interval or
 * when the session would end (its Session Expiry Interval), whichever comes first, and not at all
 * if a new connection for the same client id is opened before then [MQTT-3.1.2-8 (5.0),
 * MQTT-3.1.3-9 (5.0)]. 3.1.1 wills, and v5 wills without a delay, go at once.
 */
import type { IConnectPacket } from 'mqtt-packet';
import type { RoutedMessage } from '../session/core/api.js';
import { messageProperties, payloadBytes, setExpiry } from '../session/core/message.js';

type ConnectWill = NonNullable<IConnectPacket['will']>;

/** setTimeout's longest delay; a longer wait is re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Seconds to wait before publishing the will of `connect` whose session's thread died:
 * min(Will Delay Interval, Session Expiry Interval) for v5 (the session ends at its expiry and
 * its will goes then [MQTT-3.1.3-9 (5.0)]), 0 for 3.1.1. `maxSessionExpiry` caps the client's
 * Session Expiry Interval as the session core does.
 */
export function crashWillDelay(connect: IConnectPacket, maxSessionExpiry: number): number {
  if (connect.protocolVersion !== 5 || !connect.will) return 0;
  const willDelay = connect.will.properties?.willDelayInterval ?? 0;
  const sessionExpiry = Math.min(connect.properties?.sessionExpiryInterval ?? 0, maxSessionExpiry);
  return Math.min(willDelay, sessionExpiry);
}

/** The will as a routed message; its Message Expiry Interval (0 included: `setExpiry`) runs from `now`, when it is published. */
export function willMessage(will: ConnectWill, now: number): RoutedMessage {
  const message: RoutedMessage = {
    topic: will.topic,
    payload: payloadBytes(will.payload as Buffer | string),
    qos: will.qos ?? 0,
    retain: will.retain ?? false,
  };
  const properties = messageProperties(will.properties as never);
  if (properties) message.properties = properties;
  setExpiry(message, will.properties?.messageExpiryInterval, now);
  return message;
}

interface PendingWill {
  will: ConnectWill;
  /** When it is due (ms since the epoch). */
  at: number;
  timer: NodeJS.Timeout;
}

/** Crash wills waiting for their delay, by client id; each with its own timer. */
export class CrashWills {
  private readonly pending = new Map<string, PendingWill[]>();

  /** @param publish routes (and stores, if retained) a will; called on main. */
  constructor(private readonly publish: (message: RoutedMessage) => void) {}

  /** Wills waiting now (for tests and stats). */
  get size(): number {
    let n = 0;
    for (const list of this.pending.values()) n += list.length;
    return n;
  }

  /** Publishes the will of `connect` now, or after {@link crashWillDelay}. */
  add(clientId: string, connect: IConnectPacket, now: number, maxSessionExpiry: number): void {
    const will = connect.will;
    if (!will) return;
    const delay = crashWillDelay(connect, maxSessionExpiry);
    if (delay === 0) return this.publish(willMessage(will, now));
    const entry: PendingWill = { will, at: now + delay * 1000, timer: undefined as unknown as NodeJS.Timeout };
    const list = this.pending.get(clientId) ?? [];
    list.push(entry);
    this.pending.set(clientId, list);
    this.arm(clientId, entry);
  }

  /**
   * A new connection for `clientId` was opened before its wills' delay passed: they are not
   * sent [MQTT-3.1.2-8 (5.0)]. Returns how many were dropped.
   */
  cancel(clientId: string): number {
    const list = this.pending.get(clientId);
    if (list === undefined) return 0;
    this.pending.delete(clientId);
    for (const entry of list) clearTimeout(entry.timer);
    return list.length;
  }

  /** The broker closes: every session ends now, so every waiting will goes now; no timer is left. */
  flush(now: number): void {
    const all = [...this.pending.values()].flat();
    this.pending.clear();
    for (const entry of all) {
      clearTimeout(entry.timer);
      this.publish(willMessage(entry.will, now));
    }
  }

  private arm(clientId: string, entry: PendingWill): void {
    entry.timer = setTimeout(() => {
      const now = Date.now();
      if (now < entry.at) return this.arm(clientId, entry);
      const list = this.pending.get(clientId);
      const index = list?.indexOf(entry) ?? -1;
      if (index < 0) return;
      list!.splice(index, 1);
      if (list!.length === 0) this.pending.delete(clientId);
      this.publish(willMessage(entry.will, now));
    }, Math.min(MAX_TIMER_MS, Math.max(0, entry.at - Date.now())));
  }
}
