/**
 * The main thread's side of one client connection. Main accepts every socket and reads only
 * its first packet (the CONNECT, bounded by `maxPacketSize` and `connectTimeout`) to find the
 * session. Then either it hands the socket to the session's thread (`fd-handoff.ts`: the thread
 * owns it from then on, and this object only remembers the connection for counts, wills and
 * crash clean-up), or, where that is not available, it relays bytes both ways over the link of
 * the session's thread, once per event-loop turn, with backpressure both ways.
 */
import type { Socket } from 'node:net';
import type { IConnectPacket, Packet } from 'mqtt-packet';
import { PacketDecoder } from '../protocol/decoder.js';
import type { Flushable, TurnBatch } from './turn-batch.js';
import type { FdHandoff, HandedSocket } from './fd-handoff.js';
import type { SessionEntry } from './session-entry.js';

/** Where a connection is; one state. */
export const enum ConnectionState {
  /** Reading the first packet. */
  AwaitingConnect,
  /** Handed to a session; bytes are relayed. */
  Relaying,
  /** The socket itself was handed to the session's thread, which owns it now. */
  HandedOff,
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

/** How long a closing socket may take to flush its last bytes. */
const LINGER_MS = 5000;

/** True when `chunk` owns its whole ArrayBuffer, which can then be transferred, not copied. */
function ownsBuffer(chunk: Buffer): boolean {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && !(chunk.buffer instanceof SharedArrayBuffer);
}

export class ClientConnection implements Flushable {
  state = ConnectionState.AwaitingConnect;
  /** The session it is relayed to, once routed. */
  session: SessionEntry | undefined;
  /**
   * What main needs of the decoded CONNECT for the connection's life (see {@link keepWill}): its
   * will (published by main if the session's thread dies), client id and protocol level.
   */
  connect: IConnectPacket | undefined;
  private decoder: PacketDecoder | undefined;
  private readonly first: Uint8Array[] = [];
  private pending: Uint8Array[] = [];
  /** Bytes sent to the worker (or waiting to be) and not yet consumed there. */
  private awaitingWorker = 0;
  private paused = false;
  private written = 0;
  private reported = 0;
  private connectTimer: NodeJS.Timeout | undefined;
  /** The duplicate fd the session's thread owns, once handed off. */
  private handed: HandedSocket | undefined;
  readonly remote: string;
  /**
   * Main's handle of the socket; released once a handed-off socket's handle has closed, so
   * main keeps no stream, buffers or listeners for a connection its thread now owns.
   */
  socket: Socket | undefined;

  constructor(
    readonly id: number,
    socket: Socket,
    private readonly limits: RelayLimits,
    private readonly batch: TurnBatch,
    private readonly events: ConnectionEvents,
  ) {
    this.socket = socket;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.decoder = new PacketDecoder(limits.maxPacketSize);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.reportDrained(true));
    socket.on('error', () => {
      // 'close' follows with the cause recorded below.
    });
    socket.on('close', (hadError) => this.onClose(hadError ? 'socket error' : 'connection closed by peer'));
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      this.events.connectTimedOut(this);
      this.destroy();
    }, limits.connectTimeout);
  }

  /** The bytes read so far when the first packet decoded (the CONNECT and what followed). */
  takeFirstBytes(): Uint8Array[] {
    return this.first.splice(0);
  }

  /** The bytes read so far, joined (to answer a first packet that did not decode). */
  firstBytes(): Buffer {
    return Buffer.concat(this.first);
  }

  /** Bytes relayed (or waiting to be) that the session's thread has not consumed yet. */
  get unconsumed(): number {
    return this.awaitingWorker;
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
    // Bytes read into the stream's buffer but not yet emitted would be lost with main's handle.
    const socket = this.socket!;
    if (socket.readableLength > 0) return undefined;
    const handed = handoff.handOff(socket);
    if (handed === undefined) return undefined;
    this.session = session;
    this.handed = handed;
    this.state = ConnectionState.HandedOff;
    this.pending = [];
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
    if (this.state !== ConnectionState.HandedOff || this.handed === undefined) return;
    handoff.closeOrphan(this.handed);
    this.closedByThread('session thread died');
  }

  flush(): void {
    const session = this.session;
    if (this.state !== ConnectionState.Relaying || session === undefined || this.pending.length === 0) return;
    const chunks = this.pending;
    this.pending = [];
    session.thread.send({ t: 'in', session: session.id, connection: this.id, chunks }, chunks.map((c) => c.buffer as ArrayBuffer));
  }

  /** Bytes from the session's worker; `consumed` acknowledges relayed input. */
  fromWorker(chunks: Uint8Array[], consumed: number, close: boolean): void {
    this.awaitingWorker -= consumed;
    if (this.paused && this.awaitingWorker <= this.limits.relayBufferBytes) {
      this.paused = false;
      this.socket!.resume();
    }
    if (this.state === ConnectionState.Closed) return;
    // Made on first use: a handed-off connection never relays, and needs no callback.
    const onFlushed = (this.onFlushed ??= () => this.reportDrained(false));
    for (const chunk of chunks) {
      this.written += chunk.byteLength;
      // The callback runs once the bytes left for the kernel: the session learns of it in
      // batches of a quarter of the relay buffer, enough to never leave it stalled.
      this.socket!.write(chunk, onFlushed);
    }
    if (close) this.endGracefully();
  }

  private onFlushed: (() => void) | undefined;

  /**
   * Closes the socket at once (refusal, timeout, shutdown, crash of its session's thread). A
   * handed-off socket is not main's to close: its thread closes it (or {@link orphaned} does).
   */
  destroy(): void {
    if (this.state === ConnectionState.HandedOff) return;
    this.state = ConnectionState.Closed;
    this.socket?.destroy();
  }

  /** Writes `bytes` (e.g. a CONNACK refusal) and closes. */
  refuse(bytes: Buffer): void {
    this.clearConnectTimer();
    this.socket!.write(bytes);
    this.endGracefully();
  }

  /**
   * Flushes what was written, then closes; a peer that does not read within `LINGER_MS` is cut
   * off, so a closing socket cannot hold its buffers forever.
   */
  private endGracefully(): void {
    this.state = ConnectionState.Closed;
    const socket = this.socket!;
    socket.end(() => socket.destroy());
    this.linger = setTimeout(() => socket.destroy(), LINGER_MS);
  }

  private linger: NodeJS.Timeout | undefined;

  private onData(chunk: Buffer): void {
    if (this.state === ConnectionState.Closed || this.state === ConnectionState.HandedOff) return;
    const owned = ownsBuffer(chunk) ? chunk : new Uint8Array(chunk);
    if (this.state === ConnectionState.AwaitingConnect) return this.readFirst(owned, chunk);
    this.pending.push(owned);
    this.awaitingWorker += owned.byteLength;
    if (this.awaitingWorker > this.limits.relayBufferBytes && !this.paused) {
      this.paused = true;
      this.socket!.pause();
    }
    if (this.session !== undefined) this.batch.mark(this);
  }

  private readFirst(owned: Uint8Array, chunk: Buffer): void {
    this.first.push(owned);
    this.awaitingWorker += owned.byteLength;
    let packets: Packet[];
    try {
      packets = this.decoder!.push(chunk);
    } catch (err) {
      this.decoder = undefined;
      this.clearConnectTimer();
      return this.events.firstPacket(this, undefined, err as Error);
    }
    if (packets.length === 0) return;
    this.decoder = undefined;
    this.clearConnectTimer();
    if (packets[0]!.cmd === 'connect') this.connect = keepWill(packets[0] as IConnectPacket);
    this.events.firstPacket(this, packets[0], undefined);
  }

  private reportDrained(force: boolean): void {
    if (this.socket === undefined) return;
    const flushed = this.written - this.socket.writableLength - this.reported;
    if (flushed <= 0 || this.session === undefined) return;
    if (!force && flushed < this.limits.relayBufferBytes >> 2) return;
    this.reported += flushed;
    this.session.post({ t: 'drained', connection: this.id, bytes: flushed });
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  }

  private onClose(cause: string): void {
    this.clearConnectTimer();
    if (this.linger !== undefined) clearTimeout(this.linger);
    // Main's handle of a handed-off socket closes at once; the connection lives on its thread.
    if (this.handed !== undefined) {
      this.socket = undefined;
      return;
    }
    const wasOpen = this.state !== ConnectionState.Closed;
    this.state = ConnectionState.Closed;
    this.pending = [];
    this.events.closed(this, wasOpen ? cause : 'closed by broker', false);
  }
}

/**
 * The part of a CONNECT main keeps while the connection lasts: the client id, the protocol level,
 * the will and the Session Expiry Interval its crash handling reads (`crash-wills.ts`); nothing
 * else (no password, user name or other properties), since every open connection carries it.
 * The decoded CONNECT's buffers are views of the socket chunks, whose memory is transferred to
 * the worker: the will's bytes are copied.
 */
function keepWill(connect: IConnectPacket): IConnectPacket {
  const kept: IConnectPacket = { cmd: 'connect', clientId: connect.clientId, protocolVersion: connect.protocolVersion };
  const sessionExpiryInterval = connect.properties?.sessionExpiryInterval;
  if (sessionExpiryInterval !== undefined) kept.properties = { sessionExpiryInterval };
  if (connect.will) {
    const will = { ...connect.will, payload: Buffer.from(connect.will.payload) };
    const correlation = connect.will.properties?.correlationData;
    if (correlation) will.properties = { ...connect.will.properties, correlationData: Buffer.from(correlation) };
    kept.will = will;
  }
  return kept;
}
