/**
 * Broker options: one typed object, the same names in a JSON config file, every bound with a
 * documented default, and a check that names the offending key before anything starts.
 */
import { availableParallelism } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { LevelWithSilent, Logger } from 'pino';
import { checkLogLevel } from '../log.js';

/** Options of {@link startBroker}; a JSON config file uses the same names. */
export interface BrokerOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one (see `broker.port`). Default `1883`. */
  port?: number;
  /**
   * Session worker threads for the default M:N placement. Default: the number of cores
   * (`os.availableParallelism()`).
   */
  threads?: number;
  /**
   * One thread per session (for demos and teaching): each session gets its own worker, up to
   * `maxSessions` threads of ~10 MB and ~25 ms start-up each. Default `false`.
   */
  threadPerSession?: boolean;
  /**
   * After a connection's CONNECT, hand its socket to the session's thread, which then reads
   * and writes it directly (no relay through the listener thread). Needs the native addon
   * built at install (`native/fd-handoff`, Linux and other Unix); where it is missing the
   * broker relays instead, as it does with `false`. Default `true`.
   */
  socketHandoff?: boolean;
  /**
   * Let the session threads accept client sockets themselves: each listens on a duplicate of
   * the listening socket, reads and decodes the first packet (bounded by `connectTimeout` and
   * `maxPacketSize`) and asks main only where the session lives; main keeps the session
   * directory, the limits, takeovers and crash wills, but reads no socket. Effective only with
   * the socket hand-off (`socketHandoff` and the native addon) and the M:N placement (not
   * `threadPerSession`); otherwise main accepts every socket. Default `true`.
   */
  acceptOnSessionThreads?: boolean;
  /**
   * V8 young-generation size of each session thread, in MiB (worker `resourceLimits`), M:N
   * placement only (with `threadPerSession` V8's default applies). V8 grows it after bursts of
   * allocation and keeps it; smaller means less memory and more frequent minor collections.
   * V8 splits it into semi-spaces of a power of two: 4–6 give two of 2 MiB, 7–12 two of 4 MiB.
   * `8` trades ~2 KiB more per idle connection for fewer collections under saturating
   * fan-outs (docs/performance.md, "Ninth round"). Default `4`.
   */
  threadYoungGenerationMb?: number;
  /**
   * Milliseconds `startBroker` waits for the session threads it starts up front to say they are
   * ready; after that it rejects with a `SessionThreadStartError` naming this option, and stops
   * the listener and every thread (a thread that hangs while loading would otherwise keep it
   * waiting for ever). Default `30000`.
   */
  threadStartTimeoutMs?: number;
  /**
   * Open client connections at once; beyond it a CONNECT is refused (0x03 / 0x89). At most
   * `maxSessions`. Default `1000` (or `maxSessions` when smaller).
   */
  maxConnections?: number;
  /**
   * Sessions at once, connected or offline persistent ones; beyond it a CONNECT that needs a new
   * session is refused (0x03 / 0x89). Each holds a slot of the shared tables (session ids, backlog, session→thread). Default `1000`.
   */
  maxSessions?: number;
  /** Largest packet accepted from a client, in bytes (whole packet). Default `1048576`. */
  maxPacketSize?: number;
  /** Milliseconds a new connection has to deliver its CONNECT. Default `10000`. */
  connectTimeout?: number;
  /**
   * Sockets accepted whose CONNECT has not been decoded yet, across the whole broker (main and
   * every session thread); beyond it a new socket is closed at once, unread (no CONNACK: there is
   * no CONNECT to answer), and counted in `stats().counters.pendingRefused`. Each holds at most
   * its first packet's fixed header (5 bytes) and then one buffer of that packet's size, which
   * `maxPendingConnectBytes` bounds for all of them together. Default `maxConnections`: a
   * reconnect of every client the broker admits at once is never refused by it.
   */
  maxPendingConnections?: number;
  /**
   * Bytes of the first packets being read, across the whole broker (main and every session
   * thread): a socket reserves its first packet's whole size (fixed header + remaining length,
   * at most `maxPacketSize`) as soon as the fixed header is read, before the rest arrives, and
   * gives it back once the packet is decoded or the socket stops waiting for it (undecodable,
   * `connectTimeout`, closed). A first packet that does not fit in what is left closes its
   * socket, unanswered (the packet is not read: no CONNACK), counted in
   * `stats().counters.pendingBytesRefused` (`stats().pendingConnectBytes` is the gauge);
   * connected clients are unaffected. The bytes held for first packets being read are thus at
   * most this plus 5 bytes per pending socket. A first packet larger than this is always
   * refused. At most 2147483647 (2^31 - 1: the gauge is one 32-bit word). Default `67108864`
   * (64 MiB), or `maxPacketSize` when larger.
   */
  maxPendingConnectBytes?: number;
  /** Messages kept per session while it is offline or its window is full. Default `1000`. */
  maxQueuedMessages?: number;
  /**
   * Bytes of the messages kept per session while it is offline or its window is full, and of
   * the QoS 0 deliveries a session thread holds while its client's socket is behind; at the
   * bound the same policy as `maxQueuedMessages` drops (QoS 0 first) and counts. Per message:
   * the bytes its payload and Correlation Data keep alive (a view into a much larger buffer, such
   * as a socket read, is copied when queued, so that is its own size) plus the length of its
   * topic, Content Type, Response Topic and User Property names and values. Default `16777216`
   * (16 MiB), or twice `maxPacketSize` when that is larger and this is not given.
   */
  maxQueuedBytes?: number;
  /**
   * Backpressure: a publisher whose QoS 1/2 message finds a subscriber with more than half of
   * `maxQueuedMessages` waiting stops being read (its acknowledgements still are) until that
   * queue is down to a quarter, for at most this many milliseconds per congestion; after that
   * the subscriber counts as stalled and its queue bound drops messages instead. `0` turns
   * backpressure off. Default `1000`.
   */
  slowSubscriberWaitMs?: number;
  /** QoS 1/2 messages in flight to a client at once (our Receive Maximum toward it). Default `32`. */
  maxInflight?: number;
  /**
   * Receive Maximum advertised to MQTT 5 clients: QoS 1/2 PUBLISHes a client may have
   * unacknowledged towards the broker; one more is answered with DISCONNECT 0x93. Default `100`.
   */
  receiveMaximum?: number;
  /**
   * Topic Alias Maximum advertised to MQTT 5 clients: aliases a client may use towards the
   * broker, per connection; `0` allows none. Default `10`.
   */
  topicAliasMaximum?: number;
  /**
   * Largest Keep Alive (seconds) accepted from an MQTT 5 client; a client asking for more, or
   * for 0, is told this value as Server Keep Alive. `65535` = no cap. Default `65535`.
   */
  maxKeepAlive?: number;
  /** Highest QoS granted on SUBSCRIBE; an MQTT 5 PUBLISH or will above it is refused (0x9B). Default `2`. */
  maximumQoS?: 0 | 1 | 2;
  /** Retained messages supported; `false`: an MQTT 5 retained PUBLISH is refused (0x9A). Default `true`. */
  retainAvailable?: boolean;
  /** `+` and `#` in filters; `false`: SUBACK 0xA2. Default `true`. */
  wildcardSubscriptionAvailable?: boolean;
  /** MQTT 5 Subscription Identifiers; `false`: a SUBSCRIBE with one gets DISCONNECT 0xA1. Default `true`. */
  subscriptionIdentifiersAvailable?: boolean;
  /** `$share/{group}/{filter}` subscriptions; `false`: SUBACK 0x9E. Default `true`. */
  sharedSubscriptionAvailable?: boolean;
  /** Retained messages kept; beyond it a new retained topic is not stored. Default `10000`. */
  maxRetainedMessages?: number;
  /** Payload + topic bytes of all retained messages. Default `67108864` (64 MiB). */
  maxRetainedBytes?: number;
  /** Subscriptions in the shared register, all sessions together. Default `100000`. */
  maxSubscriptions?: number;
  /**
   * Bytes a connection may have waiting in each direction before the sender stops: between the
   * listener thread and the session's thread for a relayed connection (socket paused / writes
   * held in the session), in the socket's write buffer for a handed-off one (QoS 0 deliveries
   * held, then dropped). Default `1048576`.
   */
  relayBufferBytes?: number;
  /** Log level. Default `WEFT_LOG_LEVEL` or `info`. */
  logLevel?: LevelWithSilent;
  /** A ready pino logger (not accepted in a config file). */
  logger?: Logger;
}

/** Every option with its value filled in. */
export type ResolvedBrokerOptions = Required<Omit<BrokerOptions, 'logger' | 'logLevel'>> &
  Pick<BrokerOptions, 'logger' | 'logLevel'>;

/** Defaults, in one place (docs/broker.md lists the same values). */
export function defaultBrokerOptions(): ResolvedBrokerOptions {
  return {
    host: '127.0.0.1',
    port: 1883,
    threads: availableParallelism(),
    threadPerSession: false,
    socketHandoff: true,
    acceptOnSessionThreads: true,
    threadYoungGenerationMb: 4,
    threadStartTimeoutMs: 30_000,
    maxConnections: 1000,
    maxSessions: 1000,
    maxPacketSize: 1_048_576,
    connectTimeout: 10_000,
    // Follows maxConnections unless given (resolveBrokerOptions).
    maxPendingConnections: 1000,
    // At least maxPacketSize unless given (resolveBrokerOptions).
    maxPendingConnectBytes: 64 * 1024 * 1024,
    maxQueuedMessages: 1000,
    // Follows maxPacketSize unless given (resolveBrokerOptions).
    maxQueuedBytes: 16 * 1024 * 1024,
    maxInflight: 32,
    receiveMaximum: 100,
    topicAliasMaximum: 10,
    maxKeepAlive: 65535,
    maximumQoS: 2,
    retainAvailable: true,
    wildcardSubscriptionAvailable: true,
    subscriptionIdentifiersAvailable: true,
    sharedSubscriptionAvailable: true,
    slowSubscriberWaitMs: 1000,
    maxRetainedMessages: 10_000,
    maxRetainedBytes: 64 * 1024 * 1024,
    maxSubscriptions: 100_000,
    relayBufferBytes: 1_048_576,
  };
}

/** A bad option: the message names the key and what was expected. */
export class BrokerOptionError extends TypeError {
  override readonly name = 'BrokerOptionError';
  constructor(
    /** The option's name as written in the options object or config file. */
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
  }
}

type Check = (value: unknown, key: string) => void;

function integer(min: number, max: number): Check {
  return (value, key) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new BrokerOptionError(key, `expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
  };
}

const boolean: Check = (value, key) => {
  if (typeof value !== 'boolean') throw new BrokerOptionError(key, `expected true or false, got ${JSON.stringify(value)}`);
};

const checks: Record<keyof BrokerOptions, Check> = {
  host: (value, key) => {
    if (typeof value !== 'string' || value.length === 0) throw new BrokerOptionError(key, `expected a host name or address, got ${JSON.stringify(value)}`);
  },
  port: integer(0, 65535),
  threads: integer(1, 1024),
  threadPerSession: boolean,
  socketHandoff: boolean,
  acceptOnSessionThreads: boolean,
  threadYoungGenerationMb: integer(1, 1024),
  threadStartTimeoutMs: integer(1, 3_600_000),
  maxConnections: integer(1, 1_000_000),
  // The session id keeps the slot in 20 bits (see session-ids.ts).
  maxSessions: integer(1, 1_000_000),
  // 2 bytes is the smallest packet; 268,435,460 the largest the protocol can frame.
  maxPacketSize: integer(2, 268_435_460),
  connectTimeout: integer(1, 3_600_000),
  maxPendingConnections: integer(1, 1_000_000),
  // The gauge is an Int32 word that never exceeds this, so it cannot wrap (pending-gauge.ts).
  maxPendingConnectBytes: integer(2, 2_147_483_647),
  maxQueuedMessages: integer(0, 10_000_000),
  maxQueuedBytes: integer(0, Number.MAX_SAFE_INTEGER),
  maxInflight: integer(1, 65535),
  receiveMaximum: integer(1, 65535),
  topicAliasMaximum: integer(0, 65535),
  maxKeepAlive: integer(1, 65535),
  maximumQoS: integer(0, 2),
  retainAvailable: boolean,
  wildcardSubscriptionAvailable: boolean,
  subscriptionIdentifiersAvailable: boolean,
  sharedSubscriptionAvailable: boolean,
  slowSubscriberWaitMs: integer(0, 3_600_000),
  maxRetainedMessages: integer(0, 100_000_000),
  maxRetainedBytes: integer(0, Number.MAX_SAFE_INTEGER),
  maxSubscriptions: integer(1, 100_000_000),
  relayBufferBytes: integer(1024, 1024 * 1024 * 1024),
  logLevel: (value, key) => {
    try {
      checkLogLevel(value, key);
    } catch (err) {
      throw new BrokerOptionError(key, (err as Error).message.replace(`${key}: `, ''));
    }
  },
  logger: (value, key) => {
    if (typeof value !== 'object' || value === null || typeof (value as Logger).child !== 'function') {
      throw new BrokerOptionError(key, 'expected a pino logger');
    }
  },
};

/**
 * Checks `options` (an options object or a parsed config file) and fills in the defaults.
 * Throws {@link BrokerOptionError} naming the first unknown key or bad value.
 */
export function resolveBrokerOptions(options: BrokerOptions = {}, source = 'options'): ResolvedBrokerOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new BrokerOptionError(source, 'expected an object of broker options');
  }
  const resolved = defaultBrokerOptions();
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const check = checks[key as keyof BrokerOptions];
    if (check === undefined) {
      throw new BrokerOptionError(key, `unknown option in ${source} (known: ${Object.keys(checks).join(', ')})`);
    }
    check(value, key);
    (resolved as unknown as Record<string, unknown>)[key] = value;
  }
  // Every connection has a session: without an explicit maxConnections, it follows maxSessions.
  if (options.maxConnections === undefined) resolved.maxConnections = Math.min(resolved.maxConnections, resolved.maxSessions);
  if (options.maxPendingConnections === undefined) resolved.maxPendingConnections = resolved.maxConnections;
  // Left at default, a first packet of any size the broker accepts fits while nothing else is read.
  if (options.maxPendingConnectBytes === undefined) resolved.maxPendingConnectBytes = Math.max(resolved.maxPendingConnectBytes, resolved.maxPacketSize);
  // The largest message accepted fits a session's queue; kept as a view, it may count up to twice its size.
  if (options.maxQueuedBytes === undefined) resolved.maxQueuedBytes = Math.max(resolved.maxQueuedBytes, 2 * resolved.maxPacketSize);
  if (resolved.maxConnections > resolved.maxSessions) {
    throw new BrokerOptionError('maxConnections', `must not exceed maxSessions (${resolved.maxSessions}): every connection has a session`);
  }
  return resolved;
}

/** Reads a JSON config file whose keys are {@link BrokerOptions} names; checks them. */
export async function loadBrokerConfig(path: string): Promise<BrokerOptions> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BrokerOptionError('config', `cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new BrokerOptionError('config', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed === 'object' && parsed !== null && 'logger' in parsed) {
    throw new BrokerOptionError('logger', `not accepted in a config file (${path}); use logLevel`);
  }
  resolveBrokerOptions(parsed as BrokerOptions, path);
  return parsed as BrokerOptions;
}
