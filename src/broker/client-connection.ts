/**
 * The main thread's record of one client connection, whoever accepted its socket.
 *
 * Main accepted it (option `acceptOnSessionThreads` off, or no hand-off): main reads only its
 * first packet (the CONNECT, bounded by `maxPacketSize` and `connectTimeout`) to find the
 * session. Then either it hands the socket to the session's thread (`fd-handoff.ts`: the thread
 * owns it from then on, and this object only remembers the connection for counts, wills and
 * crash clean-up), or, where that is not available, it relays bytes both ways over the link of
 * the session's thread, once per event-loop turn, with backpressure both ways.
 *
 * A session thread accepted it (`session/worker/thread-listener.ts`): main never has the socket;
 * the record starts from the thread's `accepted` with what main decides with and keeps (client
 * id, protocol level, will), and from then on is the same record as a handed-off one: given to
 * a session on that thread (`attach` with the thread's `local` number), or released by it as a
 * duplicate fd and handed to the session's thread like one main accepted.
 */
import { Socket } from 'node:net';
import type { IConnectPacket, Packet } from 'mqtt-packet';
import type { Flushable, TurnBatch } from './turn-batch.js';
import type { FdHandoff, HandedSocket } from './fd-handoff.js';
import type { SessionEntry } from './session-entry.js';
import type { ThreadLink } from './thread-links.js';
import type { AcceptedMessage, AttachMessage, RefuseMessage } from './thread-messages.js';
import { keepWill, unpackWill } from './kept-will.js';
import { LINGER_MS, writeAndClose } from './socket-close.js';
import { transferable } from '../owned-bytes.js';
import { FirstPacketReader } from './first-packet-reader.js';
import type { PendingPlace } from './pending-gauge.js';

/** Where a connection is; one state. */
export const enum ConnectionState {
  /** Reading the first packet. */
  AwaitingConnect,
  /** Handed to a session; bytes are relayed. */
  Relaying,
  /** The socket itself was handed to the session's thread, which owns it now. */
  HandedOff,
  /** A session thread accepted it and holds it; main has not given it to a session yet. */
  OnThread,
  /**
   * Its accepting thread was asked to release it (the session lives on another thread): main
   * waits for the duplicate fd (`released`), then hands it over as one it accepted itself.
   */
  Releasing,
  /** Closing or closed; nothing more is relayed. */
  Closed,
}

/** What the broker learns from a connection. */
export interface ConnectionEvents {
  /** The first packet decoded (`packet`), or failed to (`error`). */
  firstPacket(connection: ClientConnection, packet: Packet | undefined, error: Error | undefined): void;
  /**
   * The connection is gone: its socket closed, or (handed off) its thread said it closed it.
   * `sessionKnows`: the session's thread saw it itself, nothing to tell it.
   */
  closed(connection: ClientConnection, cause: string, sessionKnows: boolean): void;
  /** No CONNECT within `connectTimeout`; the socket is being destroyed. */
  connectTimedOut(connection: ClientConnection): void;
}

/** Limits that apply to every connection. */
export interface RelayLimits {
  maxPacketSize: number;
  connectTimeout: number;
  /** Bytes awaiting the worker before the socket is paused. */
  relayBufferBytes: number;
}

/**
 * Main's socket and what it reads and relays through it. A connection whose socket is handed to
 * its session's thread drops all of this once main's handle has closed: it is most of what a
 * connection cost main, and main no longer reads or writes that socket.
 */
class MainSocket {
  pending: Uint8Array[] = [];
  /** Bytes sent to the worker (or waiting to be) and not yet consumed there. */
  awaitingWorker = 0;
  paused = false;
  written = 0;
  reported = 0;
  linger: NodeJS.Timeout | undefined;
  /** Made on first use: a handed-off connection never relays, and needs no callback. */
  onFlushed: (() => void) | undefined;
  /**
   * The peer's `address:port`, read on first use (a log line, a relay's attach): reading it is a
   * `getpeername(2)` and a string, which a handed-off connection that main logs nothing about
   * never needs on main (its thread reads it from its own socket, see `ConnectionLink.remote`).
   */
  remote: string | undefined;

  constructor(
    readonly socket: Socket,
    readonly limits: RelayLimits,
    readonly batch: TurnBatch,
    /** Its first packet's reading: the bytes, `connectTimeout`, its pending place and bytes. */
    readonly reader: FirstPacketReader,
  ) {}
}

/** A socket main accepted, and what its connection needs of main to read and relay it. */
export interface MainAccepted {
  readonly socket: Socket;
  readonly limits: RelayLimits;
  /** Main's turn batch: the relay's chunks leave once per turn. */
  readonly batch: TurnBatch;
  /** Its place under `maxPendingConnections` (and later its first packet's bytes), given back as it stops awaiting its CONNECT. */
  readonly place: PendingPlace;
}

export class ClientConnection implements Flushable {
  state = ConnectionState.AwaitingConnect;
  /** The session it is relayed to, once routed. */
  session: SessionEntry | undefined;
  /** The protocol level of its CONNECT, once decoded. */
  protocolVersion: number | undefined;
  /**
   * What main needs of a CONNECT with a will for the connection's life (see {@link keepWill}):
   * the will, published by main if the session's thread dies. Undefined without a will.
   */
  willConnect: IConnectPacket | undefined;
  /** The duplicate fd the session's thread owns, once handed off (-1 before), and its inode. */
  private handedFd = -1;
  private handedIno = 0;
  /** Main's socket and its relay state; undefined once a handed-off socket's handle has closed, or when a session thread accepted it. */
  private io: MainSocket | undefined;
  /** The session thread that accepted the socket (undefined: main did), and its number there. */
  acceptedBy: ThreadLink | undefined;
  local = 0;
  /** Released by its accepting thread: the bytes read and not consumed, until the attach takes them. */
  private releasedBytes: Uint8Array[] | undefined;

  /** The record of a socket session thread `thread` accepted and announced in `accepted`. */
  static onThread(id: number, thread: ThreadLink, accepted: AcceptedMessage, events: ConnectionEvents): ClientConnection {
    const connection = new ClientConnection(id, events);
    connection.state = ConnectionState.OnThread;
    connection.acceptedBy = thread;
    connection.local = accepted.local;
    connection.protocolVersion = accepted.protocolVersion;
    if (accepted.will !== undefined) connection.willConnect = unpackWill(accepted.will);
    return connection;
  }

  /** @param accepted what main accepted, when it did; without it, see {@link onThread}. */
  constructor(
    readonly id: number,
    private readonly events: ConnectionEvents,
    accepted?: MainAccepted,
  ) {
    if (accepted === undefined) return;
    const { socket, limits } = accepted;
    // What it keeps goes to the session's thread by transfer: a chunk kept as it came is
    // copied unless it owns its memory (transferable).
    const reader = new FirstPacketReader(limits, accepted.place, () => {
      this.events.connectTimedOut(this);
      this.destroy();
    }, transferable);
    const io = new MainSocket(socket, limits, accepted.batch, reader);
    this.io = io;
    // TCP_NODELAY is already set: the server turns it on as it accepts (`noDelay`, broker.ts).
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.reportDrained(true));
    socket.on('error', () => {
      // 'close' follows with the cause recorded below.
    });
    socket.on('close', (hadError) => this.onClose(hadError ? 'socket error' : 'connection closed by peer'));
  }

  /** The peer's address, for logs and a relayed session's thread ('' once main dropped its socket). */
  get remote(): string {
    const io = this.io;
    // A socket a session thread holds is read there (RefuseMessage.log), not here.
    if (io === undefined) return '';
    return (io.remote ??= `${io.socket.remoteAddress}:${io.socket.remotePort}`);
  }

  /** Main's handle of the socket, while it has one. */
  get socket(): Socket | undefined {
    return this.io?.socket;
  }

  /** The bytes read so far when the first packet decoded (the CONNECT and what followed). */
  takeFirstBytes(): Uint8Array[] {
    return this.io!.reader.bytes.take();
  }

  /** The bytes read so far, joined (to answer a first packet that did not decode). */
  firstBytes(): Buffer {
    return this.io!.reader.bytes.joined();
  }

  /** Bytes relayed (or waiting to be) that the session's thread has not consumed yet. */
  get unconsumed(): number {
    return this.io?.awaitingWorker ?? 0;
  }

  /**
   * Gives the connection to `session`: the attach to post (without its session and assigned
   * client id) and its buffers to transfer. One of: the accepting thread's own socket (`local`),
   * a released or main-accepted socket handed off as a duplicate fd (when `handoff` is given and
   * it can be), or a relay with main's socket.
   */
  attachTo(session: SessionEntry, handoff: FdHandoff | undefined): Omit<AttachMessage, 'session'> {
    if (this.state === ConnectionState.OnThread) {
      this.session = session;
      this.state = ConnectionState.HandedOff;
      return { t: 'attach', connection: this.id, bytes: [], local: this.local };
    }
    if (this.state === ConnectionState.Releasing) {
      const bytes = this.releasedBytes ?? [];
      this.releasedBytes = undefined;
      this.session = session;
      this.state = ConnectionState.HandedOff;
      return { t: 'attach', connection: this.id, bytes, fd: this.handedFd };
    }
    const bytes = this.takeFirstBytes();
    const handed = handoff === undefined ? undefined : this.handOffTo(session, handoff);
    if (handed === undefined) this.relayTo(session);
    // A handed-off socket's thread reads the peer's address from its own socket, and only when
    // it logs it; a relayed one's thread has no socket, so main's address goes with the attach.
    return handed !== undefined
      ? { t: 'attach', connection: this.id, bytes, fd: handed.fd }
      : { t: 'attach', connection: this.id, bytes, remote: this.remote };
  }

  /** Whether the socket is with a session thread (handed off, or accepted there), not main. */
  get onSessionThread(): boolean {
    return this.state === ConnectionState.HandedOff || this.state === ConnectionState.OnThread || this.state === ConnectionState.Releasing;
  }

  /** Its accepting thread is asked to release it: the session lives on another thread. */
  releasing(): void {
    this.state = ConnectionState.Releasing;
  }

  /** The accepting thread released it: `handed` is the duplicate fd main now holds, `bytes` what was read. */
  released(handed: HandedSocket, bytes: Uint8Array[]): void {
    this.handedFd = handed.fd;
    this.handedIno = handed.ino;
    this.releasedBytes = bytes;
  }

  /**
   * Refuses a released connection whose session went meanwhile and could not be made again
   * (capacity): main opens the duplicate itself, writes `bytes` (the CONNACK) and closes.
   */
  private refuseReleased(bytes: Buffer): void {
    if (this.handedFd < 0) return;
    this.state = ConnectionState.Closed;
    const socket = new Socket({ fd: this.handedFd, readable: true, writable: true });
    this.handedFd = -1;
    socket.on('error', () => {});
    writeAndClose(socket, bytes);
  }

  /** Starts relaying to `session` (its thread gets `takeFirstBytes()` in an attach). */
  relayTo(session: SessionEntry): void {
    this.session = session;
    this.state = ConnectionState.Relaying;
  }

  /**
   * Hands the socket to `session`'s thread: duplicates its fd and destroys main's handle, in
   * this tick (main has read exactly what `takeFirstBytes` returns, nothing after it). Returns
   * the fd to send, or undefined when this socket cannot be handed off (it is relayed instead).
   */
  handOffTo(session: SessionEntry, handoff: FdHandoff): HandedSocket | undefined {
    const io = this.io!;
    // Bytes read into the stream's buffer but not yet emitted would be lost with main's handle.
    if (io.socket.readableLength > 0) return undefined;
    const handed = handoff.handOff(io.socket);
    if (handed === undefined) return undefined;
    this.session = session;
    this.handedFd = handed.fd;
    this.handedIno = handed.ino;
    this.state = ConnectionState.HandedOff;
    io.pending = [];
    return handed;
  }

  /** The session's thread closed (or lost) the handed-off socket. */
  closedByThread(cause: string): void {
    if (this.state !== ConnectionState.HandedOff) return;
    this.state = ConnectionState.Closed;
    this.events.closed(this, cause, true);
  }

  /**
   * The thread that owned the handed-off socket died: it closed the socket with it, unless it
   * died before opening the duplicate, which is then closed here.
   */
  orphaned(handoff: FdHandoff): void {
    if (this.state !== ConnectionState.HandedOff || this.handedFd < 0) return;
    handoff.closeOrphan({ fd: this.handedFd, ino: this.handedIno });
    this.closedByThread('session thread died');
  }

  flush(): void {
    const session = this.session;
    const io = this.io;
    if (this.state !== ConnectionState.Relaying || session === undefined || io === undefined || io.pending.length === 0) return;
    const chunks = io.pending;
    io.pending = [];
    session.thread.send({ t: 'in', session: session.id, connection: this.id, chunks }, chunks.map((c) => c.buffer as ArrayBuffer));
  }

  /** Bytes from the session's worker; `consumed` acknowledges relayed input. */
  fromWorker(chunks: Uint8Array[], consumed: number, close: boolean): void {
    const io = this.io;
    if (io === undefined) return;
    io.awaitingWorker -= consumed;
    if (io.paused && io.awaitingWorker <= io.limits.relayBufferBytes) {
      io.paused = false;
      io.socket.resume();
    }
    if (this.state === ConnectionState.Closed) return;
    const onFlushed = (io.onFlushed ??= () => this.reportDrained(false));
    for (const chunk of chunks) {
      io.written += chunk.byteLength;
      // The callback runs once the bytes left for the kernel: the session learns of it in
      // batches of a quarter of the relay buffer, enough to never leave it stalled.
      io.socket.write(chunk, onFlushed);
    }
    if (close) this.endGracefully();
  }

  /**
   * Closes the socket at once (refusal, timeout, shutdown, crash of its session's thread). A
   * handed-off socket is not main's to close: its thread closes it (or {@link orphaned} does).
   */
  destroy(): void {
    if (this.onSessionThread) return;
    this.state = ConnectionState.Closed;
    this.leavePending();
    this.io?.socket.destroy();
  }

  /**
   * Writes `bytes` (a CONNACK refusal) and closes, through whoever holds the socket: the session
   * thread that accepted it, main with the duplicate fd it was released as, or main's own socket.
   */
  refuse(bytes: Buffer, log?: RefuseMessage['log']): void {
    if (this.state === ConnectionState.OnThread) {
      this.state = ConnectionState.Closed;
      const refuse: RefuseMessage = { t: 'refuse', local: this.local, connack: bytes };
      if (log !== undefined) refuse.log = log;
      this.acceptedBy!.send(refuse);
      return;
    }
    if (this.state === ConnectionState.Releasing) return this.refuseReleased(bytes);
    this.leavePending();
    this.io!.socket.write(bytes);
    this.endGracefully();
  }

  /**
   * Flushes what was written, then closes; a peer that does not read within `LINGER_MS` is cut
   * off, so a closing socket cannot hold its buffers forever.
   */
  private endGracefully(): void {
    this.state = ConnectionState.Closed;
    const io = this.io!;
    const socket = io.socket;
    socket.end(() => socket.destroy());
    io.linger = setTimeout(() => socket.destroy(), LINGER_MS);
  }

  private onData(chunk: Buffer): void {
    if (this.state === ConnectionState.Closed || this.state === ConnectionState.HandedOff) return;
    const io = this.io!;
    if (this.state === ConnectionState.AwaitingConnect) return this.readFirst(io, chunk);
    const owned = transferable(chunk);
    io.pending.push(owned);
    io.awaitingWorker += owned.byteLength;
    if (io.awaitingWorker > io.limits.relayBufferBytes && !io.paused) {
      io.paused = true;
      io.socket.pause();
    }
    if (this.session !== undefined) io.batch.mark(this);
  }

  private readFirst(io: MainSocket, chunk: Buffer): void {
    const read = io.reader.push(chunk);
    io.awaitingWorker += chunk.byteLength;
    if (read === undefined) return;
    if ('error' in read) return this.events.firstPacket(this, undefined, read.error as Error);
    // Over `maxPendingConnectBytes` (counted and logged by the gauge): closed, nothing answered.
    if ('refused' in read) return this.destroy();
    const first = read.packet;
    if (first.cmd === 'connect') {
      this.protocolVersion = first.protocolVersion;
      if (first.will) this.willConnect = keepWill(first);
    }
    this.events.firstPacket(this, first, undefined);
  }

  private reportDrained(force: boolean): void {
    const io = this.io;
    if (io === undefined) return;
    const flushed = io.written - io.socket.writableLength - io.reported;
    if (flushed <= 0 || this.session === undefined) return;
    if (!force && flushed < io.limits.relayBufferBytes >> 2) return;
    io.reported += flushed;
    this.session.post({ t: 'drained', connection: this.id, bytes: flushed });
  }

  /**
   * The connection no longer awaits its CONNECT (decoded, undecodable, timed out, refused or
   * closed): its timer stops and its place under `maxPendingConnections` and its bytes under
   * `maxPendingConnectBytes` are given back, once.
   */
  private leavePending(): void {
    this.io?.reader.stop();
  }

  private onClose(cause: string): void {
    this.leavePending();
    if (this.io?.linger !== undefined) clearTimeout(this.io.linger);
    // Main's handle of a handed-off socket closes at once; the connection lives on its thread,
    // and main keeps no stream, buffers or listeners for it.
    if (this.handedFd >= 0) {
      this.io = undefined;
      return;
    }
    const wasOpen = this.state !== ConnectionState.Closed;
    this.state = ConnectionState.Closed;
    if (this.io !== undefined) this.io.pending = [];
    this.events.closed(this, wasOpen ? cause : 'closed by broker', false);
  }
}

