/**
 * Reconnect delay: exponential backoff with jitter, from an injected random source so tests
 * are deterministic; and the one rule for when the backoff starts again from `reconnectPeriod`.
 *
 * The attempt count grows with every failed attempt and with every connection that did not
 * stay up `minConnectedTimeToResetBackoff` ms after its CONNACK, however it ended: the socket
 * closed (a 3.1.1 server ends a taken-over connection that way, as do auth plugins, ACL kicks
 * and overloaded servers that accept and then drop), a keepalive failure, a server DISCONNECT,
 * a protocol violation. A CONNACK alone proves little: a server that accepts and at once drops
 * the client would otherwise see a CONNECT every `reconnectPeriod` for ever, and two clients
 * with one client id would throw each other off that often. Only a connection that lived the
 * minimum time resets the count (AWS IoT device SDK's `minConnectedTimeToResetReconnectDelayMs`,
 * the AWS iOS SDK's `minimumConnectionTimeInterval`; paho.mqtt.golang added a back-off for
 * connections lost right after connecting for the same reason).
 *
 * The default minimum is `maxReconnectPeriod`: the smallest value for which no server
 * behaviour makes a client CONNECT more often than once per `maxReconnectPeriod` (before
 * jitter) once its backoff has grown. A connection lost sooner grows the delay until it
 * reaches `maxReconnectPeriod`; one lost later has itself lasted `maxReconnectPeriod`. With a
 * shorter minimum, a server that drops every connection just after that minimum gets a CONNECT
 * every minimum + `reconnectPeriod`. Not resetting is not a penalty: the count carries on
 * from where it stood before the CONNACK, so a client with a healthy history still reconnects
 * after `reconnectPeriod` the first time, and only repeated short connections slow it down.
 */

export interface BackoffOptions {
  /** First delay in ms (MQTT.js `reconnectPeriod`); 0 turns reconnecting off. */
  reconnectPeriod: number;
  /** Largest delay in ms. */
  maxReconnectPeriod: number;
  /** Fraction 0..1 of the delay that is random: delay = base × (1 − jitter × random()). */
  reconnectJitter: number;
  /**
   * Ms a connection must stay up after its CONNACK for its loss to reset the backoff; 0: every
   * CONNACK resets it. Absent: `maxReconnectPeriod` (see above).
   */
  minConnectedTimeToResetBackoff?: number | undefined;
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

/** Ms a connection must stay up after its CONNACK for its loss to reset the backoff. */
export function minConnectedTime(options: BackoffOptions): number {
  return options.minConnectedTimeToResetBackoff ?? options.maxReconnectPeriod;
}

/**
 * True when a connection that was up `connectedFor` ms after its CONNACK, whatever ended it,
 * resets the attempt count (see above); otherwise it counts as one more failed attempt.
 */
export function resetsBackoff(connectedFor: number, options: BackoffOptions): boolean {
  return connectedFor >= minConnectedTime(options);
}
