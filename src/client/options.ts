/**
 * Client options: names follow MQTT.js where the concept is the same, every bound has a
 * default, and a bad value fails at `connect()` with a message naming the option.
 */
import { randomBytes } from 'node:crypto';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { LevelWithSilent, Logger } from 'pino';
import { checkLogLevel } from '../log.js';
import { InvalidArgumentError } from './errors.js';
import type { ConnectProperties, CoreConfig, WillOptions } from './core/types.js';
import { userPropertyListFault, type UserPropertyList } from './core/user-property-list.js';
import { DERIVED_PERIODS, periodsFor, type DerivedPeriod } from './core/keepalive.js';

/**
 * Options of {@link connect}. Times are seconds for keepalive-like periods, ms otherwise.
 *
 * @example
 * ```ts
 * const client = await connect('mqtt://127.0.0.1:1883', {
 *   clientId: 'sensor-1',
 *   protocolVersion: 5,
 *   clean: false,
 *   keepalive: 30,
 *   will: { topic: 'sensors/1/status', payload: 'offline', qos: 1, retain: true },
 *   reconnectPeriod: 1000,
 * });
 * ```
 */
export interface ClientOptions {
  /** Client identifier. Default: `weft_` + 8 random hex digits. */
  clientId?: string;
  /** Clean session (3.1.1) / Clean Start (5.0). Default `true`. */
  clean?: boolean;
  /** Keep Alive in seconds, 0..65535; 0 disables. Default 60. */
  keepalive?: number;
  username?: string;
  password?: string | Buffer;
  will?: WillOptions;
  /** MQTT 5 CONNECT properties (sessionExpiryInterval, receiveMaximum, topicAliasMaximum ...). */
  properties?: ConnectProperties;
  /**
   * MQTT 5: the CONNECT's User Properties in this order, as `[name, value]` pairs (names may
   * repeat and interleave). Not with `properties.userProperties`: both is an
   * `InvalidArgumentError`. The will's go in `will.userPropertyList`.
   */
  userPropertyList?: UserPropertyList;
  /** 4 (MQTT 3.1.1) or 5. Default 4. */
  protocolVersion?: 4 | 5;
  /** First reconnect delay in ms; 0 disables reconnecting. Default 1000. */
  reconnectPeriod?: number;
  /** Largest reconnect delay in ms (exponential backoff). Default 30000. */
  maxReconnectPeriod?: number;
  /** Fraction 0..1 of each delay drawn at random. Default 0.5. */
  reconnectJitter?: number;
  /**
   * Ms a connection must stay up after its CONNACK before losing it resets the reconnect
   * backoff to `reconnectPeriod`. A connection lost sooner, however it ends (socket closed,
   * keepalive failure, server DISCONNECT, protocol violation), counts as one more failed
   * attempt, so a server that accepts and then drops the client at once, or two clients with
   * one client id throwing each other off, see reconnects `reconnectPeriod`, 2×, 4× ... apart up
   * to `maxReconnectPeriod`, not one every `reconnectPeriod`. 0: every CONNACK resets the
   * backoff. Default: `maxReconnectPeriod` (30000 unless set), the smallest value for which no
   * server makes the client CONNECT more often than once per `maxReconnectPeriod`. Like AWS IoT
   * device SDK's `minConnectedTimeToResetReconnectDelayMs`.
   */
  minConnectedTimeToResetBackoff?: number;
  /** Ms from starting an attempt (DNS, TCP, TLS) to CONNACK. Default 30000. */
  connectTimeout?: number;
  /** Keep retrying when the first attempt fails instead of rejecting `connect()`. Default `false`. */
  retryFirstConnect?: boolean;
  /**
   * MQTT 5: reconnect after the server closed the connection with DISCONNECT 0x8E (Session taken
   * over: another connection with this client id connected). Default `false`: the client ends
   * with a `SessionTakenOverError` (`'error'`, then `'end'`; pending operations reject with it
   * and subscription iterators throw it), because reconnecting would take the session back and
   * make the other connection's client do the same, for ever. With `true` the client reconnects;
   * two such clients keep taking the session from each other, but each waits longer before
   * every reconnect (up to `maxReconnectPeriod`) while that goes on. A 3.1.1 server closes
   * the connection without a DISCONNECT, so a 3.1.1 client cannot tell a takeover from a lost
   * connection and reconnects, with that same growing delay (`minConnectedTimeToResetBackoff`).
   */
  reconnectOnTakeover?: boolean;
  /** Seconds without receiving before a PINGREQ; 0 disables. Default: `keepalive`. */
  recvIdlePingPeriod?: number;
  /** Seconds without receiving before the connection is dropped; 0 disables. Default: 1.5 × `keepalive`. */
  recvIdleAbortPeriod?: number;
  /** Seconds a PINGREQ may go unanswered before the connection is dropped. Default: `keepalive` (at least 1). */
  pingTimeout?: number;
  /** Our own cap on QoS 1/2 PUBLISHes in flight, 1..65535 (the server's Receive Maximum also applies). Default 65535. */
  maxInflight?: number;
  /** Preflight/offline queue bound in messages, ≥ 1. Default 10000. */
  maxQueuedMessages?: number;
  /** Preflight/offline queue bound in bytes (payload + topic), ≥ 1. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** `'wait'`: `publish` waits for room (backpressure); `'reject'`: it rejects with QueueFullError. Default `'wait'`. */
  queueFullBehavior?: 'wait' | 'reject';
  /** Largest incoming packet in bytes (MQTT 5: sent as Maximum Packet Size). Default 16 MiB. */
  maxIncomingPacketSize?: number;
  /** Give outgoing topics aliases when the server allows them (MQTT 5). Default `false`. */
  autoAssignTopicAlias?: boolean;
  /** Subscribe again when the server has no session for us. Default `true`. */
  resubscribe?: boolean;
  /** Ms `end()` waits for in-flight acknowledgements. Default 10000. */
  endTimeout?: number;
  /** Messages buffered per subscription iterator before the oldest is dropped. Default 10000. */
  maxBufferedMessages?: number;
  /** Run the network loop in a worker thread (default `true`) or in the caller's thread. */
  thread?: boolean;
  /** TLS options for `mqtts://` (ca, cert, key, rejectUnauthorized, servername ...). */
  tls?: TlsConnectionOptions;
  /** A pino logger to use, or `false` for none. */
  logger?: Logger | false;
  /** Level for a logger Weft makes itself. */
  logLevel?: LevelWithSilent;
  /** MQTT 5 enhanced authentication: answers each AUTH (reason 0x18) from the server (`userPropertyList`: its User Properties in the order received). */
  authHandler?: (packet: { reasonCode: number; properties?: Record<string, unknown>; userPropertyList?: UserPropertyList }) =>
    | { reasonCode?: number; properties?: Record<string, unknown> }
    | Promise<{ reasonCode?: number; properties?: Record<string, unknown> }>;
}

/** Where to connect. */
export interface Endpoint {
  host: string;
  port: number;
  secure: boolean;
}

/** Everything a driver needs, cloneable (no functions, no logger). */
export interface DriverConfig {
  endpoint: Endpoint;
  core: CoreConfig;
  tls?: TlsConnectionOptions;
}

/** Parses `mqtt://host:port` (also `tcp://`, `mqtts://`, `ssl://`, `tls://`). */
export function parseUrl(url: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`url: not a URL: ${JSON.stringify(url)}`);
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  const secure = scheme === 'mqtts' || scheme === 'ssl' || scheme === 'tls';
  if (!secure && scheme !== 'mqtt' && scheme !== 'tcp') {
    throw new InvalidArgumentError(`url: unsupported scheme ${JSON.stringify(scheme)} (use mqtt://, tcp://, mqtts://, ssl:// or tls://)`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (host === '') throw new InvalidArgumentError(`url: no host in ${JSON.stringify(url)}`);
  const port = parsed.port === '' ? (secure ? 8883 : 1883) : Number(parsed.port);
  return { host, port, secure };
}

function intIn(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name}: expected a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${name}: expected a boolean, got ${JSON.stringify(value)}`);
  return value;
}

/** Validates `options` and fills in defaults; throws {@link InvalidArgumentError} naming the option. */
export function resolveCoreConfig(options: ClientOptions, base?: CoreConfig): CoreConfig {
  const o = options;
  const protocolVersion = o.protocolVersion ?? base?.protocolVersion ?? 4;
  if (protocolVersion !== 4 && protocolVersion !== 5) throw new InvalidArgumentError(`protocolVersion: expected 4 or 5, got ${JSON.stringify(protocolVersion)}`);
  const clientId = o.clientId ?? base?.clientId ?? `weft_${randomBytes(4).toString('hex')}`;
  if (typeof clientId !== 'string' || Buffer.byteLength(clientId) > 65535) throw new InvalidArgumentError('clientId: expected a string of at most 65535 bytes');
  const keepalive = intIn('keepalive', o.keepalive, 0, 65535, base?.keepalive ?? 60);
  const given: Partial<Record<DerivedPeriod, number>> = {};
  if (o.recvIdlePingPeriod !== undefined) given.recvIdlePingPeriod = intIn('recvIdlePingPeriod', o.recvIdlePingPeriod, 0, 65535, 0);
  if (o.recvIdleAbortPeriod !== undefined) given.recvIdleAbortPeriod = intIn('recvIdleAbortPeriod', o.recvIdleAbortPeriod, 0, 65535 * 2, 0);
  if (o.pingTimeout !== undefined) given.pingTimeout = intIn('pingTimeout', o.pingTimeout, 0, 65535, 0);
  // New options for a reconnect that keep the keepalive keep the periods set before; with a new
  // keepalive, those not given again follow it.
  if (base && o.keepalive === undefined) {
    for (const name of base.givenPeriods ?? DERIVED_PERIODS) given[name] ??= base[name];
  }
  const MAX_MS = 2 ** 31 - 1;
  const config: CoreConfig = {
    protocolVersion,
    clientId,
    clean: bool('clean', o.clean, base?.clean ?? true),
    ...periodsFor(keepalive, given),
    givenPeriods: Object.keys(given) as DerivedPeriod[],
    connectTimeout: intIn('connectTimeout', o.connectTimeout, 1, MAX_MS, base?.connectTimeout ?? 30_000),
    reconnectPeriod: intIn('reconnectPeriod', o.reconnectPeriod, 0, MAX_MS, base?.reconnectPeriod ?? 1000),
    maxReconnectPeriod: intIn('maxReconnectPeriod', o.maxReconnectPeriod, 0, MAX_MS, base?.maxReconnectPeriod ?? 30_000),
    reconnectJitter: intIn('reconnectJitter', o.reconnectJitter, 0, 1, base?.reconnectJitter ?? 0.5),
    retryFirstConnect: bool('retryFirstConnect', o.retryFirstConnect, base?.retryFirstConnect ?? false),
    reconnectOnTakeover: bool('reconnectOnTakeover', o.reconnectOnTakeover, base?.reconnectOnTakeover ?? false),
    maxInflight: intIn('maxInflight', o.maxInflight, 1, 65535, base?.maxInflight ?? 65535),
    maxQueuedMessages: intIn('maxQueuedMessages', o.maxQueuedMessages, 1, 2 ** 32, base?.maxQueuedMessages ?? 10_000),
    maxQueuedBytes: intIn('maxQueuedBytes', o.maxQueuedBytes, 1, Number.MAX_SAFE_INTEGER, base?.maxQueuedBytes ?? 64 * 1024 * 1024),
    queueFullBehavior: o.queueFullBehavior ?? base?.queueFullBehavior ?? 'wait',
    maxIncomingPacketSize: intIn('maxIncomingPacketSize', o.maxIncomingPacketSize, 16, 268_435_460, base?.maxIncomingPacketSize ?? 16 * 1024 * 1024),
    autoAssignTopicAlias: bool('autoAssignTopicAlias', o.autoAssignTopicAlias, base?.autoAssignTopicAlias ?? false),
    resubscribe: bool('resubscribe', o.resubscribe, base?.resubscribe ?? true),
    endTimeout: intIn('endTimeout', o.endTimeout, 0, MAX_MS, base?.endTimeout ?? 10_000),
  };
  // Unset, it stays unset and follows maxReconnectPeriod (also one a later reconnect() changes).
  const minConnected = o.minConnectedTimeToResetBackoff ?? base?.minConnectedTimeToResetBackoff;
  if (minConnected !== undefined) config.minConnectedTimeToResetBackoff = intIn('minConnectedTimeToResetBackoff', minConnected, 0, MAX_MS, 0);
  // 3.1.1: a client with an empty client id MUST set Clean Session 1 [MQTT-3.1.3-7]. 5.0 has no
  // such rule: the server assigns an id [MQTT-3.1.3-6] and the session can be resumed under it.
  if (protocolVersion === 4 && config.clientId === '' && !config.clean) {
    throw new InvalidArgumentError('clientId: an empty client id needs clean: true in MQTT 3.1.1 [MQTT-3.1.3-7]');
  }
  if (config.queueFullBehavior !== 'wait' && config.queueFullBehavior !== 'reject') {
    throw new InvalidArgumentError(`queueFullBehavior: expected 'wait' or 'reject', got ${JSON.stringify(config.queueFullBehavior)}`);
  }
  const username = o.username ?? base?.username;
  if (username !== undefined) {
    if (typeof username !== 'string') throw new InvalidArgumentError('username: expected a string');
    config.username = username;
  }
  const password = o.password !== undefined ? Buffer.from(o.password) : base?.password;
  if (password !== undefined) config.password = password;
  const will = o.will ?? base?.will;
  if (will !== undefined) {
    if (typeof will.topic !== 'string' || will.topic === '' || /[+#]/.test(will.topic)) throw new InvalidArgumentError('will.topic: expected a topic name without wildcards');
    checkOrdered('will.userPropertyList', will.userPropertyList, 'will.properties.userProperties', will.properties);
    config.will = will;
  }
  const properties = o.properties ?? base?.properties;
  if (properties !== undefined) {
    if (protocolVersion !== 5) throw new InvalidArgumentError('properties: CONNECT properties need protocolVersion 5');
    config.properties = properties;
  }
  const userPropertyList = o.userPropertyList ?? base?.userPropertyList;
  if (userPropertyList !== undefined) {
    if (protocolVersion !== 5) throw new InvalidArgumentError('userPropertyList: CONNECT properties need protocolVersion 5');
    checkOrdered('userPropertyList', userPropertyList, 'properties.userProperties', properties);
    config.userPropertyList = userPropertyList;
  }
  return config;
}

/** Throws when `list` (the option `option`) is no UserPropertyList or comes with `objectOption`, the object form. */
function checkOrdered(option: string, list: unknown, objectOption: string, properties: { userProperties?: unknown } | undefined): void {
  const fault = userPropertyListFault(option, list, objectOption, properties);
  if (fault) throw fault;
}

/** Resolves logger-free, cloneable driver configuration. */
export function resolveDriverConfig(url: string, options: ClientOptions): DriverConfig {
  const endpoint = parseUrl(url);
  const config: DriverConfig = { endpoint, core: resolveCoreConfig(options) };
  if (options.tls) config.tls = options.tls;
  if (options.logLevel !== undefined) checkLogLevel(options.logLevel);
  intIn('maxBufferedMessages', options.maxBufferedMessages, 1, 2 ** 32, 10_000);
  bool('thread', options.thread, true);
  if (options.authHandler !== undefined && typeof options.authHandler !== 'function') throw new InvalidArgumentError('authHandler: expected a function');
  if (options.logger !== undefined && options.logger !== false && typeof options.logger?.child !== 'function') throw new InvalidArgumentError('logger: expected a pino logger or false');
  return config;
}
