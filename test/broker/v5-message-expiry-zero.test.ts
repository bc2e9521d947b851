/**
 * Message Expiry Interval 0 end to end: "the lifetime of the Application Message in seconds"
 * (MQTT 5.0 section 3.3.2.3.3) is zero, so the message goes to the subscribers whose delivery
 * starts as it is routed, with a Message Expiry Interval of 0 [MQTT-3.3.2-6], and is kept for no
 * one [MQTT-3.3.2-5]: not queued for an offline session, not stored as retained; retained, it
 * replaces the topic's retained message [MQTT-3.3.1-5], leaving none. MQTT.js at level 5.
 */
import { expect } from 'chai';
import { forceClose, PLACEMENTS } from './helpers.js';
import { brokerPerTest, publishes, v5, v5Collecting } from './v5-helpers.js';

for (const placement of PLACEMENTS) {
  describe(`v5 Message Expiry Interval 0: ${placement.name}`, function () {
    this.timeout(10000);
    const { broker } = brokerPerTest(placement.options);

    it('reaches a connected subscriber with Message Expiry Interval 0, is not queued for an offline one, and retained leaves no retained message [MQTT-3.3.2-5,6, MQTT-3.3.1-5]', async () => {
      const resume = { clientId: 'z0-offline', clean: false, properties: { sessionExpiryInterval: 30 } };
      const offline = await v5(broker(), resume);
      await offline.c.subscribeAsync('z0/#', { qos: 1 });
      await offline.c.endAsync();
      const online = await v5(broker(), { clientId: 'z0-online' });
      const pub = await v5(broker(), { clientId: 'z0-pub' });
      let back: Awaited<ReturnType<typeof v5Collecting>> | undefined;
      let late: Awaited<ReturnType<typeof v5>> | undefined;
      try {
        await online.c.subscribeAsync('z0/#', { qos: 1 });
        const got = publishes(online.c, 3);
        await pub.c.publishAsync('z0/r', 'old', { qos: 1, retain: true });
        await pub.c.publishAsync('z0/r', 'zero', { qos: 1, retain: true, properties: { messageExpiryInterval: 0 } });
        await pub.c.publishAsync('z0/live', 'live', { qos: 1, retain: true });
        expect((await got).map((p) => [String(p.payload), p.properties?.messageExpiryInterval])).to.deep.equal([
          ['old', undefined],
          ['zero', 0],
          ['live', undefined],
        ]);

        // Queued in order for the offline session, 'zero' would come second.
        back = await v5Collecting(broker(), resume, 2);
        expect((await back.got).map((p) => String(p.payload))).to.deep.equal(['old', 'live']);

        // One SUBSCRIBE, 'z0/r' first: a retained message there ('old', or 'zero') would come before 'live'.
        late = await v5(broker(), { clientId: 'z0-late' });
        const lateGot = publishes(late.c, 1);
        await late.c.subscribeAsync(['z0/r', 'z0/live'], { qos: 1 });
        expect((await lateGot).map((p) => [p.topic, String(p.payload), p.retain])).to.deep.equal([['z0/live', 'live', true]]);
      } finally {
        await forceClose(online.c, pub.c, back?.c, late?.c);
      }
    });
  });
}
