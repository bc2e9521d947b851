/**
 * Main stops reading a publisher's socket when the publisher's session thread stops consuming
 * its bytes (more than `relayBufferBytes` unconsumed), and reads on once the thread catches up.
 *
 * The session is made to stop consuming without stalling a thread: a subscriber that does not
 * acknowledge makes the publisher's session hold its further PUBLISHes unconsumed
 * (docs/architecture.md, "Backpressure between sessions"), and `slowSubscriberWaitMs` is long.
 */
import { expect } from 'chai';
import type { IPublishPacket } from 'mqtt-packet';
import type { Broker } from '../../src/broker/index.js';
import { relayStateOf } from '../../src/broker/test-hooks.js';
import { PLACEMENTS, RawClient, testBroker, until } from './helpers.js';

const RELAY_BUFFER = 1024;
/** The most Node hands over in one socket read: what main may take in before it pauses. */
const MAX_READ = 64 * 1024;

for (const placement of PLACEMENTS) {
  describe(`broker: relay pause toward a session that stops consuming, ${placement.name}`, function () {
    this.timeout(20000);
    let broker: Broker;

    beforeEach(async () => {
      broker = await testBroker({
        ...placement.options,
        // Main keeps the socket and relays (the hand-off path has no relay to pause).
        socketHandoff: false,
        relayBufferBytes: RELAY_BUFFER,
        maxQueuedMessages: 2,
        maxInflight: 1,
        slowSubscriberWaitMs: 60_000,
      });
    });
    afterEach(async () => {
      await broker.close();
    });

    it('pauses the publisher socket past relayBufferBytes unconsumed, and resumes when consumed', async () => {
      const stuck = await RawClient.open(broker);
      const pub = await RawClient.open(broker);
      try {
        await stuck.connect('stuck');
        stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'work', qos: 1 }] });
        expect((await stuck.next()).cmd).to.equal('suback');
        await pub.connect('pub');

        // 400 KB of QoS 1 PUBLISHes at once: far more than the relay buffer.
        const count = 400;
        const payload = Buffer.alloc(1000, 1);
        let pubacks = 0;
        const allAcked = (async () => {
          while (pubacks < count) if ((await pub.next()).cmd === 'puback') pubacks++;
        })();
        for (let i = 1; i <= count; i++) pub.send({ cmd: 'publish', topic: 'work', payload, qos: 1, messageId: i, retain: false, dup: false });

        // The subscriber holds one unacknowledged message; the publisher's session holds the rest.
        await until(() => relayStateOf(broker, 'pub')?.paused === true && pubacks >= 1, () => `the publisher socket to be paused: ${JSON.stringify(relayStateOf(broker, 'pub'))}, ${pubacks} PUBACKs`);
        const paused = relayStateOf(broker, 'pub')!;
        expect(paused.unconsumed, 'unconsumed bytes main holds').to.be.above(RELAY_BUFFER).and.at.most(RELAY_BUFFER + MAX_READ);
        expect(pubacks, 'PUBLISHes the session took').to.be.below(count);

        // The subscriber acknowledges: the session consumes again, main reads on, all go through.
        const acking = (async () => {
          for (let i = 0; i < count; i++) {
            const publish = (await stuck.next()) as IPublishPacket;
            stuck.send({ cmd: 'puback', messageId: publish.messageId! });
          }
        })();
        await Promise.all([allAcked, acking]);
        await until(() => relayStateOf(broker, 'pub')?.paused === false, 'the publisher socket to be read again');
      } finally {
        stuck.destroy();
        pub.destroy();
      }
    });
  });
}
