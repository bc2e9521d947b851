/**
 * Drives a {@link ClientCore} with a settable clock (haka-mqtt's discipline): server packets
 * are encoded and fed as bytes, written bytes are decoded back into packets, so every test
 * checks what really goes on the wire.
 */
import type { Packet } from 'mqtt-packet';
import { pino } from 'pino';
import type { Logger } from '../../src/log.js';
import { ClientCore } from '../../src/client/core/client-core.js';
import { ClientState, type ClientEvent, type CoreConfig, type CoreOutput, type TransportAction } from '../../src/client/core/types.js';
import { PacketDecoder } from '../../src/protocol/decoder.js';
import { encodePacket } from '../../src/protocol/encoder.js';

/** A configuration with every timer explicit, so tests state the ones they exercise. */
export function testConfig(overrides: Partial<CoreConfig> = {}): CoreConfig {
  return {
    protocolVersion: 4,
    clientId: 'test-client',
    // Clean Start 0: many tests resume a session (Session Present 1), which a client that
    // asked for a clean start must refuse [MQTT-3.2.2-4].
    clean: false,
    keepalive: 0,
    recvIdlePingPeriod: 0,
    recvIdleAbortPeriod: 0,
    pingTimeout: 0,
    connectTimeout: 10_000,
    reconnectPeriod: 1000,
    maxReconnectPeriod: 30_000,
    reconnectJitter: 0,
    retryFirstConnect: false,
    reconnectOnTakeover: false,
    maxInflight: 65535,
    maxQueuedMessages: 100_000,
    maxQueuedBytes: 1 << 30,
    queueFullBehavior: 'reject',
    maxIncomingPacketSize: 1 << 20,
    autoAssignTopicAlias: false,
    resubscribe: true,
    endTimeout: 5000,
    ...overrides,
  };
}

export class CoreHarness {
  now = 1_000_000;
  readonly core: ClientCore;
  events: ClientEvent[] = [];
  written: Packet[] = [];
  actions: TransportAction[] = [];
  deadline: number | undefined;
  private decoder: PacketDecoder;
  private nextToken = 1;

  constructor(
    readonly config: CoreConfig = testConfig(),
    random: () => number = () => 0,
    logger?: Logger,
  ) {
    this.core = new ClientCore(config, { random, ...(logger ? { logger } : {}) });
    this.decoder = this.newDecoder();
  }

  private newDecoder(): PacketDecoder {
    return new PacketDecoder(1 << 28, this.config.protocolVersion);
  }

  apply(out: CoreOutput): CoreOutput {
    for (const w of out.writes) this.written.push(...this.decoder.push(w.bytes));
    this.actions.push(...out.actions);
    this.events.push(...out.events);
    this.deadline = out.deadline;
    return out;
  }

  /** Start (or continue) to a connection: open the transport and answer CONNECT with CONNACK. */
  connect(options: { sessionPresent?: boolean; properties?: Record<string, unknown>; returnCode?: number } = {}): void {
    if (this.core.state === ClientState.Idle) this.apply(this.core.start(this.now));
    this.openTransport();
    this.connack(options);
  }

  /** The driver opened the socket: CONNECT is written. */
  openTransport(): void {
    this.decoder = this.newDecoder();
    this.apply(this.core.transportOpen(this.now));
  }

  connack(options: { sessionPresent?: boolean; properties?: Record<string, unknown>; returnCode?: number } = {}): void {
    const p: Packet = { cmd: 'connack', sessionPresent: options.sessionPresent ?? false };
    if (this.config.protocolVersion === 5) {
      p.reasonCode = options.returnCode ?? 0;
      if (options.properties) p.properties = options.properties as never;
    } else p.returnCode = options.returnCode ?? 0;
    this.feed(p);
  }

  feed(packet: Packet): void {
    this.apply(this.core.receive(encodePacket(packet, this.config.protocolVersion), this.now));
  }

  feedBytes(bytes: Buffer): void {
    this.apply(this.core.receive(bytes, this.now));
  }

  /** Moves the clock and fires the tick the driver would fire. */
  advance(ms: number): void {
    this.now += ms;
    this.apply(this.core.tick(this.now));
  }

  /** Advances to the core's next deadline. */
  advanceToDeadline(): void {
    if (this.deadline === undefined) throw new Error('no deadline');
    this.advance(Math.max(0, this.deadline - this.now));
  }

  /** The socket dropped. */
  drop(): void {
    this.apply(this.core.transportClosed(this.now, new Error('ECONNRESET')));
  }

  /** Drop, wait out the backoff, reconnect. */
  reconnect(options: { sessionPresent?: boolean; properties?: Record<string, unknown> } = {}): void {
    this.drop();
    this.advanceToDeadline();
    this.connect(options);
  }

  publish(topic: string, payload: string, qos: 0 | 1 | 2, extra: Record<string, unknown> = {}): number {
    const token = this.nextToken++;
    this.apply(this.core.publish(token, { topic, payload: Buffer.from(payload), qos, ...extra }, this.now));
    return token;
  }

  subscribe(topic: string, qos: 0 | 1 | 2 = 0): number {
    const token = this.nextToken++;
    this.apply(this.core.subscribe(token, [{ topic, qos }], undefined, this.now));
    return token;
  }

  unsubscribe(topic: string): number {
    const token = this.nextToken++;
    this.apply(this.core.unsubscribe(token, [topic], undefined, this.now));
    return token;
  }

  takeWritten(): Packet[] {
    const w = this.written;
    this.written = [];
    return w;
  }

  takeEvents(): ClientEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  takeActions(): TransportAction[] {
    const a = this.actions;
    this.actions = [];
    return a;
  }

  /** Written packets as short strings: `publish:1:dup`, `puback:3`, `pingreq`. */
  wire(): string[] {
    return this.takeWritten().map(describe);
  }

  /** Event types with their token where they have one. */
  eventNames(): string[] {
    return this.takeEvents().map((e) => ('token' in e ? `${e.type}:${e.token}` : e.type));
  }
}

export function describe(p: Packet): string {
  let s: string = p.cmd;
  if (p.messageId !== undefined) s += `:${p.messageId}`;
  if (p.cmd === 'publish') {
    s += `:q${p.qos}`;
    if (p.dup) s += ':dup';
  }
  return s;
}

/** A pino logger whose records land in `records` as they are written (synchronously). */
export function recordingLogger(): { logger: Logger; records: Array<{ level: number; msg: string; [k: string]: unknown }> } {
  const records: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, records };
}
