/**
 * MQTT 5 CONNECT / CONNACK and session lifetime, end to end over TCP with MQTT.js at
 * `protocolVersion: 5` (raw sockets where MQTT.js cannot send the input), for both placements.
 */
import { expect } from 'chai';
import type { IConnackPacket, IDisconnectPacket } from 'mqtt-packet';
import { forceClose, PLACEMENTS, RawClient, until } from './helpers.js';
import { brokerPerTest, closed, hasSession, v5Collecting, expectNext, packetsUntilClosed, publishes, rawV5, serverDisconnect, v5 } from './v5-helpers.js';

for (const placement of PLACEMENTS) {
  describe(`v5 connect and session: ${placement.name}`, function () {
    this.timeout(10000);
    const { broker, restart } = brokerPerTest(placement.options);

    it('CONNACK advertises the broker limits from its options [MQTT-3.2.2-*]', async () => {
      await restart({ receiveMaximum: 7, topicAliasMaximum: 3, maxPacketSize: 4096, maxKeepAlive: 30 });
      const { c, connack } = await v5(broker(), { clientId: 'limits', keepalive: 10 });
      try {
        expect(connack.reasonCode).to.equal(0);
        const p = connack.properties ?? {};
        expect(p.receiveMaximum).to.equal(7);
        expect(p.topicAliasMaximum).to.equal(3);
        expect(p.maximumPacketSize).to.equal(4096);
        // Absent means QoS 2, retain, wildcards, subscription ids and shared subscriptions
        // are all available (MQTT 5.0 3.2.2.3.4, .5, .11, .12, .13).
        expect([p.maximumQoS, p.retainAvailable, p.wildcardSubscriptionAvailable, p.subscriptionIdentifiersAvailable, p.sharedSubscriptionAvailable])
          .to.deep.equal([undefined, undefined, undefined, undefined, undefined]);
        // 10 s is within maxKeepAlive: no Server Keep Alive, the client's value stands [MQTT-3.2.2-22].
        expect(p.serverKeepAlive).to.equal(undefined);
        // Session Expiry Interval 0 requested, nothing capped: not echoed.
        expect(p.sessionExpiryInterval).to.equal(undefined);
      } finally {
        await forceClose(c);
      }
    });

    it('CONNACK says what is not available: maximumQoS, retainAvailable, wildcard/subscription-id/shared options', async () => {
      await restart({ maximumQoS: 1, retainAvailable: false, wildcardSubscriptionAvailable: false, subscriptionIdentifiersAvailable: false, sharedSubscriptionAvailable: false });
      const { c, connack } = await v5(broker(), { clientId: 'unavailable' });
      try {
        const p = connack.properties ?? {};
        expect([p.maximumQoS, p.retainAvailable, p.wildcardSubscriptionAvailable, p.subscriptionIdentifiersAvailable, p.sharedSubscriptionAvailable])
          .to.deep.equal([1, false, false, false, false]);
      } finally {
        await forceClose(c);
      }
    });

    it('Server Keep Alive: a client asking above maxKeepAlive, or 0, is told the server value [MQTT-3.2.2-21]', async () => {
      await restart({ maxKeepAlive: 5 });
      const above = await v5(broker(), { clientId: 'ka-above', keepalive: 60 });
      const zero = await v5(broker(), { clientId: 'ka-zero', keepalive: 0 });
      const below = await v5(broker(), { clientId: 'ka-below', keepalive: 4 });
      try {
        expect(above.connack.properties?.serverKeepAlive).to.equal(5);
        expect(zero.connack.properties?.serverKeepAlive).to.equal(5);
        expect(below.connack.properties?.serverKeepAlive).to.equal(undefined);
      } finally {
        await forceClose(above.c, zero.c, below.c);
      }
    });

    it('Request Response Information is answered with no Response Information, which the spec allows (5.0 3.1.2.11.7)', async () => {
      const { c, connack } = await v5(broker(), { clientId: 'resp-info', properties: { requestResponseInformation: true } });
      try {
        expect(connack.reasonCode).to.equal(0);
        expect(connack.properties?.responseInformation).to.equal(undefined);
      } finally {
        await forceClose(c);
      }
    });

    it('returns an Assigned Client Identifier for an empty client id, and the session is known by it [MQTT-3.2.2-16]', async () => {
      const { c, connack } = await v5(broker(), { clientId: '' });
      try {
        const assigned = connack.properties?.assignedClientIdentifier;
        expect(assigned).to.be.a('string').and.not.equal('');
        await until(() => broker().sessions().some((s) => s.clientId === assigned), 'the session under its assigned id');
      } finally {
        await forceClose(c);
      }
    });

    it('Session Expiry Interval 0: the session and its subscriptions end with the connection', async () => {
      await restart({}); // counts sessions and subscriptions broker-wide
      const { c } = await v5(broker(), { clientId: 'exp0', clean: false, properties: { sessionExpiryInterval: 0 } });
      await c.subscribeAsync('e0/t', { qos: 1 });
      expect(broker().stats().subscriptions).to.equal(1);
      await c.endAsync();
      await until(() => broker().stats().sessions === 0, 'the session to end');
      expect(broker().stats().subscriptions).to.equal(0);
      const again = await v5(broker(), { clientId: 'exp0', clean: false });
      expect(again.connack.sessionPresent).to.equal(false);
      await forceClose(again.c);
    });

    it('Session Expiry Interval N: session, subscriptions and queued messages outlive the connection until expiry (5.0 3.1.2.11.2)', async () => {
      await restart({}); // counts sessions and subscriptions broker-wide
      const first = await v5(broker(), { clientId: 'expN', clean: false, properties: { sessionExpiryInterval: 1 } });
      await first.c.subscribeAsync('eN/t', { qos: 1 });
      await first.c.endAsync();
      const pub = await v5(broker(), { clientId: 'expN-pub' });
      try {
        for (const n of [1, 2]) await pub.c.publishAsync('eN/t', `q${n}`, { qos: 1 });
        // Resumed within the interval: Session Present and the queued messages [MQTT-3.2.2-3].
        const back = await v5Collecting(broker(), { clientId: 'expN', clean: false, properties: { sessionExpiryInterval: 1 } }, 2);
        expect(back.connack.sessionPresent).to.equal(true);
        expect((await back.got).map((p) => String(p.payload))).to.deep.equal(['q1', 'q2']);
        await back.c.endAsync();
        // Offline again: after the interval the session and its subscription are gone.
        expect(broker().stats().subscriptions).to.equal(1);
        await until(() => broker().stats().sessions === 1, 'the offline session to expire', 4000);
        expect(broker().stats().subscriptions).to.equal(0);
        const late = await v5(broker(), { clientId: 'expN', clean: false });
        expect(late.connack.sessionPresent).to.equal(false);
        await forceClose(late.c);
      } finally {
        await forceClose(pub.c);
      }
    });

    it('Session Expiry Interval 0xFFFFFFFF is granted as asked (not echoed) and keeps the session', async () => {
      const first = await v5(broker(), { clientId: 'expMax', clean: false, properties: { sessionExpiryInterval: 0xffffffff } });
      expect(first.connack.properties?.sessionExpiryInterval).to.equal(undefined);
      await first.c.subscribeAsync('eM/t', { qos: 1 });
      await first.c.endAsync();
      const pub = await v5(broker(), { clientId: 'expMax-pub' });
      try {
        await pub.c.publishAsync('eM/t', 'kept', { qos: 1 });
        const back = await v5Collecting(broker(), { clientId: 'expMax', clean: false }, 1);
        expect(back.connack.sessionPresent).to.equal(true);
        expect(String((await back.got)[0]!.payload)).to.equal('kept');
        expect(back.c.connected).to.equal(true);
        await forceClose(back.c);
      } finally {
        await forceClose(pub.c);
      }
    });

    it('DISCONNECT may lower the Session Expiry Interval to 0: the session ends at once (5.0 3.14.2.2.2)', async () => {
      await restart({}); // counts sessions and subscriptions broker-wide
      const { c } = await v5(broker(), { clientId: 'lower', clean: false, properties: { sessionExpiryInterval: 300 } });
      await c.subscribeAsync('lw/t', { qos: 1 });
      await c.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
      await until(() => broker().stats().sessions === 0, 'the session to end on DISCONNECT');
      expect(broker().stats().subscriptions).to.equal(0);
    });

    it('an Authentication Method without an auth handler gets CONNACK 0x8C and the connection closes (5.0 4.12)', async () => {
      const raw = await RawClient.open(broker(), 5);
      try {
        const connack = (await raw.connect('auth', { properties: { authenticationMethod: 'SCRAM-SHA-1' } })) as IConnackPacket;
        expect(connack.reasonCode).to.equal(0x8c);
        expect(connack.sessionPresent).to.equal(false);
        await raw.waitClosed();
        await until(() => !hasSession(broker(), 'auth'), 'no session left');
      } finally {
        raw.destroy();
      }
    });

    it('an AUTH packet without an authentication method is a protocol error: DISCONNECT 0x82 (5.0 4.12)', async () => {
      const { raw } = await rawV5(broker(), 'auth-stray');
      try {
        raw.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'X' } });
        const seen = await packetsUntilClosed(raw);
        expect(seen.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode])).to.deep.equal([['disconnect', 0x82]]);
      } finally {
        raw.destroy();
      }
    });

    it('a takeover sends DISCONNECT 0x8E to the old connection and the session goes on [MQTT-3.1.4-3]', async () => {
      const old = await v5(broker(), { clientId: 'taken', clean: false, properties: { sessionExpiryInterval: 60 } });
      await old.c.subscribeAsync('tk/t', { qos: 1 });
      const kicked = serverDisconnect(old.c);
      const oldClosed = closed(old.c);
      const fresh = await v5(broker(), { clientId: 'taken', clean: false, properties: { sessionExpiryInterval: 60 } });
      const pub = await v5(broker(), { clientId: 'taken-pub' });
      try {
        const disconnect = await kicked;
        expect(disconnect.reasonCode).to.equal(0x8e);
        await oldClosed;
        expect(fresh.connack.sessionPresent).to.equal(true);
        const got = publishes(fresh.c, 1);
        await pub.c.publishAsync('tk/t', 'to the new one', { qos: 1 });
        expect(String((await got)[0]!.payload)).to.equal('to the new one');
      } finally {
        await forceClose(old.c, fresh.c, pub.c);
      }
    });

    it('a second CONNECT on a connection is a protocol error: DISCONNECT 0x82 [MQTT-3.1.0-2]', async () => {
      const { raw } = await rawV5(broker(), 'twice');
      try {
        raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'twice', clean: true, keepalive: 0 });
        const seen = await packetsUntilClosed(raw);
        expect(seen.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode])).to.deep.equal([['disconnect', 0x82]]);
      } finally {
        raw.destroy();
      }
    });

    it('a raw CONNACK after a takeover of a raw connection: the old socket reads DISCONNECT 0x8E, then closes', async () => {
      const { raw: first } = await rawV5(broker(), 'raw-taken');
      const { raw: second, connack } = await rawV5(broker(), 'raw-taken');
      try {
        expect(connack.reasonCode).to.equal(0);
        const disconnect = await expectNext<IDisconnectPacket>(first, 'disconnect');
        expect(disconnect.reasonCode).to.equal(0x8e);
        await first.waitClosed();
        expect(second.closed).to.equal(false);
      } finally {
        first.destroy();
        second.destroy();
      }
    });
  });
}
