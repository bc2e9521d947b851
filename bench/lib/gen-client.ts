/**
 * One raw-socket MQTT 3.1.1 connection of the load generator. It answers the broker's QoS 1/2
 * deliveries itself (PUBACK, PUBREC, PUBCOMP) and its own QoS 2 flows (PUBREL), batching every
 * acknowledgement a chunk produces into one write; everything else is handed to hooks with
 * offsets into the received chunk.
 */
import net from 'node:net';
import { assertLoopback } from './loopback.js';
import {
  DISCONNECT,
  PacketReader,
  PacketType,
  encodeConnect,
  encodeSubscribe,
  newPublishView,
  readPublish,
  writeAck,
  type PublishView,
} from './wire.js';

export interface GenClientOptions {
  host: string;
  port: number;
  clientId: string;
  /** Bound on TCP connect + CONNACK, in ms. */
  connectTimeoutMs?: number;
}

type Waiting = { type: number; resolve: (body: Buffer) => void; reject: (err: Error) => void };

const ACK_BUFFER_BYTES = 16 * 1024;

export class GenClient {
  /** Called for every PUBLISH the broker delivers; `view` is reused, copy what you keep. */
  onPublish: ((view: PublishView, buf: Buffer) => void) | null = null;
  /** Called when one of this client's QoS 1 (PUBACK) or QoS 2 (PUBCOMP) flows completes. */
  onComplete: ((packetId: number) => void) | null = null;
  /** Called after each received chunk has been handled (a cheap place to wake a publisher). */
  onChunk: (() => void) | null = null;
  /** Read the send time from each delivery's payload (latency scenario only). */
  wantTime = false;
  /** Set when the socket closed; `error` says why if it was not asked to. */
  closed = false;
  error: Error | null = null;

  private readonly reader: PacketReader;
  private readonly view = newPublishView();
  private acks: Buffer | null = null;
  private ackBytes = 0;
  private waiting: Waiting | null = null;
  private closing = false;
  private drainWaiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket, readonly clientId: string) {
    this.reader = new PacketReader((type, flags, buf, body, end) => this.handle(type, flags, buf, body, end));
    socket.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      this.flushAcks();
      this.onChunk?.();
    });
    socket.on('drain', () => this.wakeDrain());
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => {
      this.closed = true;
      if (!this.closing && this.error === null) this.error = new Error(`${clientId}: connection closed by the broker`);
      this.waiting?.reject(this.error ?? new Error(`${clientId}: closed`));
      this.waiting = null;
      this.wakeDrain();
    });
  }

  /** Connects, sends CONNECT and waits for a CONNACK that accepts it. */
  static async connect(options: GenClientOptions): Promise<GenClient> {
    assertLoopback(options.host);
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const socket = net.connect({ host: options.host, port: options.port, noDelay: true });
    const client = new GenClient(socket, options.clientId);
    const timer = setTimeout(() => client.fail(new Error(`${options.clientId}: no CONNACK within ${timeoutMs} ms`)), timeoutMs);
    try {
      const connack = client.expect(PacketType.CONNACK);
      socket.write(encodeConnect(options.clientId));
      const body = await connack;
      // CONNACK return code 0 is the only acceptance (MQTT 3.1.1 §3.2.2.3).
      if (body.length < 2 || body[1] !== 0) throw new Error(`${options.clientId}: CONNACK refused with return code ${body[1]}`);
      return client;
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Subscribes to `filters` and waits for a SUBACK granting every one of them. */
  async subscribe(filters: readonly string[], qos: 0 | 1 | 2, packetId = 1): Promise<void> {
    const suback = this.expect(PacketType.SUBACK);
    this.socket.write(encodeSubscribe(packetId, filters, qos));
    const body = await suback;
    const codes = body.subarray(2);
    if (codes.length !== filters.length) throw new Error(`${this.clientId}: SUBACK has ${codes.length} codes for ${filters.length} filters`);
    // 0x80 is a refusal (MQTT 3.1.1 §3.9.3); a lower granted QoS would change what the scenario measures.
    for (let i = 0; i < codes.length; i++) {
      if (codes[i] !== qos) throw new Error(`${this.clientId}: SUBACK for ${filters[i]} granted ${codes[i]}, asked ${qos}`);
    }
  }

  /** Writes bytes; false means the socket buffer is full: wait for {@link drain}. */
  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  /** Resolves when the socket buffer has drained (or the socket closed). */
  drain(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Sends DISCONNECT and closes; destroys the socket if it has not closed within `timeoutMs`. */
  close(timeoutMs = 2_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closing = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end(DISCONNECT);
    });
  }

  /** Closes at once without DISCONNECT. */
  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private expect(type: number): Promise<Buffer> {
    if (this.waiting !== null) return Promise.reject(new Error(`${this.clientId}: already waiting for packet type ${this.waiting.type}`));
    return new Promise((resolve, reject) => {
      this.waiting = { type, resolve, reject };
    });
  }

  private handle(type: number, flags: number, buf: Buffer, body: number, end: number): void {
    switch (type) {
      case PacketType.PUBLISH: {
        const view = readPublish(buf, flags, body, end, this.view, this.wantTime);
        if (view.qos === 1) this.queueAck(PacketType.PUBACK, view.packetId);
        else if (view.qos === 2) this.queueAck(PacketType.PUBREC, view.packetId);
        this.onPublish?.(view, buf);
        return;
      }
      case PacketType.PUBACK:
      case PacketType.PUBCOMP:
        this.onComplete?.((buf[body]! << 8) | buf[body + 1]!);
        return;
      case PacketType.PUBREC:
        this.queueAck(PacketType.PUBREL, (buf[body]! << 8) | buf[body + 1]!);
        return;
      case PacketType.PUBREL:
        this.queueAck(PacketType.PUBCOMP, (buf[body]! << 8) | buf[body + 1]!);
        return;
      case PacketType.CONNACK:
      case PacketType.SUBACK: {
        const waiting = this.waiting;
        if (waiting === null || waiting.type !== type) {
          this.fail(new Error(`${this.clientId}: unexpected packet type ${type}`));
          return;
        }
        this.waiting = null;
        waiting.resolve(Buffer.from(buf.subarray(body, end)));
        return;
      }
      case PacketType.PINGRESP:
        return;
      default:
        this.fail(new Error(`${this.clientId}: unexpected packet type ${type}`));
    }
  }

  private queueAck(type: number, packetId: number): void {
    if (this.acks === null) this.acks = Buffer.allocUnsafe(ACK_BUFFER_BYTES);
    if (this.ackBytes + 4 > this.acks.length) this.flushAcks();
    this.ackBytes = writeAck(this.acks, this.ackBytes, type, packetId);
  }

  /** One write for all acknowledgements a chunk produced; ignores socket backpressure (acks are tiny and bounded by what the broker sent). */
  private flushAcks(): void {
    if (this.ackBytes === 0 || this.acks === null) return;
    const out = Buffer.allocUnsafe(this.ackBytes);
    this.acks.copy(out, 0, 0, this.ackBytes);
    this.ackBytes = 0;
    if (!this.closed) this.socket.write(out);
  }

  private wakeDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  private fail(err: Error): void {
    if (this.error === null && !this.closing) this.error = err;
    this.socket.destroy();
  }
}
