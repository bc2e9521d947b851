/**
 * A session worker thread that dies ends only its own sessions: their sockets close, their
 * wills are published by the main thread, their subscriptions go, the register lock is
 * recovered, piscina starts a replacement thread and the broker keeps serving.
 */
import { expect } from 'chai';
import type { Broker } from '../../src/broker/index.js';
import { crashSessionThread, sessionThreadOf } from '../../src/broker/test-hooks.js';
import { client, forceClose, nextMessages, testBroker, until } from './helpers.js';

describe('broker: a session thread crashes', function () {
  this.timeout(15000);
  let broker: Broker;

  beforeEach(async () => {
    broker = await testBroker({ threads: 2 });
  });
  afterEach(async () => {
    await broker.close();
  });

  it('ends only that thread\'s sessions, publishes their wills, and keeps serving', async () => {
    const watcher = await client(broker, { clientId: 'watcher' });
    const victim = await client(broker, {
      clientId: 'victim',
      will: { topic: 'wills/victim', payload: Buffer.from('crashed'), qos: 1, retain: true },
    });
    try {
      // Precondition: the two sessions are on different threads.
      const watcherThread = sessionThreadOf(broker, 'watcher');
      expect(watcherThread).to.not.equal(sessionThreadOf(broker, 'victim'));
      await watcher.subscribeAsync('wills/#', { qos: 1 });
      await victim.subscribeAsync('victim/inbox', { qos: 1 });
      const will = nextMessages(watcher, 1);
      const victimClosed = new Promise<void>((resolve) => victim.once('close', () => resolve()));

      crashSessionThread(broker, 'victim');

      await victimClosed;
      expect(await will).to.deep.equal([{ topic: 'wills/victim', payload: 'crashed', retain: false, qos: 1 }]);
      expect(broker.stats().counters.workerCrashes).to.equal(1);
      // Its subscriptions are gone, the watcher's remain; the retained will was stored.
      await until(() => broker.stats().subscriptions === 1, 'only the watcher subscription to remain');
      expect(broker.stats().retainedMessages).to.equal(1);
      // Piscina replaced the thread.
      await until(() => broker.stats().threads === 2, 'a replacement thread');
      // The watcher's session survived on its thread, and new sessions work.
      expect(sessionThreadOf(broker, 'watcher')).to.equal(watcherThread);
      const fresh = await client(broker, { clientId: 'fresh' });
      const got = nextMessages(watcher, 1);
      await fresh.publishAsync('wills/fresh', 'hello', { qos: 1 });
      expect((await got)[0]!.payload).to.equal('hello');
      await forceClose(fresh);
    } finally {
      await forceClose(watcher, victim);
    }
  });
});
