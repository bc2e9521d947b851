/**
 * A session thread's listener (docs/architecture.md, "Who accepts a socket"): the thread
 * listens on its own duplicate of the broker's listening socket, and for each socket it
 * accepts reads the first packet, bounded by `connectTimeout` and `maxPacketSize`, exactly as
 * main does when it accepts. A CONNECT is announced to main (`accepted`: the client id and what
 * main keeps for crash wills, nothing more); the socket and its bytes wait here, unread beyond
 * the CONNECT's chunk, until main answers:
 * - `attach` with `local` (a session of this thread): the session takes the socket ({@link take});
 * - `release`: the session lives on another thread: the socket leaves as a duplicate fd with
 *   its unread bytes, through main, as main's own hand-off does (`broker/fd-handoff.ts`);
 * - `refuse`: write main's CONNACK and close (when main logs the refusal, first posting it the
 *   peer's address: `refused`); `drop`: close (the broker is closing).
 *
 * Invariants: a pending connection is this thread's alone (main never sees the socket); it
 * stays listed here from accept until main answers, even after its socket closed, so every
 * answer finds it; one main knows nothing of (still reading its first packet) is closed when
 * the listener stops. If the thread dies, its listener and pending sockets close with it.
 * A socket still reading its first packet holds a place under `maxPendingConnections`, taken at
 * accept (or the socket is closed at once), and from its fixed header on its first packet's
 * size under `maxPendingConnectBytes` (or the socket is closed then); both are given back as it
 * stops reading, whichever way (`broker/pending-gauge.ts`; main gives back a dead thread's).
 * No protocol rule lives here beyond "the first packet must be CONNECT" [MQTT-3.1.0-1]; what
 * to answer an undecodable one is `answerUndecodableFirst`'s decision (first-packet-reader.ts).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { IConnectPacket, Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import { CounterWord, type SharedCounters } from '../../broker/shared-counters.js';
import { fdHandoff } from '../../broker/fd-handoff.js';
import { keepWill, packWill } from '../../broker/kept-will.js';
import { writeAndClose } from '../../broker/socket-close.js';
import { joinUnpooled } from '../../owned-bytes.js';
import { answerUndecodableFirst, FirstPacketReader } from '../../broker/first-packet-reader.js';
import { PendingGauge, type PendingPlace } from '../../broker/pending-gauge.js';
import { disown, own, type SocketOwner } from './socket-owner.js';
import type { AcceptedMessage, FromListener, RefuseMessage, ToListener } from '../../broker/thread-messages.js';

/** What the listener needs of its thread. */
export interface ListenerContext {
  readonly maxPacketSize: number;
  readonly connectTimeout: number;
  /** The broker-wide bound on sockets awaiting their CONNECT (pending-gauge.ts). */
  readonly maxPendingConnections: number;
  /** The broker-wide bound on the bytes of the first packets being read (pending-gauge.ts). */
  readonly maxPendingConnectBytes: number;
  readonly counters: SharedCounters;
  readonly log: Logger;
  /** Queues `item` on the thread's link to main (this turn's batch), `transfer` moving with it. */
  send(item: FromListener, transfer?: ArrayBuffer[]): void;
  /** Posts what is queued for main now, not at the end of the turn. */
  flush(): void;
}

/** A socket main gave to one of this thread's sessions, with what was read from it. */
export interface TakenSocket {
  /** Paused, with the thread's shared listeners on (socket-owner.ts), for the taker to `handOver`. */
  readonly socket: Socket;
  /** Bytes read: the CONNECT first, and whatever came in the same chunks. */
  readonly bytes: Uint8Array[];
  /** Why it closed while main decided; undefined while it is open. */
  readonly closedCause: string | undefined;
  /** The peer's address, if it was read (for a socket that closed since). */
  readonly remote: string | undefined;
}

const enum PendingState {
  /** Reading the first packet; main knows nothing of it. */
  Reading,
  /** Its CONNECT went to main; the socket is paused until main answers. */
  Asked,
}

// The pending socket's listeners are the thread's shared ones (socket-owner.ts): this record owns
// its events until a session takes it, and the session's link then takes them over.
class PendingConnection implements SocketOwner {
  state = PendingState.Reading;
  /** The first packet's reading: the bytes, `connectTimeout`, the pending place and bytes. */
  readonly reader: FirstPacketReader;
  closedCause: string | undefined;
  private remoteText: string | undefined;

  constructor(
    readonly local: number,
    readonly socket: Socket,
    private readonly listener: ThreadListener,
    limits: { maxPacketSize: number; connectTimeout: number },
    place: PendingPlace,
  ) {
    this.reader = new FirstPacketReader(limits, place, () => listener.timedOut(this));
    own(socket, this);
  }

  /** The peer's `address:port`, read on first use (a `getpeername(2)`); '' once closed unread. */
  get remote(): string {
    return (this.remoteText ??= this.socket.remoteAddress === undefined ? '' : `${this.socket.remoteAddress}:${this.socket.remotePort}`);
  }

  /** The peer's address if it was read already. */
  get remoteIfRead(): string | undefined {
    return this.remoteText;
  }

  /** SocketOwner: bytes read. */
  socketData(chunk: Buffer): void {
    const read = this.reader.push(chunk);
    if (read === undefined) return;
    if ('error' in read) return this.listener.undecodable(this, read.error);
    // Over `maxPendingConnectBytes` (counted and logged by the gauge): closed, nothing answered.
    if ('refused' in read) return this.listener.refusedBytes(this);
    this.listener.firstPacket(this, read.packet);
  }

  /** SocketOwner: the socket closed. */
  socketClosed(hadError: boolean): void {
    this.reader.stop();
    this.closedCause = hadError ? 'socket error' : 'connection closed by peer';
    this.listener.pendingClosed(this);
  }

  /** The socket is no longer this record's, and no session takes it: its events go nowhere. */
  detach(): void {
    this.reader.stop();
    disown(this.socket);
  }
}

export class ThreadListener {
  private server: Server | undefined;
  /** Places under `maxPendingConnections` and bytes under `maxPendingConnectBytes`, with this thread's share from main's `listen`. */
  private gauge: PendingGauge | undefined;
  /** Accepted connections no session took yet, by their local number. */
  private readonly pending = new Map<number, PendingConnection>();
  private nextLocal = 1;

  constructor(private readonly ctx: ListenerContext) {}

  /** One message from main for the listener. */
  onMessage(message: ToListener): void {
    switch (message.t) {
      case 'listen':
        return this.listen(message.fd, message.pending);
      case 'unlisten':
        return this.close();
      case 'release':
        return this.release(message.local, message.connection);
      case 'refuse':
        return this.refuse(message.local, message.connack, message.log);
      case 'drop':
        return this.drop(message.local);
    }
  }

  /**
   * Hands the accepted connection `local` to a session of this thread (main's attach). Its
   * socket is paused, and keeps the thread's shared listeners (socket-owner.ts): the session's
   * link takes them over (`handOver`) and resumes it, in the same tick.
   */
  take(local: number): TakenSocket | undefined {
    const pending = this.pending.get(local);
    if (pending === undefined) return undefined;
    this.pending.delete(local);
    pending.reader.stop();
    return { socket: pending.socket, bytes: pending.reader.bytes.take(), closedCause: pending.closedCause, remote: pending.remoteIfRead };
  }

  /** {@link take}, for a socket no session takes: its listeners come off (it is closed or leaves next). */
  private takeDetached(local: number): TakenSocket | undefined {
    const pending = this.pending.get(local);
    if (pending === undefined) return undefined;
    this.pending.delete(local);
    pending.detach();
    return { socket: pending.socket, bytes: pending.reader.bytes.take(), closedCause: pending.closedCause, remote: pending.remoteIfRead };
  }

  /** Closes the accepted connection `local` (its session is gone, or the broker is closing). */
  drop(local: number): void {
    this.takeDetached(local)?.socket.destroy();
  }

  /** Stops listening; connections main does not know of yet are closed (the broker is closing). */
  close(): void {
    this.server?.close();
    this.server = undefined;
    for (const pending of [...this.pending.values()]) {
      if (pending.state === PendingState.Reading) {
        this.pending.delete(pending.local);
        pending.detach();
        pending.socket.destroy();
      }
    }
  }

  private listen(fd: number, share: SharedArrayBuffer): void {
    if (this.server !== undefined) this.server.close();
    this.gauge = new PendingGauge(this.ctx.counters, this.ctx, this.ctx.log, new Int32Array(share));
    // TCP_NODELAY on every accepted socket, set by the server on the new handle before any JS
    // sees it (a socket option belongs to the socket, so a released duplicate keeps it).
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    server.on('error', (err) => this.ctx.log.error({ err }, 'listener error'));
    // Documented form: a handle's fd (net.Server.listen({ fd })). The server owns it from here
    // and closes it with itself, or with the thread.
    server.listen({ fd });
    this.server = server;
    this.ctx.send({ t: 'listening' });
  }

  private accept(socket: Socket): void {
    if (this.server === undefined || this.gauge === undefined) {
      socket.destroy();
      return;
    }
    const place = this.gauge.admit(socket);
    if (place === undefined) return;
    const local = this.nextLocal++;
    this.pending.set(local, new PendingConnection(local, socket, this, this.ctx, place));
  }

  /** PendingConnection: its first packet decoded. */
  firstPacket(pending: PendingConnection, packet: Packet): void {
    if (packet.cmd !== 'connect') {
      // [MQTT-3.1.0-1] the first packet from a client must be CONNECT.
      this.ctx.counters.add(CounterWord.notConnectFirst);
      if (this.ctx.log.isLevelEnabled('warn')) this.ctx.log.warn({ remote: pending.remote, cmd: packet.cmd }, 'first packet is not CONNECT [MQTT-3.1.0-1]');
      return this.discard(pending);
    }
    const connect = packet as IConnectPacket;
    pending.state = PendingState.Asked;
    // Nothing more is read until main answers: what came with the CONNECT is kept, the rest
    // waits in the socket (and the kernel), bounded by the stream's high-water mark.
    pending.socket.pause();
    // No peer address: main's one line that names it (a capacity refusal) asks for it (`refuse`).
    const accepted: AcceptedMessage = { t: 'accepted', local: pending.local, clientId: connect.clientId, protocolVersion: connect.protocolVersion ?? 4 };
    if (connect.will) accepted.will = packWill(keepWill(connect));
    this.ctx.send(accepted);
  }

  /**
   * PendingConnection: the first packet did not decode. Answered here as main answers one it
   * accepted: the client id is unknown, so no session can.
   */
  undecodable(pending: PendingConnection, error: unknown): void {
    const connack = answerUndecodableFirst(error, pending.reader.bytes.joined(), this.ctx.counters, this.ctx.log, () => pending.remote);
    if (connack === undefined) return this.discard(pending);
    this.pending.delete(pending.local);
    pending.detach();
    writeAndClose(pending.socket, connack);
  }

  /** PendingConnection: its first packet did not fit in what is left of `maxPendingConnectBytes`. */
  refusedBytes(pending: PendingConnection): void {
    this.discard(pending);
  }

  /** PendingConnection: no CONNECT within `connectTimeout`. */
  timedOut(pending: PendingConnection): void {
    this.ctx.counters.add(CounterWord.connectTimeouts);
    if (this.ctx.log.isLevelEnabled('warn')) this.ctx.log.warn({ remote: pending.remote, connectTimeout: this.ctx.connectTimeout }, 'no CONNECT in time');
    this.discard(pending);
  }

  /** PendingConnection: its socket closed. One main was told of stays until main answers. */
  pendingClosed(pending: PendingConnection): void {
    if (pending.state === PendingState.Reading) this.pending.delete(pending.local);
  }

  private discard(pending: PendingConnection): void {
    this.pending.delete(pending.local);
    pending.detach();
    pending.socket.destroy();
  }

  /**
   * The session of `local` lives on another thread: its socket leaves as a duplicate fd, with
   * every byte read and not consumed (the CONNECT's chunks and what the paused stream buffered),
   * all in this tick, so nothing read is lost with this thread's handle.
   */
  private release(local: number, connection: number): void {
    const taken = this.takeDetached(local);
    const handoff = fdHandoff();
    if (taken === undefined || taken.closedCause !== undefined || taken.socket.destroyed || handoff === undefined) {
      taken?.socket.destroy();
      this.ctx.send({ t: 'released', connection, bytes: [] });
      return;
    }
    const socket = taken.socket;
    const chunks = taken.bytes;
    for (let chunk: Buffer | null = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) chunks.push(chunk);
    const handed = handoff.handOff(socket);
    if (handed === undefined) {
      socket.destroy();
      this.ctx.send({ t: 'released', connection, bytes: [] });
      return;
    }
    // One unpooled buffer, which can be transferred (a socket chunk may share its memory).
    const joined = joinUnpooled(chunks, chunks.reduce((n, c) => n + c.byteLength, 0));
    this.ctx.send({ t: 'released', connection, fd: handed.fd, ino: handed.ino, bytes: [joined] }, [joined.buffer as ArrayBuffer]);
  }

  private refuse(local: number, connack: Uint8Array, log: RefuseMessage['log']): void {
    const pending = this.pending.get(local);
    if (pending === undefined) return;
    if (log !== undefined) {
      // Main's line names the peer; posted before the CONNACK is written, so main has logged
      // the refusal by the time the client can see it ('' once the socket closed).
      this.ctx.send({ t: 'refused', remote: pending.remote, clientId: log.clientId, why: log.why });
      this.ctx.flush();
    }
    const taken = this.takeDetached(local)!;
    if (taken.closedCause !== undefined) return void taken.socket.destroy();
    writeAndClose(taken.socket, connack);
  }
}
