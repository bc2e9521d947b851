/**
 * A session worker thread that dies ends only its own sessions: their sockets close, their
 * wills are published by the main thread, their subscriptions go, the register lock is
 * recovered, piscina starts a replacement thread and the broker keeps serving.
 */
import { expect } from 'chai';
import type { IConnackPacket } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import type { Broker } from '../../src/broker/index.js';
import { crashSessionThread, pendingCrashWills, sessionThreadOf } from '../../src/broker/test-hooks.js';
import { client, forceClose, nextMessages, PLACEMENTS, RawClient, testBroker, until } from './helpers.js';

describe('broker: a session thread crashes', function () {
  this.timeout(15000);
  let broker: Broker;

  beforeEach(async () => {
    broker = await testBroker({ threads: 2 });
  });
  afterEach(async () => {
    await broker.close();
  });

  for (const how of ['exit', 'throw'] as const) {
    it(`ends only that thread's sessions, publishes their wills, and keeps serving (thread dies by ${how})`, async () => {
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

        crashSessionThread(broker, 'victim', how);

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
  }
});

for (const placement of PLACEMENTS) {
  describe(`broker: what a session thread crash leaves, ${placement.name}`, function () {
    this.timeout(15000);
    let broker: Broker;
    let watcher: MqttClient;

    beforeEach(async () => {
      broker = await testBroker(placement.options);
      watcher = await client(broker, { clientId: 'watcher' });
      await watcher.subscribeAsync('wills/#', { qos: 1 });
    });
    afterEach(async () => {
      await forceClose(watcher);
      await broker.close();
    });

    /** Crashes the thread of `clientId`'s session (not the watcher's); resolves once main cleaned up after it. */
    async function crash(clientId: string): Promise<void> {
      // Precondition: the watcher does not share the thread that dies.
      expect(sessionThreadOf(broker, clientId)).to.not.equal(sessionThreadOf(broker, 'watcher'));
      const sessions = broker.stats().sessions;
      crashSessionThread(broker, clientId);
      await until(() => broker.stats().sessions === sessions - 1, 'main to end the dead session');
    }

    /** Connects an MQTT 5 `victim` with a will on wills/<id>, then crashes its thread; resolves once main handled it. */
    async function crashVictim(clientId: string, willDelayInterval: number, sessionExpiryInterval: number): Promise<number> {
      const victim = await client(broker, {
        clientId,
        protocolVersion: 5,
        properties: { sessionExpiryInterval },
        will: { topic: `wills/${clientId}`, payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval } },
      });
      const closed = new Promise<void>((resolve) => victim.once('close', () => resolve()));
      const crashedAt = Date.now();
      await crash(clientId);
      await closed;
      await forceClose(victim);
      return crashedAt;
    }

    it('a v5 will waits for its Will Delay Interval [MQTT-3.1.3-9]', async () => {
      const will = nextMessages(watcher, 1);
      const crashedAt = await crashVictim('delayed', 1, 3600);
      // Handled, and the will is still waiting.
      expect(pendingCrashWills(broker)).to.equal(1);
      expect(broker.stats().counters.crashWills).to.equal(0);
      expect((await will)[0]).to.deep.include({ topic: 'wills/delayed', payload: 'gone' });
      expect(Date.now() - crashedAt).to.be.at.least(950);
      expect(pendingCrashWills(broker)).to.equal(0);
    });

    it('a v5 will goes when the session would expire, if that is sooner than its delay [MQTT-3.1.3-9]', async () => {
      const will = nextMessages(watcher, 1);
      const crashedAt = await crashVictim('expiring', 3600, 1);
      expect(pendingCrashWills(broker)).to.equal(1);
      expect((await will)[0]).to.deep.include({ topic: 'wills/expiring', payload: 'gone' });
      expect(Date.now() - crashedAt).to.be.at.least(950);
    });

    it('a reconnect before the delay passed cancels the will; the session state is gone (Session Present 0) [MQTT-3.1.2-8]', async () => {
      await crashVictim('returning', 3600, 7200);
      expect(pendingCrashWills(broker)).to.equal(1);
      const raw = await RawClient.open(broker, 5);
      try {
        const connack = (await raw.connect('returning', { clean: false, properties: { sessionExpiryInterval: 7200 } })) as IConnackPacket;
        expect(connack.reasonCode).to.equal(0);
        expect(connack.sessionPresent, 'the crashed thread took the session state with it').to.equal(false);
        expect(pendingCrashWills(broker)).to.equal(0);
        expect(broker.stats().counters.crashWills).to.equal(0);
      } finally {
        raw.destroy();
      }
    });

    it('an offline persistent session on the crashed thread is lost: a reconnect gets Session Present 0', async () => {
      const keeper = await RawClient.open(broker);
      await keeper.connect('keeper', { clean: false });
      keeper.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'keep/#', qos: 1 }] });
      expect((await keeper.next()).cmd).to.equal('suback');
      keeper.send({ cmd: 'disconnect' });
      await keeper.waitClosed();
      // Precondition: the session outlives its connection.
      const again = await RawClient.open(broker);
      expect(((await again.connect('keeper', { clean: false })) as IConnackPacket).sessionPresent).to.equal(true);
      again.send({ cmd: 'disconnect' });
      await again.waitClosed();
      await until(() => broker.sessions().some((s) => s.clientId === 'keeper' && !s.connected), 'the keeper session to be offline');

      await crash('keeper');

      const back = await RawClient.open(broker);
      try {
        const connack = (await back.connect('keeper', { clean: false })) as IConnackPacket;
        expect(connack.returnCode).to.equal(0);
        expect(connack.sessionPresent).to.equal(false);
        await until(() => broker.stats().subscriptions === 1, 'only the watcher subscription to remain');
      } finally {
        back.destroy();
      }
    });
  });
}
