/**
 * A conversation with one session core: packets in with a settable clock, packets out, and a
 * small fake runtime that answers the core's actions the way the broker does (a register of
 * filters, a retained store, routing that reports a matched count). No sockets, no timers.
 */
import mqttPacket, { type IConnackPacket, type IConnectPacket, type IPublishPacket, type Packet } from 'mqtt-packet';
import { encodePacket } from '../../src/protocol/encoder.js';
import { topicMatches, parseSubscriptionFilter } from '../../src/register/topic.js';
import {
  SessionCore,
  validateSessionConfig,
  type Action,
  type DeliveryInfo,
  type Output,
  type RoutedMessage,
  type SessionConfig,
  type SubscribeResult,
} from '../../src/session/core/index.js';

export type Version = 4 | 5;

/** Both protocol versions, for `for (const v of VERSIONS)` loops. */
export const VERSIONS: readonly Version[] = [4, 5];

export interface HarnessOptions {
  config?: Partial<SessionConfig>;
  clientId?: string;
  /** Answer `route` actions at once (default true); false leaves them in `pendingRoutes`. */
  autoRoute?: boolean;
  /** Answer `subscribe`/`unsubscribe` at once (default true). */
  autoSubscribe?: boolean;
  /** Matched count reported for routes (default 1). */
  matched?: number;
  /** Filters the fake register refuses (SUBACK failure). */
  refuseFilters?: string[];
}

/** A session core plus a fake runtime, driven like a conversation. */
export class Harness {
  readonly core: SessionCore;
  now = 1_000_000;
  /** Packets written to the client, per connection (index = connection number, from 0). */
  readonly connections: Packet[][] = [];
  /** The protocol level of each connection, for the wire check. */
  private readonly versions: Version[] = [];
  /** Every action the core emitted, in order. */
  readonly actions: Action[] = [];
  /** Messages routed by the session (inbound PUBLISH and wills). */
  readonly routed: RoutedMessage[] = [];
  readonly retained = new Map<string, RoutedMessage>();
  /** The fake register: filter → granted QoS. */
  readonly subscriptions = new Map<string, number>();
  readonly pendingRoutes: number[] = [];
  ended = false;
  closed = false;
  private readonly opts: HarnessOptions;

  constructor(opts: HarnessOptions = {}) {
    this.opts = opts;
    this.core = new SessionCore(validateSessionConfig(opts.config ?? {}), { sessionId: 7, clientId: opts.clientId ?? 'client-1' });
  }

  /** Packets written to the current (last) connection. */
  get out(): Packet[] {
    return this.connections[this.connections.length - 1] ?? [];
  }

  /** Sends CONNECT on a new connection; returns the CONNACK (or undefined). */
  connect(version: Version, fields: Partial<IConnectPacket> = {}, assignedClientId?: string): IConnackPacket | undefined {
    this.connections.push([]);
    this.versions.push(version === 5 ? 5 : 4);
    this.closed = false;
    const connect: IConnectPacket = {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clientId: this.core.identity.clientId,
      clean: true,
      keepalive: 60,
      ...fields,
    };
    const before = this.out.length;
    this.apply(this.core.attach(connect, this.now, assignedClientId !== undefined ? { assignedClientId } : {}));
    return this.out.slice(before).find((p): p is IConnackPacket => p.cmd === 'connack');
  }

  /** The client sends `packet`; returns what the session wrote back for it. */
  send(packet: Packet): Packet[] {
    const before = this.out.length;
    this.apply(this.core.receive(packet, this.now));
    return this.out.slice(before);
  }

  /** Advances the clock by `ms` and ticks; returns what was written. */
  advance(ms: number): Packet[] {
    this.now += ms;
    const before = this.out.length;
    this.apply(this.core.tick(this.now));
    return this.out.slice(before);
  }

  /** The socket died. */
  drop(cause = 'socket closed'): void {
    this.apply(this.core.connectionLost(this.now, cause));
  }

  /** The register matched `message` for this session. */
  deliver(message: Partial<RoutedMessage> & { topic: string }, info: Partial<DeliveryInfo> = {}, held = false): Packet[] {
    const before = this.out.length;
    const full: RoutedMessage = { payload: Buffer.from('m'), qos: 0, retain: false, ...message };
    this.apply(this.core.deliver(full, { qos: 2, retainAsPublished: false, subscriptionIds: [], ...info }, this.now, held));
    return this.out.slice(before);
  }

  /** Feeds `output` to the client and the fake runtime. */
  apply(output: Output): void {
    const version = this.versions[this.versions.length - 1] ?? 4;
    for (const p of output.packets) {
      wireCheck(p, version);
      this.out.push(p);
    }
    for (const action of output.actions) {
      this.actions.push(action);
      this.act(action);
    }
  }

  /** Answers one pending route (autoRoute false). */
  completeRoute(packetId: number, matched = this.opts.matched ?? 1): Packet[] {
    const before = this.out.length;
    this.apply(this.core.completeRoute(packetId, matched, this.now));
    return this.out.slice(before);
  }

  actionsOf<K extends Action['kind']>(kind: K): Extract<Action, { kind: K }>[] {
    return this.actions.filter((a): a is Extract<Action, { kind: K }> => a.kind === kind);
  }

  private act(action: Action): void {
    switch (action.kind) {
      case 'route':
        this.routed.push(action.message);
        if (action.ackPacketId !== undefined) {
          if (this.opts.autoRoute === false) this.pendingRoutes.push(action.ackPacketId);
          else this.apply(this.core.completeRoute(action.ackPacketId, this.opts.matched ?? 1, this.now));
        }
        return;
      case 'retain':
        if (action.message) this.retained.set(action.topic, action.message);
        else this.retained.delete(action.topic);
        return;
      case 'subscribe': {
        if (this.opts.autoSubscribe === false) return;
        const results: SubscribeResult[] = action.entries.map((e) => {
          if (this.opts.refuseFilters?.includes(e.filter)) return { ok: false };
          const isNew = !this.subscriptions.has(e.filter);
          this.subscriptions.set(e.filter, e.options.qos);
          return { ok: true, isNew };
        });
        this.apply(this.core.completeSubscribe(action.packetId, results, this.now));
        return;
      }
      case 'unsubscribe': {
        if (this.opts.autoSubscribe === false) return;
        const existed = action.filters.map((f) => this.subscriptions.delete(f));
        this.apply(this.core.completeUnsubscribe(action.packetId, existed, this.now));
        return;
      }
      case 'sendRetained': {
        const { filter } = parseSubscriptionFilter(action.filter);
        const matching = [...this.retained.values()].filter((m) => topicMatches(filter, m.topic));
        this.apply(this.core.deliverRetained(matching, action, this.now));
        return;
      }
      case 'close':
        this.closed = true;
        return;
      case 'closePrevious':
        for (const p of action.packets) wireCheck(p, action.protocolVersion);
        return;
      case 'resetSession':
        this.subscriptions.clear();
        return;
      case 'endSession':
        this.ended = true;
        this.subscriptions.clear();
        return;
      case 'dropped':
        return;
    }
  }
}

/** A PUBLISH from the client. */
export function publish(topic: string, qos: 0 | 1 | 2, messageId?: number, extra: Partial<IPublishPacket> = {}): IPublishPacket {
  return { cmd: 'publish', topic, payload: Buffer.from('hello'), qos, retain: false, dup: false, ...(messageId !== undefined ? { messageId } : {}), ...extra };
}

/** Packets of one kind. */
export function only<C extends Packet['cmd']>(packets: Packet[], cmd: C): Extract<Packet, { cmd: C }>[] {
  return packets.filter((p): p is Extract<Packet, { cmd: C }> => p.cmd === cmd);
}

/**
 * Every packet the core writes must survive the real encoder and a client's decoder for the
 * connection's protocol level; otherwise the runtime would fail where these tests pass.
 */
export function wireCheck(packet: Packet, version: Version): void {
  const bytes = encodePacket(packet, version);
  const parser = mqttPacket.parser({ protocolVersion: version });
  const decoded: Packet[] = [];
  let failure: Error | undefined;
  parser.on('packet', (p: Packet) => decoded.push(p));
  parser.on('error', (err: Error) => (failure = err));
  parser.parse(bytes);
  if (failure || decoded.length !== 1 || decoded[0]!.cmd !== packet.cmd) {
    throw new Error(`${packet.cmd} does not survive the wire for protocol ${version}: ${failure?.message ?? `${decoded.length} packets`}`);
  }
}
