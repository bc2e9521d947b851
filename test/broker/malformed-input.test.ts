/**
 * Bad bytes from one client close that connection only; another client keeps working.
 * Raw sockets, so the bytes are exactly what a broken or hostile peer would send.
 */
import { expect } from 'chai';
import type { IConnackPacket, IDisconnectPacket } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import type { Broker } from '../../src/broker/index.js';
import { client, forceClose, nextMessages, packetsUntilClosed, RawClient, testBroker, until } from './helpers.js';

// Both accept paths read and answer a first packet: the session threads (the default where the
// hand-off addon is built) and main (`acceptOnSessionThreads: false`, or no addon).
for (const path of [
  { name: 'the session threads accept', options: {} },
  { name: 'main accepts', options: { acceptOnSessionThreads: false } },
]) describe(`broker: malformed input closes only the connection that sent it (${path.name})`, function () {
  this.timeout(15000);
  let broker: Broker;
  let bystander: MqttClient;
  let peer: MqttClient;

  before(async () => {
    broker = await testBroker({ threads: 2, maxPacketSize: 1024, ...path.options });
    bystander = await client(broker, { clientId: 'bystander' });
    await bystander.subscribeAsync('still/works', { qos: 1 });
    peer = await client(broker, { clientId: 'peer' });
  });
  after(async () => {
    await forceClose(bystander, peer);
    await broker.close();
  });

  /** After each bad connection, the good clients still exchange a message. */
  afterEach(async () => {
    const got = nextMessages(bystander, 1);
    await peer.publishAsync('still/works', 'yes', { qos: 1 });
    expect((await got)[0]!.payload).to.equal('yes');
    // The bad connection's session (if one was started) is gone: nothing leaks.
    await until(() => broker.stats().sessions === 2, 'only the two good sessions to remain');
  });

  async function connected(version: 4 | 5 = 4): Promise<RawClient> {
    const raw = await RawClient.open(broker, version);
    const connack = (await raw.connect(`raw-${Math.random().toString(16).slice(2)}`)) as IConnackPacket;
    expect(version === 5 ? connack.reasonCode : connack.returnCode).to.equal(0);
    return raw;
  }

  it('a remaining length longer than four bytes (MQTT 5.0 §1.5.5, 3.1.1 §2.2.3)', async () => {
    const raw = await connected();
    raw.sendBytes([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
    await raw.waitClosed();
  });

  it('reserved fixed-header flags on SUBSCRIBE [MQTT-3.8.1-1]', async () => {
    const raw = await connected();
    // SUBSCRIBE with flags 0000 instead of 0010.
    raw.sendBytes([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]);
    await raw.waitClosed();
  });

  it('a PUBLISH with QoS 3 [MQTT-3.3.1-4]', async () => {
    const raw = await connected();
    raw.sendBytes([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]);
    await raw.waitClosed();
  });

  it('a QoS 1 PUBLISH with packet id 0 [MQTT-2.3.1-1]', async () => {
    const raw = await connected();
    raw.sendBytes([0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00]);
    await raw.waitClosed();
  });

  it('a wildcard in a PUBLISH topic name [MQTT-3.3.2-2]', async () => {
    const raw = await connected(5);
    raw.send({ cmd: 'publish', topic: 'a/+', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    const sent = await packetsUntilClosed(raw);
    // MQTT 5: DISCONNECT 0x90 Topic Name invalid before the close.
    expect(sent.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode])).to.deep.equal([['disconnect', 0x90]]);
  });

  it('a packet over maxPacketSize gets DISCONNECT 0x95 in MQTT 5 (5.0 section 3.2.2.3.6)', async () => {
    const raw = await connected(5);
    raw.send({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(4096), qos: 0, retain: false, dup: false });
    const sent = await packetsUntilClosed(raw);
    expect(sent.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode])).to.deep.equal([['disconnect', 0x95]]);
    expect(broker.stats().counters.packetTooLarge).to.equal(1);
  });

  it('a first packet that is not CONNECT [MQTT-3.1.0-1]', async () => {
    const raw = await RawClient.open(broker);
    raw.send({ cmd: 'pingreq' });
    await raw.waitClosed();
    expect(broker.stats().counters.notConnectFirst).to.be.at.least(1);
  });

  /** A CONNECT's bytes: protocol `name`, `level`, connect `flags`, client id "id" (v5: no properties). */
  function connectBytes(name: string, level: number, flags = 0x02): number[] {
    const body = [0x00, name.length, ...Buffer.from(name), level, flags, 0x00, 0x00, ...(level === 5 ? [0x00] : []), 0x00, 0x02, 0x69, 0x64];
    return [0x10, body.length, ...body];
  }

  /** What the broker answers to `bytes` as a first packet, read as `version` packets. */
  async function answerTo(bytes: number[], version: 4 | 5): Promise<unknown[]> {
    const raw = await RawClient.open(broker, version);
    raw.sendBytes(bytes);
    const sent = await packetsUntilClosed(raw);
    return sent.map((p) => [p.cmd, version === 5 ? (p as IConnackPacket).reasonCode : (p as IConnackPacket).returnCode]);
  }

  it('an unsupported protocol level gets CONNACK 0x01, then the close [MQTT-3.1.2-2]', async () => {
    // Level 6 cannot be decoded: the listener answers, in the 3.1.1 form every version reads.
    expect(await answerTo(connectBytes('MQTT', 6), 4)).to.deep.equal([['connack', 0x01]]);
  });

  it('MQTT 3.1 (MQIsdp, level 3) gets CONNACK 0x01 [MQTT-3.1.2-2]', async () => {
    // This one decodes: the session core refuses it.
    expect(await answerTo(connectBytes('MQIsdp', 3), 4)).to.deep.equal([['connack', 0x01]]);
  });

  it('a wrong protocol name at level 4 gets CONNACK 0x01 [MQTT-3.1.2-1]', async () => {
    expect(await answerTo(connectBytes('MQTX', 4), 4)).to.deep.equal([['connack', 0x01]]);
  });

  it('a wrong protocol name at level 5 gets CONNACK 0x84 [MQTT-3.1.2-1 (5.0)]', async () => {
    expect(await answerTo(connectBytes('MQTX', 5), 5)).to.deep.equal([['connack', 0x84]]);
  });

  it('a malformed 3.1.1 CONNECT is closed without a CONNACK [MQTT-3.1.4-1]', async () => {
    const before = broker.stats().counters.badPackets;
    // Reserved connect flag set [MQTT-3.1.2-3].
    expect(await answerTo(connectBytes('MQTT', 4, 0x03), 4)).to.deep.equal([]);
    expect(broker.stats().counters.badPackets).to.equal(before + 1);
  });

  it('a malformed MQTT 5 CONNECT gets CONNACK 0x81 before the close [MQTT-3.1.4-1 (5.0)]', async () => {
    expect(await answerTo(connectBytes('MQTT', 5, 0x03), 5)).to.deep.equal([['connack', 0x81]]);
  });

  it('a connection that never sends CONNECT is closed after connectTimeout', async () => {
    const quick = await testBroker({ threads: 1, connectTimeout: 200 });
    try {
      const raw = await RawClient.open(quick);
      await raw.waitClosed();
      expect(quick.stats().counters.connectTimeouts).to.equal(1);
    } finally {
      await quick.close();
    }
  });
});
