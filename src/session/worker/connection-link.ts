/**
 * The worker's end of one client connection: decodes the bytes main relays, encodes what the
 * session writes, batches it into one transferred buffer per event-loop turn (handed to the
 * thread's {@link MainLink}), and counts the bytes in each direction for backpressure.
 */
import type { Packet } from 'mqtt-packet';
import { FastDecoder, encodeOutgoing } from './publish-codec.js';
import type { OutMessage } from '../../broker/thread-messages.js';
import type { Flushable, TurnBatch } from '../../broker/turn-batch.js';
import type { MainLink } from './main-link.js';

/** Where a link is in its life; one state, not a handful of flags. */
export const enum LinkState {
  /** Waiting for its CONNECT to be decoded. */
  New,
  /** The session core has the connection (attached, CONNACK sent or refused). */
  Attached,
  /** Close requested: the last bytes go out with `close`, nothing more is written. */
  Closing,
  /** Gone (main reported the socket closed, or the close was sent). */
  Closed,
}

export class ConnectionLink implements Flushable {
  state = LinkState.New;
  /** The protocol level of this connection's CONNECT (packets to it are encoded with it). */
  protocolVersion = 4;
  readonly decoder: FastDecoder;
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  /** Consumed bytes not yet acknowledged to main; negative while held packets owe it. */
  private consumed = 0;
  /** Packets decoded and held back while the session's publishing is paused, in order. */
  readonly held: { packet: Packet; size: number }[] = [];
  /** Bytes posted to main that its socket has not yet flushed. */
  awaitingSocket = 0;
  private closeAfterFlush = false;

  constructor(
    readonly id: number,
    readonly remote: string,
    /** Takes this turn's bytes to main (the thread's {@link MainLink}, for this session). */
    private readonly send: (out: Omit<OutMessage, 't' | 'session'>, buffer: ArrayBuffer | undefined) => void,
    private readonly batch: TurnBatch,
    maxPacketSize: number,
    /** Consumed bytes are acknowledged once this many accumulate (main pauses at 4×). */
    private readonly ackEvery: number,
  ) {
    this.decoder = new FastDecoder(maxPacketSize);
  }

  /** Bytes owed to the socket: posted and not yet flushed, plus encoded and not yet posted. */
  get backlog(): number {
    return this.awaitingSocket + this.chunkBytes;
  }

  /** Records that `bytes` of relayed input were consumed (acked to main in batches). */
  consume(bytes: number): void {
    this.consumed += bytes;
    if (this.consumed >= this.ackEvery) this.batch.mark(this);
  }

  /**
   * Keeps a decoded packet for later. Its bytes stay unacknowledged to main until it is taken,
   * so main's relay window (it pauses the socket) bounds what can be held.
   */
  hold(packet: Packet, size: number): void {
    this.held.push({ packet, size });
    this.consumed -= size;
  }

  /** The oldest held packet, its bytes now consumed. */
  takeHeld(): Packet | undefined {
    const next = this.held.shift();
    if (next === undefined) return undefined;
    this.consume(next.size);
    return next.packet;
  }

  /** Encodes and queues `packets` for this turn's batch. */
  write(packets: readonly Packet[]): void {
    if (this.state === LinkState.Closing || this.state === LinkState.Closed) return;
    for (const packet of packets) {
      const bytes = encodeOutgoing(packet, this.protocolVersion);
      this.chunks.push(bytes);
      this.chunkBytes += bytes.length;
    }
    if (packets.length > 0) this.batch.mark(this);
  }

  /** Sends what is queued, then has main close the socket. */
  close(): void {
    if (this.state === LinkState.Closing || this.state === LinkState.Closed) return;
    this.state = LinkState.Closing;
    this.closeAfterFlush = true;
    this.batch.mark(this);
  }

  flush(): void {
    if (this.state === LinkState.Closed) return;
    const consumed = Math.max(0, this.consumed);
    if (this.chunkBytes === 0 && consumed === 0 && !this.closeAfterFlush) return;
    const message: Omit<OutMessage, 't' | 'session'> = { connection: this.id, chunks: [], consumed };
    let transfer: ArrayBuffer | undefined;
    if (this.chunkBytes > 0) {
      // encodePacket's buffers may be slices of Node's shared pool, which cannot be transferred:
      // join them into one unpooled buffer and move that.
      const joined = Buffer.allocUnsafeSlow(this.chunkBytes);
      let at = 0;
      for (const chunk of this.chunks) at += chunk.copy(joined, at);
      message.chunks.push(joined);
      transfer = joined.buffer as ArrayBuffer;
      this.awaitingSocket += this.chunkBytes;
    }
    this.chunks = [];
    this.chunkBytes = 0;
    this.consumed -= consumed;
    if (this.closeAfterFlush) {
      message.close = true;
      this.state = LinkState.Closed;
    }
    this.send(message, transfer);
  }
}
