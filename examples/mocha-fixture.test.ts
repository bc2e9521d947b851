/**
 * A real MQTT broker as a mocha fixture: copy this file into your project's tests.
 *
 * `before` starts Weft's broker on a free port (port 0) and `after` closes it; `close()` leaves
 * no thread, socket or timer behind, so mocha exits on its own (no `--exit` needed). The tests
 * talk to it with MQTT.js here, but any MQTT client works: the broker only sees MQTT.
 *
 *   npm run build && npx mocha --no-config dist/examples/mocha-fixture.test.js
 *
 * In your own project import from 'weft' instead of '../src/index.js'.
 */
import { expect } from 'chai';
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker } from '../src/index.js';

type Broker = Awaited<ReturnType<typeof startBroker>>;

/** Resolves with the next message `client` receives. */
function nextMessage(client: MqttClient): Promise<{ topic: string; payload: string; retain: boolean }> {
  return new Promise((resolve) => {
    client.once('message', (topic, payload, packet) => resolve({ topic, payload: payload.toString(), retain: packet.retain }));
  });
}

describe('a service against a real MQTT broker', function () {
  let broker: Broker;
  const clients: MqttClient[] = [];

  /** A connected client, ended after each test. `reconnectPeriod: 0`: a test never retries. */
  async function client(): Promise<MqttClient> {
    const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    clients.push(c);
    return c;
  }

  before(async () => {
    // One session thread is plenty for a test: fewer threads to start and stop.
    broker = await startBroker({ port: 0, threads: 1, logLevel: 'warn' });
  });

  after(async () => {
    await broker.close();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync()));
  });

  it('delivers a published message to a subscriber', async () => {
    const subscriber = await client();
    const publisher = await client();
    await subscriber.subscribeAsync('greetings/#', { qos: 1 });
    const received = nextMessage(subscriber);

    await publisher.publishAsync('greetings/world', 'hello', { qos: 1 });

    expect(await received).to.deep.equal({ topic: 'greetings/world', payload: 'hello', retain: false });
  });

  it('hands a retained message to a client that subscribes later', async () => {
    const publisher = await client();
    await publisher.publishAsync('config/mode', 'eco', { qos: 1, retain: true });

    const late = await client();
    const received = nextMessage(late);
    await late.subscribeAsync('config/+', { qos: 1 });

    expect(await received).to.deep.equal({ topic: 'config/mode', payload: 'eco', retain: true });
  });
});
