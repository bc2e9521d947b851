/**
 * A client that stops reading cannot make the broker buffer without bound: past
 * `relayBufferBytes` its session holds messages in a bounded queue and then drops them
 * (counted), while other clients keep being served.
 */
import { expect } from 'chai';
import { client, forceClose, nextMessages, RawClient, testBroker, until } from './helpers.js';

describe('broker: backpressure toward a client that does not read', function () {
  this.timeout(20000);

  it('drops (and counts) what a stalled subscriber cannot take; others keep working', async () => {
    const broker = await testBroker({ threads: 2, relayBufferBytes: 16 * 1024, maxQueuedMessages: 10 });
    const stalled = await RawClient.open(broker);
    const watcher = await client(broker, { clientId: 'watcher' });
    const pub = await client(broker, { clientId: 'flooder' });
    try {
      await stalled.connect('stalled');
      stalled.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 0 }] });
      expect((await stalled.next()).cmd).to.equal('suback');
      stalled.socket.pause(); // stops reading: the kernel buffers fill, then the broker's
      const payload = Buffer.alloc(64 * 1024, 7);
      // Far more than socket buffers, relay buffer and hold queue together can take.
      for (let i = 0; i < 400; i++) pub.publish('flood', payload, { qos: 0 });
      await pub.publishAsync('flood', 'end', { qos: 1 });
      await until(() => broker.stats().counters.relayDropped > 0, () => `the stalled session to drop messages: ${JSON.stringify(broker.stats())}`, 15000);
      // The broker still serves everyone else.
      await watcher.subscribeAsync('ping', { qos: 1 });
      const got = nextMessages(watcher, 1);
      await pub.publishAsync('ping', 'pong', { qos: 1 });
      expect((await got)[0]!.payload).to.equal('pong');
    } finally {
      stalled.destroy();
      await forceClose(watcher, pub);
      await broker.close();
    }
  });

  it('never stalls when single packets are larger than the relay buffer (both directions)', async () => {
    const broker = await testBroker({ threads: 2, relayBufferBytes: 1024 });
    const sub = await client(broker, { clientId: 'big-sub' });
    const pub = await client(broker, { clientId: 'big-pub' });
    try {
      await sub.subscribeAsync('big/#', { qos: 1 });
      const got = nextMessages(sub, 10);
      const payload = Buffer.alloc(100 * 1024, 3);
      for (let i = 0; i < 5; i++) {
        pub.publish('big/q0', payload, { qos: 0 });
        pub.publish('big/q1', payload, { qos: 1 });
      }
      const messages = await got;
      expect(messages.filter((m) => m.topic === 'big/q0')).to.have.length(5);
      expect(messages.filter((m) => m.topic === 'big/q1')).to.have.length(5);
      expect(messages.every((m) => m.payload.length === payload.length)).to.equal(true);
    } finally {
      await forceClose(sub, pub);
      await broker.close();
    }
  });
});
