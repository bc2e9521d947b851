import { expect } from 'chai';
import fc from 'fast-check';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { Harness, VERSIONS } from './harness.js';

type Command =
  | { kind: 'deliver'; qos: 0 | 1 | 2; topic: string }
  | { kind: 'ack'; pick: number }
  | { kind: 'drop' }
  | { kind: 'reconnect'; receiveMaximum: number }
  | { kind: 'tick'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('deliver' as const), qos: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>, topic: fc.constantFrom('a', 'b/c', 'd') }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('ack' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconnect' as const), receiveMaximum: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 5000 }) }) },
);

/**
 * A client that acknowledges correctly, watching the packet ids the session uses: a new QoS 1/2
 * PUBLISH never reuses an id still in flight and never uses 0 [MQTT-2.3.1-1,2]; a DUP resend only
 * reuses one in flight [MQTT-4.4.0-1]; the window and the queue stay within their bounds, and
 * a v5 client never has more than its Receive Maximum QoS 1/2 PUBLISH packets outstanding on one
 * connection, resends included [MQTT-3.3.4-9]; the bytes queued stay within `maxQueuedBytes`
 * and are 0 exactly when nothing is queued. Only PUBLISH counts: a PUBREL resent on resume is
 * not held back by Receive Maximum [MQTT-3.3.4-10] and takes none of the new connection's quota
 * (MQTT 5.0 section 4.9).
 */
function run(version: 4 | 5, commands: Command[]): void {
  const maxInflight = 3;
  const maxQueued = 5;
  // Messages here are 2 to 4 bytes (topic + payload 'm'): both queue bounds are reached.
  const maxQueuedBytes = 12;
  const h = new Harness({ config: { maxInflight, maxQueued, maxQueuedBytes } });
  const inFlight = new Map<number, 'publish' | 'pubrel'>();
  /** Ids the client received (PUBLISH or PUBREL) on the current connection and has not completed. */
  const onThisConnection = new Set<number>();
  /** Of those, the ids whose QoS 1/2 PUBLISH came on this connection: what Receive Maximum counts. */
  const publishesOnThisConnection = new Set<number>();
  let window = maxInflight;
  const persistent = { clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) };
  let connected = true;
  const observe = (packets: Packet[]): void => {
    for (const p of packets) {
      if (p.cmd === 'publish' && p.qos > 0) {
        const id = (p as IPublishPacket).messageId!;
        expect(id).to.be.within(1, 65535);
        if (p.dup) expect(inFlight.get(id)).to.equal('publish');
        else {
          expect(inFlight.has(id), `id ${id} reused while in flight`).to.equal(false);
          inFlight.set(id, 'publish');
        }
        onThisConnection.add(id);
        publishesOnThisConnection.add(id);
      }
      if (p.cmd === 'pubrel') {
        expect(inFlight.get(p.messageId!)).to.equal('pubrel');
        onThisConnection.add(p.messageId!);
      }
      expect(publishesOnThisConnection.size, 'PUBLISH outstanding on this connection').to.be.at.most(window);
    }
  };
  h.connect(version, persistent);
  for (const c of commands) {
    const before = h.out.length;
    const connections = h.connections.length;
    if (c.kind === 'deliver') h.deliver({ topic: c.topic, qos: c.qos });
    else if (c.kind === 'tick') h.advance(c.ms);
    else if (c.kind === 'drop' && connected) {
      h.drop();
      connected = false;
    } else if (c.kind === 'reconnect') {
      onThisConnection.clear();
      publishesOnThisConnection.clear();
      window = version === 5 ? Math.min(maxInflight, c.receiveMaximum) : maxInflight;
      h.connect(version, version === 5 ? { clean: false, properties: { sessionExpiryInterval: 3600, receiveMaximum: c.receiveMaximum } } : persistent);
      connected = true;
    } else if (c.kind === 'ack' && connected && onThisConnection.size > 0) {
      const ids = [...onThisConnection];
      const id = ids[c.pick % ids.length]!;
      // The client answers the PUBLISH it was sent with the right acknowledgement for its QoS.
      const sent = h.connections.flat().filter((p): p is IPublishPacket => p.cmd === 'publish' && p.messageId === id).pop()!;
      if (inFlight.get(id) === 'pubrel') {
        inFlight.delete(id);
        onThisConnection.delete(id);
        publishesOnThisConnection.delete(id);
        observe(h.send({ cmd: 'pubcomp', messageId: id }));
      } else if (sent.qos === 1) {
        inFlight.delete(id);
        onThisConnection.delete(id);
        publishesOnThisConnection.delete(id);
        observe(h.send({ cmd: 'puback', messageId: id }));
      } else {
        inFlight.set(id, 'pubrel');
        observe(h.send({ cmd: 'pubrec', messageId: id }));
      }
      continue;
    }
    const fresh = h.connections.length !== connections ? h.out : h.out.slice(before);
    observe(fresh);
    const stats = h.core.stats();
    expect(stats.queued).to.be.at.most(maxQueued);
    expect(stats.queuedBytes).to.be.at.most(maxQueuedBytes);
    // Every message counts at least 2 bytes, so the bytes go back to 0 exactly with the queue.
    expect(stats.queuedBytes === 0).to.equal(stats.queued === 0);
    expect(stats.inflight).to.be.at.most(maxInflight);
    if (connected) expect(stats.inflight).to.equal(inFlight.size);
  }
}

describe('session core: packet id and bound invariants under random conversations', () => {
  for (const v of VERSIONS) {
    it(`MQTT ${v === 4 ? '3.1.1' : '5.0'}: ids from 1, never reused in flight, DUP only for in-flight ids, bounds kept [MQTT-2.3.1-1,2, MQTT-4.4.0-1]`, () => {
      fc.assert(fc.property(fc.array(command, { minLength: 10, maxLength: 120, size: 'max' }), (commands) => run(v, commands)), { numRuns: 200, seed: 42 });
    });
  }
});
