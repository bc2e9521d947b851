/**
 * Our client core against Weft's session core over encoded bytes, no sockets (h11's
 * ConnectionPair idea), with the link cut at random moments (fast-check). The client
 * subscribes to its own topic with a persistent session, so every message crosses both send
 * paths and both receive paths. Whatever the schedule of cuts, once the link settles:
 * every publish completes exactly once, QoS 1 arrives at least once, QoS 2 exactly once
 * ([MQTT-4.3.3-10], [MQTT-4.4.0-1]) and QoS 0 at most once.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { Packet } from 'mqtt-packet';
import { ClientCore } from '../../src/client/core/client-core.js';
import { ClientState, type CoreOutput } from '../../src/client/core/types.js';
import { resolveCoreConfig } from '../../src/client/options.js';
import { PacketDecoder } from '../../src/protocol/decoder.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { topicMatches } from '../../src/register/topic.js';
import { SessionCore, validateSessionConfig, type Output } from '../../src/session/core/index.js';

type Step = { kind: 'publish'; qos: 0 | 1 | 2 } | { kind: 'to-server' } | { kind: 'to-client' } | { kind: 'cut' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('publish' as const), qos: fc.constantFrom(0 as const, 1 as const, 2 as const) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'to-server' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'to-client' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'cut' as const }) },
);

class CutPair {
  now = 1_000_000;
  readonly client: ClientCore;
  readonly session = new SessionCore(validateSessionConfig({ maxInflight: 3 }), { sessionId: 1, clientId: 'pair' });
  private decoder = new PacketDecoder(1 << 20);
  private linkUp = false;
  private attached = false;
  private toServer: Buffer[] = [];
  private toClient: Buffer[] = [];
  private readonly tasks: Array<() => void> = [];
  private readonly filters = new Map<string, 0 | 1 | 2>();
  readonly received: string[] = [];
  readonly completions = new Map<number, number>();
  readonly published: Array<{ token: number; payload: string; qos: 0 | 1 | 2 }> = [];
  private token = 1;
  private n = 0;

  constructor(readonly version: 4 | 5) {
    this.client = new ClientCore(
      resolveCoreConfig({
        clientId: 'pair',
        clean: false,
        protocolVersion: version,
        keepalive: 0,
        reconnectPeriod: 100,
        reconnectJitter: 0,
        ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
      }),
    );
    this.fromClient(this.client.start(this.now));
    this.run();
    this.fromClient(this.client.subscribe(this.token++, [{ topic: 'pair/#', qos: 2 }], undefined, this.now));
    this.run();
    this.settle();
  }

  apply(s: Step): void {
    if (s.kind === 'publish') {
      const payload = `m${this.n++}`;
      const token = this.token++;
      this.published.push({ token, payload, qos: s.qos });
      this.fromClient(this.client.publish(token, { topic: 'pair/t', payload: Buffer.from(payload), qos: s.qos }, this.now));
    } else if (s.kind === 'to-server') {
      const bytes = this.toServer.shift();
      if (bytes) for (const p of this.decoder.push(bytes)) this.toSession(p);
    } else if (s.kind === 'to-client') {
      const bytes = this.toClient.shift();
      if (bytes) this.fromClient(this.client.receive(bytes, this.now));
    } else {
      this.cut();
    }
    this.run();
    this.reconnectIfWaiting();
  }

  /** Delivers everything in flight, with no more cuts, until nothing moves. */
  settle(): void {
    for (let guard = 0; guard < 100_000; guard++) {
      this.reconnectIfWaiting();
      if (this.toServer.length > 0) this.apply({ kind: 'to-server' });
      else if (this.toClient.length > 0) this.apply({ kind: 'to-client' });
      else return;
    }
    throw new Error('did not settle');
  }

  private cut(): void {
    if (!this.linkUp) return;
    this.linkUp = false;
    this.toServer = [];
    this.toClient = [];
    this.fromSession(this.session.connectionLost(this.now, 'cut'));
    this.fromClient(this.client.transportClosed(this.now, new Error('cut')));
  }

  /** A client waiting out its backoff reconnects at its deadline. */
  private reconnectIfWaiting(): void {
    if (this.client.state !== ClientState.Backoff) return;
    const out = this.client.tick(this.now);
    this.now = out.deadline ?? this.now;
    this.fromClient(out);
    this.fromClient(this.client.tick(this.now));
    this.run();
  }

  private run(): void {
    for (let t = this.tasks.shift(); t; t = this.tasks.shift()) t();
  }

  private fromClient(out: CoreOutput): void {
    for (const e of out.events) {
      if (e.type === 'message') this.received.push(e.message.payload.toString());
      if (e.type === 'publish-done' || e.type === 'operation-failed') this.completions.set(e.token, (this.completions.get(e.token) ?? 0) + 1);
    }
    if (this.linkUp) for (const w of out.writes) this.toServer.push(w.bytes);
    for (const a of out.actions) {
      if (a.type === 'close' && this.linkUp) {
        this.linkUp = false;
        this.toServer = [];
        this.toClient = [];
        this.tasks.push(() => this.fromSession(this.session.connectionLost(this.now, 'client closed')));
      } else if (a.type === 'open') {
        this.tasks.push(() => {
          this.linkUp = true;
          this.attached = false;
          this.decoder = new PacketDecoder(1 << 20);
          this.fromClient(this.client.transportOpen(this.now));
        });
      }
    }
  }

  private toSession(p: Packet): void {
    if (!this.attached && p.cmd === 'connect') {
      this.attached = true;
      this.fromSession(this.session.attach(p, this.now));
    } else this.fromSession(this.session.receive(p, this.now));
  }

  private fromSession(out: Output): void {
    if (this.linkUp) for (const p of out.packets) this.toClient.push(encodePacket(p, this.session.protocolVersion));
    for (const a of out.actions) {
      switch (a.kind) {
        case 'route': {
          let best = -1;
          for (const [f, q] of this.filters) if (topicMatches(f, a.message.topic)) best = Math.max(best, q);
          this.tasks.push(() => {
            if (best >= 0) this.fromSession(this.session.deliver(a.message, { qos: best as 0 | 1 | 2, retainAsPublished: false, subscriptionIds: [] }, this.now));
            if (a.ackPacketId !== undefined) this.fromSession(this.session.completeRoute(a.ackPacketId, best >= 0 ? 1 : 0, this.now));
          });
          break;
        }
        case 'subscribe':
          for (const e of a.entries) this.filters.set(e.filter, e.options.qos);
          this.tasks.push(() => this.fromSession(this.session.completeSubscribe(a.packetId, a.entries.map(() => ({ ok: true, isNew: true })), this.now)));
          break;
        case 'unsubscribe':
          this.tasks.push(() => this.fromSession(this.session.completeUnsubscribe(a.packetId, a.filters.map((f) => this.filters.delete(f)), this.now)));
          break;
        case 'sendRetained':
          this.tasks.push(() => this.fromSession(this.session.deliverRetained([], a, this.now)));
          break;
        case 'close':
          if (this.linkUp) {
            this.linkUp = false;
            this.toServer = [];
            this.toClient = [];
            this.tasks.push(() => this.fromClient(this.client.transportClosed(this.now, new Error(a.reason))));
          }
          break;
        case 'resetSession':
        case 'endSession':
          this.filters.clear();
          break;
        default:
          break;
      }
    }
  }
}

describe('client core ↔ Weft session core, link cut at random (fast-check)', () => {
  for (const version of [4, 5] as const) {
    it(`MQTT ${version === 4 ? '3.1.1' : '5.0'}: every publish completes once; QoS 1 at least once, QoS 2 exactly once, QoS 0 at most once`, () => {
      fc.assert(
        fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
          const pair = new CutPair(version);
          for (const s of steps) pair.apply(s);
          pair.settle();
          for (const p of pair.published) expect(pair.completions.get(p.token), `completion of ${p.payload}`).to.equal(1);
          const count = (payload: string) => pair.received.filter((r) => r === payload).length;
          for (const p of pair.published) {
            if (p.qos === 2) expect(count(p.payload), `QoS 2 ${p.payload}`).to.equal(1);
            if (p.qos === 1) expect(count(p.payload), `QoS 1 ${p.payload}`).to.be.at.least(1);
            if (p.qos === 0) expect(count(p.payload), `QoS 0 ${p.payload}`).to.be.at.most(1);
          }
          expect(pair.client.packetIdsInUse).to.equal(0);
        }),
        { numRuns: 500 },
      );
    });
  }
});
