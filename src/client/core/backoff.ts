/**
 * Reconnect delay: exponential backoff with jitter, from an injected random source so tests
 * are deterministic.
 */

export interface BackoffOptions {
  /** First delay in ms (MQTT.js `reconnectPeriod`); 0 turns reconnecting off. */
  reconnectPeriod: number;
  /** Largest delay in ms. */
  maxReconnectPeriod: number;
  /** Fraction 0..1 of the delay that is random: delay = base × (1 − jitter × random()). */
  reconnectJitter: number;
}

/**
 * Delay before reconnect attempt number `attempt` (0 for the first retry after a loss):
 * `min(max, period × 2^attempt)`, then up to `jitter` of it taken away at random so that many
 * clients cut at once do not come back in lockstep.
 */
export function reconnectDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const base = Math.min(options.maxReconnectPeriod, options.reconnectPeriod * 2 ** Math.min(attempt, 30));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(base * (1 - options.reconnectJitter * r));
}
