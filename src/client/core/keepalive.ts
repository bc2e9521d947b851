/**
 * Liveness of one connection, on the caller's clock (haka-mqtt's periods plus rumqtt's
 * half-open rule). Pure: it only compares marks with `now`.
 *
 * - Send-idle ping: `keepalive` seconds without writing anything.
 * - Recv-idle ping: `recvIdlePingPeriod` seconds without receiving anything.
 * - At most one PINGREQ outstanding; an overdue ping goes out as soon as the PINGRESP arrives.
 * - A write is no proof of life: the connection is given up when a PINGREQ stays unanswered
 *   for `pingTimeout` seconds or nothing arrives for `recvIdleAbortPeriod` seconds.
 */

/** The periods, in seconds; 0 disables one. */
export interface KeepalivePeriods {
  keepalive: number;
  recvIdlePingPeriod: number;
  recvIdleAbortPeriod: number;
  pingTimeout: number;
}

/** The periods other than `keepalive`: each follows the keepalive in effect unless the caller set it. */
export type DerivedPeriod = 'recvIdlePingPeriod' | 'recvIdleAbortPeriod' | 'pingTimeout';
export const DERIVED_PERIODS: readonly DerivedPeriod[] = ['recvIdlePingPeriod', 'recvIdleAbortPeriod', 'pingTimeout'];

/**
 * The periods for `keepalive` seconds: the ones in `given` as they are, the others derived from
 * it (recv-idle ping after `keepalive`, abort after 1.5 × `keepalive`, PINGRESP within
 * `keepalive`, at least 1 s). Used for the client's own keepalive and again when the server's
 * Keep Alive replaces it [MQTT-3.2.2-21], so a period the caller left alone fits the keepalive
 * actually in use.
 */
export function periodsFor(keepalive: number, given: Partial<Pick<KeepalivePeriods, DerivedPeriod>>): KeepalivePeriods {
  return {
    keepalive,
    recvIdlePingPeriod: given.recvIdlePingPeriod ?? keepalive,
    recvIdleAbortPeriod: given.recvIdleAbortPeriod ?? keepalive * 1.5,
    pingTimeout: given.pingTimeout ?? Math.max(1, keepalive),
  };
}

/** What a check found due. */
export type KeepaliveDue = 'ping' | 'no-pingresp' | 'recv-idle' | undefined;

export class KeepaliveTimer {
  private lastSend = 0;
  private lastRecv = 0;
  private pingSentAt: number | undefined;

  private periods: KeepalivePeriods;

  constructor(periods: KeepalivePeriods) {
    this.periods = pick(periods);
  }

  /** Periods in effect (the server's Keep Alive may replace ours [MQTT-3.2.2-21]). */
  get current(): Readonly<KeepalivePeriods> {
    return this.periods;
  }

  configure(periods: KeepalivePeriods): void {
    this.periods = pick(periods);
  }

  /** A new connection starts with nothing outstanding and a fresh receive mark. */
  reset(now: number): void {
    this.lastRecv = now;
    this.pingSentAt = undefined;
  }

  sent(now: number): void {
    this.lastSend = now;
  }

  received(now: number): void {
    this.lastRecv = now;
  }

  pingSent(now: number): void {
    this.pingSentAt = now;
  }

  pingAnswered(): void {
    this.pingSentAt = undefined;
  }

  /** What is due at `now`: an abort first, else a ping. */
  due(now: number): KeepaliveDue {
    const p = this.periods;
    if (this.pingSentAt !== undefined && p.pingTimeout > 0 && now >= this.pingSentAt + p.pingTimeout * 1000) return 'no-pingresp';
    if (p.recvIdleAbortPeriod > 0 && now >= this.lastRecv + p.recvIdleAbortPeriod * 1000) return 'recv-idle';
    if (this.pingSentAt !== undefined) return undefined;
    const sendIdle = p.keepalive > 0 && now >= this.lastSend + p.keepalive * 1000;
    const recvIdle = p.recvIdlePingPeriod > 0 && now >= this.lastRecv + p.recvIdlePingPeriod * 1000;
    return sendIdle || recvIdle ? 'ping' : undefined;
  }

  /** The earliest time something can become due, or undefined. */
  deadline(): number | undefined {
    const p = this.periods;
    const candidates: number[] = [];
    if (this.pingSentAt !== undefined) {
      if (p.pingTimeout > 0) candidates.push(this.pingSentAt + p.pingTimeout * 1000);
    } else {
      if (p.keepalive > 0) candidates.push(this.lastSend + p.keepalive * 1000);
      if (p.recvIdlePingPeriod > 0) candidates.push(this.lastRecv + p.recvIdlePingPeriod * 1000);
    }
    if (p.recvIdleAbortPeriod > 0) candidates.push(this.lastRecv + p.recvIdleAbortPeriod * 1000);
    return candidates.length > 0 ? Math.min(...candidates) : undefined;
  }
}

function pick(p: KeepalivePeriods): KeepalivePeriods {
  return { keepalive: p.keepalive, recvIdlePingPeriod: p.recvIdlePingPeriod, recvIdleAbortPeriod: p.recvIdleAbortPeriod, pingTimeout: p.pingTimeout };
}
