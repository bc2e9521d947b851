/**
 * `maxQueuedBytes` end to end: the option is checked at start, and an offline persistent session
 * gets back, over real TCP, only what fitted in its queue's bytes, the rest counted as dropped.
 */
import { expect } from 'chai';
import mqtt, { type MqttClient } from 'mqtt';
import type { IConnackPacket } from 'mqtt-packet';
import { BrokerOptionError, resolveBrokerOptions, startBroker, type Broker } from '../../src/broker/index.js';
import { client, forceClose, nextMessages, PLACEMENTS, testBroker, until } from './helpers.js';

describe('broker: maxQueuedBytes', () => {
  describe('option', () => {
    it('defaults to 16 MiB, or twice maxPacketSize when that is larger and it is not given', () => {
      expect(resolveBrokerOptions({}).maxQueuedBytes).to.equal(16 * 1024 * 1024);
      expect(resolveBrokerOptions({ maxPacketSize: 12 * 1024 * 1024 }).maxQueuedBytes).to.equal(24 * 1024 * 1024);
      expect(resolveBrokerOptions({ maxPacketSize: 12 * 1024 * 1024, maxQueuedBytes: 4096 }).maxQueuedBytes).to.equal(4096);
    });

    it('a bad value fails at start with a BrokerOptionError naming it', async () => {
      expect(() => resolveBrokerOptions({ maxQueuedBytes: -1 })).to.throw(BrokerOptionError, /^maxQueuedBytes: expected an integer/);
      expect(() => resolveBrokerOptions({ maxQueuedBytes: '1MB' as never })).to.throw(BrokerOptionError, /^maxQueuedBytes: /);
      let error: unknown;
      try {
        const broker = await startBroker({ port: 0, logLevel: 'silent', maxQueuedBytes: 0.5 });
        await broker.close();
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(BrokerOptionError);
      expect((error as BrokerOptionError).key).to.equal('maxQueuedBytes');
    });
  });

  for (const placement of PLACEMENTS) {
    describe(placement.name, () => {
      let broker: Broker;
      beforeEach(async () => {
        // Each message counts 4 (topic) + 100 (payload) = 104 bytes: three fit in 350, not four.
        broker = await testBroker({ ...placement.options, maxQueuedBytes: 350 });
      });
      afterEach(async () => {
        await broker.close();
      });

      it('an offline clean-session-0 subscriber gets back only what fitted, the rest dropped and counted [MQTT-3.1.2-5 (3.1.1)]', async () => {
        let back: MqttClient | undefined;
        const pub = await client(broker, { clientId: 'qb-pub' });
        try {
          const first = await client(broker, { clientId: 'qb-sub', clean: false });
          await first.subscribeAsync('qb/t', { qos: 1 });
          await first.endAsync();
          const payloads = Array.from({ length: 8 }, (_, i) => `m${i}`.padEnd(100, '.'));
          for (const p of payloads) await pub.publishAsync('qb/t', p, { qos: 1 });
          // Every message reached the offline session once five were dropped.
          await until(() => broker.stats().counters.sessionDropped === 5, () => `5 drops: ${JSON.stringify(broker.stats().counters)}`);
          back = mqtt.connect(broker.url, { clientId: 'qb-sub', clean: false, reconnectPeriod: 0 });
          // Listening before the CONNACK: the queued messages may come with it.
          const got = nextMessages(back, 4);
          const connack = await new Promise<IConnackPacket>((resolve) => back!.once('connect', resolve));
          expect(connack.sessionPresent).to.equal(true);
          // A marker published after the reconnect comes right after what was queued: nothing else was.
          await pub.publishAsync('qb/t', 'marker', { qos: 1 });
          expect((await got).map((m) => m.payload)).to.deep.equal([...payloads.slice(0, 3), 'marker']);
          expect(broker.stats().counters.sessionDropped).to.equal(5);
        } finally {
          await forceClose(pub, back);
        }
      });
    });
  }
});
