/**
 * Keep alive: a connection that sends nothing for one and a half times its Keep Alive is
 * closed [MQTT-3.1.2-24 (3.1.1); MQTT-3.1.2-22 (5.0)]. Pure arithmetic on the runtime's clock.
 */
import type { Connection } from './session-data.js';

/** When the connection is overdue (ms), or undefined when keep alive is off (0). */
export function keepAliveDeadline(conn: Connection): number | undefined {
  if (conn.keepAlive === 0) return undefined;
  return conn.lastPacketAt + conn.keepAlive * 1500;
}

/** True when `now` is at or past the deadline. */
export function keepAliveExpired(conn: Connection, now: number): boolean {
  const deadline = keepAliveDeadline(conn);
  return deadline !== undefined && now >= deadline;
}
