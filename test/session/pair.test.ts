/**
 * Our client core talking to our session core through real encoded bytes, with no sockets: each
 * client's bytes go through the broker's decoder into its session core, each session's packets
 * are encoded and fed to the client core, and a tiny in-memory router stands in for the register.
 */
import { expect } from 'chai';
import type { Packet } from 'mqtt-packet';
import { ClientCore } from '../../src/client/core/client-core.js';
import type { ClientEvent, CoreOutput } from '../../src/client/core/types.js';
import { resolveCoreConfig } from '../../src/client/options.js';
import { PacketDecoder } from '../../src/protocol/decoder.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { parseSubscriptionFilter, topicMatches } from '../../src/register/topic.js';
import { SessionCore, validateSessionConfig, type Output, type RoutedMessage } from '../../src/session/core/index.js';
import { VERSIONS, type Version } from './harness.js';

interface Peer {
  client: ClientCore;
  session: SessionCore;
  decoder: PacketDecoder;
  events: ClientEvent[];
  subscriptions: Map<string, number>;
  connected: boolean;
}

class Pair {
  now = 5_000_000;
  readonly peers = new Map<string, Peer>();
  readonly retained = new Map<string, RoutedMessage>();
  private readonly tasks: (() => void)[] = [];
  private nextSession = 1;

  add(clientId: string, version: Version): Peer {
    const client = new ClientCore(resolveCoreConfig({ clientId, protocolVersion: version, reconnectPeriod: 0 }));
    const peer: Peer = {
      client,
      session: new SessionCore(validateSessionConfig({}), { sessionId: this.nextSession++, clientId }),
      decoder: new PacketDecoder(1024 * 1024),
      events: [],
      subscriptions: new Map(),
      connected: false,
    };
    this.peers.set(clientId, peer);
    this.fromClient(peer, client.start(this.now));
    this.run();
    return peer;
  }

  /** Runs `call` on a peer's client core and everything it causes. */
  client(peer: Peer, call: (c: ClientCore, now: number) => CoreOutput): void {
    this.fromClient(peer, call(peer.client, this.now));
    this.run();
  }

  private run(): void {
    for (let task = this.tasks.shift(); task; task = this.tasks.shift()) task();
  }

  private fromClient(peer: Peer, out: CoreOutput): void {
    peer.events.push(...out.events);
    for (const w of out.writes) {
      this.tasks.push(() => {
        for (const packet of peer.decoder.push(w.bytes)) this.toSession(peer, packet);
      });
    }
    for (const a of out.actions) {
      if (a.type === 'open') this.tasks.push(() => this.fromClient(peer, peer.client.transportOpen(this.now)));
    }
  }

  private toSession(peer: Peer, packet: Packet): void {
    if (!peer.connected && packet.cmd === 'connect') {
      peer.connected = true;
      this.fromSession(peer, peer.session.attach(packet, this.now));
    } else this.fromSession(peer, peer.session.receive(packet, this.now));
  }

  private fromSession(peer: Peer, out: Output): void {
    for (const packet of out.packets) {
      const bytes = encodePacket(packet, peer.session.protocolVersion);
      this.tasks.push(() => this.fromClient(peer, peer.client.receive(bytes, this.now)));
    }
    for (const action of out.actions) {
      switch (action.kind) {
        case 'route': {
          let matched = 0;
          for (const other of this.peers.values()) {
            let qos = -1;
            for (const [filter, granted] of other.subscriptions) if (topicMatches(filter, action.message.topic)) qos = Math.max(qos, granted);
            if (qos < 0) continue;
            matched++;
            this.tasks.push(() => this.fromSession(other, other.session.deliver(action.message, { qos: qos as 0 | 1 | 2, retainAsPublished: false, subscriptionIds: [] }, this.now)));
          }
          if (action.ackPacketId !== undefined) {
            const id = action.ackPacketId;
            this.tasks.push(() => this.fromSession(peer, peer.session.completeRoute(id, matched, this.now)));
          }
          break;
        }
        case 'retain':
          if (action.message) this.retained.set(action.topic, action.message);
          else this.retained.delete(action.topic);
          break;
        case 'subscribe':
          for (const e of action.entries) peer.subscriptions.set(e.filter, e.options.qos);
          this.tasks.push(() => this.fromSession(peer, peer.session.completeSubscribe(action.packetId, action.entries.map(() => ({ ok: true, isNew: true })), this.now)));
          break;
        case 'sendRetained': {
          const { filter } = parseSubscriptionFilter(action.filter);
          const messages = [...this.retained.values()].filter((m) => topicMatches(filter, m.topic));
          this.tasks.push(() => this.fromSession(peer, peer.session.deliverRetained(messages, action, this.now)));
          break;
        }
        default:
          break;
      }
    }
  }
}

function messages(peer: Peer): { topic: string; payload: string; qos: number; retain: boolean }[] {
  return peer.events
    .filter((e): e is Extract<ClientEvent, { type: 'message' }> => e.type === 'message')
    .map((e) => ({ topic: e.message.topic, payload: String(e.message.payload), qos: e.message.qos, retain: e.message.retain }));
}

describe('session core ↔ client core over encoded bytes', () => {
  for (const v of VERSIONS) {
    describe(`MQTT ${v === 4 ? '3.1.1' : '5.0'}`, () => {
      it('connects, subscribes and delivers a QoS 2 message exactly once [MQTT-4.3.3-*]', () => {
        const pair = new Pair();
        const sub = pair.add('sub', v);
        const pub = pair.add('pub', v);
        expect(sub.events.some((e) => e.type === 'connect')).to.equal(true);
        pair.client(sub, (c, now) => c.subscribe(1, [{ topic: 'sensors/+', qos: 2 }], undefined, now));
        expect(sub.events.some((e) => e.type === 'subscribe-done')).to.equal(true);
        pair.client(pub, (c, now) => c.publish(7, { topic: 'sensors/t', payload: Buffer.from('21.5'), qos: 2 }, now));
        expect(messages(sub)).to.deep.equal([{ topic: 'sensors/t', payload: '21.5', qos: 2, retain: false }]);
        expect(pub.events.some((e) => e.type === 'publish-done' && e.token === 7)).to.equal(true);
        expect(pub.session.stats().inboundPending).to.equal(0);
        expect(sub.session.stats().inflight).to.equal(0);
      });

      it('gives a later subscriber the retained message with RETAIN=1 [MQTT-3.3.1-8 (3.1.1)]', () => {
        const pair = new Pair();
        const pub = pair.add('pub', v);
        pair.client(pub, (c, now) => c.publish(1, { topic: 'status', payload: Buffer.from('up'), qos: 1, retain: true }, now));
        const sub = pair.add('sub', v);
        pair.client(sub, (c, now) => c.subscribe(1, [{ topic: 'status', qos: 1 }], undefined, now));
        expect(messages(sub)).to.deep.equal([{ topic: 'status', payload: 'up', qos: 1, retain: true }]);
      });
    });
  }
});
