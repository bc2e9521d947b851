/** Shared test helpers for the broker: a started broker per test, raw MQTT sockets, waits. */
import { connect as netConnect, type Socket } from 'node:net';
import { once } from 'node:events';
import type { Packet } from 'mqtt-packet';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startBroker, type Broker } from '../../src/broker/index.js';
import type { BrokerOptions } from '../../src/broker/options.js';
import { PacketDecoder } from '../../src/protocol/decoder.js';
import { encodePacket } from '../../src/protocol/encoder.js';

/** The placements (and socket paths) every end-to-end test runs under. */
export const PLACEMENTS: { name: string; options: BrokerOptions }[] = [
  { name: 'M:N placement (2 threads)', options: { threadPerSession: false, threads: 2 } },
  // Sockets stay on main and bytes are relayed: what runs where the native hand-off is missing.
  { name: 'M:N placement, relayed sockets', options: { threadPerSession: false, threads: 2, socketHandoff: false } },
  { name: 'thread per session', options: { threadPerSession: true, threads: 2, maxSessions: 16, maxConnections: 16 } },
];

/** Starts a quiet broker on a free port. */
export function testBroker(options: BrokerOptions = {}): Promise<Broker> {
  return startBroker({ port: 0, logLevel: 'silent', ...options });
}

/** MQTT.js connect that never reconnects (a reconnect loop would keep the process alive). */
export function client(broker: Broker, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

/** Resolves with the next `count` messages a client receives. */
export function nextMessages(c: MqttClient, count: number): Promise<{ topic: string; payload: string; retain: boolean; qos: number }[]> {
  return new Promise((resolve) => {
    const got: { topic: string; payload: string; retain: boolean; qos: number }[] = [];
    const onMessage = (topic: string, payload: Buffer, packet: { retain: boolean; qos: number }): void => {
      got.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos });
      if (got.length === count) {
        c.off('message', onMessage);
        resolve(got);
      }
    };
    c.on('message', onMessage);
  });
}

/** Waits (without a fixed sleep) until `condition` holds; fails after `limitMs`. */
export async function until(condition: () => boolean, what: string | (() => string), limitMs = 5000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A client on a raw socket: sends packets or bytes, reads decoded packets. */
export class RawClient {
  private readonly decoder = new PacketDecoder(1 << 20, 4);
  private readonly packets: Packet[] = [];
  private waiter: (() => void) | undefined;
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket, public protocolVersion: 4 | 5) {
    this.decoder.protocolVersion = protocolVersion;
    socket.on('data', (chunk: Buffer) => {
      try {
        this.packets.push(...this.decoder.push(chunk));
      } catch {
        socket.destroy();
      }
      this.waiter?.();
    });
    socket.on('error', () => {});
    // Not events.once: it rejects on 'error', and a reset connection (ECONNRESET: a thread that
    // held the socket with unread bytes died) emits 'error' before its 'close'.
    this.closedPromise = new Promise<void>((resolve) => socket.once('close', () => resolve())).then(() => {
      this.closed = true;
      this.waiter?.();
    });
  }

  static async open(broker: Broker, protocolVersion: 4 | 5 = 4): Promise<RawClient> {
    const socket = netConnect(broker.port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawClient(socket, protocolVersion);
  }

  send(packet: Packet): void {
    this.socket.write(encodePacket(packet, this.protocolVersion));
  }

  sendBytes(bytes: number[] | Buffer): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** CONNECT and await the CONNACK. */
  async connect(clientId: string, extra: Record<string, unknown> = {}): Promise<Packet> {
    this.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: this.protocolVersion, clientId, clean: true, keepalive: 0, ...extra } as Packet);
    return this.next();
  }

  /** The next packet; rejects if the socket closes first. */
  async next(): Promise<Packet> {
    for (;;) {
      const packet = this.packets.shift();
      if (packet) return packet;
      if (this.closed) throw new Error('socket closed');
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
  }

  /** Resolves when the broker closes the connection (packets received before are kept). */
  async waitClosed(): Promise<void> {
    await this.closedPromise;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Closes MQTT.js clients at once (no DISCONNECT), ignoring ones already closed. */
export async function forceClose(...clients: (MqttClient | undefined)[]): Promise<void> {
  await Promise.all(clients.map((c) => (c ? c.endAsync(true).catch(() => {}) : undefined)));
}

/** Reads a raw client until the broker closes it; returns every packet it sent before. */
export async function packetsUntilClosed(raw: RawClient): Promise<Packet[]> {
  const seen: Packet[] = [];
  for (;;) {
    try {
      seen.push(await raw.next());
    } catch {
      return seen;
    }
  }
}
