/**
 * The worker's end of one client connection. It decodes what the client sends, encodes what
 * the session writes and batches it into one write per event-loop turn, and counts the bytes in
 * each direction for backpressure. The bytes travel one of two ways:
 * - owned socket: main handed the socket itself to this thread (`broker/fd-handoff.ts`); the
 *   link reads and writes it directly;
 * - relay: main keeps the socket; bytes come in `in` messages and leave through the thread's
 *   {@link MainLink} as one transferred buffer per turn, acknowledged both ways.
 */
import { Socket } from 'node:net';
import type { Packet } from 'mqtt-packet';
import { PacketDecoder } from '../../protocol/decoder.js';
import { encodeOutgoing } from './publish-codec.js';
import type { OutMessage } from '../../broker/thread-messages.js';
import { handleFd } from '../../broker/fd-handoff.js';
import { LINGER_MS } from '../../broker/socket-close.js';
import { joinUnpooled } from '../../owned-bytes.js';
import type { Flushable, TurnBatch } from '../../broker/turn-batch.js';
import type { MainLink } from './main-link.js';
import { MAX_BATCH_CHUNKS, type BatchWritable, type SocketWriter } from './socket-writer.js';
import { handOver, own, type SocketOwner } from './socket-owner.js';

/** Where a link is in its life; one state, not a handful of flags. */
export const enum LinkState {
  /** Waiting for its CONNECT to be decoded. */
  New,
  /** The session core has the connection (attached, CONNACK sent or refused). */
  Attached,
  /** Close requested: the last bytes go out with `close`, nothing more is written. */
  Closing,
  /** Gone (the socket closed, or the close was sent). */
  Closed,
}


/** Closes a handed-off fd no session will open (its session finished first): nobody else will. */
export function closeUnadopted(fd: number): void {
  new Socket({ fd }).destroy();
}

/** What an owned socket tells its session. */
export interface SocketEvents {
  data(link: ConnectionLink, chunk: Buffer): void;
  /** The socket closed (peer, error, or after our close). */
  closed(link: ConnectionLink, cause: string): void;
  /** The link will not read or write again (closing, or closed): main may forget it. Once. */
  retired(link: ConnectionLink, cause: string): void;
}

/** How the link reaches its client. */
export type LinkTransport =
  /**
   * `heldBytesLimit`: held packets' bytes beyond which the socket stops being read. `written`:
   * called as each write leaves for the kernel (the write buffer shrank); one function for the
   * whole thread, not a closure per connection, which every idle connection would carry.
   * `writer`: the thread's batched writer, when the native addon has one; without it every
   * turn's bytes go through `socket.write`.
   */
  | {
      kind: 'socket';
      /** The hand-off's duplicate fd, which the link opens; -1 when `socket` is given. */
      fd: number;
      /**
       * A socket this thread accepted itself (thread-listener.ts), paused, instead of an fd to
       * open; `remote` is its peer's address if the listener read it (a closed socket has none).
       */
      socket?: Socket | undefined;
      events: SocketEvents;
      heldBytesLimit: number;
      written: () => void;
      /**
       * Read the peer's address now, not on first use: true when the thread logs at info or
       * below, where lines name it after the socket has closed, and a closed socket has none.
       */
      remoteNow: boolean;
      writer?: SocketWriter | undefined;
    }
  /** Takes this turn's bytes to main (the thread's {@link MainLink}, for this session). */
  | { kind: 'relay'; send: (out: Omit<OutMessage, 't' | 'session'>, buffer: ArrayBuffer | undefined) => void };

/** `address:port` of `socket`'s peer, as main's log lines write it. */
function peerOf(socket: Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

export class ConnectionLink implements Flushable, BatchWritable, SocketOwner {
  state = LinkState.New;
  /** The protocol level of this connection's CONNECT (packets to it are encoded with it). */
  protocolVersion = 4;
  readonly decoder: PacketDecoder;
  // `chunks` and `held` are made on first use and dropped when emptied: an idle connection
  // carries neither (an empty array is 32 bytes each, and every idle connection adds them up).
  /** This turn's encoded packets, not yet written. */
  private chunks: Buffer[] | undefined;
  private chunkBytes = 0;
  /** Consumed bytes not yet acknowledged to main; negative while held packets owe it (relay). */
  private consumed = 0;
  /** Packets decoded and held back while the session's publishing is paused, in order. */
  private held: { packet: Packet; size: number }[] | undefined;
  /** Bytes posted to main that its socket has not yet flushed (relay). */
  awaitingSocket = 0;
  /** The socket, when this thread owns it. */
  private readonly socket: Socket | undefined;
  private readonly send: ((out: Omit<OutMessage, 't' | 'session'>, buffer: ArrayBuffer | undefined) => void) | undefined;
  private linger: NodeJS.Timeout | undefined;
  private readonly events: SocketEvents | undefined;
  private retired = false;
  /** Bytes of the held packets. */
  private heldBytes = 0;
  private readonly heldBytesLimit: number = 0;
  /** Owned socket: the thread's callback for a write that reached the kernel. */
  private readonly onWritten: (() => void) | undefined;
  private readingPaused = false;
  /** The peer's `address:port` (see {@link remote}). */
  private remoteText: string | undefined;
  /** Owned socket: its fd (this thread's, from the hand-off) and the thread's batched writer. */
  private readonly fd: number = -1;
  private readonly writer: SocketWriter | undefined;
  /** Listed in the writer's pass, not yet taken: a second flush (send() flushes links directly) must not list it again. */
  private batched = false;

  constructor(
    readonly id: number,
    /** The peer's address as main read it (a relay); undefined for an owned socket, which reads its own. */
    remote: string | undefined,
    transport: LinkTransport,
    private readonly batch: TurnBatch,
    maxPacketSize: number,
    /** Relay: consumed bytes are acknowledged once this many accumulate (main pauses at 4×). */
    private readonly ackEvery: number,
  ) {
    // A broker forwards User Properties in the order received [MQTT-3.3.2-18, MQTT-3.1.3-10].
    this.decoder = new PacketDecoder(maxPacketSize, 4, { userPropertyOrder: true });
    this.remoteText = remote;
    if (transport.kind === 'relay') {
      this.send = transport.send;
      return;
    }
    this.events = transport.events;
    this.heldBytesLimit = transport.heldBytesLimit;
    this.onWritten = transport.written;
    this.writer = transport.writer;
    // No setNoDelay: the accepting server (main's or this thread's) set TCP_NODELAY, and a
    // socket option belongs to the socket, which a duplicate fd shares.
    const socket = transport.socket;
    if (socket === undefined) {
      this.fd = transport.fd;
      this.socket = new Socket({ fd: transport.fd, readable: true, writable: true, allowHalfOpen: false });
      own(this.socket, this);
    } else {
      this.fd = handleFd(socket) ?? -1;
      this.socket = socket;
      // Accepted here, it has the thread's shared listeners already (thread-listener.ts), and
      // was paused while main decided: its events are this link's now, and it reads on.
      handOver(socket, this);
      socket.resume();
    }
    if (transport.remoteNow && this.remoteText === undefined && !this.socket.destroyed) this.remoteText = peerOf(this.socket);
  }

  /**
   * The peer's `address:port`, for log lines. An owned socket's is read on first use (a
   * `getpeername(2)` and a string, which a connection that no line names never needs), or at
   * once with `remoteNow`, for the levels whose lines name it after the socket closed.
   */
  get remote(): string {
    return (this.remoteText ??= this.socket !== undefined ? peerOf(this.socket) : '');
  }

  /** SocketOwner: bytes read from the owned socket. */
  socketData(chunk: Buffer): void {
    this.events!.data(this, chunk);
  }

  /** SocketOwner: the owned socket closed. */
  socketClosed(hadError: boolean): void {
    if (this.linger !== undefined) clearTimeout(this.linger);
    this.linger = undefined;
    const cause = hadError ? 'socket error' : 'connection closed by peer';
    this.retire(cause);
    this.events!.closed(this, cause);
  }

  /** True when this thread owns the socket (no relay through main). */
  get ownsSocket(): boolean {
    return this.socket !== undefined;
  }

  /** Bytes owed to the socket: not yet flushed by it, plus encoded and not yet handed to it. */
  get backlog(): number {
    return (this.socket !== undefined ? this.socket.writableLength : this.awaitingSocket) + this.chunkBytes;
  }

  /** Records that `bytes` of relayed input were consumed (acked to main in batches). */
  consume(bytes: number): void {
    if (this.socket !== undefined) return;
    this.consumed += bytes;
    if (this.consumed >= this.ackEvery) this.batch.mark(this);
  }

  /**
   * Keeps a decoded packet for later. Relay: its bytes stay unacknowledged to main until it is
   * taken, so main's relay window (it pauses the socket) bounds what can be held. Owned socket:
   * past `heldBytesLimit` held the socket stops being read, the same window. Packets keep being
   * read up to it because some still pass a pause (acknowledgements: see SessionHost).
   */
  hold(packet: Packet, size: number): void {
    (this.held ??= []).push({ packet, size });
    this.heldBytes += size;
    if (this.socket === undefined) {
      this.consumed -= size;
    } else if (this.heldBytes > this.heldBytesLimit && !this.readingPaused) {
      this.readingPaused = true;
      this.socket.pause();
    }
  }

  /** True while packets are held (see {@link hold}). */
  get holding(): boolean {
    return this.held !== undefined;
  }

  /** The oldest held packet, its bytes now consumed. */
  takeHeld(): Packet | undefined {
    const next = this.held?.shift();
    if (next === undefined) return undefined;
    if (this.held!.length === 0) this.held = undefined;
    this.heldBytes -= next.size;
    this.consume(next.size);
    if (this.readingPaused && this.heldBytes <= this.heldBytesLimit && this.state !== LinkState.Closed) {
      this.readingPaused = false;
      this.socket!.resume();
    }
    return next.packet;
  }

  /** Encodes and queues `packets` for this turn's batch. */
  write(packets: readonly Packet[]): void {
    if (this.state === LinkState.Closing || this.state === LinkState.Closed) return;
    for (const packet of packets) {
      const bytes = encodeOutgoing(packet, this.protocolVersion);
      (this.chunks ??= []).push(bytes);
      this.chunkBytes += bytes.length;
    }
    if (packets.length > 0) this.batch.mark(this);
  }

  /** Sends what is queued, then closes the connection (has main close it, when relayed). */
  close(): void {
    if (this.state === LinkState.Closing || this.state === LinkState.Closed) return;
    // Closing: flush() sends what is queued, then closes.
    this.state = LinkState.Closing;
    this.batch.mark(this);
  }

  private retire(cause: string): void {
    if (this.retired) return;
    this.retired = true;
    this.events?.retired(this, cause);
  }

  flush(): void {
    if (this.state === LinkState.Closed) return;
    if (this.socket !== undefined) return this.flushToSocket(this.socket);
    const consumed = Math.max(0, this.consumed);
    const closing = this.state === LinkState.Closing;
    if (this.chunkBytes === 0 && consumed === 0 && !closing) return;
    const message: Omit<OutMessage, 't' | 'session'> = { connection: this.id, chunks: [], consumed };
    let transfer: ArrayBuffer | undefined;
    if (this.chunkBytes > 0) {
      // encodePacket's buffers may be slices of Node's shared pool, which cannot be transferred:
      // join them into one unpooled buffer and move that.
      const joined = joinUnpooled(this.chunks!, this.chunkBytes);
      message.chunks.push(joined);
      transfer = joined.buffer as ArrayBuffer;
      this.awaitingSocket += this.chunkBytes;
    }
    this.chunks = undefined;
    this.chunkBytes = 0;
    this.consumed -= consumed;
    if (closing) {
      message.close = true;
      this.state = LinkState.Closed;
    }
    this.send!(message, transfer);
  }

  private flushToSocket(socket: Socket): void {
    if (this.chunkBytes > 0) {
      // One write per turn: a fan-out's many small packets leave in one syscall. With the
      // thread's writer, the chunks stay here until its pass later in this turn (takeBatch); a
      // closing link writes through the stream, which then ends it.
      if (this.writer === undefined || this.state === LinkState.Closing) this.writeToStream(socket, this.chunks!, 0);
      else if (!this.batched) {
        this.batched = true;
        this.writer.add(this);
      }
    }
    if (this.state !== LinkState.Closing) return;
    this.state = LinkState.Closed;
    this.retire('closed by broker');
    // A peer that does not read its last bytes within LINGER_MS is cut off, so a closing socket
    // cannot hold its buffers forever.
    socket.end(() => socket.destroy());
    this.linger = setTimeout(() => socket.destroy(), LINGER_MS);
    this.linger.unref();
  }

  /**
   * Writes the queued chunks, but their first `skip` bytes, through the socket's stream.
   * The callback runs once the bytes left for the kernel: the session may then release QoS 0
   * deliveries it held while the socket was behind (a 'drain' alone would not come for a buffer
   * that never reached the stream's high-water mark).
   */
  private writeToStream(socket: Socket, chunks: Buffer[], skip: number): void {
    const total = this.chunkBytes;
    this.chunks = undefined;
    this.chunkBytes = 0;
    if (skip === 0) {
      socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total), this.onWritten);
      return;
    }
    const rest: Buffer[] = [];
    for (const chunk of chunks) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
      skip = 0;
    }
    socket.write(rest.length === 1 ? rest[0]! : Buffer.concat(rest), this.onWritten);
  }

  /**
   * SocketWriter: this turn's chunks and the fd, when the socket may be written below its
   * stream (the invariant in socket-writer.ts: only this thread writes the fd, and only when
   * the stream, and so libuv, has nothing queued for it); otherwise they go through the stream.
   */
  takeBatch(into: Buffer[]): number {
    this.batched = false;
    if (this.chunkBytes === 0 || this.state === LinkState.Closed) return -1;
    const socket = this.socket!;
    // Not destroyed: the fd is still open and this socket's (a closed fd's number may be reused).
    // writable: not ending, ended or errored. Nothing queued: the bytes cannot overtake any.
    if (socket.destroyed || !socket.writable || socket.writableLength !== 0 || socket.writableCorked !== 0) {
      this.writeToStream(socket, this.chunks!, 0);
      return -1;
    }
    let chunks = this.chunks!;
    // A saturated turn's many small packets are joined: one copy costs less than passing each
    // as an iovec of its own (see MAX_BATCH_CHUNKS).
    if (chunks.length > MAX_BATCH_CHUNKS) this.chunks = chunks = [Buffer.concat(chunks, this.chunkBytes)];
    for (const chunk of chunks) into.push(chunk);
    return this.fd;
  }

  /**
   * SocketWriter: `result` bytes of the chunks taken reached the kernel, or `-errno`. What was
   * not sent goes through the stream now, in order: it waits there for the socket to drain, or
   * fails there and Node reports the error ('error', then 'close') as for any write. True when
   * everything was sent.
   */
  batchWritten(result: number): boolean {
    if (result === this.chunkBytes) {
      this.chunks = undefined;
      this.chunkBytes = 0;
      return true;
    }
    this.writeToStream(this.socket!, this.chunks!, result > 0 ? result : 0);
    return false;
  }
}
