/**
 * MQTT 5 User Properties forwarded in the order received, end to end over TCP: "The Server MUST
 * maintain the order of User Properties when forwarding the Application Message"
 * [MQTT-3.3.2-18], and "when publishing the Will Message" [MQTT-3.1.3-10]. mqtt-packet decodes
 * them into an object, which groups a name's values and puts names that are array indices
 * first; the broker's decoder keeps the received order beside it (`user-property-order.ts`).
 * Publishers are raw bytes (an encoder would write the object's order), subscribers read the
 * forwarded bytes, and publisher and subscriber live on different session threads, so the
 * message crosses threads (and, retained, the main thread's store) on its way.
 */
import { expect } from 'chai';
import type { Broker } from '../../src/broker/index.js';
import { crashSessionThread, sessionThreadOf } from '../../src/broker/test-hooks.js';
import { PacketFramer } from '../../src/protocol/framer.js';
import { PLACEMENTS, RawClient, testBroker } from './helpers.js';
import { expectNext, rawSubscribe, rawV5 } from './v5-helpers.js';
import { str, userPropertyPairs } from './wire-bytes.js';
import { varint } from '../varint.js';

type Pairs = [string, string][];

/** Interleaved names and names that are array indices: the object form would give 0, 1, b, b, a. */
const REORDERED: Pairs = [
  ['b', '1'],
  ['a', '2'],
  ['b', '3'],
  ['1', '4'],
  ['0', '5'],
];

/** A property list (length first) of `pairs` as User Properties, after `before` (other properties). */
function userPropertyList(pairs: Pairs, before: number[] = []): number[] {
  const list = [...before, ...pairs.flatMap(([name, value]) => [0x26, ...str(name), ...str(value)])];
  return [...varint(list.length), ...list];
}

/** A whole packet: first byte, Remaining Length, body. */
function packet(first: number, body: number[]): Buffer {
  return Buffer.from([first, ...varint(body.length), ...body]);
}

/** A raw v5 subscriber to `topic` at QoS 1, and the PUBLISH frames it receives, as bytes. */
async function rawSubscriber(broker: Broker, clientId: string, topic: string): Promise<{ raw: RawClient; publishes: Buffer[] }> {
  const { raw } = await rawV5(broker, clientId);
  const framer = new PacketFramer(1 << 16);
  const publishes: Buffer[] = [];
  // Listens after the RawClient's own decoder: a frame is here once `expectNext` returns it.
  raw.socket.on('data', (chunk: Buffer) => publishes.push(...framer.push(chunk).filter((frame) => frame[0]! >> 4 === 3)));
  expect(await rawSubscribe(raw, 1, [{ topic, qos: 1 }])).to.deep.equal([1]);
  return { raw, publishes };
}

/** The next PUBLISH `sub` receives, as the pairs on the wire. */
async function nextPairs(sub: { raw: RawClient; publishes: Buffer[] }): Promise<Pairs> {
  const decoded = await expectNext(sub.raw, 'publish');
  const frame = sub.publishes.shift()!;
  expect(frame, 'the frame of the PUBLISH decoded').to.not.equal(undefined);
  if ((decoded as { messageId?: number }).messageId !== undefined) sub.raw.send({ cmd: 'puback', messageId: (decoded as { messageId: number }).messageId });
  return userPropertyPairs(frame);
}

/** A raw v5 client whose CONNECT (written byte by byte) has a QoS 1 will on `topic` with these User Properties. */
async function rawWithWill(broker: Broker, clientId: string, topic: string, pairs: Pairs, before: number[] = []): Promise<RawClient> {
  const raw = await RawClient.open(broker, 5);
  // Clean Start, Will Flag, Will QoS 1; Keep Alive 0; no CONNECT properties.
  const body = [...str('MQTT'), 5, 0x02 | 0x04 | 0x08, 0, 0, 0, ...str(clientId), ...userPropertyList(pairs, before), ...str(topic), ...str('gone')];
  raw.sendBytes(packet(0x10, body));
  expect(await expectNext(raw, 'connack')).to.include({ reasonCode: 0 });
  return raw;
}

for (const placement of PLACEMENTS) {
  describe(`v5 User Properties in the order received: ${placement.name}`, function () {
    this.timeout(15000);
    let broker: Broker;
    const open: RawClient[] = [];

    beforeEach(async () => {
      broker = await testBroker(placement.options);
    });
    afterEach(async () => {
      for (const raw of open.splice(0)) raw.destroy();
      await broker.close();
    });

    /** Precondition of every test here: the two sessions live on different threads. */
    const onOtherThreads = (a: string, b: string): void => {
      expect(sessionThreadOf(broker, a), `${a} and ${b} on different session threads`).to.not.equal(sessionThreadOf(broker, b));
    };

    it('forwards interleaved names and array-index names in the order received, to a subscriber on another thread [MQTT-3.3.2-18]', async () => {
      const sub = await rawSubscriber(broker, 'order-sub', 'order/live');
      open.push(sub.raw);
      const { raw: pub } = await rawV5(broker, 'order-pub');
      open.push(pub);
      onOtherThreads('order-sub', 'order-pub');

      // QoS 1, packet id 7, a Content Type before the User Properties.
      const properties = userPropertyList(REORDERED, [0x03, ...str('text/plain')]);
      pub.sendBytes(packet(0x32, [...str('order/live'), 0, 7, ...properties, ...Buffer.from('m')]));
      expect(await expectNext(pub, 'puback')).to.include({ messageId: 7 });
      expect(await nextPairs(sub)).to.deep.equal(REORDERED);

      // A list whose order the object keeps goes out in that order too (the object's).
      const kept: Pairs = [
        ['0', 'x'],
        ['k', '1'],
        ['k', '2'],
        ['m', '3'],
      ];
      pub.sendBytes(packet(0x30, [...str('order/live'), ...userPropertyList(kept), ...Buffer.from('m')]));
      expect(await nextPairs(sub)).to.deep.equal(kept);
    });

    it('sends a retained message to a later subscriber with its User Properties in the order received [MQTT-3.3.2-18]', async () => {
      const { raw: pub } = await rawV5(broker, 'order-retain-pub');
      open.push(pub);
      // QoS 1 with RETAIN: stored on the main thread, sent from there to the subscriber's thread.
      pub.sendBytes(packet(0x33, [...str('order/retained'), 0, 9, ...userPropertyList(REORDERED), ...Buffer.from('kept')]));
      expect(await expectNext(pub, 'puback')).to.include({ messageId: 9 });

      const sub = await rawSubscriber(broker, 'order-retain-sub', 'order/retained');
      open.push(sub.raw);
      onOtherThreads('order-retain-sub', 'order-retain-pub');
      expect(await nextPairs(sub)).to.deep.equal(REORDERED);
    });

    it('publishes a will with its User Properties in the order received, to a subscriber on another thread [MQTT-3.1.3-10]', async () => {
      const sub = await rawSubscriber(broker, 'order-will-sub', 'order/will');
      open.push(sub.raw);
      const willer = await rawWithWill(broker, 'order-willer', 'order/will', REORDERED);
      onOtherThreads('order-will-sub', 'order-willer');
      // Closed without DISCONNECT: the will goes [MQTT-3.1.2-8].
      willer.destroy();
      expect(await nextPairs(sub)).to.deep.equal(REORDERED);
    });

    it("publishes the will of a connection whose session thread died, from the main thread, with its User Properties in the order received [MQTT-3.1.3-10]", async () => {
      const sub = await rawSubscriber(broker, 'order-crash-sub', 'order/crash');
      open.push(sub.raw);
      // Correlation Data too: main copies the will's properties it keeps, and the order with them.
      const willer = await rawWithWill(broker, 'order-crash-willer', 'order/crash', REORDERED, [0x09, ...str('corr')]);
      open.push(willer);
      onOtherThreads('order-crash-sub', 'order-crash-willer');
      crashSessionThread(broker, 'order-crash-willer', 'exit');
      expect(await nextPairs(sub)).to.deep.equal(REORDERED);
    });
  });
}
