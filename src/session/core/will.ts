/**
 * The will message: taken from the CONNECT, discarded by a normal DISCONNECT, published when
 * the connection ends any other way [MQTT-3.1.2-8,10 (3.1.1); MQTT-3.1.2-8,10 and 3.14.4-3
 * (5.0)], after the v5 Will Delay Interval or at session end, whichever comes first, and never
 * if the session is resumed before the delay passes [MQTT-3.1.3-9].
 */
import type { IConnectPacket } from 'mqtt-packet';
import type { RoutedMessage } from './api.js';
import { messageProperties, payloadBytes, retainedCopy, setExpiry } from './message.js';
import type { Out } from './out.js';
import type { SessionData, Will } from './session-data.js';

/** The will of a CONNECT (already validated by `connect.ts`). */
export function willFromConnect(connect: IConnectPacket): Will | undefined {
  const w = connect.will;
  if (!w) return undefined;
  const message: RoutedMessage = {
    topic: w.topic,
    payload: payloadBytes(w.payload),
    qos: w.qos ?? 0,
    retain: w.retain ?? false,
  };
  const props = messageProperties(w.properties);
  if (props) message.properties = props;
  const will: Will = { message, delaySeconds: w.properties?.willDelayInterval ?? 0 };
  // The will's Message Expiry Interval runs from when it is published.
  const expiry = w.properties?.messageExpiryInterval;
  if (expiry !== undefined) will.expirySeconds = expiry;
  return will;
}

/** Routes (and, with RETAIN, stores) a will now, as if the client had published it. */
export function publishWill(s: SessionData, out: Out, will: Will, now: number): void {
  const message: RoutedMessage = { ...will.message };
  // Its Message Expiry Interval, 0 included, runs from now [MQTT-3.3.2-5,6].
  setExpiry(message, will.expirySeconds, now);
  // Without retain support (possible for a 3.1.1 will only: v5 is refused at CONNECT) it goes as a plain message.
  if (!s.config.retainAvailable) message.retain = false;
  if (message.retain) {
    const retained = retainedCopy(message);
    out.act({ kind: 'retain', topic: message.topic, ...(retained ? { message: retained } : {}) });
  }
  out.act({ kind: 'route', message, origin: 'will' });
}

/**
 * The connection ended without a normal DISCONNECT. `sessionEnds`: the session ends now too, so
 * a delayed will goes at once. Otherwise a v5 will with a delay waits in `pendingWill`.
 */
export function connectionEndedWithWill(s: SessionData, out: Out, will: Will | undefined, now: number, sessionEnds: boolean): void {
  if (!will) return;
  if (will.delaySeconds === 0 || sessionEnds) {
    publishWill(s, out, will, now);
    return;
  }
  s.pendingWill = { will, at: now + will.delaySeconds * 1000 };
}

/** A delayed will whose time has come (or whose session is ending) goes now. */
export function firePendingWill(s: SessionData, out: Out, now: number, force: boolean): void {
  const pending = s.pendingWill;
  if (!pending || (!force && pending.at > now)) return;
  s.pendingWill = undefined;
  publishWill(s, out, pending.will, now);
}

/** A new connection resumes the session before the delay passed: the will is not sent [MQTT-3.1.3-9]. */
export function cancelPendingWill(s: SessionData): void {
  s.pendingWill = undefined;
}
