/**
 * MQTT 5 will and DISCONNECT end to end: Will Delay Interval, will properties, DISCONNECT 0x04,
 * and the reason codes (and reason strings) of the broker's own DISCONNECT, for both placements.
 */
import { expect } from 'chai';
import type { IDisconnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { forceClose, PLACEMENTS, until } from './helpers.js';
import { brokerPerTest, hasSession, packetsUntilClosed, publishes, rawV5, reasonString, serverDisconnect, v5 } from './v5-helpers.js';

const codes = (packets: Packet[]): [string, number | undefined][] => packets.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode]);

for (const placement of PLACEMENTS) {
  describe(`v5 will and disconnect: ${placement.name}`, function () {
    this.timeout(10000);
    const { broker, restart } = brokerPerTest(placement.options);

    const will = (name: string, properties: Record<string, unknown> = {}) => ({
      topic: `will/${name}`,
      payload: Buffer.from(`${name} gone`),
      qos: 1 as const,
      retain: false,
      properties,
    });

    it('publishes the will after its Will Delay Interval, with its properties (5.0 3.1.3.2.2)', async () => {
      const watcher = await v5(broker(), { clientId: 'w-watch' });
      await watcher.c.subscribeAsync('will/#', { qos: 1 });
      const dying = await v5(broker(), {
        clientId: 'w-delayed',
        properties: { sessionExpiryInterval: 30 },
        will: will('delayed', { willDelayInterval: 1, contentType: 'text/plain', userProperties: { why: 'test' }, payloadFormatIndicator: true, messageExpiryInterval: 60 }),
      });
      try {
        const got = publishes(watcher.c, 1);
        const lostAt = Date.now();
        dying.c.stream.destroy();
        const [w] = await got;
        expect(Date.now() - lostAt).to.be.at.least(900);
        expect([w!.topic, String(w!.payload)]).to.deep.equal(['will/delayed', 'delayed gone']);
        expect(w!.properties?.contentType).to.equal('text/plain');
        expect(w!.properties?.payloadFormatIndicator).to.equal(true);
        expect(w!.properties?.userProperties).to.deep.equal({ why: 'test' });
        expect(w!.properties?.messageExpiryInterval).to.be.within(59, 60);
      } finally {
        await forceClose(watcher.c, dying.c);
      }
    });

    /**
     * A will that must NOT be published is made retained, on a topic of its own: the session
     * posts a retained message to main on the same port, and before, its end, so once main has
     * unlisted the session it has stored any will that went out (no sleep, no cross-thread race).
     */
    const retainedWill = (name: string, properties: Record<string, unknown> = {}) => ({ ...will(name, properties), topic: `rwill/${name}`, retain: true });

    it('a reconnect within the Will Delay Interval cancels the will [MQTT-3.1.3-9]', async () => {
      const first = await v5(broker(), { clientId: 'w-back', clean: false, properties: { sessionExpiryInterval: 30 }, will: retainedWill('back', { willDelayInterval: 30 }) });
      first.c.stream.destroy();
      await until(() => broker().sessions().some((s) => s.clientId === 'w-back' && !s.connected), 'the session to go offline');
      const retainedBefore = broker().stats().retainedMessages;
      const again = await v5(broker(), { clientId: 'w-back', clean: false, properties: { sessionExpiryInterval: 0 } });
      try {
        expect(again.connack.sessionPresent).to.equal(true);
        // Ending the session would publish a will still pending ("the earlier of delay and
        // session end"); the reconnect cancelled it, so nothing is stored.
        await again.c.endAsync();
        await until(() => !hasSession(broker(), 'w-back'), 'the session to end');
        expect(broker().stats().retainedMessages).to.equal(retainedBefore);
      } finally {
        await forceClose(first.c, again.c);
      }
    });

    it('a Clean Start reconnect within the Will Delay Interval ends the old session, so its will goes at once (5.0 3.1.3.2.2)', async () => {
      const watcher = await v5(broker(), { clientId: 'w-watch-clean' });
      await watcher.c.subscribeAsync('will/#', { qos: 1 });
      const first = await v5(broker(), { clientId: 'w-clean', clean: false, properties: { sessionExpiryInterval: 30 }, will: will('clean', { willDelayInterval: 30 }) });
      let again: Awaited<ReturnType<typeof v5>> | undefined;
      try {
        first.c.stream.destroy();
        await until(() => broker().sessions().some((s) => s.clientId === 'w-clean' && !s.connected), 'the session to go offline');
        const got = publishes(watcher.c, 1);
        again = await v5(broker(), { clientId: 'w-clean', clean: true, properties: { sessionExpiryInterval: 30 } });
        expect(again.connack.sessionPresent).to.equal(false);
        const [w] = await got;
        expect([w!.topic, String(w!.payload)]).to.deep.equal(['will/clean', 'clean gone']);
      } finally {
        await forceClose(watcher.c, first.c, ...(again ? [again.c] : []));
      }
    });

    it('publishes a delayed will when the session ends first (Session Expiry 1 s < Will Delay 60 s) (5.0 3.1.3.2.2)', async () => {
      const watcher = await v5(broker(), { clientId: 'w-watch3' });
      await watcher.c.subscribeAsync('will/#', { qos: 1 });
      const dying = await v5(broker(), { clientId: 'w-expiring', properties: { sessionExpiryInterval: 1 }, will: will('expiring', { willDelayInterval: 60 }) });
      try {
        const got = publishes(watcher.c, 1);
        dying.c.stream.destroy();
        expect((await got).map((p) => p.topic)).to.deep.equal(['will/expiring']);
        await until(() => !broker().sessions().some((s) => s.clientId === 'w-expiring'), 'the session to have ended');
      } finally {
        await forceClose(watcher.c, dying.c);
      }
    });

    it('DISCONNECT 0x04 (Disconnect with Will Message) publishes the will; 0x00 does not [MQTT-3.14.4-3]', async () => {
      const watcher = await v5(broker(), { clientId: 'w-watch4' });
      await watcher.c.subscribeAsync('will/#', { qos: 1 });
      const wants = await v5(broker(), { clientId: 'w-04', will: will('with04') });
      const normal = await v5(broker(), { clientId: 'w-00', will: retainedWill('with00') });
      try {
        const retainedBefore = broker().stats().retainedMessages;
        await normal.c.endAsync(false, { reasonCode: 0 });
        await until(() => !hasSession(broker(), 'w-00'), 'the normal session to end');
        expect(broker().stats().retainedMessages).to.equal(retainedBefore);
        const got = publishes(watcher.c, 1);
        await wants.c.endAsync(false, { reasonCode: 0x04 });
        expect((await got).map((p) => p.topic)).to.deep.equal(['will/with04']);
      } finally {
        await forceClose(watcher.c, wants.c, normal.c);
      }
    });

    it('a client DISCONNECT with an error reason code (0x80) publishes the will: only 0x00 discards it [MQTT-3.1.2-8, MQTT-3.14.4-3]', async () => {
      const watcher = await v5(broker(), { clientId: 'w-watch80' });
      await watcher.c.subscribeAsync('will/#', { qos: 1 });
      const failing = await v5(broker(), { clientId: 'w-80', will: will('with80') });
      try {
        const got = publishes(watcher.c, 1);
        await failing.c.endAsync(false, { reasonCode: 0x80 });
        expect((await got).map((p) => p.topic)).to.deep.equal(['will/with80']);
      } finally {
        await forceClose(watcher.c, failing.c);
      }
    });

    // ---- the broker's DISCONNECT ----

    it('DISCONNECT 0x81 for a malformed packet, with a reason string, and the will is published [MQTT-3.1.2-8]', async () => {
      const watcher = await v5(broker(), { clientId: 'w-watch5' });
      await watcher.c.subscribeAsync('will/#', { qos: 1 });
      const { raw } = await rawV5(broker(), 'malformed', { will: will('malformed') });
      try {
        const got = publishes(watcher.c, 1);
        // PUBLISH QoS 0, topic "a", property length 1 holding property id 0x7f (no such property).
        raw.sendBytes([0x30, 0x06, 0x00, 0x01, 0x61, 0x01, 0x7f, 0x00]);
        const seen = await packetsUntilClosed(raw);
        expect(codes(seen)).to.deep.equal([['disconnect', 0x81]]);
        expect(reasonString(seen[0]!)).to.be.a('string').and.not.equal('');
        expect((await got).map((p: IPublishPacket) => p.topic)).to.deep.equal(['will/malformed']);
      } finally {
        raw.destroy();
        await forceClose(watcher.c);
      }
    });

    it('no reason string on the DISCONNECT when Request Problem Information is 0 [MQTT-3.1.2-29]', async () => {
      const { raw } = await rawV5(broker(), 'no-problem-info', { properties: { requestProblemInformation: false } });
      try {
        raw.send({ cmd: 'publish', topic: 'x', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { topicAlias: 0 } });
        const seen = await packetsUntilClosed(raw);
        expect(codes(seen)).to.deep.equal([['disconnect', 0x94]]);
        expect(reasonString(seen[0]!)).to.equal(undefined);
      } finally {
        raw.destroy();
      }
    });

    it('DISCONNECT 0x81 for a QoS 0 PUBLISH with DUP set: the decoder refuses it as malformed [MQTT-3.3.1-2]', async () => {
      const { raw } = await rawV5(broker(), 'proto');
      try {
        raw.sendBytes([0x38, 0x04, 0x00, 0x01, 0x61, 0x00]); // PUBLISH QoS 0 with DUP=1, no properties
        expect(codes(await packetsUntilClosed(raw))).to.deep.equal([['disconnect', 0x81]]);
      } finally {
        raw.destroy();
      }
    });

    it('holds a client that asked Keep Alive 0 to Server Keep Alive (maxKeepAlive 1): DISCONNECT 0x8D after 1.5 × of silence, then the will [MQTT-3.2.2-21, MQTT-3.1.2-22]', async () => {
      await restart({ maxKeepAlive: 1 });
      const watcher = await v5(broker(), { clientId: 'w-watch6' });
      await watcher.c.subscribeAsync('will/#', { qos: 1 });
      const { raw, connack } = await rawV5(broker(), 'silent', { keepalive: 0, will: will('silent') });
      try {
        expect(connack.properties?.serverKeepAlive).to.equal(1);
        const got = publishes(watcher.c, 1);
        const since = Date.now();
        const seen = await packetsUntilClosed(raw);
        expect(Date.now() - since).to.be.at.least(1000);
        expect(codes(seen)).to.deep.equal([['disconnect', 0x8d]]);
        expect(reasonString(seen[0]!)).to.be.a('string');
        expect((await got).map((p) => p.topic)).to.deep.equal(['will/silent']);
      } finally {
        raw.destroy();
        await forceClose(watcher.c);
      }
    });

    it('DISCONNECT 0x8B to every MQTT 5 client when the broker closes', async () => {
      const own = await restart({});
      const { c } = await v5(own, { clientId: 'w-shutdown' });
      const kicked = serverDisconnect(c);
      await own.close();
      expect((await kicked).reasonCode).to.equal(0x8b);
      await forceClose(c);
    });

    it('a DISCONNECT from the client raising Session Expiry from 0 is a protocol error: the session still ends (5.0 section 3.14.2.2.2)', async () => {
      const { raw } = await rawV5(broker(), 'raise-expiry');
      try {
        raw.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
        const seen = await packetsUntilClosed(raw);
        // The server may answer with DISCONNECT 0x82 before closing; the session must not persist.
        expect(seen.every((p) => p.cmd === 'disconnect' && (p as IDisconnectPacket).reasonCode === 0x82)).to.equal(true);
        await until(() => !hasSession(broker(), 'raise-expiry'), 'the session to end');
      } finally {
        raw.destroy();
      }
    });
  });
}
