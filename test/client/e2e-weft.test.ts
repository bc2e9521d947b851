/**
 * The client API end to end against Weft's own broker.
 */
import { expect } from 'chai';
import { startBroker, type Broker } from '../../src/broker/index.js';
import { connect, type Message, type MqttClient } from '../../src/client/index.js';
import { apiSuite } from './api-suite.js';
import type { TestBroker } from './brokers.js';

async function startWeft(): Promise<TestBroker> {
  const broker = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
  // Weft has no per-client connect hook; the checks that need one run against aedes.
  return {
    url: broker.url,
    close: () => broker.close(),
  };
}

describe('client API against the Weft broker', () => {
  apiSuite(startWeft, { versions: [4, 5] });
});

describe("Weft client and Weft broker: a will's User Properties in order", () => {
  let broker: Broker;
  const clients: MqttClient[] = [];
  beforeEach(async () => {
    broker = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
    await broker.close();
  });

  for (const thread of [true, false]) {
    // [MQTT-3.1.3-10]: the Server MUST maintain the order of User Properties when publishing the Will Message.
    it(`${thread ? 'worker thread' : 'in-thread'} driver: a will's interleaved names a=1, b=2, a=3 from Weft's client arrive at a Weft client subscriber in that order [MQTT-3.1.3-10]`, async () => {
      const list = [
        ['a', '1'],
        ['b', '2'],
        ['a', '3'],
      ] as const;
      const subscriber = await connect(broker.url, { thread, protocolVersion: 5, logger: false });
      clients.push(subscriber);
      const sub = (await subscriber.subscribe('status/#', { qos: 1 }))[Symbol.asyncIterator]();
      const willing = await connect(broker.url, {
        thread,
        protocolVersion: 5,
        clientId: 'willing',
        will: { topic: 'status/willing', payload: 'gone', qos: 1, userPropertyList: list },
        logger: false,
      });
      clients.push(willing);
      // A takeover closes the first connection without its DISCONNECT: its will is published [MQTT-3.1.4-3].
      const ended = new Promise((resolve) => willing.once('end', resolve));
      clients.push(await connect(broker.url, { thread, protocolVersion: 5, clientId: 'willing', logger: false }));
      await ended;
      const will = (await sub.next()).value as Message;
      expect(will.payload.toString()).to.equal('gone');
      expect(will.userPropertyList).to.deep.equal(list);
      expect({ ...will.properties!.userProperties }).to.deep.equal({ a: ['1', '3'], b: '2' });
    });
  }

  it('end() given User Properties both ways rejects naming both and leaves the client connected; given a list, it ends', async () => {
    const c = await connect(broker.url, { protocolVersion: 5, logger: false });
    clients.push(c);
    const both = c.end({ properties: { userProperties: { a: '1' } }, userPropertyList: [['a', '1']] });
    let error: Error | undefined;
    await both.catch((err: Error) => (error = err));
    expect(error?.name).to.equal('InvalidArgumentError');
    expect(error?.message).to.include('end: userPropertyList').and.include('properties.userProperties');
    expect(c.connected).to.equal(true);
    await c.end({ properties: { reasonString: 'done' }, userPropertyList: [['a', '1'], ['b', '2'], ['a', '3']] });
    expect(c.status).to.equal('ended');
  });
});
