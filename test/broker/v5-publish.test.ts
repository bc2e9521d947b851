/**
 * MQTT 5 PUBLISH end to end: flow control, Maximum Packet Size, topic aliases, message expiry,
 * message properties, reason codes and subscription identifiers; MQTT.js at `protocolVersion: 5`
 * and raw sockets where MQTT.js cannot send the input, for both placements.
 */
import { expect } from 'chai';
import type { IDisconnectPacket, IPubackPacket, IPublishPacket, IPubrecPacket, Packet } from 'mqtt-packet';
import { forceClose, PLACEMENTS, until } from './helpers.js';
import { brokerPerTest, expectNext, packetsUntilClosed, publishes, rawSubscribe, rawV5, reasonString, serverDisconnect, v5, v5Collecting } from './v5-helpers.js';

const codes = (packets: Packet[]): [string, number | undefined][] => packets.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode]);

for (const placement of PLACEMENTS) {
  describe(`v5 publish: ${placement.name}`, function () {
    this.timeout(10000);
    const { broker, restart } = brokerPerTest(placement.options);

    // ---- flow control ----

    it('a client exceeding the broker Receive Maximum gets DISCONNECT 0x93 [MQTT-3.3.4-7] (QoS 2 counts until PUBCOMP)', async () => {
      await restart({ receiveMaximum: 2 });
      const { raw, connack } = await rawV5(broker(), 'greedy');
      try {
        expect(connack.properties?.receiveMaximum).to.equal(2);
        // Three QoS 2 PUBLISHes and no PUBREL: the third is one more than allowed.
        for (const id of [1, 2, 3]) raw.send({ cmd: 'publish', topic: 'fc/in', payload: Buffer.from(`m${id}`), qos: 2, dup: false, retain: false, messageId: id });
        const seen = await packetsUntilClosed(raw);
        expect(codes(seen)).to.deep.equal([
          ['pubrec', 0x10],
          ['pubrec', 0x10],
          ['disconnect', 0x93],
        ]);
        expect(reasonString(seen[2]!)).to.be.a('string');
      } finally {
        raw.destroy();
      }
    });

    it('never has more unacknowledged QoS 1 PUBLISHes towards a client than its Receive Maximum, queueing the rest [MQTT-3.3.4-9]', async () => {
      const { raw } = await rawV5(broker(), 'slow-reader', { properties: { receiveMaximum: 2 } });
      const pub = await v5(broker(), { clientId: 'fc-pub' });
      try {
        expect(await rawSubscribe(raw, 1, [{ topic: 'fc/out', qos: 1 }])).to.deep.equal([1]);
        for (const n of [1, 2, 3, 4, 5]) await pub.c.publishAsync('fc/out', `m${n}`, { qos: 1 });
        // A QoS 0 message from the same publisher is sent at once (only QoS 1/2 wait for the
        // window); it arrives after what was sent before it, so m3..m5 were held back.
        await pub.c.publishAsync('fc/out', 'qos0', { qos: 0 });
        const firstThree = [await raw.next(), await raw.next(), await raw.next()] as IPublishPacket[];
        expect(firstThree.map((p) => String(p.payload))).to.deep.equal(['m1', 'm2', 'qos0']);
        // Each PUBACK frees one slot: exactly one more message each time, in order.
        for (const [i, expected] of [[0, 'm3'], [1, 'm4']] as const) {
          raw.send({ cmd: 'puback', messageId: firstThree[i]!.messageId!, reasonCode: 0 });
          expect(String((await expectNext<IPublishPacket>(raw, 'publish')).payload)).to.equal(expected);
        }
      } finally {
        raw.destroy();
        await forceClose(pub.c);
      }
    });

    // ---- Maximum Packet Size ----

    it('a PUBLISH above the broker Maximum Packet Size gets DISCONNECT 0x95 and is counted', async () => {
      await restart({ maxPacketSize: 256 });
      const { c, connack } = await v5(broker(), { clientId: 'oversize' });
      try {
        expect(connack.properties?.maximumPacketSize).to.equal(256);
        const kicked = serverDisconnect(c);
        c.publish('mps/in', Buffer.alloc(1000, 0x61), { qos: 0 });
        expect((await kicked).reasonCode).to.equal(0x95);
        await until(() => broker().stats().counters.packetTooLarge === 1, 'the packetTooLarge counter');
      } finally {
        await forceClose(c);
      }
    });

    it('does not send a subscriber a PUBLISH above its Maximum Packet Size; counts it and goes on [MQTT-3.1.2-25]', async () => {
      const sub = await v5(broker(), { clientId: 'small-sub', properties: { maximumPacketSize: 128 } });
      const pub = await v5(broker(), { clientId: 'mps-pub' });
      try {
        await sub.c.subscribeAsync('mps/out', { qos: 1 });
        const droppedBefore = broker().stats().counters.sessionDropped;
        const got = publishes(sub.c, 1);
        await pub.c.publishAsync('mps/out', Buffer.alloc(500, 0x62), { qos: 1 });
        await pub.c.publishAsync('mps/out', 'small', { qos: 1 });
        expect((await got).map((p) => String(p.payload))).to.deep.equal(['small']);
        expect(broker().stats().counters.sessionDropped).to.equal(droppedBefore + 1);
      } finally {
        await forceClose(sub.c, pub.c);
      }
    });

    it('a PUBLISH in flight that no longer fits the Maximum Packet Size of the resuming connection is discarded, the rest resent with DUP [MQTT-3.1.2-24,25]', async () => {
      const first = await rawV5(broker(), 'mps-resend', { clean: false, properties: { sessionExpiryInterval: 60 } });
      const pub = await v5(broker(), { clientId: 'mps-resend-pub' });
      let second: Awaited<ReturnType<typeof rawV5>> | undefined;
      try {
        expect(await rawSubscribe(first.raw, 1, [{ topic: 'mps/resend', qos: 1 }])).to.deep.equal([1]);
        await pub.c.publishAsync('mps/resend', Buffer.alloc(300, 0x62), { qos: 1 });
        await pub.c.publishAsync('mps/resend', 'small', { qos: 1 });
        // Both reach the first connection, which acknowledges neither: both stay in flight.
        const sent = [await expectNext<IPublishPacket>(first.raw, 'publish'), await expectNext<IPublishPacket>(first.raw, 'publish')];
        expect(sent.map((p) => p.payload.length)).to.deep.equal([300, 5]);
        const droppedBefore = broker().stats().counters.sessionDropped;
        // The session resumes on a connection that takes at most 100 bytes (a takeover, or a
        // resume once the first is gone: both resend what is in flight).
        second = await rawV5(broker(), 'mps-resend', { clean: false, properties: { sessionExpiryInterval: 60, maximumPacketSize: 100 } });
        expect([second.connack.reasonCode, second.connack.sessionPresent]).to.deep.equal([0, true]);
        const resent = await expectNext<IPublishPacket>(second.raw, 'publish');
        expect([String(resent.payload), resent.dup, resent.messageId]).to.deep.equal(['small', true, sent[1]!.messageId]);
        // The big one was discarded as delivered and counted, not held: the next message follows.
        expect(broker().stats().counters.sessionDropped).to.equal(droppedBefore + 1);
        second.raw.send({ cmd: 'puback', messageId: resent.messageId } as Packet);
        await pub.c.publishAsync('mps/resend', 'next', { qos: 1 });
        const next = await expectNext<IPublishPacket>(second.raw, 'publish');
        expect([String(next.payload), next.dup]).to.deep.equal(['next', false]);
      } finally {
        first.raw.destroy();
        second?.raw.destroy();
        await forceClose(pub.c);
      }
    });

    // ---- topic aliases ----

    it('honours client→server topic aliases (MQTT.js autoAssignTopicAlias) [MQTT-3.3.2-12]', async () => {
      await restart({ topicAliasMaximum: 4 });
      const sub = await v5(broker(), { clientId: 'ta-sub' });
      const pub = await v5(broker(), { clientId: 'ta-pub', autoAssignTopicAlias: true });
      try {
        expect(pub.connack.properties?.topicAliasMaximum).to.equal(4);
        await sub.c.subscribeAsync('ta/#', { qos: 1 });
        const got = publishes(sub.c, 3);
        const sent: IPublishPacket[] = [];
        pub.c.on('packetsend', (p: Packet) => p.cmd === 'publish' && sent.push(p));
        for (const n of [1, 2, 3]) await pub.c.publishAsync('ta/one', `a${n}`, { qos: 1 });
        // The 2nd and 3rd went with an empty topic name and the alias only.
        expect(sent.map((p) => [p.topic, p.properties?.topicAlias])).to.deep.equal([['ta/one', 1], ['', 1], ['', 1]]);
        expect((await got).map((p) => [p.topic, String(p.payload)])).to.deep.equal([['ta/one', 'a1'], ['ta/one', 'a2'], ['ta/one', 'a3']]);
      } finally {
        await forceClose(sub.c, pub.c);
      }
    });

    for (const [what, alias] of [['0', 0], ['above the Topic Alias Maximum', 11]] as const) {
      it(`a topic alias of ${what} gets DISCONNECT 0x94 (5.0 3.3.2.3.4)`, async () => {
        const { raw } = await rawV5(broker(), `bad-alias-${alias}`);
        try {
          raw.send({ cmd: 'publish', topic: 'ta/bad', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { topicAlias: alias } });
          expect(codes(await packetsUntilClosed(raw))).to.deep.equal([['disconnect', 0x94]]);
        } finally {
          raw.destroy();
        }
      });
    }

    it('an empty topic with an alias never set is a protocol error: DISCONNECT 0x82 (5.0 3.3.4)', async () => {
      const { raw } = await rawV5(broker(), 'unset-alias');
      try {
        raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { topicAlias: 3 } });
        expect(codes(await packetsUntilClosed(raw))).to.deep.equal([['disconnect', 0x82]]);
      } finally {
        raw.destroy();
      }
    });

    it('uses server→client topic aliases when the client allows them: a repeated topic costs two bytes', async () => {
      const { raw } = await rawV5(broker(), 'alias-reader', { properties: { topicAliasMaximum: 2 } });
      const pub = await v5(broker(), { clientId: 'alias-writer' });
      try {
        await rawSubscribe(raw, 1, [{ topic: 'sa/#', qos: 0 }]);
        for (const t of ['sa/long/topic/name', 'sa/long/topic/name', 'sa/other', 'sa/third', 'sa/other']) await pub.c.publishAsync(t, 'x', { qos: 1 });
        const seen: IPublishPacket[] = [];
        for (let i = 0; i < 5; i++) seen.push(await expectNext<IPublishPacket>(raw, 'publish'));
        // First use: topic + alias; reuse: empty topic + alias; beyond the client's maximum (2): no alias.
        expect(seen.map((p) => [p.topic, p.properties?.topicAlias])).to.deep.equal([
          ['sa/long/topic/name', 1],
          ['', 1],
          ['sa/other', 2],
          ['sa/third', undefined],
          ['', 2],
        ]);
      } finally {
        raw.destroy();
        await forceClose(pub.c);
      }
    });

    // ---- message expiry ----

    it('never delivers an expired message (queued or retained) and forwards the remaining interval [MQTT-3.3.2-5,6]', async () => {
      const first = await v5(broker(), { clientId: 'exp-sub', clean: false, properties: { sessionExpiryInterval: 30 } });
      await first.c.subscribeAsync('mx/#', { qos: 1 });
      await first.c.endAsync();
      const pub = await v5(broker(), { clientId: 'exp-pub' });
      const droppedBefore = broker().stats().counters.sessionDropped;
      try {
        await pub.c.publishAsync('mx/short', 'short', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
        await pub.c.publishAsync('mx/long', 'long', { qos: 1, properties: { messageExpiryInterval: 60 } });
        // The offline session purges the short-lived message when it expires (counted).
        await until(() => broker().stats().counters.sessionDropped === droppedBefore + 1, 'the queued message to expire', 4000);
        const back = await v5Collecting(broker(), { clientId: 'exp-sub', clean: false, properties: { sessionExpiryInterval: 30 } }, 1);
        const [long] = await back.got;
        expect([long!.topic, String(long!.payload)]).to.deep.equal(['mx/long', 'long']);
        // About a second has passed: what is left, rounded up, but never more than published.
        expect(long!.properties?.messageExpiryInterval).to.be.within(58, 60);
        // The retained copy expired at the same moment: a new subscriber gets only a live one.
        await pub.c.publishAsync('mx/live', 'live', { qos: 1, retain: true });
        const late = await v5(broker(), { clientId: 'exp-late' });
        const lateGot = publishes(late.c, 1);
        await late.c.subscribeAsync('mx/#', { qos: 1 });
        expect((await lateGot).map((p) => p.topic)).to.deep.equal(['mx/live']);
        await forceClose(back.c, late.c);
      } finally {
        await forceClose(pub.c);
      }
    });

    // ---- properties ----

    it('passes payload format indicator, content type, response topic, correlation data and user properties through unchanged, in order [MQTT-3.3.2-4,17,18]', async () => {
      const sub = await v5(broker(), { clientId: 'props-sub' });
      const pub = await v5(broker(), { clientId: 'props-pub' });
      try {
        await sub.c.subscribeAsync('pp/t', { qos: 1 });
        const got = publishes(sub.c, 1);
        const properties = {
          payloadFormatIndicator: true,
          contentType: 'application/json',
          responseTopic: 'pp/reply',
          correlationData: Buffer.from([1, 2, 3, 0xff]),
          userProperties: { z: 'last-key-first', a: ['1', '2', '3'], m: 'middle' },
        };
        await pub.c.publishAsync('pp/t', '{"ok":true}', { qos: 1, properties });
        const [p] = await got;
        expect(String(p!.payload)).to.equal('{"ok":true}');
        expect(p!.properties?.payloadFormatIndicator).to.equal(true);
        expect(p!.properties?.contentType).to.equal('application/json');
        expect(p!.properties?.responseTopic).to.equal('pp/reply');
        expect([...(p!.properties?.correlationData as Buffer)]).to.deep.equal([1, 2, 3, 0xff]);
        // Same keys in the same order, same values per key in the same order.
        expect(Object.entries(p!.properties?.userProperties ?? {})).to.deep.equal(Object.entries(properties.userProperties));
      } finally {
        await forceClose(sub.c, pub.c);
      }
    });

    it('a Payload Format Indicator of 1 with a payload that is not UTF-8 gets DISCONNECT 0x99 (5.0 3.3.2.3.2)', async () => {
      const { c } = await v5(broker(), { clientId: 'not-utf8' });
      try {
        const kicked = serverDisconnect(c);
        c.publish('pf/t', Buffer.from([0xc3, 0x28, 0xff]), { qos: 0, properties: { payloadFormatIndicator: true } });
        expect((await kicked).reasonCode).to.equal(0x99);
      } finally {
        await forceClose(c);
      }
    });

    // ---- reason codes ----

    it('PUBACK / PUBREC carry 0x10 when no subscriber matched, 0x00 when one did (5.0 3.4.2.1, 3.5.2.1)', async () => {
      const { raw } = await rawV5(broker(), 'rc-pub');
      const sub = await v5(broker(), { clientId: 'rc-sub' });
      try {
        raw.send({ cmd: 'publish', topic: 'rc/none', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 1 });
        expect((await expectNext<IPubackPacket>(raw, 'puback')).reasonCode).to.equal(0x10);
        raw.send({ cmd: 'publish', topic: 'rc/none', payload: Buffer.from('x'), qos: 2, dup: false, retain: false, messageId: 2 });
        expect((await expectNext<IPubrecPacket>(raw, 'pubrec')).reasonCode).to.equal(0x10);
        raw.send({ cmd: 'pubrel', messageId: 2, reasonCode: 0 });
        await expectNext(raw, 'pubcomp');
        await sub.c.subscribeAsync('rc/some', { qos: 1 });
        raw.send({ cmd: 'publish', topic: 'rc/some', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 3 });
        expect((await expectNext<IPubackPacket>(raw, 'puback')).reasonCode ?? 0).to.equal(0);
      } finally {
        raw.destroy();
        await forceClose(sub.c);
      }
    });

    // ---- subscription identifiers ----

    it('sends one copy carrying every matching Subscription Identifier for overlapping subscriptions [MQTT-3.3.4-3,4]', async () => {
      const sub = await v5(broker(), { clientId: 'sid-sub' });
      const pub = await v5(broker(), { clientId: 'sid-pub' });
      try {
        await sub.c.subscribeAsync('sid/+', { qos: 1, properties: { subscriptionIdentifier: 7 } });
        await sub.c.subscribeAsync('sid/#', { qos: 1, properties: { subscriptionIdentifier: 300 } });
        await sub.c.subscribeAsync('sid/x', { qos: 1 });
        const got = publishes(sub.c, 2);
        await pub.c.publishAsync('sid/x', 'both', { qos: 1 });
        await pub.c.publishAsync('sid/x/y', 'hash only', { qos: 1 });
        const [both, hashOnly] = await got;
        expect(String(both!.payload)).to.equal('both');
        expect([both!.properties?.subscriptionIdentifier].flat().sort((a, b) => Number(a) - Number(b))).to.deep.equal([7, 300]);
        expect(String(hashOnly!.payload)).to.equal('hash only');
        expect([hashOnly!.properties?.subscriptionIdentifier].flat()).to.deep.equal([300]);
      } finally {
        await forceClose(sub.c, pub.c);
      }
    });

    it('carries an identifier once per matching subscription that has it, none for subscriptions without, the shared copy its own [MQTT-3.3.4-4]', async () => {
      const sub = await v5(broker(), { clientId: 'sid-dup-sub' });
      const bare = await v5(broker(), { clientId: 'sid-bare-sub' });
      const pub = await v5(broker(), { clientId: 'sid-dup-pub' });
      try {
        await sub.c.subscribeAsync('sd/+', { qos: 1, properties: { subscriptionIdentifier: 5 } });
        await sub.c.subscribeAsync('sd/#', { qos: 1, properties: { subscriptionIdentifier: 5 } });
        await sub.c.subscribeAsync('sd/x', { qos: 1 });
        await sub.c.subscribeAsync('$share/g/sd/x', { qos: 1, properties: { subscriptionIdentifier: 9 } });
        await bare.c.subscribeAsync(['sd/+', 'sd/#'], { qos: 1 });
        const got = publishes(sub.c, 3);
        const bareGot = publishes(bare.c, 2);
        await pub.c.publishAsync('sd/x', 'x', { qos: 1 });
        await pub.c.publishAsync('sd/end', 'end', { qos: 1 });
        const seen = (await got).map((p) => `${p.topic} ${JSON.stringify([p.properties?.subscriptionIdentifier].flat())}`).sort();
        // One ordinary copy with 5 twice (sd/+ and sd/#; sd/x has none), one shared copy with 9.
        expect(seen).to.deep.equal(['sd/end [5,5]', 'sd/x [5,5]', 'sd/x [9]']);
        const bareSeen = await bareGot;
        expect(bareSeen.map((p) => p.topic).sort()).to.deep.equal(['sd/end', 'sd/x']);
        for (const p of bareSeen) expect(p.properties?.subscriptionIdentifier).to.equal(undefined);
      } finally {
        await forceClose(sub.c, bare.c, pub.c);
      }
    });

    it('a PUBLISH from a client carrying a Subscription Identifier is a protocol error: DISCONNECT 0x82 [MQTT-3.3.4-6]', async () => {
      const { raw } = await rawV5(broker(), 'sid-in-publish');
      try {
        raw.send({ cmd: 'publish', topic: 'sid/bad', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { subscriptionIdentifier: 5 } });
        expect(codes(await packetsUntilClosed(raw))).to.deep.equal([['disconnect', 0x82]]);
      } finally {
        raw.destroy();
      }
    });

    it('a PUBLISH whose Response Topic has a wildcard gets DISCONNECT 0x82 and is neither acknowledged nor forwarded [MQTT-3.3.2-14]', async () => {
      const { raw } = await rawV5(broker(), 'wild-response-topic');
      try {
        // Subscribed itself: a forwarded copy would reach this very connection.
        expect(await rawSubscribe(raw, 1, [{ topic: 'rt/req', qos: 1 }])).to.deep.equal([1]);
        raw.send({ cmd: 'publish', topic: 'rt/req', payload: Buffer.from('x'), qos: 1, messageId: 2, dup: false, retain: false, properties: { responseTopic: 'rt/reply/+' } });
        const seen = await packetsUntilClosed(raw);
        expect(codes(seen)).to.deep.equal([['disconnect', 0x82]]);
        expect(reasonString(seen[0]!)).to.contain('MQTT-3.3.2-14');
      } finally {
        raw.destroy();
      }
    });

    it('a PUBLISH above maximumQoS gets DISCONNECT 0x9B; a retained one without retainAvailable gets 0x9A [MQTT-3.2.2-11,14]', async () => {
      await restart({ maximumQoS: 1, retainAvailable: false });
      const qos = await v5(broker(), { clientId: 'over-qos' });
      const retain = await v5(broker(), { clientId: 'over-retain' });
      try {
        const kickedQoS = serverDisconnect(qos.c);
        const kickedRetain = serverDisconnect(retain.c);
        qos.c.publish('mq/t', 'x', { qos: 2 });
        retain.c.publish('mq/t', 'x', { qos: 0, retain: true });
        expect([(await kickedQoS).reasonCode, (await kickedRetain).reasonCode]).to.deep.equal([0x9b, 0x9a]);
      } finally {
        await forceClose(qos.c, retain.c);
      }
    });
  });
}
