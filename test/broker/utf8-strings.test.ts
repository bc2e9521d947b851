/**
 * A received string that is ill-formed UTF-8 or holds U+0000 closes the connection that sent it
 * [MQTT-1.5.3-1, MQTT-1.5.3-2 in 3.1.1]; in 5.0 it is a Malformed Packet [MQTT-1.5.4-1,
 * MQTT-1.5.4-2, MQTT-1.5.7-1]: DISCONNECT 0x81, or CONNACK 0x81 for a CONNECT. Nothing of it is
 * forwarded, and other sessions carry on. Raw sockets over TCP: no client library sends these.
 */
import { expect } from 'chai';
import type { IConnackPacket, IDisconnectPacket, Packet } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import type { Broker } from '../../src/broker/index.js';
import { client, forceClose, packetsUntilClosed, RawClient, testBroker, until } from './helpers.js';

/** An MQTT string field from its raw bytes. */
const raw = (bytes: number[]): number[] => [bytes.length >> 8, bytes.length & 0xff, ...bytes];
const str = (text: string): number[] => raw([...Buffer.from(text, 'utf8')]);
const frame = (first: number, body: number[]): number[] => [first, body.length, ...body];
const props = (...bytes: number[]): number[] => [bytes.length, ...bytes];
const SURROGATE = [0x61, 0xed, 0xa0, 0x80]; // 'a' then U+D800 encoded
const OVERLONG_SLASH = [0x61, 0xc0, 0xaf];

/** Each packet as [cmd, reason or return code]. */
const codes = (packets: Packet[]): unknown[] =>
  packets.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode ?? (p as IConnackPacket).returnCode]);

describe('broker: ill-formed UTF-8 or U+0000 in a received string closes that connection only [MQTT-1.5.3-1, MQTT-1.5.4-1]', function () {
  this.timeout(15000);
  let broker: Broker;
  let watcher: MqttClient;
  let peer: MqttClient;
  /** Topics the watcher (subscribed to '#') received since the last check. */
  let seen: string[] = [];

  before(async () => {
    broker = await testBroker({ threads: 2 });
    watcher = await client(broker, { clientId: 'watcher', protocolVersion: 5 });
    watcher.on('message', (topic) => seen.push(topic));
    await watcher.subscribeAsync('#', { qos: 1 });
    peer = await client(broker, { clientId: 'peer' });
  });
  after(async () => {
    await forceClose(watcher, peer);
    await broker.close();
  });

  /** After each bad connection: nothing of it was forwarded, and the good clients still exchange a message. */
  afterEach(async () => {
    await peer.publishAsync('still/works', 'yes', { qos: 1 });
    await until(() => seen.includes('still/works'), 'the good message');
    expect(seen).to.deep.equal(['still/works']);
    seen = [];
    await until(() => broker.stats().sessions === 2, 'only the two good sessions to remain');
  });

  async function connected(version: 4 | 5): Promise<RawClient> {
    const raw = await RawClient.open(broker, version);
    const connack = (await raw.connect(`raw-${Math.random().toString(16).slice(2)}`)) as IConnackPacket;
    expect(version === 5 ? connack.reasonCode : connack.returnCode).to.equal(0);
    return raw;
  }

  /** What the broker sends a connected client of `version` after `bytes`, until it closes the connection. */
  async function answerTo(version: 4 | 5, bytes: number[]): Promise<Packet[]> {
    const raw = await connected(version);
    raw.sendBytes(bytes);
    return packetsUntilClosed(raw);
  }

  it('MQTT 3.1.1: a PUBLISH Topic Name with an encoded surrogate closes the connection [MQTT-1.5.3-1]', async () => {
    expect(await answerTo(4, frame(0x30, [...raw(SURROGATE), 0x78]))).to.deep.equal([]);
  });

  it('MQTT 3.1.1: a PUBLISH Topic Name with U+0000 closes the connection [MQTT-1.5.3-2]', async () => {
    expect(await answerTo(4, frame(0x32, [...raw([0x61, 0x00]), 0, 1, 0x78]))).to.deep.equal([]);
  });

  it('MQTT 3.1.1: an UNSUBSCRIBE Topic Filter with an overlong "/" closes the connection [MQTT-1.5.3-1]', async () => {
    expect(await answerTo(4, frame(0xa2, [0, 1, ...raw(OVERLONG_SLASH)]))).to.deep.equal([]);
  });

  it('MQTT 5.0: a PUBLISH Topic Name with an encoded surrogate gets DISCONNECT 0x81, with the rule as reason string [MQTT-1.5.4-1]', async () => {
    const sent = await answerTo(5, frame(0x30, [...raw(SURROGATE), 0, 0x78]));
    expect(codes(sent)).to.deep.equal([['disconnect', 0x81]]);
    expect((sent[0] as IDisconnectPacket).properties?.reasonString).to.include('MQTT-1.5.4-1');
  });

  it('MQTT 5.0: a PUBLISH Topic Name with U+0000 gets DISCONNECT 0x81 [MQTT-1.5.4-2]', async () => {
    expect(codes(await answerTo(5, frame(0x30, [...raw([0x61, 0x00, 0x62]), 0, 0x78])))).to.deep.equal([['disconnect', 0x81]]);
  });

  it('MQTT 5.0: a PUBLISH User Property value that is not UTF-8 gets DISCONNECT 0x81 [MQTT-1.5.7-1]', async () => {
    const bytes = frame(0x30, [...str('t/u'), ...props(0x26, ...str('k'), ...raw([0xff])), 0x78]);
    expect(codes(await answerTo(5, bytes))).to.deep.equal([['disconnect', 0x81]]);
  });

  it('MQTT 5.0: a PUBLISH Content Type with a truncated sequence gets DISCONNECT 0x81 [MQTT-1.5.4-1]', async () => {
    const bytes = frame(0x30, [...str('t/c'), ...props(0x03, ...raw([0x61, 0xe2, 0x82])), 0x78]);
    expect(codes(await answerTo(5, bytes))).to.deep.equal([['disconnect', 0x81]]);
  });

  it('MQTT 5.0: a SUBSCRIBE Topic Filter with an overlong "/" gets DISCONNECT 0x81, not a SUBACK [MQTT-1.5.4-1]', async () => {
    expect(codes(await answerTo(5, frame(0x82, [0, 1, 0, ...raw(OVERLONG_SLASH), 0])))).to.deep.equal([['disconnect', 0x81]]);
  });

  /** What the broker answers a first packet `bytes`, read as `version` packets. */
  async function connectAnswer(version: 4 | 5, bytes: number[]): Promise<Packet[]> {
    const raw = await RawClient.open(broker, version);
    raw.sendBytes(bytes);
    return packetsUntilClosed(raw);
  }

  it('MQTT 3.1.1: a CONNECT Client Identifier that is not UTF-8 closes the connection without a CONNACK [MQTT-1.5.3-1]', async () => {
    expect(await connectAnswer(4, frame(0x10, [...str('MQTT'), 4, 0x02, 0, 0, ...raw([0x69, 0xff])]))).to.deep.equal([]);
  });

  it('MQTT 5.0: a CONNECT Client Identifier with an encoded surrogate gets CONNACK 0x81 [MQTT-1.5.4-1]', async () => {
    const sent = await connectAnswer(5, frame(0x10, [...str('MQTT'), 5, 0x02, 0, 0, 0, ...raw(SURROGATE)]));
    expect(codes(sent)).to.deep.equal([['connack', 0x81]]);
  });

  it('MQTT 5.0: a CONNECT User Name with U+0000 gets CONNACK 0x81 [MQTT-1.5.4-2]', async () => {
    const sent = await connectAnswer(5, frame(0x10, [...str('MQTT'), 5, 0x82, 0, 0, 0, ...str('u8-user'), ...raw([0x75, 0x00])]));
    expect(codes(sent)).to.deep.equal([['connack', 0x81]]);
  });

  it('MQTT 5.0: a CONNECT Will Topic with a 0xFF byte gets CONNACK 0x81, and no will is published [MQTT-1.5.4-1]', async () => {
    const sent = await connectAnswer(5, frame(0x10, [...str('MQTT'), 5, 0x06, 0, 0, 0, ...str('u8-will'), 0, ...raw([0x77, 0xff]), ...str('x')]));
    expect(codes(sent)).to.deep.equal([['connack', 0x81]]);
  });

  it('well-formed multi-byte strings and a real U+FFFD are forwarded unaltered (é, €, 𝄞, U+FFFD, U+FEFF)', async () => {
    const raw = await connected(5);
    const topic = 'u8/é€𝄞\uFFFD\uFEFF';
    raw.sendBytes(frame(0x30, [...str(topic), ...props(0x26, ...str('ключ'), ...str('\uFFFD𝄞')), 0x78]));
    const message = new Promise<[string, Record<string, unknown> | undefined]>((resolve) =>
      watcher.once('message', (t, _payload, packet) => resolve([t, packet.properties?.userProperties])),
    );
    expect(await message).to.deep.equal([topic, { ключ: '\uFFFD𝄞' }]);
    expect(seen).to.deep.equal([topic]);
    seen = [];
    raw.destroy();
    await raw.waitClosed();
  });
});
