/**
 * Hosts one session on a worker thread: owns its {@link SessionCoreApi}, its connections' links
 * and its one timer, talks to main over the thread's link, and carries out the core's actions.
 * No protocol rule lives here: what to send and when is the core's decision.
 */
import type { IConnectPacket, Packet } from 'mqtt-packet';
import type { Level } from 'pino';
import type {
  Action,
  DeliveryInfo,
  Output,
  RoutedMessage,
  SendRetainedAction,
  SessionCoreApi,
  SubscribeResult,
} from '../core/api.js';
import { SessionState } from '../core/api.js';
import { DecodeError } from '../../protocol/decoder.js';
import { ReasonCode } from '../../protocol/reason-codes.js';
import { FilterTooDeepError, RegisterFullError, TopicError, type SessionId } from '../../register/types.js';
import type { AttachMessage, FromSession, OutMessage, ToSession, WithoutSession } from '../../broker/thread-messages.js';
import { CounterWord } from '../../broker/shared-counters.js';
import { countsInBacklog, type Congestion } from '../../broker/fanout.js';
import { ConnectionLink, LinkState, closeUnadopted, type LinkTransport, type SocketEvents } from './connection-link.js';
import { HeldDeliveries } from './held-deliveries.js';
import type { WorkerThread } from './worker-thread.js';

/** States in which the core takes packets from its current connection. */
function takesPackets(state: SessionState): boolean {
  return state === SessionState.Connected || state === SessionState.Authenticating;
}

/**
 * Client packets the core still takes while the session's publishing is paused: they complete
 * earlier flows and never change what a held PUBLISH would see, and the acknowledgements are
 * what drains this session's own queue (a client subscribed to what it publishes).
 */
function passesPause(packet: Packet): boolean {
  switch (packet.cmd) {
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'pingreq':
      return true;
    default:
      return false;
  }
}

type LogLevel = Extract<Level, 'debug' | 'info' | 'warn' | 'error'>;

/** Where the host is in its life. */
const enum HostState {
  /** Started; waits for main's first attach. */
  Waiting,
  /** A core exists and takes input. */
  Live,
  /** The core ended; main has been asked whether it may end (an attach may still arrive). */
  Ending,
  /** Finished: main has been told (`ended`). */
  Done,
}

export class SessionHost implements SocketEvents {
  private state = HostState.Waiting;
  private core: SessionCoreApi | undefined;
  /** The link the core talks to, if any. */
  private current: ConnectionLink | undefined;
  /**
   * Its connections' links, oldest first: the one link itself, or an array for a takeover's
   * moment (an array of one costs ~56 bytes, an empty Map ~180, and every idle session would
   * carry it). An array is replaced, never changed in place, so a loop over it is safe from
   * links that go meanwhile.
   */
  private links: ConnectionLink | ConnectionLink[] | undefined;
  private lastAttached = 0;
  /** The client id main assigned for the CONNECT being attached (its client id was empty). */
  private assigned: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  /** Retained-message requests to main awaiting their answer; made by the first one. */
  private retainedRequests: Map<number, SendRetainedAction> | undefined;
  private nextRequest = 1;
  /**
   * QoS 0 deliveries held back while the socket is behind (bounded by the session's maxQueued
   * and maxQueuedBytes); undefined when none (made by the first, dropped when emptied).
   */
  private heldDeliveries: HeldDeliveries | undefined;
  /** The subscriber this session's publishing waits for, while paused (see SessionBacklog). */
  private pausedBy: Congestion | undefined;
  /** The core's queue length as last counted in the shared backlog. */
  private countedQueued = 0;
  /** QoS 1/2 deliveries received and not yet subtracted from the shared backlog. */
  private receivedDeliveries = 0;
  /**
   * Register writes of this session, one after another: the last one's promise, undefined once
   * it settled (an idle session keeps no settled promise).
   */
  private writes: Promise<void> | undefined;

  constructor(
    readonly sessionId: SessionId,
    readonly clientId: string,
    private readonly thread: WorkerThread,
  ) {}

  /**
   * Logs through the thread's logger with this session's client id, when `level` is enabled. No
   * child logger per session: one made at the first "client connected" would stay with every
   * idle session (~200 bytes each); the lines read the same (thread, clientId, then the fields).
   */
  private log(level: LogLevel, fields: object, msg: string): void {
    const log = this.thread.log;
    if (log.isLevelEnabled(level)) log[level]({ clientId: this.clientId, ...fields }, msg);
  }

  /**
   * Whether `level` is logged: checked before building a line's fields where building them
   * costs something (a link's `remote` is read from its socket on first use).
   */
  private logs(level: LogLevel): boolean {
    return this.thread.log.isLevelEnabled(level);
  }

  /**
   * A routed message for this session (direct call or from the thread mailbox). While the
   * socket is behind, QoS 0 messages wait here (bounded, then dropped and counted); QoS 1/2 go
   * on to the core, whose in-flight window and queue bound them. Order is kept per QoS level,
   * which is what the spec asks [MQTT-4.6.0-6].
   */
  deliver(message: RoutedMessage, info: DeliveryInfo): void {
    if (countsInBacklog(message, info.qos)) this.receivedDeliveries++;
    if (this.state !== HostState.Live || this.core === undefined) return this.settleBacklog();
    const qos0 = message.qos === 0 || info.qos === 0;
    if (qos0 && (this.heldDeliveries !== undefined || this.behind())) {
      // Made before it is known to hold anything, but kept only once it does.
      const held = this.heldDeliveries ?? new HeldDeliveries(this.thread.sessionConfig);
      if (!held.hold(message, info)) {
        this.thread.counters.add(CounterWord.relayDropped);
        return;
      }
      if (this.heldDeliveries === undefined) {
        this.heldDeliveries = held;
        // Its sockets' writes, as they reach the kernel, release them (WorkerThread.socketWritten).
        this.thread.holding.add(this);
      }
      return;
    }
    this.apply(this.core.deliver(message, info, Date.now()));
  }

  /** One message from main for this session. */
  onMessage(message: ToSession): void {
    switch (message.t) {
      case 'start':
        return;
      case 'attach':
        return this.attach(message);
      case 'in':
        return this.input(message.connection, message.chunks);
      case 'lost':
        return this.lost(message.connection, message.cause);
      case 'drained': {
        const link = this.link(message.connection);
        if (link) link.awaitingSocket -= message.bytes;
        return this.releaseHeld();
      }
      case 'retained': {
        const request = this.retainedRequests?.get(message.request);
        this.retainedRequests?.delete(message.request);
        // None matched: skipped, as in `act` ('sendRetained'). Every core change is applied as it
        // happens (backlog settled, timer set), so an empty delivery leaves nothing to catch up.
        if (request && this.core && this.state === HostState.Live && message.messages.length > 0) {
          this.apply(this.core.deliverRetained(message.messages, request, Date.now()));
        }
        return;
      }
      case 'end':
        if (this.state === HostState.Ending) this.finish();
        return;
      case 'shutdown':
        return this.shutdown();
      case 'crash':
        // Test hook: end this whole thread the way a crash would.
        if (message.how === 'exit') process.exit(70);
        setImmediate(() => {
          throw new Error('test hook: session thread crash');
        });
        return;
    }
  }

  private attach(message: AttachMessage): void {
    if (this.state === HostState.Done) {
      if (message.fd !== undefined) closeUnadopted(message.fd);
      if (message.local !== undefined) this.thread.listener.drop(message.local);
      return;
    }
    // A socket this thread accepted: from here on one path with a handed-off fd's.
    const taken = message.local !== undefined ? this.thread.listener.take(message.local) : undefined;
    if (message.local !== undefined && taken === undefined) {
      // Not reachable while main answers each `accepted` once; if it were, the connection is
      // lost, not a relay with no socket behind it.
      this.thread.toMain.event({ t: 'closed', session: this.sessionId, connection: message.connection, cause: 'accepted socket gone' });
      if (this.state === HostState.Waiting) {
        // A session started for this connection alone never had a connection: it ends (asking
        // main first, as any ending does, in case another connection is on its way to it).
        this.lastAttached = message.connection;
        this.beginEnding();
      }
      return;
    }
    if (this.state === HostState.Waiting) this.thread.table.place(this.sessionId, this.thread.threadId);
    this.lastAttached = message.connection;
    const bytes = taken !== undefined ? taken.bytes : message.bytes;
    const transport: LinkTransport =
      message.fd !== undefined || taken !== undefined
        ? {
            kind: 'socket',
            fd: message.fd ?? -1,
            socket: taken?.socket,
            events: this,
            heldBytesLimit: this.thread.relayBufferBytes,
            written: this.thread.socketWritten,
            remoteNow: this.logs('info'),
            writer: this.thread.socketWriter,
          }
        : { kind: 'relay', send: (out, buffer) => this.thread.toMain.send(this.sessionId, out, buffer) };
    const link = new ConnectionLink(
      message.connection,
      message.remote ?? taken?.remote,
      transport,
      this.thread.batch,
      this.thread.maxPacketSize,
      Math.max(1, this.thread.relayBufferBytes >> 2),
    );
    const links = this.links;
    this.links = links === undefined ? link : Array.isArray(links) ? links.concat([link]) : [links, link];
    if (message.assignedClientId !== undefined) this.assigned = message.assignedClientId;
    this.input(link.id, bytes);
    // It closed while main decided: the session sees the CONNECT, then the loss, as it would
    // from a handed-off fd whose peer had gone.
    if (taken?.closedCause !== undefined) link.socketClosed(taken.closedCause === 'socket error');
  }

  // What this session's owned sockets report (SocketEvents): methods, not an object of closures
  // per session, which every idle session would carry.

  /** SocketEvents: bytes read. */
  data(link: ConnectionLink, chunk: Buffer): void {
    this.input(link.id, [chunk]);
  }

  /** SocketEvents: the socket closed. */
  closed(link: ConnectionLink, cause: string): void {
    this.lost(link.id, cause);
  }

  /** SocketEvents: the link reads and writes no more. */
  retired(link: ConnectionLink, cause: string): void {
    // Straight onto the link (not through send(), which flushes links: this runs inside one).
    this.thread.toMain.event({ t: 'closed', session: this.sessionId, connection: link.id, cause });
  }

  private link(connection: number): ConnectionLink | undefined {
    const links = this.links;
    if (!Array.isArray(links)) return links?.id === connection ? links : undefined;
    for (const link of links) if (link.id === connection) return link;
    return undefined;
  }

  /** Its links, oldest first, as an array (one made for the call when there is one link). */
  private linkList(): readonly ConnectionLink[] {
    const links = this.links;
    return links === undefined ? [] : Array.isArray(links) ? links : [links];
  }

  private input(connection: number, chunks: Uint8Array[]): void {
    const link = this.link(connection);
    if (link === undefined) return;
    for (const chunk of chunks) {
      link.consume(chunk.byteLength);
      if (link.state === LinkState.Closing || link.state === LinkState.Closed) continue;
      let packets: Packet[];
      try {
        packets = link.decoder.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (err) {
        this.decodeFailed(link, err);
        continue;
      }
      const sizes = link.decoder.sizes;
      for (let i = 0; i < packets.length; i++) {
        if (link.state !== LinkState.New && link.state !== LinkState.Attached) break;
        const packet = packets[i]!;
        const paused = this.pausedBy !== undefined || link.holding;
        if (paused && link.state === LinkState.Attached && !passesPause(packet)) link.hold(packet, sizes[i]!);
        else this.take(link, packet);
      }
    }
  }

  /** One packet of `link` for the session. */
  private take(link: ConnectionLink, packet: Packet): void {
    if (link.state === LinkState.New) this.connect(link, packet);
    else if (link === this.current && this.core !== undefined && takesPackets(this.core.state)) {
      this.apply(this.core.receive(packet, Date.now()));
    }
  }

  /**
   * A PUBLISH of this session reached a subscriber that is behind: read nothing more from the
   * client but acknowledgements until it drains (or stalls). Held packets count against the
   * link's window (`relayBufferBytes`): past it the socket stops being read (by this thread, or
   * by main for a relayed one, whose held bytes are not acknowledged), and TCP slows the client.
   */
  private pause(congestion: Congestion): void {
    this.pausedBy = congestion;
    void this.thread.backlog.waitUntilClear(congestion.session, congestion.since).then(() => this.resume());
  }

  private resume(): void {
    this.pausedBy = undefined;
    for (const link of this.linkList()) {
      while (this.pausedBy === undefined && link.holding) {
        const packet = link.takeHeld()!;
        if (link.state === LinkState.Attached) this.take(link, packet);
      }
    }
  }

  /** The first packet of a link: its CONNECT (main routed it here by its client id). */
  private connect(link: ConnectionLink, packet: Packet): void {
    link.state = LinkState.Attached;
    if (packet.cmd !== 'connect') {
      // [MQTT-3.1.0-1] the first packet must be CONNECT; main forwards only what decoded as one.
      if (this.logs('warn')) this.log('warn', { remote: link.remote, cmd: packet.cmd }, 'first packet is not CONNECT');
      link.close();
      return this.afterRefusal();
    }
    if (this.core === undefined || this.state === HostState.Ending || this.core.state === SessionState.Ended) {
      this.core = this.thread.createCore(this.sessionId, this.clientId);
      this.state = HostState.Live;
    }
    link.protocolVersion = (packet as IConnectPacket).protocolVersion ?? 4;
    const previous = this.current;
    const ctx = this.assigned !== undefined ? { assignedClientId: this.assigned } : {};
    this.assigned = undefined;
    const out = this.core.attach(packet as IConnectPacket, Date.now(), ctx);
    let refused = false;
    let takeover = false;
    for (const action of out.actions) {
      if (action.kind === 'close') refused = true;
      else if (action.kind === 'closePrevious') takeover = true;
    }
    if (!refused) {
      this.current = link;
      if (this.logs('info')) this.log('info', { remote: link.remote, protocolVersion: this.core.protocolVersion, takeover }, 'client connected');
    }
    this.apply(out, link, previous);
    if (refused) {
      if (this.logs('info')) this.log('info', { remote: link.remote }, 'connection refused');
      this.afterRefusal();
    }
  }

  /** A refused CONNECT ends a session that never had a connection. */
  private afterRefusal(): void {
    if (this.current === undefined && (this.core === undefined || this.core.state === SessionState.Ended)) this.beginEnding();
  }

  private decodeFailed(link: ConnectionLink, err: unknown): void {
    if (!(err instanceof DecodeError)) throw err;
    if (this.logs('warn')) this.log('warn', { remote: link.remote, kind: err.kind, err: err.message }, 'bad packet from client');
    this.thread.counters.add(err.kind === 'too-large' ? CounterWord.packetTooLarge : CounterWord.badPackets);
    if (link === this.current && this.core !== undefined && takesPackets(this.core.state)) {
      this.apply(this.core.receiveError(err.kind, err.message, Date.now()));
      if (link.state !== LinkState.Closing && link.state !== LinkState.Closed) link.close();
      return;
    }
    // Not the session's current connection: one already taken over, or one whose CONNECT main
    // decoded but this decoder did not (main answers undecodable CONNECTs itself). No core
    // speaks for it, so it is closed without an answer.
    link.state = LinkState.Attached;
    link.close();
    this.afterRefusal();
  }

  private lost(connection: number, cause: string): void {
    const link = this.link(connection);
    if (link === undefined) return;
    const rest = this.linkList().filter((l) => l !== link);
    this.links = rest.length > 1 ? rest : rest[0];
    const wasOpen = link.state !== LinkState.Closed;
    link.state = LinkState.Closed;
    if (link !== this.current) return;
    this.current = undefined;
    this.dropHeld();
    if (this.core !== undefined && takesPackets(this.core.state)) {
      if (wasOpen && this.logs('info')) this.log('info', { remote: link.remote, cause }, 'client disconnected');
      this.apply(this.core.connectionLost(Date.now(), cause));
    }
  }

  private shutdown(): void {
    if (this.core !== undefined && this.core.state !== SessionState.Ended) {
      this.apply(this.core.shutdown(Date.now()));
    }
    this.thread.batch.flushNow();
    void (this.writes ?? Promise.resolve()).then(() => this.finish());
  }

  /**
   * Carries out one output: packets to `link` (the current connection unless an attach says
   * otherwise), then each action in order, then the timer.
   */
  private apply(out: Output, link: ConnectionLink | undefined = this.current, previous?: ConnectionLink): void {
    const core = this.core;
    if (core === undefined) return;
    if (out.packets.length > 0 && link !== undefined) link.write(out.packets);
    for (const action of out.actions) this.act(action, link, previous);
    this.settleBacklog();
    this.schedule();
  }

  /**
   * Brings this session's word of the shared backlog up to date: deliveries received since, and
   * the change in the core's queue (a core that is gone queues nothing).
   */
  private settleBacklog(): void {
    const queued = this.core?.queued ?? 0;
    const consumed = this.receivedDeliveries + this.countedQueued - queued;
    this.receivedDeliveries = 0;
    this.countedQueued = queued;
    this.thread.backlog.consumed(this.sessionId, consumed);
  }

  private act(action: Action, link: ConnectionLink | undefined, previous: ConnectionLink | undefined): void {
    const core = this.core!;
    switch (action.kind) {
      case 'route': {
        const packetId = action.ackPacketId;
        const congestion = this.thread.fanout.route(
          action.message,
          this.sessionId,
          packetId === undefined
            ? undefined
            : (matched) => {
                if (this.core === core && core.state !== SessionState.Ended) this.apply(core.completeRoute(packetId, matched, Date.now()));
              },
        );
        if (congestion !== undefined && this.pausedBy === undefined) this.pause(congestion);
        return;
      }
      case 'retain': {
        // Drawn before the 'route' action that follows (publish-inbound.ts): see CounterWord.retainSeq.
        const seq = this.thread.counters.next(CounterWord.retainSeq);
        return this.post(action.message ? { t: 'retain', topic: action.topic, message: action.message, seq } : { t: 'retain', topic: action.topic, seq });
      }
      case 'subscribe':
        return this.registerWrite(async () => {
          // All of one SUBSCRIBE's filters in one register write (one lock hold).
          const outcomes = await this.thread.register.subscribeAll(this.sessionId, action.entries);
          const results = outcomes.map((outcome): SubscribeResult => {
            if (outcome instanceof RegisterFullError) return { ok: false, reasonCode: ReasonCode.QuotaExceeded };
            // Invalid, or deeper than the register holds: well formed maybe, but not allowed (0x8F).
            if (outcome instanceof TopicError || outcome instanceof FilterTooDeepError) return { ok: false, reasonCode: ReasonCode.TopicFilterInvalid };
            return { ok: true, isNew: outcome.isNew };
          });
          if (this.core === core) this.apply(core.completeSubscribe(action.packetId, results, Date.now()));
        });
      case 'unsubscribe':
        return this.registerWrite(async () => {
          const existed: boolean[] = [];
          for (const filter of action.filters) existed.push(await this.thread.register.unsubscribe(this.sessionId, filter));
          if (this.core === core) this.apply(core.completeUnsubscribe(action.packetId, existed, Date.now()));
        });
      case 'sendRetained': {
        // Nothing retained anywhere: nothing to send, and no need to ask main (see CounterWord).
        // The core is not called: deliverRetained([]) changes no state and outputs nothing
        // (session-core.ts), the SUBACK went before this action, and the apply running this
        // action settles the backlog and the timer after it. A SUBSCRIBE of many filters used
        // to make an empty output and a settle per filter here.
        if (this.thread.counters.read(CounterWord.retainedMessages) === 0) return;
        const request = this.nextRequest++;
        (this.retainedRequests ??= new Map()).set(request, action);
        // Read after the subscription is in the register (the SUBSCRIBE's register write came first).
        return this.post({ t: 'retained?', request, filter: action.filter, seq: this.thread.counters.readOrdered(CounterWord.retainSeq) });
      }
      case 'close': {
        this.log(action.peerFault ? 'warn' : 'debug', { reason: action.reason, reasonCode: action.reasonCode }, 'closing connection');
        if (link === undefined) return;
        link.close();
        if (link === this.current) {
          this.current = undefined;
          this.dropHeld();
          if (this.logs('info')) this.log('info', { remote: link.remote, reason: action.reason }, 'client disconnected');
          if (takesPackets(core.state)) {
            this.apply(core.connectionLost(Date.now(), action.reason));
          }
        }
        return;
      }
      case 'closePrevious':
        if (previous !== undefined) {
          previous.write(action.packets);
          previous.close();
          if (this.logs('info')) this.log('info', { remote: previous.remote, reason: action.reason }, 'client disconnected');
        }
        return;
      case 'resetSession':
        return this.registerWrite(async () => {
          await this.thread.register.removeSession(this.sessionId);
        });
      case 'endSession':
        this.log('debug', { reason: action.reason }, 'session ended');
        this.registerWrite(async () => {
          await this.thread.register.removeSession(this.sessionId);
        });
        void (this.writes ?? Promise.resolve()).then(() => {
          if (this.core === core) this.beginEnding();
        });
        return;
      case 'reshare':
        // Queued behind the endSession's register removal, so another member is chosen.
        return this.registerWrite(async () => {
          if (!(await this.thread.fanout.reshare(action.message, action.shareGroup, this.sessionId))) this.thread.counters.add(CounterWord.sessionDropped);
        });
      case 'dropped':
        this.thread.counters.add(CounterWord.sessionDropped);
        this.log('debug', { topic: action.topic, qos: action.qos, cause: action.cause }, 'message dropped');
        return;
    }
  }

  private registerWrite(write: () => Promise<void>): void {
    const settled = (): void => {
      if (this.writes === chained) this.writes = undefined;
    };
    const chained: Promise<void> = (this.writes ?? Promise.resolve()).then(write).then(settled, (err: unknown) => {
      this.log('error', { err }, 'register write failed');
      settled();
    });
    this.writes = chained;
  }

  /**
   * True while the connection owes its socket more than the relay buffer (counting bytes encoded
   * this turn, so one large batch of deliveries cannot overshoot it).
   */
  private behind(): boolean {
    return this.current !== undefined && this.current.backlog > this.thread.relayBufferBytes;
  }

  /** Delivers held QoS 0 messages while the connection is not behind (a write left, or main's socket drained). */
  releaseHeld(): void {
    while (this.heldDeliveries !== undefined && !this.behind() && this.core !== undefined && this.state === HostState.Live) {
      const { message, info } = this.heldDeliveries.take()!;
      if (this.heldDeliveries.length === 0) this.dropHeld();
      this.apply(this.core.deliver(message, info, Date.now(), true));
    }
  }

  /** No more held deliveries (delivered, or the connection that was behind is gone). */
  private dropHeld(): void {
    if (this.heldDeliveries === undefined) return;
    this.heldDeliveries = undefined;
    this.thread.holding.delete(this);
  }

  private schedule(): void {
    const deadline = this.core?.state === SessionState.Ended ? undefined : this.core?.nextDeadline();
    if (deadline === undefined) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    // A timer due at or before the deadline is kept: when it fires it re-reads the deadline and
    // re-arms for a later one. The keep-alive deadline moves later with every packet the client
    // sends, and re-arming for each one cost a clearTimeout and a setTimeout per message.
    if (this.timer !== undefined && this.timerAt <= deadline) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = deadline;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, deadline - Date.now()));
  }

  /** A method, not a bound field: arming is rare now, and an idle session carries no closure. */
  private onTimer(): void {
    this.timer = undefined;
    const core = this.core;
    if (core === undefined || core.state === SessionState.Ended) return;
    const now = Date.now();
    const deadline = core.nextDeadline();
    // Fired for a deadline that has since moved on (see schedule): wait for the new one.
    if (deadline !== undefined && deadline > now) return this.schedule();
    this.apply(core.tick(now));
  }

  /** The core is over; ask main whether a new connection is on its way before finishing. */
  private beginEnding(): void {
    if (this.state === HostState.Done || this.state === HostState.Ending) return;
    this.state = HostState.Ending;
    this.core = undefined;
    this.settleBacklog();
    this.dropHeld();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.post({ t: 'ending', lastConnection: this.lastAttached });
  }

  private finish(): void {
    if (this.state === HostState.Done) return;
    this.state = HostState.Done;
    // Any socket still open goes now, before main hears that the session ended.
    for (const link of this.linkList()) {
      if (link.ownsSocket && link.state !== LinkState.Closed) {
        link.close();
        link.flush();
      }
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.core = undefined;
    this.settleBacklog();
    this.dropHeld();
    this.thread.sessions.delete(this.sessionId);
    this.send({ t: 'ended', session: this.sessionId });
  }

  private post(message: WithoutSession<Exclude<FromSession, OutMessage>>): void {
    if (this.state === HostState.Done) return;
    this.send({ ...message, session: this.sessionId } as FromSession);
  }

  private send(message: FromSession): void {
    // What the session's connections wrote this turn goes to main first, then the event.
    const links = this.links;
    if (Array.isArray(links)) for (const link of links) link.flush();
    else links?.flush();
    this.thread.toMain.event(message);
  }
}
