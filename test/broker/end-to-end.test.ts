/**
 * The broker end to end over TCP, with MQTT.js as the independent client, for both placements
 * (M sessions on N threads, and one thread per session).
 */
import { expect } from 'chai';
import mqtt from 'mqtt';
import type { IConnackPacket, IPublishPacket, Packet } from 'mqtt-packet';
import type { Broker } from '../../src/broker/index.js';
import { sessionThreadOf } from '../../src/broker/test-hooks.js';
import { client, forceClose, nextMessages, PLACEMENTS, RawClient, testBroker, until } from './helpers.js';

for (const placement of PLACEMENTS) {
  describe(`broker end to end: ${placement.name}`, function () {
    this.timeout(15000);
    let broker: Broker;

    beforeEach(async () => {
      broker = await testBroker(placement.options);
    });
    afterEach(async () => {
      await broker.close();
    });

    it('accepts a 3.1.1 and a 5.0 client and ends them on DISCONNECT', async () => {
      const v4 = await client(broker, { clientId: 'v4', protocolVersion: 4 });
      const v5 = await client(broker, { clientId: 'v5', protocolVersion: 5 });
      expect(broker.stats().connections).to.equal(2);
      await v4.endAsync();
      await v5.endAsync();
      await until(() => broker.stats().sessions === 0, 'both clean sessions to end');
      expect(broker.stats().connections).to.equal(0);
    });

    for (const qos of [0, 1, 2] as const) {
      it(`delivers a QoS ${qos} PUBLISH to a subscriber on another session thread`, async () => {
        const sub = await client(broker, { clientId: `sub${qos}` });
        const pub = await client(broker, { clientId: `pub${qos}`, protocolVersion: 5 });
        try {
          // Precondition of the test's name: the two sessions live on different threads.
          expect(sessionThreadOf(broker, `sub${qos}`)).to.not.equal(sessionThreadOf(broker, `pub${qos}`));
          await sub.subscribeAsync('t/q', { qos: 2 });
          const got = nextMessages(sub, 3);
          for (const n of [1, 2, 3]) await pub.publishAsync('t/q', `m${n}`, { qos });
          // Order per publisher is kept [MQTT-4.6.0-5].
          expect((await got).map((m) => [m.payload, m.qos])).to.deep.equal([
            ['m1', qos],
            ['m2', qos],
            ['m3', qos],
          ]);
        } finally {
          await forceClose(sub, pub);
        }
      });
    }

    it('matches + and # wildcards, and keeps $ topics from a leading wildcard [MQTT-4.7.2-1]', async () => {
      const sub = await client(broker, { clientId: 'wild' });
      const pub = await client(broker, { clientId: 'wild-pub' });
      try {
        await sub.subscribeAsync({ 'a/+/c': { qos: 1 }, 'x/#': { qos: 1 }, '#': { qos: 0 } });
        const got = nextMessages(sub, 2);
        // Published first by the same publisher, so it would arrive first if it matched.
        await pub.publishAsync('$SYS/hidden', 'no', { qos: 1 });
        await pub.publishAsync('a/b/c', 'plus', { qos: 1 });
        await pub.publishAsync('x', 'hash-parent', { qos: 1 });
        // Each matches two filters but arrives once, at the maximum granted QoS [MQTT-3.3.5-1].
        expect((await got).map((m) => [m.topic, m.payload, m.qos])).to.deep.equal([
          ['a/b/c', 'plus', 1],
          ['x', 'hash-parent', 1],
        ]);
      } finally {
        await forceClose(sub, pub);
      }
    });

    it('stores, replaces and deletes a retained message and sends it on SUBSCRIBE [MQTT-3.3.1-5,6,10]', async () => {
      const pub = await client(broker, { clientId: 'ret-pub' });
      try {
        await pub.publishAsync('r/1', 'first', { qos: 1, retain: true });
        await pub.publishAsync('r/1', 'second', { qos: 1, retain: true });
        await pub.publishAsync('r/2', 'other', { qos: 1, retain: true });
        await until(() => broker.stats().retainedMessages === 2, 'two retained messages');
        const sub = await client(broker, { clientId: 'ret-sub' });
        const got = nextMessages(sub, 2);
        await sub.subscribeAsync('r/+', { qos: 1 });
        const retained = (await got).map((m) => [m.topic, m.payload, m.retain]).sort();
        expect(retained).to.deep.equal([
          ['r/1', 'second', true],
          ['r/2', 'other', true],
        ]);
        await forceClose(sub);
        // An empty retained payload deletes the retained message [MQTT-3.3.1-10].
        await pub.publishAsync('r/1', '', { qos: 1, retain: true });
        await until(() => broker.stats().retainedMessages === 1, 'one retained message left');
        const late = await client(broker, { clientId: 'ret-late' });
        const lateGot = nextMessages(late, 1);
        await late.subscribeAsync('r/#', { qos: 0 });
        expect((await lateGot).map((m) => m.topic)).to.deep.equal(['r/2']);
        await forceClose(late);
      } finally {
        await forceClose(pub);
      }
    });

    it('publishes the will when the connection ends without DISCONNECT [MQTT-3.1.2-8]', async () => {
      const watcher = await client(broker, { clientId: 'watcher' });
      await watcher.subscribeAsync('will/#', { qos: 1 });
      const dying = await client(broker, { clientId: 'dying', will: { topic: 'will/dying', payload: Buffer.from('gone'), qos: 1, retain: false } });
      try {
        const got = nextMessages(watcher, 1);
        dying.stream.destroy();
        expect(await got).to.deep.equal([{ topic: 'will/dying', payload: 'gone', retain: false, qos: 1 }]);
      } finally {
        await forceClose(watcher, dying);
      }
    });

    it('does not publish the will after a DISCONNECT [MQTT-3.1.2-10]', async () => {
      const watcher = await client(broker, { clientId: 'watcher2' });
      await watcher.subscribeAsync('will/#', { qos: 1 });
      const polite = await client(broker, { clientId: 'polite', will: { topic: 'will/polite', payload: Buffer.from('gone'), qos: 1, retain: false } });
      try {
        const got = nextMessages(watcher, 1);
        await polite.endAsync();
        // The session ends after it would have routed a will; then a sentinel follows.
        await until(() => broker.stats().sessions === 1, 'the polite session to end');
        await watcher.publishAsync('will/sentinel', 'after', { qos: 1 });
        expect((await got).map((m) => m.topic)).to.deep.equal(['will/sentinel']);
      } finally {
        await forceClose(watcher, polite);
      }
    });

    it('closes a connection that is silent for 1.5 × its keep alive [MQTT-3.1.2-24]', async () => {
      const raw = await RawClient.open(broker);
      try {
        const connack = (await raw.connect('sleepy', { keepalive: 1 })) as IConnackPacket;
        expect(connack.returnCode).to.equal(0);
        const since = Date.now();
        await raw.waitClosed();
        expect(Date.now() - since).to.be.at.least(1000);
      } finally {
        raw.destroy();
      }
    });

    it('keeps a client that keeps talking past 1.5 × its keep alive, then closes it once silent [MQTT-3.1.2-24]', async () => {
      // The session's timer is not re-armed per packet: it fires at the first deadline, finds it
      // moved on, and waits for the new one.
      const raw = await RawClient.open(broker);
      try {
        await raw.connect('chatty', { keepalive: 1 });
        for (let i = 0; i < 5; i++) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          raw.send({ cmd: 'pingreq' } as Packet);
          expect((await raw.next()).cmd).to.equal('pingresp');
        }
        const since = Date.now();
        await raw.waitClosed();
        expect(Date.now() - since).to.be.within(1000, 2500);
      } finally {
        raw.destroy();
      }
    });

    it('queues messages for an offline clean-session-0 client and sends them on return [MQTT-3.1.2-4]', async () => {
      const first = await client(broker, { clientId: 'durable', clean: false });
      await first.subscribeAsync('d/t', { qos: 1 });
      await first.endAsync();
      const pub = await client(broker, { clientId: 'durable-pub' });
      try {
        for (const n of [1, 2, 3]) await pub.publishAsync('d/t', `q${n}`, { qos: 1 });
        const back = mqtt.connect(broker.url, { clientId: 'durable', clean: false, reconnectPeriod: 0 });
        const got = nextMessages(back, 3);
        const connack = await new Promise<IConnackPacket>((resolve) => back.once('connect', resolve));
        expect(connack.sessionPresent).to.equal(true);
        expect((await got).map((m) => m.payload)).to.deep.equal(['q1', 'q2', 'q3']);
        await forceClose(back);
      } finally {
        await forceClose(pub);
      }
    });

    it('resends an unacknowledged QoS 1 message with DUP when the session resumes [MQTT-4.4.0-1]', async () => {
      const raw = await RawClient.open(broker);
      await raw.connect('resend', { clean: false });
      raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rs', qos: 1 }] });
      expect((await raw.next()).cmd).to.equal('suback');
      const pub = await client(broker, { clientId: 'resend-pub' });
      try {
        await pub.publishAsync('rs', 'once', { qos: 1 });
        const first = (await raw.next()) as IPublishPacket;
        expect(first.dup).to.equal(false);
        raw.destroy(); // never acknowledged
        await raw.waitClosed();
        const again = await RawClient.open(broker);
        const connack = (await again.connect('resend', { clean: false })) as IConnackPacket;
        expect(connack.sessionPresent).to.equal(true);
        const resent = (await again.next()) as IPublishPacket;
        expect([resent.cmd, resent.dup, resent.messageId, String(resent.payload)]).to.deep.equal(['publish', true, first.messageId, 'once']);
        again.send({ cmd: 'disconnect' });
        again.destroy();
      } finally {
        await forceClose(pub);
      }
    });

    it('assigns a client id to an empty one and tells a v5 client (Assigned Client Identifier) [MQTT-3.1.3-6]', async () => {
      const raw = await RawClient.open(broker, 5);
      try {
        const connack = (await raw.connect('')) as IConnackPacket;
        expect(connack.reasonCode).to.equal(0);
        expect(connack.properties?.assignedClientIdentifier).to.match(/^weft-[0-9a-f]{16}$/);
      } finally {
        raw.destroy();
      }
    });

    it('serves a client that reconnects at once, while its previous session is still ending', async () => {
      // Each DISCONNECT ends the clean session in its worker while the next CONNECT for the same
      // client id is already on its way there: the session must be revived, not lost.
      for (let i = 0; i < 15; i++) {
        const c = await client(broker, { clientId: 'bouncer' });
        c.end(); // no wait: the next CONNECT races the end of this session
      }
      const last = await client(broker, { clientId: 'bouncer' });
      await last.subscribeAsync('b', { qos: 1 });
      const got = nextMessages(last, 1);
      await last.publishAsync('b', 'alive', { qos: 1 });
      expect((await got)[0]!.payload).to.equal('alive');
      await last.endAsync();
      await until(() => broker.stats().sessions === 0, 'every bouncer session to end');
    });

    it('closes the first connection when a second one uses the same client id [MQTT-3.1.4-2]', async () => {
      const first = await client(broker, { clientId: 'twin' });
      const other = await client(broker, { clientId: 'elsewhere' });
      const thread = sessionThreadOf(broker, 'twin');
      const firstClosed = new Promise<void>((resolve) => first.once('close', () => resolve()));
      const second = await client(broker, { clientId: 'twin' });
      try {
        await firstClosed;
        // The session stayed on its thread; the new connection works.
        expect(sessionThreadOf(broker, 'twin')).to.equal(thread);
        await second.subscribeAsync('tw', { qos: 1 });
        const got = nextMessages(second, 1);
        await other.publishAsync('tw', 'to the new one', { qos: 1 });
        expect((await got)[0]!.payload).to.equal('to the new one');
      } finally {
        await forceClose(first, second, other);
      }
    });
  });
}

describe('broker timers', function () {
  this.timeout(15000);

  it('ends an offline v5 session when its Session Expiry Interval passes (5.0 section 3.1.2.11.2)', async () => {
    const broker = await testBroker({ threads: 2 });
    try {
      const c = await client(broker, { clientId: 'expiring', protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 1 } });
      await c.subscribeAsync('exp', { qos: 1 });
      await c.endAsync();
      expect(broker.stats().sessions).to.equal(1);
      // The session's own timer fires in its worker; the session and its subscription go.
      await until(() => broker.stats().sessions === 0, 'the session to expire', 5000);
      expect(broker.stats().subscriptions).to.equal(0);
    } finally {
      await broker.close();
    }
  });
});

describe('broker capacity', function () {
  this.timeout(15000);

  for (const threadPerSession of [false, true]) {
    it(`refuses a session beyond maxSessions with CONNACK 0x03 / 0x89 (threadPerSession: ${threadPerSession})`, async () => {
      const broker = await testBroker({ threadPerSession, threads: 1, maxSessions: 2, maxConnections: 2 });
      const a = await client(broker, { clientId: 'a' });
      const b = await client(broker, { clientId: 'b' });
      try {
        const v4 = await RawClient.open(broker, 4);
        const refused = (await v4.connect('c')) as IConnackPacket;
        expect([refused.cmd, refused.returnCode]).to.deep.equal(['connack', 3]);
        await v4.waitClosed();
        const v5 = await RawClient.open(broker, 5);
        const refused5 = (await v5.connect('d')) as IConnackPacket;
        expect([refused5.cmd, refused5.reasonCode]).to.deep.equal(['connack', 0x89]);
        await v5.waitClosed();
        expect(broker.stats().counters.refusedConnections).to.equal(2);
        // The sessions inside capacity still work.
        await a.subscribeAsync('cap', { qos: 1 });
        const got = nextMessages(a, 1);
        await b.publishAsync('cap', 'ok', { qos: 1 });
        expect((await got)[0]!.payload).to.equal('ok');
      } finally {
        await forceClose(a, b);
        await broker.close();
      }
    });
  }

  it('counts an offline persistent session against maxSessions', async () => {
    const broker = await testBroker({ threads: 1, maxSessions: 2, maxConnections: 2 });
    try {
      const offline = await client(broker, { clientId: 'offline', clean: false });
      await offline.endAsync();
      const online = await client(broker, { clientId: 'online' });
      const raw = await RawClient.open(broker, 4);
      const refused = (await raw.connect('third')) as IConnackPacket;
      expect(refused.returnCode).to.equal(3);
      await raw.waitClosed();
      expect(broker.stats().counters.refusedSessions).to.equal(1);
      // The offline session can still come back: it has its slot.
      const back = await client(broker, { clientId: 'offline', clean: false });
      await forceClose(online, back);
    } finally {
      await broker.close();
    }
  });

  it('gives a slot back when a session ends', async () => {
    const broker = await testBroker({ threads: 1, maxSessions: 1, maxConnections: 1 });
    try {
      const a = await client(broker, { clientId: 'one' });
      await a.endAsync();
      await until(() => broker.stats().sessions === 0, 'the session to end');
      const b = await client(broker, { clientId: 'two' });
      await b.endAsync();
    } finally {
      await broker.close();
    }
  });
});
