/**
 * The byte bound of a session's queue (`maxQueuedBytes`): the same drop policy as the count bound
 * (QoS 0 first, then the arriving QoS 1/2), exact accounting wherever the queue changes, and a
 * queued payload that owns what it keeps. Driven with the harness's settable clock.
 */
import { expect } from 'chai';
import type { IPublishPacket } from 'mqtt-packet';
import { validateSessionConfig, DEFAULT_SESSION_CONFIG, type RoutedMessage } from '../../src/session/core/index.js';
import { keptMessage, keptSize } from '../../src/session/core/queue.js';
import { HeldDeliveries } from '../../src/session/worker/held-deliveries.js';
import { Harness, only, VERSIONS, type Version } from './harness.js';

/** A payload of `n` bytes that owns its ArrayBuffer (counts `n`). */
const bytes = (n: number, fill = 0x61): Buffer => Buffer.alloc(n, fill);

/** A persistent session, connected then offline. */
function offline(v: Version, config: Parameters<typeof validateSessionConfig>[0]): Harness {
  const h = new Harness({ config });
  h.connect(v, { clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}) });
  h.drop();
  return h;
}

const dropped = (h: Harness): string[] => h.actionsOf('dropped').map((d) => `${d.topic}:${d.cause}`);
const topics = (h: Harness): string[] => only(h.out, 'publish').map((p) => p.topic);

describe('session core: the byte bound of the queue (maxQueuedBytes)', () => {
  for (const v of VERSIONS) {
    describe(`MQTT ${v === 4 ? '3.1.1' : '5.0'}`, () => {
      it('drops the arriving QoS 0 first, then the oldest queued QoS 0 for a QoS 1, then the arriving QoS 1; counts each as queue-full', () => {
        // Sizes: topic (1 byte) + payload.
        const h = offline(v, { maxQueuedBytes: 100, queueQoS0Offline: true });
        h.deliver({ topic: 'a', qos: 0, payload: bytes(49) }); // 50
        h.deliver({ topic: 'b', qos: 1, payload: bytes(39) }); // 90
        expect(h.core.stats().queuedBytes).to.equal(90);
        h.deliver({ topic: 'c', qos: 1, payload: bytes(39) }); // 130 > 100: 'a' goes → 80
        expect(dropped(h)).to.deep.equal(['a:queue-full']);
        h.deliver({ topic: 'd', qos: 0, payload: bytes(9) }); // 90: fits
        h.deliver({ topic: 'e', qos: 0, payload: bytes(19) }); // 110: the arriving QoS 0 goes
        expect(dropped(h)).to.deep.equal(['a:queue-full', 'e:queue-full']);
        // 90 + 25 > 100, and dropping 'd' (10) would not make room: 'f' goes, 'd' stays.
        h.deliver({ topic: 'f', qos: 1, payload: bytes(24) });
        expect(dropped(h)).to.deep.equal(['a:queue-full', 'e:queue-full', 'f:queue-full']);
        expect(h.core.stats()).to.deep.include({ queued: 3, queuedBytes: 90 });
        expect(h.core.stats().dropped['queue-full']).to.equal(3);
        h.connect(v, { clean: false });
        expect(topics(h)).to.deep.equal(['b', 'c', 'd']);
        expect(h.core.stats()).to.deep.include({ queued: 0, queuedBytes: 0 });
      });

      it('drops as many of the oldest QoS 0 as a QoS 1 needs, and no more', () => {
        const h = offline(v, { maxQueuedBytes: 100, queueQoS0Offline: true });
        for (const t of ['z1', 'z2', 'z3', 'z4', 'z5']) h.deliver({ topic: t, qos: 0, payload: bytes(18) }); // 20 each: 100
        h.deliver({ topic: 'one', qos: 1, payload: bytes(47) }); // 50: three QoS 0 go (40 + 50 = 90)
        expect(dropped(h)).to.deep.equal(['z1:queue-full', 'z2:queue-full', 'z3:queue-full']);
        expect(h.core.stats()).to.deep.include({ queued: 3, queuedBytes: 90 });
        h.connect(v, { clean: false });
        expect(topics(h)).to.deep.equal(['z4', 'z5', 'one']);
      });

      it('a message larger than maxQueuedBytes by itself is dropped and drops nothing queued', () => {
        const h = offline(v, { maxQueuedBytes: 100, queueQoS0Offline: true });
        h.deliver({ topic: 'z', qos: 0, payload: bytes(9) });
        h.deliver({ topic: 'big', qos: 1, payload: bytes(98) }); // 101
        expect(dropped(h)).to.deep.equal(['big:queue-full']);
        expect(h.core.stats()).to.deep.include({ queued: 1, queuedBytes: 10 });
      });

      it('both bounds hold at once: the count bound still drops when the bytes would fit', () => {
        const h = offline(v, { maxQueued: 2, maxQueuedBytes: 1000 });
        for (const t of ['a', 'b', 'c']) h.deliver({ topic: t, qos: 1, payload: bytes(9) });
        expect(dropped(h)).to.deep.equal(['c:queue-full']);
        expect(h.core.stats()).to.deep.include({ queued: 2, queuedBytes: 20 });
      });

      it('behind a full window while connected: the bytes queued go back to 0 as acks drain the queue', () => {
        const h = new Harness({ config: { maxInflight: 1, maxQueuedBytes: 25 } });
        h.connect(v);
        h.deliver({ topic: 'a', qos: 1, payload: bytes(9) }); // sent at once
        h.deliver({ topic: 'b', qos: 1, payload: bytes(9) }); // queued: 10
        h.deliver({ topic: 'c', qos: 1, payload: bytes(9) }); // queued: 20
        h.deliver({ topic: 'd', qos: 1, payload: bytes(9) }); // 30 > 25: dropped
        expect(dropped(h)).to.deep.equal(['d:queue-full']);
        expect(h.core.stats().queuedBytes).to.equal(20);
        for (let i = 0; i < 3; i++) {
          const last = only(h.out, 'publish').at(-1) as IPublishPacket;
          h.send({ cmd: 'puback', messageId: last.messageId! });
        }
        expect(topics(h)).to.deep.equal(['a', 'b', 'c']);
        expect(h.core.stats()).to.deep.include({ queued: 0, queuedBytes: 0, inflight: 0 });
      });

      it('a takeover and a resume keep the bytes queued; a Clean Start / Clean Session discards them', () => {
        const h = offline(v, { maxInflight: 1 });
        h.deliver({ topic: 'a', qos: 1, payload: bytes(9) });
        h.deliver({ topic: 'b', qos: 1, payload: bytes(9) });
        expect(h.core.stats().queuedBytes).to.equal(20);
        h.connect(v, { clean: false }); // resume: 'a' in flight, 'b' queued
        expect(h.core.stats()).to.deep.include({ queued: 1, queuedBytes: 10 });
        h.connect(v, { clean: false }); // takeover
        expect(h.core.stats()).to.deep.include({ queued: 1, queuedBytes: 10 });
        h.connect(v, { clean: true });
        expect(h.core.stats()).to.deep.include({ queued: 0, queuedBytes: 0 });
      });

      it('the session ending (its expiry) takes the bytes queued to 0', () => {
        const h = new Harness();
        h.connect(v, { clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 10 } } : {}) });
        h.drop();
        h.deliver({ topic: 'a', qos: 1, payload: bytes(9) });
        expect(h.core.stats().queuedBytes).to.equal(10);
        if (v === 5) h.advance(10_000);
        else h.apply(h.core.end(h.now, 'admin'));
        expect(h.ended).to.equal(true);
        expect(h.core.stats()).to.deep.include({ queued: 0, queuedBytes: 0 });
        expect(h.core.stats().dropped['session-ended']).to.equal(1);
      });

      it('a message handed to another member of its shared group leaves the bytes queued', () => {
        const h = new Harness();
        h.connect(v, { clean: false, ...(v === 5 ? { properties: { sessionExpiryInterval: 10 } } : {}) });
        h.drop();
        h.deliver({ topic: 's', qos: 1, payload: bytes(9) }, { shareGroup: 'g' });
        h.deliver({ topic: 'n', qos: 1, payload: bytes(19) });
        expect(h.core.stats().queuedBytes).to.equal(30);
        h.apply(h.core.end(h.now, 'admin'));
        expect(h.actionsOf('reshare').map((r) => r.message.topic)).to.deep.equal(['s']);
        expect(h.core.stats()).to.deep.include({ queued: 0, queuedBytes: 0 });
      });
    });
  }

  describe('MQTT 5.0 only', () => {
    it('expiry while offline and at drain takes the bytes of the expired messages off [MQTT-3.3.2-5]', () => {
      const h = offline(5, { maxInflight: 1 });
      // topic + payload: 10, 20, 30
      h.deliver({ topic: 'short', qos: 1, payload: bytes(5), expiresAt: h.now + 1000 });
      h.deliver({ topic: 'long', qos: 1, payload: bytes(16), expiresAt: h.now + 5000 });
      h.deliver({ topic: 'later', qos: 1, payload: bytes(25), expiresAt: h.now + 5000 });
      expect(h.core.stats().queuedBytes).to.equal(60);
      h.advance(1000); // offline: purged
      expect(h.core.stats()).to.deep.include({ queued: 2, queuedBytes: 50 });
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 60 } }); // 'long' in flight
      expect(h.core.stats()).to.deep.include({ queued: 1, queuedBytes: 30 });
      h.now += 5000; // 'later' expires while queued: dropped at drain
      const p = only(h.out, 'publish')[0] as IPublishPacket;
      h.send({ cmd: 'puback', messageId: p.messageId! });
      expect(dropped(h)).to.deep.equal(['short:expired', 'later:expired']);
      expect(h.core.stats()).to.deep.include({ queued: 0, queuedBytes: 0 });
    });

    it('counts the topic, payload, Correlation Data, Content Type, Response Topic and User Properties', () => {
      const message: RoutedMessage = {
        topic: 'abc',
        payload: bytes(10),
        qos: 1,
        retain: false,
        properties: { contentType: 'text', responseTopic: 'r/t', correlationData: bytes(5), userProperties: { k: 'vv', many: ['1', '22'] } },
      };
      // 3 + 10 + 5 + 4 + 3 + (1 + 2) + (4 + 1 + 2)
      expect(keptSize(message)).to.equal(35);
      const h = offline(5, {});
      h.deliver(message);
      expect(h.core.stats().queuedBytes).to.equal(35);
    });
  });

  describe('what is queued owns what is counted', () => {
    it('a queued payload that is a view into a much larger buffer is copied into one of its own size', () => {
      const chunk = Buffer.alloc(65536, 0x62);
      const payload = chunk.subarray(1000, 1100);
      const correlationData = chunk.subarray(2000, 2008);
      const message: RoutedMessage = { topic: 'v', payload, qos: 1, retain: false, properties: { correlationData } };
      const h = offline(5, {});
      h.deliver(message);
      // Counted as its own 100 + 8 bytes (+ 1 of topic), not the 64 KiB it points into.
      expect(h.core.stats().queuedBytes).to.equal(109);
      h.connect(5, { clean: false, properties: { sessionExpiryInterval: 60 } });
      const sent = only(h.out, 'publish')[0] as IPublishPacket;
      expect((sent.payload as Buffer).buffer.byteLength).to.equal(100);
      expect(Buffer.compare(sent.payload as Buffer, payload)).to.equal(0);
      expect((sent.properties!.correlationData as Buffer).buffer.byteLength).to.equal(8);
      // The message shared with other sessions is not changed.
      expect(message.payload).to.equal(payload);
      expect(message.properties!.correlationData).to.equal(correlationData);
    });

    it('sessions of one thread that queue the same message keep one copy of it', () => {
      const chunk = Buffer.alloc(65536, 0x63);
      const message: RoutedMessage = { topic: 'v', payload: chunk.subarray(0, 100), qos: 1, retain: false };
      const buffers = VERSIONS.map((v) => {
        const h = offline(v, {});
        // The same object to each core, as Fanout hands it to the sessions of its thread
        // (Harness.deliver would make a new one).
        h.apply(h.core.deliver(message, { qos: 1, retainAsPublished: false, subscriptionIds: [] }, h.now));
        expect(h.core.stats().queuedBytes).to.equal(101);
        h.connect(v, { clean: false });
        return ((only(h.out, 'publish')[0] as IPublishPacket).payload as Buffer).buffer;
      });
      expect(buffers[0]!.byteLength).to.equal(100);
      expect(buffers[1]).to.equal(buffers[0]);
    });

    it('sent at once, the same view is not copied', () => {
      const chunk = Buffer.alloc(65536, 0x62);
      const payload = chunk.subarray(1000, 1100);
      const h = new Harness();
      h.connect(5);
      h.deliver({ topic: 'v', qos: 1, payload });
      h.deliver({ topic: 'v0', qos: 0, payload });
      for (const sent of only(h.out, 'publish')) expect((sent.payload as Buffer).buffer).to.equal(chunk.buffer);
    });

    it('a view into a buffer at most twice its size is kept as it is and counts the whole buffer', () => {
      const frame = Buffer.alloc(150);
      const payload = frame.subarray(50);
      const message: RoutedMessage = { topic: 'w', payload, qos: 1, retain: false };
      expect(keptMessage(message)).to.equal(message);
      expect(keptSize(message)).to.equal(1 + 150);
    });
  });

  describe('held QoS 0 deliveries (session thread, socket behind)', () => {
    const info = { qos: 0 as const, retainAsPublished: false, subscriptionIds: [] };
    const m = (topic: string, payload: Uint8Array): RoutedMessage => ({ topic, payload, qos: 0, retain: false });

    it('holds up to maxQueuedBytes, refuses the arriving one beyond, and counts back to 0 as they are taken', () => {
      const held = new HeldDeliveries({ maxQueued: 100, maxQueuedBytes: 50 });
      expect(held.hold(m('a', bytes(19)), info)).to.equal(true); // 20
      expect(held.hold(m('b', bytes(19)), info)).to.equal(true); // 40
      expect(held.hold(m('c', bytes(19)), info)).to.equal(false); // 60 > 50
      expect(held.hold(m('d', bytes(9)), info)).to.equal(true); // 50
      expect([held.length, held.bytes]).to.deep.equal([3, 50]);
      expect([held.take()!.message.topic, held.take()!.message.topic, held.take()!.message.topic]).to.deep.equal(['a', 'b', 'd']);
      expect([held.length, held.bytes]).to.deep.equal([0, 0]);
      expect(held.take()).to.equal(undefined);
    });

    it('holds up to maxQueued messages', () => {
      const held = new HeldDeliveries({ maxQueued: 2, maxQueuedBytes: 1000 });
      expect([held.hold(m('a', bytes(1)), info), held.hold(m('b', bytes(1)), info), held.hold(m('c', bytes(1)), info)]).to.deep.equal([true, true, false]);
    });

    it('a held payload that is a view into a much larger buffer is copied, and counted as its own size', () => {
      const chunk = Buffer.alloc(65536);
      const held = new HeldDeliveries({ maxQueued: 10, maxQueuedBytes: 1000 });
      expect(held.hold(m('a', chunk.subarray(0, 100)), info)).to.equal(true);
      expect(held.bytes).to.equal(101);
      expect(held.take()!.message.payload.buffer.byteLength).to.equal(100);
    });
  });

  describe('option', () => {
    it('defaults to 16 MiB, or twice maxPacketSize when that is larger and it is not given', () => {
      expect(DEFAULT_SESSION_CONFIG.maxQueuedBytes).to.equal(16 * 1024 * 1024);
      expect(validateSessionConfig({}).maxQueuedBytes).to.equal(16 * 1024 * 1024);
      expect(validateSessionConfig({ maxPacketSize: 10 * 1024 * 1024 }).maxQueuedBytes).to.equal(20 * 1024 * 1024);
      expect(validateSessionConfig({ maxPacketSize: 10 * 1024 * 1024, maxQueuedBytes: 1000 }).maxQueuedBytes).to.equal(1000);
    });

    it('a bad value is refused, naming it', () => {
      expect(() => validateSessionConfig({ maxQueuedBytes: -1 })).to.throw(TypeError, /^maxQueuedBytes: expected an integer/);
      expect(() => validateSessionConfig({ maxQueuedBytes: 1.5 })).to.throw(TypeError, /^maxQueuedBytes: /);
    });
  });
});
