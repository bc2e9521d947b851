/**
 * The broker's main thread: listening socket, relay and session directory (docs/architecture.md).
 *
 * By default the session threads accept the sockets (`acceptOnSessionThreads`): main binds the
 * listening socket, gives each thread a duplicate of it, and decides from each thread's
 * `accepted` (client id → session → thread, limits, takeover, crash wills) where the connection
 * goes. Otherwise main accepts every socket and reads its CONNECT itself; then it hands the
 * socket to the session's thread (or, without the native hand-off, relays its bytes). It also
 * keeps the retained store, decides capacity refusals, and cleans up after a worker thread that
 * died. No MQTT session logic runs here.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { IConnectPacket, Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import type { Piscina } from 'piscina';
import { getLogger } from '../log.js';
import { utf8Length } from '../register/topic.js';
import { encodePacket } from '../protocol/encoder.js';
import { ConnackReturnCode, ReasonCode } from '../protocol/reason-codes.js';
import { answerUndecodableFirst } from './first-packet-reader.js';
import type { RoutedMessage } from '../session/core/api.js';
import { validateSessionConfig } from '../session/core/config.js';
import { retainedCopy } from '../session/core/message.js';
import { ClientConnection, ConnectionState, type ConnectionEvents } from './client-connection.js';
import { CrashWills } from './crash-wills.js';
import { Fanout } from './fanout.js';
import { SessionBacklog, backlogLimits } from './session-backlog.js';
import { resolveBrokerOptions, type BrokerOptions, type ResolvedBrokerOptions } from './options.js';
import { MemoryRetainedStore } from './retained/memory-store.js';
import type { RetainedStore } from './retained/types.js';
import { createRegisterHost, type RegisterHost } from './register-link.js';
import { SessionEntry, EntryState } from './session-entry.js';
import { SessionIdAllocator } from './session-ids.js';
import { createSessionPool, placementFor, type Placement } from './session-pool.js';
import { SessionThreadTable } from './session-threads.js';
import { socketTransferSupported } from './socket-transfer.js';
import { fdHandoff, type FdHandoff } from './fd-handoff.js';
import { ListenerDuplicates } from './listener-duplicates.js';
import { WorkerExits } from './worker-exits.js';
import { CounterWord, SharedCounters } from './shared-counters.js';
import { PendingGauge } from './pending-gauge.js';
import type { AcceptedMessage, FromListener, FromSession, ReleasedMessage, ThreadTask } from './thread-messages.js';
import { TurnBatch } from './turn-batch.js';
import { SessionThreadStartError, ThreadLinks, type ThreadEvents, type ThreadLink } from './thread-links.js';
import { ThreadGate, type HoldItem } from './thread-gate.js';

/** Counters of what the bounds refused, and of crashes; for logs, stats and tests. */
export interface BrokerCounters {
  /** Connections refused because `maxConnections` were open. */
  refusedConnections: number;
  /** Connections refused because `maxSessions` sessions existed (or the pool was full). */
  refusedSessions: number;
  /** Connections closed because no CONNECT arrived within `connectTimeout`. */
  connectTimeouts: number;
  /** Connections closed because their first packet was not a CONNECT [MQTT-3.1.0-1]. */
  notConnectFirst: number;
  /** Retained messages not stored because a retained-store bound was reached. */
  retainedRefused: number;
  /** Session worker threads that died. */
  workerCrashes: number;
  /** Wills the main thread published for sessions of a dead thread. */
  crashWills: number;
  /** Messages sessions dropped: queue (`maxQueuedMessages`, `maxQueuedBytes`) full, expired, too large for the client. */
  sessionDropped: number;
  /** Messages dropped because a client did not read and `relayBufferBytes` + the hold queue (`maxQueuedMessages`, `maxQueuedBytes`) filled. */
  relayDropped: number;
  /** Connections closed for a packet over `maxPacketSize`. */
  packetTooLarge: number;
  /** Connections closed for an undecodable packet (malformed, or breaking the protocol). */
  badPackets: number;
  /** Sockets closed at accept, unread: `maxPendingConnections` were already waiting for their CONNECT. */
  pendingRefused: number;
  /** Sockets closed because their first packet did not fit in what was left of `maxPendingConnectBytes`. */
  pendingBytesRefused: number;
}

/** A snapshot of the broker's load. */
export interface BrokerStats {
  connections: number;
  /** Sockets accepted whose CONNECT has not been decoded yet (at most `maxPendingConnections`). */
  pendingConnections: number;
  /** Bytes reserved by the first packets being read (at most `maxPendingConnectBytes`). */
  pendingConnectBytes: number;
  sessions: number;
  threads: number;
  retainedMessages: number;
  retainedBytes: number;
  subscriptions: number;
  counters: Readonly<BrokerCounters>;
}

/** One session as {@link Broker.sessions} lists it. */
export interface SessionInfo {
  readonly clientId: string;
  /** `threadId` of the worker thread hosting the session (main is 0 and hosts none). */
  readonly threadId: number;
  /** Whether a client connection is attached to it now (false: offline persistent session). */
  readonly connected: boolean;
  /** MQTT protocol level of the attached connection (4 = 3.1.1, 5 = 5.0); absent while offline. */
  readonly protocolVersion?: number;
}

/** A running broker, from {@link startBroker}. */
export interface Broker {
  /** The port it listens on (the actual one when `port: 0`). */
  readonly port: number;
  /** The host it listens on. */
  readonly host: string;
  /** `mqtt://host:port`, for clients. */
  readonly url: string;
  /** The options in effect, defaults filled in. */
  readonly options: Readonly<ResolvedBrokerOptions>;
  /** Current load and counters. */
  stats(): BrokerStats;
  /**
   * The sessions running now, each with the thread that hosts it: a read-only snapshot for
   * demos, dashboards and tests. Sessions still starting (no thread yet) are left out.
   */
  sessions(): SessionInfo[];
  /**
   * Stops listening, ends every session (MQTT 5 clients get DISCONNECT 0x8B), closes every
   * socket and stops every worker thread. Leaves no timer, socket or thread behind.
   */
  close(): Promise<void>;
}

/** Test hook: the symbol under which a broker exposes `crash(clientId)` (see test-hooks.ts). */
export const kCrashSessionThread = Symbol('weft.crashSessionThread');
/** Test hook: the symbol under which a broker exposes `threadOf(clientId)`. */
export const kSessionThreadOf = Symbol('weft.sessionThreadOf');
/** Test hook: the symbol under which a broker exposes how many crash wills wait for their delay. */
export const kPendingCrashWills = Symbol('weft.pendingCrashWills');
/** Test hook: the symbol under which a broker exposes `relayState(clientId)` (see test-hooks.ts). */
export const kRelayStateOf = Symbol('weft.relayStateOf');
/** Test hook: the symbol under which a broker exposes `socketOwnerOf(clientId)` (see test-hooks.ts). */
export const kSocketOwnerOf = Symbol('weft.socketOwnerOf');
/** Test hook: the symbol under which a broker exposes `sessionThreads()` (see test-hooks.ts). */
export const kSessionThreads = Symbol('weft.sessionThreads');
/** Test hook: the symbol under which a broker exposes `acceptOnly(ordinal)` (see test-hooks.ts). */
export const kAcceptOnly = Symbol('weft.acceptOnly');
/** Test hook: the symbol under which a broker exposes `dropAccepted(ordinal, local)` (see test-hooks.ts). */
export const kDropAccepted = Symbol('weft.dropAccepted');

/** What tests may change in a broker's start (test-hooks.ts); not part of the public API. */
export interface BrokerInternals {
  /** The module each session thread runs instead of the real one, and its export (fault injection). */
  threadEntry?: { filename: string; name: string };
  /** Called with the broker as soon as it exists, before it listens or its threads are ready. */
  created?: (broker: Broker) => void;
  /**
   * With thread accept on: only the session threads whose start ordinal (0 first, replacements
   * counted on) passes this listen; the others accept nothing (tests pick the accepting thread).
   */
  listensOn?: (ordinal: number) => boolean;
  /**
   * Every item a session thread sends main passes this first, and a promise it returns holds
   * that item and the thread's later ones until it settles (thread-gate.ts): tests force an
   * order of events across threads with it. Absent, nothing stands between the links and main.
   */
  hold?: HoldItem;
}

/**
 * Starts a broker listening on `options.host:options.port` (default 127.0.0.1:1883), and
 * resolves once it is ready: listening, and every session worker thread started up front
 * (`threads`) has loaded and reported ready, so the first connections pay no thread start-up.
 *
 * Rejects, leaving nothing running (listener closed, every thread stopped):
 * - with a `BrokerOptionError` naming a bad option, before anything starts;
 * - with the listener's error (e.g. `EADDRINUSE`) when it cannot listen;
 * - with a `SessionThreadStartError` when a session thread fails to load, throws or exits
 *   before it is ready (its message and `cause` say what the thread reported), or is not ready
 *   within `threadStartTimeoutMs` (default 30 s; the message names the option).
 *
 * @example
 * ```ts
 * import { startBroker, connect } from 'weft';
 *
 * const broker = await startBroker({ port: 0 });          // an ephemeral port on 127.0.0.1
 * const client = await connect(broker.url);
 * await client.publish('hello', 'world');
 * await client.end();
 * await broker.close();                                    // no thread, socket or timer left
 * ```
 */
export function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  return launchBroker(options, {});
}

/** {@link startBroker}, with what tests may change (test-hooks.ts). */
export async function launchBroker(options: BrokerOptions, internals: BrokerInternals): Promise<Broker> {
  const resolved = resolveBrokerOptions(options);
  const broker = new MainBroker(resolved, internals.threadEntry, internals.listensOn, internals.hold);
  internals.created?.(broker);
  try {
    await broker.listen();
  } catch (err) {
    await broker.close();
    throw err;
  }
  return broker;
}

/**
 * `ready`, or a rejection with a {@link SessionThreadStartError} once `ms` have passed first
 * (option `threadStartTimeoutMs`): a thread that hangs while loading never says ready nor ends.
 * The timer is cleared as soon as either settles, so none outlives the start.
 */
function readyWithin(ready: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SessionThreadStartError(`the session threads were not ready within threadStartTimeoutMs (${ms} ms)`)), ms);
  });
  return Promise.race([ready, timedOut]).finally(() => clearTimeout(timer));
}

/** A connection main asked its accepting thread to release, and where it goes once released. */
interface Release {
  readonly connection: ClientConnection;
  readonly entry: SessionEntry;
  readonly clientId: string;
  readonly assigned: string | undefined;
}

class MainBroker implements Broker, ConnectionEvents {
  readonly options: ResolvedBrokerOptions;
  private readonly log: Logger;
  private readonly registerHost: RegisterHost;
  private readonly table: SessionThreadTable;
  private readonly backlog: SessionBacklog;
  private readonly ids: SessionIdAllocator;
  private readonly retained: RetainedStore<RoutedMessage> & { counters?: { refusedFull: number } };
  /** Each stored retained message's number in `CounterWord.retainSeq` (see retainedFor). */
  private readonly retainedSeqs = new WeakMap<RoutedMessage, number>();
  private readonly fanout: Fanout;
  private readonly pool: Piscina<ThreadTask, void>;
  private readonly placement: Placement;
  private readonly batch = new TurnBatch();
  private readonly server: Server;
  /** Sessions by client id: the ones a CONNECT can reach (starting or live). */
  private readonly directory = new Map<string, SessionEntry>();
  /**
   * Every session not yet cleaned up, by session id (for the messages that arrive over the
   * thread links). One collection, not also a Set of them: each costs every session a slot.
   */
  private readonly bySession = new Map<number, SessionEntry>();
  private readonly threadLinks: ThreadLinks;
  /**
   * Connections main reads or relays: a handed-off one leaves it (its session's entry keeps it;
   * main no longer closes its socket), so idle connections cost no slot here.
   */
  private readonly connections = new Set<ClientConnection>();
  /** How sockets reach session threads: handed off (the addon), or relayed when undefined. */
  private readonly handoff: FdHandoff | undefined;
  /** Started before the pool, so it sees every session thread's Worker (see worker-exits.ts). */
  private readonly workerExits = new WorkerExits();
  private relayed = 0;
  private nextConnection = 1;
  private recovering: Promise<void> = Promise.resolve();
  private readonly entryDone = new Map<SessionEntry, () => void>();
  /** Wills of a dead thread's connections that wait for their Will Delay Interval. */
  private readonly crashWills = new CrashWills((will) => this.publishCrashWill(will));
  /** The session core's cap on Session Expiry Interval (a crash will waits at most that long). */
  private readonly maxSessionExpiry: number;
  private closing: Promise<void> | undefined;
  /** Settles when `server.listen` has (or has failed): close() waits for it, or a listen still resolving its host would outlive it. */
  private bound: Promise<void> | undefined;
  private readonly counters: BrokerCounters = {
    refusedConnections: 0,
    refusedSessions: 0,
    connectTimeouts: 0,
    notConnectFirst: 0,
    retainedRefused: 0,
    workerCrashes: 0,
    crashWills: 0,
    sessionDropped: 0,
    relayDropped: 0,
    packetTooLarge: 0,
    badPackets: 0,
    pendingRefused: 0,
    pendingBytesRefused: 0,
  };
  private readonly sharedCounters = SharedCounters.create();
  /** Main's places under `maxPendingConnections` and bytes under `maxPendingConnectBytes` (the session threads have their own, on the same words). */
  private readonly pendingGauge: PendingGauge;
  /**
   * The listening socket's duplicates, when the session threads may accept (option
   * `acceptOnSessionThreads`); undefined when main accepts every socket.
   */
  private readonly listeners: ListenerDuplicates | undefined;
  /**
   * Connections whose accepting thread was asked to release them, by connection id, with where
   * each goes once released (its session when the release was asked).
   */
  private readonly releasing = new Map<number, Release>();
  /** While closing: called once {@link releasing} is empty (each answer may carry an fd only main can close). */
  private releasesSettled: (() => void) | undefined;
  /** Test hook: the gate the threads' items pass (thread-gate.ts); undefined but in tests that hold items. */
  private readonly gate: ThreadGate | undefined;
  port = 0;

  constructor(
    options: ResolvedBrokerOptions,
    threadEntry?: { filename: string; name: string },
    listensOn: (ordinal: number) => boolean = () => true,
    hold?: HoldItem,
  ) {
    this.options = options;
    const logOptions = options.logger ? { logger: options.logger } : options.logLevel ? { logLevel: options.logLevel } : {};
    this.log = getLogger('broker', logOptions);
    this.pendingGauge = new PendingGauge(this.sharedCounters, options, this.log);
    const sessionOptions = {
      maxInflight: options.maxInflight,
      maxQueued: options.maxQueuedMessages,
      maxQueuedBytes: options.maxQueuedBytes,
      maxPacketSize: options.maxPacketSize,
      receiveMaximum: options.receiveMaximum,
      topicAliasMaximum: options.topicAliasMaximum,
      maxKeepAlive: options.maxKeepAlive,
      maximumQoS: options.maximumQoS,
      retainAvailable: options.retainAvailable,
      wildcardSubscriptionAvailable: options.wildcardSubscriptionAvailable,
      subscriptionIdentifiersAvailable: options.subscriptionIdentifiersAvailable,
      sharedSubscriptionAvailable: options.sharedSubscriptionAvailable,
    };
    this.maxSessionExpiry = validateSessionConfig(sessionOptions).maxSessionExpiryInterval;
    this.placement = placementFor(options);
    this.handoff = options.socketHandoff ? fdHandoff() : undefined;
    // The threads accept only where a released socket can move between them (the hand-off) and
    // a thread hosts many sessions (M:N); otherwise main accepts, as it always can.
    const threadAccept = options.acceptOnSessionThreads && this.handoff !== undefined && !options.threadPerSession;
    this.listeners = threadAccept ? new ListenerDuplicates(this.handoff!, listensOn, this.sharedCounters) : undefined;
    this.registerHost = createRegisterHost({ maxSubscriptions: options.maxSubscriptions, maxThreads: this.placement.maxThreads });
    this.table = SessionThreadTable.create(options.maxSessions);
    this.backlog = SessionBacklog.create(options.maxSessions, backlogLimits(options.maxQueuedMessages, options.slowSubscriberWaitMs));
    this.ids = new SessionIdAllocator(options.maxSessions);
    this.retained = new MemoryRetainedStore<RoutedMessage>({
      maxMessages: options.maxRetainedMessages,
      maxBytes: options.maxRetainedBytes,
    });
    // Main hosts no session: its fanout only sends (the wills of a dead thread's sessions).
    this.fanout = new Fanout(this.registerHost.register, this.table, this.backlog, 0, () => false, (to, port) =>
      this.threadLinks.forward(to, port),
    );
    this.pool = createSessionPool(this.placement, {
      registerHandle: this.registerHost.handle,
      sessionThreads: this.table.buffer,
      backlog: this.backlog.buffer,
      backlogLimits: this.backlog.limits,
      counters: this.sharedCounters.buffer,
      sessionOptions,
      maxPacketSize: options.maxPacketSize,
      connectTimeout: options.connectTimeout,
      maxPendingConnections: options.maxPendingConnections,
      maxPendingConnectBytes: options.maxPendingConnectBytes,
      relayBufferBytes: options.relayBufferBytes,
      logLevel: options.logger?.level ?? options.logLevel ?? process.env.WEFT_LOG_LEVEL ?? 'info',
    }, threadEntry);
    // A worker that fails with no task running is replaced by piscina; log it, never throw.
    this.pool.on('error', (err: unknown) => this.log.error({ err }, 'session worker failed'));
    const events: ThreadEvents = {
      fromSession: (link, message) => this.onSessionMessage(link, message),
      fromListener: (link, message) => this.onListenerMessage(link, message),
      ready: (link) => this.listeners?.give(link),
      died: (link, err) => this.onThreadDied(link, err),
    };
    this.gate = hold === undefined ? undefined : new ThreadGate(events, hold);
    this.threadLinks = new ThreadLinks(this.pool, this.placement, this.batch, this.gate ?? events);
    // TCP_NODELAY on every accepted socket, set by the server on the new handle before any JS
    // sees it (a socket option belongs to the socket, so a handed-off duplicate keeps it).
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  get host(): string {
    return this.options.host;
  }

  get url(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `mqtt://${host}:${this.port}`;
  }

  /**
   * Listens and waits for the session threads started up front to be ready (both at once).
   * Rejects if either fails, or if the broker is closed meanwhile; the caller then closes it.
   */
  async listen(): Promise<void> {
    if (this.closing !== undefined) throw new SessionThreadStartError('the broker was closed before its session threads were ready');
    const threadsReady = readyWithin(this.threadLinks.startMinimum(), this.options.threadStartTimeoutMs);
    // Awaited after listening: if listening fails first, close() settles it (no unhandled rejection).
    threadsReady.catch(() => {});
    this.bound = new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        this.port = typeof address === 'object' && address !== null ? address.port : this.options.port;
        // Thread accept: main keeps a duplicate and closes its own handle in this same tick, so
        // it never accepts (a connection that arrives meanwhile waits in the kernel's backlog
        // for a thread's accept). Without a duplicate main goes on accepting.
        if (this.listeners !== undefined && this.closing === undefined && this.listeners.keep(this.server)) {
          for (const link of this.threadLinks.all()) this.listeners.give(link);
        }
        resolve();
      });
    });
    await this.bound;
    this.server.on('error', (err) => this.log.error({ err }, 'listener error'));
    // Connections accepted meanwhile wait on their thread's link until it is ready.
    await threadsReady;
    if (this.closing !== undefined) throw new SessionThreadStartError('the broker was closed before its session threads were ready');
    const placement = this.placement;
    this.log.info(
      {
        url: this.url,
        threads: placement.minThreads,
        maxThreads: placement.maxThreads,
        sessionsPerThread: placement.sessionsPerThread,
        // Handed off: each session's thread owns its sockets after the CONNECT; relayed: they
        // stay here (option socketHandoff false, or the native addon missing).
        sockets: this.handoff !== undefined ? 'handed off' : 'relayed',
        // Who accepts sockets and reads their CONNECT (option acceptOnSessionThreads).
        accepts: this.listeners?.active === true ? 'session threads' : 'main',
        // A runtime that can transfer a net.Socket itself would not need the addon.
        socketTransfer: socketTransferSupported(),
      },
      'broker listening',
    );
  }

  stats(): BrokerStats {
    return {
      connections: this.relayed,
      pendingConnections: this.sharedCounters.read(CounterWord.pendingConnections),
      pendingConnectBytes: this.sharedCounters.read(CounterWord.pendingConnectBytes),
      sessions: this.bySession.size,
      threads: this.threadLinks.count,
      retainedMessages: this.retained.size,
      retainedBytes: this.retained.bytes,
      subscriptions: this.registerHost.register.size,
      counters: {
        ...this.counters,
        retainedRefused: this.retained.counters?.refusedFull ?? 0,
        sessionDropped: this.sharedCounters.read(CounterWord.sessionDropped),
        relayDropped: this.sharedCounters.read(CounterWord.relayDropped),
        packetTooLarge: this.sharedCounters.read(CounterWord.packetTooLarge),
        badPackets: this.sharedCounters.read(CounterWord.badPackets),
        // Counted by whoever accepted the socket: main or a session thread.
        connectTimeouts: this.sharedCounters.read(CounterWord.connectTimeouts),
        notConnectFirst: this.sharedCounters.read(CounterWord.notConnectFirst),
        pendingRefused: this.sharedCounters.read(CounterWord.pendingRefused),
        pendingBytesRefused: this.sharedCounters.read(CounterWord.pendingBytesRefused),
      },
    };
  }

  sessions(): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const entry of this.directory.values()) {
      if (entry.state !== EntryState.Live || entry.threadId === 0) continue;
      const connection = entry.openConnections().at(-1);
      const protocolVersion = connection?.protocolVersion;
      out.push({
        clientId: entry.clientId,
        threadId: entry.threadId,
        connected: connection !== undefined,
        ...(protocolVersion === undefined ? {} : { protocolVersion }),
      });
    }
    return out;
  }

  /** Test hook: the thread hosting `clientId`'s session exits as if it crashed. */
  [kCrashSessionThread](clientId: string, how: 'exit' | 'throw'): number {
    const entry = this.directory.get(clientId);
    if (entry === undefined || entry.state !== EntryState.Live || entry.threadId === 0) throw new Error(`no live session for ${clientId}`);
    entry.post({ t: 'crash', how });
    return entry.threadId;
  }

  /** Test hook: the thread hosting `clientId`'s session (0 when none or not started). */
  [kSessionThreadOf](clientId: string): number {
    return this.directory.get(clientId)?.threadId ?? 0;
  }

  /** Test hook: crash wills waiting for their delay. */
  [kPendingCrashWills](): number {
    return this.crashWills.size;
  }

  /** Test hook: whether main reads `clientId`'s socket, and the bytes its session has not consumed. */
  [kRelayStateOf](clientId: string): { paused: boolean; unconsumed: number } | undefined {
    const connection = this.directory.get(clientId)?.openConnections().at(-1);
    return connection && { paused: connection.socket?.isPaused() === true, unconsumed: connection.unconsumed };
  }

  /** Test hook: the session threads, each with whether it said `ready`. */
  [kSessionThreads](): { threadId: number; ready: boolean; sessions: number }[] {
    return this.threadLinks.list();
  }

  /** Test hook: which thread owns `clientId`'s newest open connection's socket now. */
  [kSocketOwnerOf](clientId: string): 'session thread' | 'main' | undefined {
    const connection = this.directory.get(clientId)?.openConnections().at(-1);
    if (connection === undefined) return undefined;
    return connection.onSessionThread ? 'session thread' : 'main';
  }

  /**
   * Test hook: only thread `ordinal` accepts from now on (the others stop listening, it gets a
   * duplicate if it has none open). Resolves once it said `listening` and each thread told to
   * stop answered what main sent after (so it has stopped): needs the gate (`hold`).
   */
  [kAcceptOnly](ordinal: number): Promise<void> {
    const gate = this.gate;
    const listeners = this.listeners;
    const target = this.threadLinks.all().find((link) => link.ordinal === ordinal);
    if (gate === undefined || listeners === undefined || target === undefined) throw new Error(`acceptOnly(${ordinal}): needs thread accept, the hold gate and that thread`);
    const done: Promise<void>[] = [];
    for (const link of this.threadLinks.all()) {
      if (link === target || !link.listening) continue;
      // A release of nothing (no local or connection is ever 0) is answered `released` with no
      // fd, and main ignores it: the thread's answer says it read the `unlisten` before it.
      done.push(gate.seen(link.ordinal, (item) => item.t === 'released' && item.connection === 0));
      listeners.stop(link);
      link.send({ t: 'release', local: 0, connection: 0 });
    }
    if (!target.listening) {
      done.push(gate.seen(ordinal, (item) => item.t === 'listening'));
      listeners.give(target, true);
    }
    return Promise.all(done).then(() => undefined);
  }

  /**
   * Test hook (fault injection): thread `ordinal`'s listener closes its accepted connection
   * `local` as if main had answered `drop`, whatever main answers after. Main answers each
   * `accepted` once; this makes a second answer find the socket gone.
   */
  [kDropAccepted](ordinal: number, local: number): void {
    this.threadLinks.all().find((link) => link.ordinal === ordinal)?.send({ t: 'drop', local });
  }

  // ---- connections ----

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const place = this.pendingGauge.admit(socket);
    if (place === undefined) return;
    const connection = new ClientConnection(this.nextConnection++, this, { socket, limits: this.options, batch: this.batch, place });
    this.connections.add(connection);
  }

  firstPacket(connection: ClientConnection, packet: Packet | undefined, error: Error | undefined): void {
    if (this.closing) return connection.destroy();
    if (packet === undefined) return this.refuseUndecodable(connection, error);
    if (packet.cmd !== 'connect') {
      // [MQTT-3.1.0-1] the first packet from a client must be CONNECT.
      this.sharedCounters.add(CounterWord.notConnectFirst);
      this.log.warn({ remote: connection.remote, cmd: packet.cmd }, 'first packet is not CONNECT [MQTT-3.1.0-1]');
      return connection.destroy();
    }
    this.route(connection, (packet as IConnectPacket).clientId);
  }

  /**
   * Where a connection whose CONNECT (client id `connectClientId`) main or a session thread
   * decoded goes: refused at `maxConnections`, else to its client id's session, or a new one.
   */
  private route(connection: ClientConnection, connectClientId: string): void {
    const assigned = connectClientId === '' ? `weft-${randomBytes(8).toString('hex')}` : undefined;
    const clientId = assigned ?? connectClientId;
    const existing = this.directory.get(clientId);
    const takesOver = existing !== undefined && existing.openConnections().length > 0;
    if (this.relayed >= this.options.maxConnections && !takesOver) {
      this.counters.refusedConnections++;
      return this.refuse(connection, connectClientId, 'maxConnections reached');
    }
    // A connection for this client id is opened: wills a crash left waiting are not sent [MQTT-3.1.2-8].
    this.crashWills.cancel(clientId);
    if (existing !== undefined) {
      // The session exists on some thread: the connection joins it there (resume or takeover
      // happen inside that one thread; no session state ever moves [MQTT-3.1.4-2]).
      this.relay(connection, existing, clientId, assigned);
      return;
    }
    this.startSession(connection, connectClientId, clientId, assigned);
  }

  /**
   * An undecodable first packet has no session to answer it (its client id is unknown): main
   * answers from its first bytes, as a session thread answers one it accepted (`answerUndecodableFirst`).
   */
  private refuseUndecodable(connection: ClientConnection, error: Error | undefined): void {
    const connack = answerUndecodableFirst(error, connection.firstBytes(), this.sharedCounters, this.log, () => connection.remote);
    if (connack === undefined) return connection.destroy();
    connection.refuse(connack);
  }

  connectTimedOut(connection: ClientConnection): void {
    this.sharedCounters.add(CounterWord.connectTimeouts);
    this.log.warn({ remote: connection.remote, connectTimeout: this.options.connectTimeout }, 'no CONNECT in time');
  }

  closed(connection: ClientConnection, cause: string, sessionKnows: boolean): void {
    this.connections.delete(connection);
    const entry = connection.session;
    if (entry === undefined) return;
    this.relayed--;
    entry.forget(connection.id);
    if (!sessionKnows) entry.post({ t: 'lost', connection: connection.id, cause });
  }

  private relay(connection: ClientConnection, entry: SessionEntry, clientId: string, assigned: string | undefined): void {
    this.relayed++;
    const accepting = connection.acceptedBy;
    if (connection.state === ConnectionState.OnThread && accepting !== undefined && accepting !== entry.thread) {
      // The session lives on another thread: the accepting thread gives the socket back as a
      // duplicate fd (`released`), which then goes to the session's thread as main's own would.
      connection.releasing();
      this.releasing.set(connection.id, { connection, entry, clientId, assigned });
      accepting.send({ t: 'release', local: connection.local, connection: connection.id });
      return;
    }
    entry.attach(connection, assigned, this.handoff);
    if (connection.state === ConnectionState.HandedOff) this.connections.delete(connection);
  }

  private refuse(connection: ClientConnection, clientId: string, why: string): void {
    const v5 = connection.protocolVersion === 5;
    // 3.1.1: 0x03 Server unavailable; 5.0: 0x89 Server busy. Main decides it; the socket's
    // holder writes it at once and closes: main, or the session thread that accepted it.
    const connack = v5
      ? encodePacket({ cmd: 'connack', sessionPresent: false, reasonCode: ReasonCode.ServerBusy }, 5)
      : encodePacket({ cmd: 'connack', sessionPresent: false, returnCode: ConnackReturnCode.ServerUnavailable }, 4);
    if (connection.state === ConnectionState.OnThread) {
      // Only the accepting thread can read the peer's address: it sends it back (`refused`,
      // logged in onListenerMessage) before it writes the CONNACK.
      return connection.refuse(connack, this.log.isLevelEnabled('warn') ? { clientId, why } : undefined);
    }
    this.log.warn({ remote: connection.remote, clientId, why }, 'connection refused: capacity');
    connection.refuse(connack);
  }

  // ---- sockets the session threads accept (session/worker/thread-listener.ts) ----

  private onListenerMessage(link: ThreadLink, message: FromListener): void {
    switch (message.t) {
      case 'listening':
        // The thread owns its duplicate now: it closes with the thread.
        this.listeners?.opened(link);
        return;
      case 'accepted':
        return this.accepted(link, message);
      case 'released':
        return this.released(message);
      case 'refused':
        this.log.warn({ remote: message.remote, clientId: message.clientId, why: message.why }, 'connection refused: capacity');
        return;
    }
  }

  /** A session thread accepted a socket and decoded its CONNECT: decide as for one main accepted. */
  private accepted(link: ThreadLink, message: AcceptedMessage): void {
    if (this.closing !== undefined) {
      link.send({ t: 'drop', local: message.local });
      return;
    }
    const connection = ClientConnection.onThread(this.nextConnection++, link, message, this);
    this.route(connection, message.clientId);
  }

  /** The accepting thread released a connection whose session lives on another thread. */
  private released(message: ReleasedMessage): void {
    const target = this.releasing.get(message.connection);
    const handoff = this.handoff!;
    const handed = message.fd !== undefined ? { fd: message.fd, ino: message.ino ?? 0 } : undefined;
    if (target === undefined) {
      if (handed !== undefined) handoff.closeOrphan(handed);
      return;
    }
    const connection = target.connection;
    this.forgetRelease(connection);
    if (handed === undefined || this.closing !== undefined) {
      // Its socket closed on the accepting thread before it could leave (or the broker closes).
      if (handed !== undefined) handoff.closeOrphan(handed);
      return this.releaseFailed(connection, target.entry);
    }
    if (target.entry.state === EntryState.Live && target.entry.lastAttached > connection.id) {
      // A newer connection for this client id (a larger id: main decided it later) reached the
      // session while this one was on its way. The newer one is the one that takes over
      // [MQTT-3.1.4-3] (3.1.1: [MQTT-3.1.4-2]); this one, never connected (no CONNACK), is closed, not attached after it.
      handoff.closeOrphan(handed);
      return this.releaseFailed(connection, target.entry);
    }
    connection.released(handed, message.bytes);
    if (target.entry.state === EntryState.Live) {
      target.entry.attach(connection, target.assigned, handoff);
      return;
    }
    // Its session ended while the socket was on its way: decided again, as a new arrival.
    this.relayed--;
    this.route(connection, target.assigned === undefined ? target.clientId : '');
  }

  /** `connection`'s release is answered (or can no longer be): a closing broker may go on. */
  private forgetRelease(connection: ClientConnection): void {
    this.releasing.delete(connection.id);
    if (this.releasing.size === 0) this.releasesSettled?.();
  }

  /**
   * A connection that never reached its session: no longer counted; a session started for it
   * alone (never attached) ends, or it would wait for ever.
   */
  private releaseFailed(connection: ClientConnection, entry: SessionEntry): void {
    this.relayed--;
    connection.state = ConnectionState.Closed;
    if (entry.state === EntryState.Live && entry.lastAttached === 0) {
      this.unlist(entry);
      entry.state = EntryState.Ending;
      entry.post({ t: 'shutdown' });
    }
  }

  // ---- sessions ----

  private startSession(connection: ClientConnection, connectClientId: string, clientId: string, assigned: string | undefined): void {
    const id = this.ids.allocate();
    // A thread-accepted socket stays where it is when that thread is among the least loaded.
    const thread = id === undefined ? undefined : this.threadLinks.place(connection.acceptedBy);
    if (id === undefined || thread === undefined) {
      if (id !== undefined) this.ids.release(id);
      this.counters.refusedSessions++;
      return this.refuse(connection, connectClientId, 'maxSessions reached');
    }
    const entry = new SessionEntry(id, clientId, thread);
    this.bySession.set(id, entry);
    this.directory.set(clientId, entry);
    this.relay(connection, entry, clientId, assigned);
  }

  private onSessionMessage(thread: ThreadLink, message: FromSession): void {
    const entry = this.bySession.get(message.session);
    if (entry === undefined || entry.thread !== thread) return;
    switch (message.t) {
      case 'out':
        entry.connection(message.connection)?.fromWorker(message.chunks, message.consumed, message.close === true);
        return;
      case 'retain':
        this.retain(message.topic, message.message, message.seq);
        return;
      case 'retained?':
        entry.post({ t: 'retained', request: message.request, messages: this.retainedFor(message.filter, message.seq) });
        return;
      case 'ending':
        // Only if no connection was attached after the one the worker saw last; otherwise the
        // attach on its way revives the session in the worker.
        if (entry.state === EntryState.Live && entry.lastAttached === message.lastConnection) {
          this.unlist(entry);
          entry.state = EntryState.Ending;
          entry.post({ t: 'end' });
        }
        return;
      case 'closed':
        entry.connection(message.connection)?.closedByThread(message.cause);
        return;
      case 'ended':
        this.cleanup(entry);
        return;
    }
  }

  private unlist(entry: SessionEntry): void {
    if (this.directory.get(entry.clientId) === entry) this.directory.delete(entry.clientId);
  }

  private retain(topic: string, message: RoutedMessage | undefined, seq: number): void {
    if (message === undefined) this.retained.delete(topic);
    else {
      const outcome = this.retained.set(message, utf8Length(topic) + message.payload.byteLength);
      if (outcome === 'refused-full') this.log.warn({ topic }, 'retained message not stored: retained store full (maxRetainedMessages / maxRetainedBytes)');
      else this.retainedSeqs.set(message, seq);
    }
    this.sharedCounters.set(CounterWord.retainedMessages, this.retained.size);
  }

  /**
   * The retained messages matching `filter` for a subscription made when the sequence was at
   * `seq`: one stored after it was routed to that subscription live, so it is not sent again as
   * a retained message [MQTT-3.3.1-9] (CounterWord.retainSeq). The links of the threads are not
   * ordered with each other: without this, a query that a later retained PUBLISH from another
   * thread overtook would answer with it, and the client would get it twice (RETAIN 1 the
   * second time even with Retain As Published 0 [MQTT-3.3.1-12]).
   */
  private retainedFor(filter: string, seq: number): RoutedMessage[] {
    const now = Date.now();
    const out: RoutedMessage[] = [];
    for (const message of this.retained.match(filter)) {
      // An expired retained message is deleted rather than sent [MQTT-3.3.2-5].
      if (message.expiresAt !== undefined && message.expiresAt <= now) this.retained.delete(message.topic);
      else if ((((this.retainedSeqs.get(message) ?? seq) - seq) | 0) <= 0) out.push(message);
    }
    this.sharedCounters.set(CounterWord.retainedMessages, this.retained.size);
    return out;
  }

  /**
   * A session thread died: only its sessions end. Main closes their sockets, publishes their
   * wills, removes their subscriptions and releases the register lock the thread may have held;
   * a replacement thread starts (thread-links.ts).
   */
  private onThreadDied(thread: ThreadLink, err: unknown): void {
    const threadId = thread.threadId;
    const lost = [...this.bySession.values()].filter((entry) => entry.thread === thread && entry.state !== EntryState.Gone);
    this.log.warn({ thread: threadId, sessions: lost.length, err: (err as Error).message }, 'session thread died; ending its sessions');
    this.counters.workerCrashes++;
    if (threadId !== 0) {
      this.fanout.forgetThread(threadId);
      // Before anything else on main writes to the register: a lock the dead thread held is
      // released (its half-done write rolled back), and its owner id can be claimed again.
      this.recovering = this.recovering
        .then(() => this.registerHost.recoverDeadThread(threadId))
        .catch((recoverErr: unknown) => {
          this.log.error({ err: recoverErr }, 'recovering the register from a dead thread failed');
        });
    }
    const exited = this.workerExits.whenExited(threadId);
    // Its accepted sockets closed with it: those main asked it to release never arrive.
    for (const { connection, entry } of [...this.releasing.values()]) {
      if (connection.acceptedBy !== thread) continue;
      this.forgetRelease(connection);
      this.releaseFailed(connection, entry);
    }
    // A listening duplicate it never opened is main's to close, once the thread surely exited.
    this.listeners?.threadDied(thread, exited);
    for (const entry of lost) void this.recoverFromCrash(entry, exited);
  }

  /**
   * Ends one session of a dead thread: its sockets, its wills, its subscriptions. `exited`
   * settles when the thread has surely exited: only then is a handed-off fd it may never have
   * opened closed by main (worker-exits.ts says why).
   */
  private async recoverFromCrash(entry: SessionEntry, exited: Promise<void>): Promise<void> {
    this.unlist(entry);
    entry.state = EntryState.Ending;
    this.table.clear(entry.id);
    const connects: IConnectPacket[] = [];
    for (const connection of entry.openConnections()) {
      if (connection.willConnect) connects.push(connection.willConnect);
      connection.destroy();
    }
    if (this.handoff !== undefined) {
      const handoff = this.handoff;
      await exited;
      for (const connection of entry.openConnections()) connection.orphaned(handoff);
    }
    await this.recovering;
    try {
      await this.registerHost.register.removeSession(entry.id);
    } catch (removeErr) {
      this.log.error({ err: removeErr }, 'removing a dead session from the register failed');
    }
    // The session's state died with its thread (a reconnect finds no session: Session Present
    // 0); its wills go now, or after their v5 Will Delay Interval (crash-wills.ts).
    const now = Date.now();
    for (const connect of connects) this.crashWills.add(entry.clientId, connect, now, this.maxSessionExpiry);
    this.cleanup(entry);
  }

  /** Publishes a will of a dead thread's session from main (and stores it if retained). */
  private publishCrashWill(will: RoutedMessage): void {
    this.counters.crashWills++;
    // An empty payload or a zero lifetime deletes the retained message (retainedCopy).
    if (will.retain) this.retain(will.topic, retainedCopy(will), this.sharedCounters.next(CounterWord.retainSeq));
    this.fanout.route(will, 0);
  }

  private cleanup(entry: SessionEntry): void {
    if (entry.state === EntryState.Gone) return;
    entry.state = EntryState.Gone;
    this.unlist(entry);
    if (this.bySession.get(entry.id) === entry) this.bySession.delete(entry.id);
    for (const connection of entry.openConnections()) {
      // A handed-off socket its thread still had is closed with the thread or was reported
      // already; either way it no longer counts here.
      connection.closedByThread('session ended');
      connection.destroy();
    }
    this.table.clear(entry.id);
    this.backlog.clear(entry.id);
    this.ids.release(entry.id);
    entry.thread.sessions--;
    this.entryDone.get(entry)?.();
    this.entryDone.delete(entry);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const serverClosed = (this.bound ?? Promise.resolve())
      .catch(() => {})
      .then(() => new Promise<void>((resolve) => this.server.close(() => resolve())));
    // No new connections first: the threads stop listening (and close what they had not yet
    // announced), and main's duplicate goes; the port is free once the threads' are closed too.
    this.listeners?.close(this.threadLinks.all());
    // Sessions end with the broker, so crash wills still waiting for their delay go now [MQTT-3.1.2-8].
    this.crashWills.flush(Date.now());
    for (const connection of this.connections) {
      if (connection.session === undefined) connection.destroy();
    }
    const ended: Promise<void>[] = [];
    for (const entry of this.bySession.values()) {
      ended.push(new Promise<void>((resolve) => this.entryDone.set(entry, resolve)));
      entry.post({ t: 'shutdown' });
    }
    // A release asked before close() is answered with a duplicate fd that only main can close
    // (`released`): the links stay open until each answer came (or its thread died), else the
    // answer is dropped with the closed port and the fd, and the client's connection, stay open.
    if (this.releasing.size > 0) ended.push(new Promise<void>((resolve) => (this.releasesSettled = resolve)));
    this.batch.flushNow();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(ended),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000))),
    ]);
    clearTimeout(timer);
    this.batch.flushNow();
    for (const connection of this.connections) connection.destroy();
    this.fanout.close();
    // Closing the links ends each thread's host task; destroy stops the threads themselves.
    this.threadLinks.close();
    await this.pool.destroy();
    this.workerExits.close();
    // The threads are gone: listening duplicates they never opened are main's to close.
    this.listeners?.closeUnopened();
    // No socket is pending any more: the threads' closed with them, main destroyed its own
    // (each gave its place back then). The gauges are set, not reclaimed share by share: a
    // thread terminated while giving a place back, between its share and the gauge (the one
    // place pending-gauge.ts allows a dying thread to leave), would keep it counted.
    this.sharedCounters.set(CounterWord.pendingConnections, 0);
    this.sharedCounters.set(CounterWord.pendingConnectBytes, 0);
    // Releases still asked for died with the threads (their sockets closed there).
    this.releasing.clear();
    for (const entry of [...this.bySession.values()]) this.cleanup(entry);
    await serverClosed;
    this.log.info({ url: this.url }, 'broker closed');
  }
}
