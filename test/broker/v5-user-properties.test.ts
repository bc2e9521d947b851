/**
 * MQTT 5 User Properties end to end: a name given more than once whose first value is '' reaches
 * subscribers with every value, in order [MQTT-3.3.2-17,18]. mqtt-packet, which decodes packets
 * with properties, lets the second value of such a name replace the first; Weft's decoder reads
 * them again from the bytes (`scanFrame` in protocol/frame-walk.ts), on the broker and in
 * Weft's client. The publisher is raw bytes (no encoder in between); one subscriber reads the
 * forwarded bytes themselves, the other is Weft's client.
 */
import { expect } from 'chai';
import type { IPublishPacket } from 'mqtt-packet';
import { connect, type MqttClient } from '../../src/client/index.js';
import { PacketFramer } from '../../src/protocol/framer.js';
import { PLACEMENTS } from './helpers.js';
import { brokerPerTest, expectNext, rawSubscribe, rawV5 } from './v5-helpers.js';
import { str, userPropertyPairs } from './wire-bytes.js';

for (const placement of PLACEMENTS) {
  describe(`v5 user properties: ${placement.name}`, function () {
    this.timeout(10000);
    const { broker } = brokerPerTest(placement.options);

    it("forwards a name given '' and then 'x' with both values, in order, to a raw subscriber and to Weft's client [MQTT-3.3.2-17,18]", async () => {
      const topic = 'up/empty-first';
      const { raw: sub } = await rawV5(broker(), 'up-raw-sub');
      const { raw: pub } = await rawV5(broker(), 'up-raw-pub');
      let client: MqttClient | undefined;
      try {
        // The forwarded bytes, cut into packets as they come.
        const framer = new PacketFramer(1 << 16);
        const frames: Buffer[] = [];
        sub.socket.on('data', (chunk: Buffer) => frames.push(...framer.push(chunk)));
        expect(await rawSubscribe(sub, 1, [{ topic, qos: 1 }])).to.deep.equal([1]);
        client = await connect(broker().url, { protocolVersion: 5, clientId: 'up-weft-sub', logger: false });
        const subscription = await client.subscribe(topic, { qos: 1 });
        const received = subscription[Symbol.asyncIterator]().next();

        const properties = [0x26, ...str('k'), ...str(''), 0x26, ...str('k'), ...str('x'), 0x26, ...str('m'), ...str('1')];
        const body = [...str(topic), 0, 7, properties.length, ...properties, ...Buffer.from('payload')];
        pub.sendBytes([0x32, body.length, ...body]);
        expect(await expectNext(pub, 'puback')).to.include({ messageId: 7 });

        const decoded = await expectNext<IPublishPacket>(sub, 'publish');
        expect({ ...decoded.properties?.userProperties }).to.deep.equal({ k: ['', 'x'], m: '1' });
        const forwarded = frames.find((frame) => frame[0]! >> 4 === 3)!;
        expect(userPropertyPairs(forwarded)).to.deep.equal([
          ['k', ''],
          ['k', 'x'],
          ['m', '1'],
        ]);

        const { value: message } = await received;
        expect({ ...message!.properties?.userProperties }).to.deep.equal({ k: ['', 'x'], m: '1' });
      } finally {
        sub.destroy();
        pub.destroy();
        await client?.end({ force: true });
      }
    });
  });
}
