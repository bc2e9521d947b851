/**
 * Backpressure from a slower subscriber to a faster publisher on another thread. Regression for
 * the benchmark finding: a publisher with 100 QoS 1 messages in flight outpaced its subscriber,
 * whose queue (`maxQueuedMessages`) overflowed, so messages the publisher had seen acknowledged
 * were never delivered. Now the publisher is held back (see src/broker/session-backlog.ts), for
 * a bounded time per congestion (`slowSubscriberWaitMs`).
 */
import { expect } from 'chai';
import type { MqttClient } from 'mqtt';
import type { Broker } from '../../src/broker/index.js';
import { client, forceClose, PLACEMENTS, RawClient, testBroker, until } from './helpers.js';

/** Publishes `count` numbered messages with `lanes` in flight at once. */
async function publishNumbered(pub: MqttClient, topic: string, count: number, lanes: number, qos: 1 | 2): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(next++);
      await pub.publishAsync(topic, payload, { qos });
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

/** Waits for every message, or stops early once the broker reports a drop (then the test fails on it). */
async function allOrDropped(broker: Broker, received: { all: Promise<void> }): Promise<void> {
  const dropped = until(() => broker.stats().counters.sessionDropped > 0, 'a drop', 25_000).catch(() => {});
  await Promise.race([received.all, dropped]);
}

/** Counts each numbered message `sub` receives; resolves when all `count` arrived. */
function receiveNumbered(sub: MqttClient, count: number): { seen: Uint8Array; all: Promise<void> } {
  const seen = new Uint8Array(count);
  let distinct = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  sub.on('message', (_topic, payload: Buffer) => {
    const n = payload.readUInt32BE(0);
    if (seen[n]++ === 0 && ++distinct === count) resolveAll();
  });
  return { seen, all };
}

for (const placement of PLACEMENTS) {
  describe(`broker: publisher backpressure, ${placement.name}`, function () {
    this.timeout(30000);

    for (const qos of [1, 2] as const) {
      it(`a publisher with 50 QoS ${qos} messages in flight cannot overflow a subscriber's queue of 40`, async () => {
        const broker = await testBroker({ ...placement.options, maxQueuedMessages: 40, maxInflight: 10 });
        const sub = await client(broker, { clientId: 'slow-sub' });
        const pub = await client(broker, { clientId: 'fast-pub' });
        try {
          await sub.subscribeAsync('stream', { qos });
          const count = 3000;
          const received = receiveNumbered(sub, count);
          await publishNumbered(pub, 'stream', count, 50, qos);
          await allOrDropped(broker, received);
          expect(broker.stats().counters.sessionDropped, 'messages dropped by a queue bound').to.equal(0);
          expect([...received.seen].every((n) => n === 1), 'every message exactly once').to.equal(true);
        } finally {
          await forceClose(sub, pub);
          await broker.close();
        }
      });
    }

    it('a client subscribed to what it publishes keeps up: its acknowledgements pass the pause', async () => {
      const broker = await testBroker({ ...placement.options, maxQueuedMessages: 40, maxInflight: 10, slowSubscriberWaitMs: 60_000 });
      const self = await client(broker, { clientId: 'echo' });
      try {
        await self.subscribeAsync('echo', { qos: 1 });
        const count = 2000;
        const received = receiveNumbered(self, count);
        await publishNumbered(self, 'echo', count, 50, 1);
        await allOrDropped(broker, received);
        expect(broker.stats().counters.sessionDropped).to.equal(0);
        expect([...received.seen].every((n) => n === 1), 'every message exactly once').to.equal(true);
      } finally {
        await forceClose(self);
        await broker.close();
      }
    });

    it('a subscriber that never acknowledges holds publishers back only for slowSubscriberWaitMs, then its queue bound drops', async () => {
      const broker = await testBroker({ ...placement.options, maxQueuedMessages: 20, maxInflight: 5, slowSubscriberWaitMs: 200 });
      const stuck = await RawClient.open(broker);
      const pub = await client(broker, { clientId: 'pub-past-stuck' });
      try {
        await stuck.connect('stuck');
        stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'work', qos: 1 }] });
        expect((await stuck.next()).cmd).to.equal('suback');
        // Every publish completes although the subscriber takes nothing after its window.
        await publishNumbered(pub, 'work', 200, 10, 1);
        await until(() => broker.stats().counters.sessionDropped > 0, 'the stuck session to drop past its queue bound');
        expect(broker.stats().counters.sessionDropped).to.be.at.most(200 - 20 - 5);
      } finally {
        stuck.destroy();
        await forceClose(pub);
        await broker.close();
      }
    });
  });
}
