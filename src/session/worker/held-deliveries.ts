/**
 * The QoS 0 deliveries a session thread holds back while its client's socket is behind
 * (session-host.ts), bounded like the session's queue: `maxQueued` messages and
 * `maxQueuedBytes` bytes, counted and copied as the queue counts and copies what it keeps
 * (`keptSize`, `keptMessage` in core/queue.ts). All are QoS 0, so at the bound the policy's
 * first choice applies: the arriving one is dropped.
 *
 * Invariant: `bytes` is the sum of the sizes of the held entries; only `hold` and `take` change
 * them. The host drops the whole object when it empties or its connection goes.
 */
import type { DeliveryInfo, RoutedMessage, SessionConfig } from '../core/api.js';
import { keptMessage, keptSize } from '../core/queue.js';

interface Held {
  message: RoutedMessage;
  info: DeliveryInfo;
  size: number;
}

export class HeldDeliveries {
  private readonly items: Held[] = [];
  private heldBytes = 0;

  constructor(private readonly config: Pick<SessionConfig, 'maxQueued' | 'maxQueuedBytes'>) {}

  /** Messages held. */
  get length(): number {
    return this.items.length;
  }

  /** Their bytes, as counted against `maxQueuedBytes`. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Holds one delivery; false when it does not fit (the caller counts the drop). */
  hold(message: RoutedMessage, info: DeliveryInfo): boolean {
    // The count first: at that bound (a flooded slow client) the drop costs no sizing.
    if (this.items.length >= this.config.maxQueued) return false;
    const size = keptSize(message);
    if (this.heldBytes + size > this.config.maxQueuedBytes) return false;
    this.items.push({ message: keptMessage(message), info, size });
    this.heldBytes += size;
    return true;
  }

  /** The oldest delivery held, removed; undefined when none. */
  take(): { message: RoutedMessage; info: DeliveryInfo } | undefined {
    const held = this.items.shift();
    if (held !== undefined) this.heldBytes -= held.size;
    return held;
  }
}
