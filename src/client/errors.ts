/**
 * Typed errors of the Weft client. Every error crosses the thread boundary as
 * {@link SerializedError} and is rebuilt as the same class on the caller's side, so
 * `instanceof` works whichever driver runs the connection.
 */
import { reasonName } from '../protocol/reason-codes.js';

/**
 * What failed when a connection attempt did not reach a CONNACK that accepts us.
 *
 * @example
 * ```ts
 * const retryable: ConnectFailureKind[] = ['refused', 'timeout', 'network'];
 * ```
 */
export type ConnectFailureKind = 'dns' | 'refused' | 'tls' | 'timeout' | 'network' | 'connack' | 'protocol';

/**
 * Base class of every error the client reports.
 *
 * @example
 * ```ts
 * try {
 *   await client.publish('a/b', 'x', { qos: 1 });
 * } catch (err) {
 *   if (err instanceof MqttClientError) console.error(err.name, err.message);
 * }
 * ```
 */
export class MqttClientError extends Error {
  override name = 'MqttClientError';
}

/**
 * A connection attempt failed: `kind` says what failed (DNS lookup, TCP refused, TLS
 * handshake, timeout, other network error, a CONNACK refusal with its `reasonCode`, or
 * `protocol`: the server broke the protocol before accepting us, e.g. a DISCONNECT before
 * CONNACK [MQTT-3.14.0-1]; `reasonCode` is then the fault's, 0x82 Protocol Error ...).
 *
 * @example
 * ```ts
 * try {
 *   await connect('mqtt://127.0.0.1:1', { connectTimeout: 2000 });
 * } catch (err) {
 *   if (err instanceof ConnectError && err.kind === 'refused') console.error('no broker there');
 *   if (err instanceof ConnectError && err.kind === 'connack') console.error('refused, reason', err.reasonCode);
 * }
 * ```
 */
export class ConnectError extends MqttClientError {
  override name = 'ConnectError';
  constructor(
    message: string,
    readonly kind: ConnectFailureKind,
    /**
     * CONNACK return code (3.1.1) or reason code (5.0) for `kind === 'connack'`; for
     * `kind === 'protocol'`, the reason code of the fault (0x82 Protocol Error ...), which an
     * MQTT 5 client sends in its DISCONNECT.
     */
    readonly reasonCode?: number,
    /** The system error code (`ENOTFOUND`, `ECONNREFUSED` ...), when there is one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * The connection was lost after it had been established (network error, keepalive, server DISCONNECT).
 *
 * @example
 * ```ts
 * client.on('offline', (err?: Error) => {
 *   if (err instanceof ConnectionLostError) console.warn('lost:', err.kind); // e.g. 'keepalive'
 * });
 * ```
 */
export class ConnectionLostError extends MqttClientError {
  override name = 'ConnectionLostError';
  constructor(
    message: string,
    /** `network`, `keepalive` (no PINGRESP / receive silence), `server-disconnect`, `protocol` (peer sent bad data). */
    readonly kind: 'network' | 'keepalive' | 'server-disconnect' | 'protocol',
    /** Reason code of a server DISCONNECT, or the one we sent for a protocol error. */
    readonly reasonCode?: number,
  ) {
    super(message);
  }
}

/**
 * The server closed the connection with DISCONNECT 0x8E (Session taken over): another connection
 * with this client id has connected [MQTT-3.1.4-3]. The client ends instead of reconnecting,
 * which would take the session back and throw the other connection off in turn; pending
 * operations reject with this error and subscription iterators throw it. Set
 * `reconnectOnTakeover` to reconnect anyway. `kind` is `server-disconnect`, `reasonCode` 0x8E.
 *
 * @example
 * ```ts
 * const client = await connect(url, { clientId: 'meter-7', protocolVersion: 5 });
 * client.on('end', (err?: Error) => {
 *   if (err instanceof SessionTakenOverError) console.error('meter-7 is running elsewhere:', err.message);
 * });
 * ```
 */
export class SessionTakenOverError extends ConnectionLostError {
  override name = 'SessionTakenOverError';
  constructor(message: string) {
    super(message, 'server-disconnect', 0x8e);
  }
}

/**
 * Every packet identifier from 1 to 65535 is in use ([MQTT-2.3.1-1] in 3.1.1, [MQTT-2.2.1-3] in 5.0).
 *
 * @example
 * ```ts
 * await client.publish('a/b', 'x', { qos: 1 }).catch((err) => {
 *   if (err instanceof PacketIdExhaustedError) console.warn('65,535 QoS 1/2 messages unacknowledged');
 * });
 * ```
 */
export class PacketIdExhaustedError extends MqttClientError {
  override name = 'PacketIdExhaustedError';
  constructor() {
    super('no free packet identifier: all 65535 are in use [MQTT-2.3.1-1]');
  }
}

/**
 * The offline/preflight queue is full and `queueFullBehavior` is `'reject'`.
 *
 * @example
 * ```ts
 * const client = await connect(url, { maxQueuedMessages: 100, queueFullBehavior: 'reject' });
 * await client.publish('a/b', 'x').catch((err) => {
 *   if (err instanceof QueueFullError) console.warn('dropped: 100 messages already wait');
 * });
 * ```
 */
export class QueueFullError extends MqttClientError {
  override name = 'QueueFullError';
}

/**
 * An outgoing packet is larger than the server's Maximum Packet Size [MQTT-3.2.2-15].
 *
 * @example
 * ```ts
 * await client.publish('big', Buffer.alloc(10_000_000)).catch((err) => {
 *   if (err instanceof PacketTooLargeError) console.warn('the server does not take packets that large');
 * });
 * ```
 */
export class PacketTooLargeError extends MqttClientError {
  override name = 'PacketTooLargeError';
}

/**
 * The server acknowledged a PUBLISH, SUBSCRIBE or UNSUBSCRIBE with a failure reason code.
 *
 * @example
 * ```ts
 * // MQTT 5: a PUBACK / PUBREC with a failure code rejects the publish.
 * await client.publish('restricted/x', 'data', { qos: 1 }).catch((err) => {
 *   if (err instanceof ReasonCodeError && err.reasonCode === 0x87) console.warn('not authorized');
 * });
 * ```
 */
export class ReasonCodeError extends MqttClientError {
  override name = 'ReasonCodeError';
  constructor(
    message: string,
    readonly reasonCode: number,
  ) {
    super(`${message}: ${reasonName(reasonCode)}`);
  }
}

/**
 * The client was ended (or ended while the operation was pending), or reconnecting is off.
 *
 * @example
 * ```ts
 * await client.end();
 * await client.publish('a/b', 'late').catch((err) => console.log(err instanceof ClientClosedError)); // true
 * ```
 */
export class ClientClosedError extends MqttClientError {
  override name = 'ClientClosedError';
}

/**
 * A bad argument or option; the message names it.
 *
 * @example
 * ```ts
 * await connect(url, { keepalive: -1 }).catch((err) => {
 *   console.log(err instanceof InvalidArgumentError, err.message); // true 'keepalive: ...'
 * });
 * ```
 */
export class InvalidArgumentError extends MqttClientError {
  override name = 'InvalidArgumentError';
}

/** An error in a form that survives `postMessage`. */
export interface SerializedError {
  name: string;
  message: string;
  kind?: string;
  reasonCode?: number;
  code?: string;
}

/** Turns any error into its cloneable form. */
export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const e = err as Error & { kind?: string; reasonCode?: number; code?: string };
  const out: SerializedError = { name: e.name, message: e.message };
  if (e.kind !== undefined) out.kind = e.kind;
  if (e.reasonCode !== undefined) out.reasonCode = e.reasonCode;
  if (typeof e.code === 'string') out.code = e.code;
  return out;
}

/** Rebuilds the typed error a {@link SerializedError} came from. */
export function deserializeError(s: SerializedError): Error {
  switch (s.name) {
    case 'ConnectError':
      return new ConnectError(s.message, (s.kind ?? 'network') as ConnectFailureKind, s.reasonCode, s.code);
    case 'ConnectionLostError':
      return new ConnectionLostError(s.message, (s.kind ?? 'network') as ConnectionLostError['kind'], s.reasonCode);
    case 'SessionTakenOverError':
      return new SessionTakenOverError(s.message);
    case 'PacketIdExhaustedError':
      return new PacketIdExhaustedError();
    case 'QueueFullError':
      return new QueueFullError(s.message);
    case 'PacketTooLargeError':
      return new PacketTooLargeError(s.message);
    case 'ReasonCodeError': {
      const err = new ReasonCodeError('x', s.reasonCode ?? 0x80);
      err.message = s.message;
      return err;
    }
    case 'ClientClosedError':
      return new ClientClosedError(s.message);
    case 'InvalidArgumentError':
      return new InvalidArgumentError(s.message);
    default: {
      const err = new MqttClientError(s.message);
      err.name = s.name;
      return err;
    }
  }
}
