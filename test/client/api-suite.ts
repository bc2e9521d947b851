/**
 * The client API end to end over real TCP, run against any broker and with both drivers.
 */
import { expect } from 'chai';
import mqtt from 'mqtt';
import { connect, type MqttClient, type Message } from '../../src/client/index.js';
import type { TestBroker } from './brokers.js';

/** Interleaved names: mqtt-packet's object form would give a=[1,3], b=2. */
const INTERLEAVED = [
  ['a', '1'],
  ['b', '2'],
  ['a', '3'],
] as const;

async function take(iterable: AsyncIterable<Message>, n: number): Promise<Message[]> {
  const out: Message[] = [];
  if (n === 0) return out;
  for await (const m of iterable) {
    out.push(m);
    if (out.length === n) break;
  }
  return out;
}

/** Runs the API suite against brokers from `start`. */
export function apiSuite(
  start: () => Promise<TestBroker>,
  options: { versions: Array<4 | 5>; /** A broker on another thread that enforces keepalive, for the blocked-caller test. */ startOffThread?: () => Promise<TestBroker> },
): void {
  let broker: TestBroker;
  const clients: MqttClient[] = [];
  beforeEach(async () => {
    broker = await start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
    await broker.close();
  });

  for (const thread of [true, false]) {
    for (const protocolVersion of options.versions) {
      const label = `${thread ? 'worker thread' : 'in-thread'} driver, MQTT ${protocolVersion === 4 ? '3.1.1' : '5.0'}`;

      it(`${label}: publish resolves per QoS and the subscription iterator yields the messages`, async () => {
        const c = await connect(broker.url, { thread, protocolVersion, logger: false });
        clients.push(c);
        const sub = await c.subscribe('e2e/#', { qos: 2 });
        expect(sub.granted).to.deep.equal([2]);
        const events: string[] = [];
        c.on('message', (topic: string, payload: Buffer) => events.push(`${topic}=${payload.toString()}`));
        for (const qos of [0, 1, 2] as const) await c.publish(`e2e/q${qos}`, `m${qos}`, { qos });
        const got = await take(sub, 3);
        expect(got.map((m) => `${m.topic}=${m.payload.toString()}:${m.qos}`).sort()).to.deep.equal(['e2e/q0=m0:0', 'e2e/q1=m1:1', 'e2e/q2=m2:2']);
        expect(events.sort()).to.deep.equal(['e2e/q0=m0', 'e2e/q1=m1', 'e2e/q2=m2']);
        await c.end();
        expect(c.status).to.equal('ended');
      });
    }

    if (options.versions.includes(5)) {
      it(`${thread ? 'worker thread' : 'in-thread'} driver, MQTT 5.0: an empty client id is replaced by the Assigned Client Identifier [MQTT-3.2.2-16]`, async () => {
        const c = await connect(broker.url, { thread, protocolVersion: 5, clientId: '', logger: false });
        clients.push(c);
        expect(c.clientId).to.be.a('string').and.not.equal('');
      });
    }

    if (options.versions.includes(5)) {
      it(`${thread ? 'worker thread' : 'in-thread'} driver, MQTT 5.0: an empty client id with clean: false keeps its session under the Assigned Client Identifier [MQTT-3.1.3-6]`, async () => {
        const first = await connect(broker.url, { thread, protocolVersion: 5, clientId: '', clean: false, properties: { sessionExpiryInterval: 60 }, logger: false });
        clients.push(first);
        const assigned = first.clientId;
        expect(assigned).to.be.a('string').and.not.equal('');
        await first.subscribe(`kept/${assigned}`, { qos: 1 });
        await first.end();
        // A new client object with no subscriptions of its own: a message on the topic arrives
        // only through the subscription its resumed session kept.
        const again = await connect(broker.url, { thread, protocolVersion: 5, clientId: assigned, clean: false, properties: { sessionExpiryInterval: 0 }, logger: false });
        clients.push(again);
        const arrived = new Promise<string>((resolve) => again.on('message', (topic: string) => resolve(topic)));
        await again.publish(`kept/${assigned}`, 'x', { qos: 1 });
        expect(await arrived).to.equal(`kept/${assigned}`);
        await again.end();
      });
    }

    if (options.versions.includes(5)) {
      const driver = thread ? 'worker' : 'inthread';
      // [MQTT-3.3.2-18]: the Server MUST maintain the order of User Properties when forwarding.
      it(`${thread ? 'worker thread' : 'in-thread'} driver, MQTT 5.0: interleaved names a=1, b=2, a=3 published by Weft's client arrive at a Weft client subscriber in that order [MQTT-3.3.2-18]`, async () => {
        const subscriber = await connect(broker.url, { thread, protocolVersion: 5, logger: false });
        clients.push(subscriber);
        const publisher = await connect(broker.url, { thread, protocolVersion: 5, logger: false });
        clients.push(publisher);
        const sub = await subscriber.subscribe(`uprops/${driver}/#`, { qos: 1 });
        // JavaScript orders the index name '0' before 'x' in an object: the other way to lose the order.
        const lists = [INTERLEAVED, [['x', 'first'], ['0', 'second']] as const];
        for (const [i, list] of lists.entries()) await publisher.publish(`uprops/${driver}/${i}`, 'm', { qos: 1, userPropertyList: list });
        const got = (await take(sub, 2)).sort((a, b) => a.topic.localeCompare(b.topic));
        expect(got.map((m) => m.userPropertyList)).to.deep.equal(lists);
        expect({ ...got[0]!.properties!.userProperties }).to.deep.equal({ a: ['1', '3'], b: '2' });
      });
    }

    it(`${thread ? 'worker thread' : 'in-thread'} driver: end() waits for in-flight QoS 1/2 publishes before DISCONNECT`, async () => {
      const c = await connect(broker.url, { thread, logger: false });
      const results = [c.publish('drain/a', '1', { qos: 1 }), c.publish('drain/b', '2', { qos: 2 })];
      await c.end();
      const settled = await Promise.allSettled(results);
      expect(settled.map((s) => s.status)).to.deep.equal(['fulfilled', 'fulfilled']);
    });

    it(`${thread ? 'worker thread' : 'in-thread'} driver: pause() keeps queued publishes and resume() sends them`, async () => {
      const peer = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      try {
        await peer.subscribeAsync('pause/#', { qos: 1 });
        const received = new Promise<string>((resolve) => peer.on('message', (_t, p) => resolve(p.toString())));
        const c = await connect(broker.url, { thread, logger: false });
        clients.push(c);
        const offline = new Promise((resolve) => c.once('offline', resolve));
        c.pause();
        await offline;
        const published = c.publish('pause/x', 'kept', { qos: 1 });
        const reconnected = new Promise((resolve) => c.once('connect', resolve));
        c.resume();
        await reconnected;
        await published;
        expect(await received).to.equal('kept');
      } finally {
        await peer.endAsync();
      }
    });

    it(`${thread ? 'worker thread' : 'in-thread'} driver: reconnect(newOptions) reconnects with the new client id`, async () => {
      const c = await connect(broker.url, { thread, clientId: 'before', logger: false });
      clients.push(c);
      const reconnected = new Promise((resolve) => c.once('connect', resolve));
      c.reconnect({ clientId: 'after' });
      await reconnected;
      expect(c.clientId).to.equal('after');
      if (broker.connected) expect(broker.connected).to.include.members(['before', 'after']);
      await c.publish('x', 'y', { qos: 1 });
    });
  }

  const startOffThread = options.startOffThread;
  if (startOffThread) {
    it('worker thread driver: a caller blocked for 3 × keepalive keeps its connection; queued publishes go out afterwards', async () => {
      // The broker of this test runs on another thread; the one from beforeEach stays unused.
      const offThread = await startOffThread();
      try {
        await blockedCallerKeepsConnection(offThread);
      } finally {
        await offThread.close();
      }
    });
  }

  async function blockedCallerKeepsConnection(broker: TestBroker): Promise<void> {
    const c = await connect(broker.url, { keepalive: 1, logger: false });
    clients.push(c);
    let offline = 0;
    c.on('offline', () => offline++);
    const sub = (await c.subscribe('block/#', { qos: 1 }))[Symbol.asyncIterator]();
    const published = [c.publish('block/1', 'a', { qos: 1 }), c.publish('block/2', 'b', { qos: 0 })];
    // Block this thread (no awaits, no timers) for a little more than 3 keepalive periods.
    const until = Date.now() + 3200;
    while (Date.now() < until) {
      /* busy: the worker alone keeps the connection alive */
    }
    await Promise.all(published);
    const got = [(await sub.next()).value as Message, (await sub.next()).value as Message];
    expect(got.map((m) => m.payload.toString()).sort()).to.deep.equal(['a', 'b']);
    expect(offline).to.equal(0);
    expect(c.connected).to.equal(true);
    if (broker.connected) expect(broker.connected.filter((id) => id === c.clientId)).to.have.length(1);
    // And publishes made after the block go out as usual.
    await c.publish('block/3', 'c', { qos: 1 });
    expect(((await sub.next()).value as Message).payload.toString()).to.equal('c');
    await c.end();
  }
}
