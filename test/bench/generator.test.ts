import { expect } from 'chai';
import net from 'node:net';
import { Aedes } from 'aedes';
import { GenClient } from '../../bench/lib/gen-client.js';
import { Publisher, Signal } from '../../bench/lib/publisher.js';
import { SeqTracker } from '../../bench/lib/tracker.js';
import { PublishTemplate } from '../../bench/lib/wire.js';

/**
 * The generator's protocol handling end to end against a real broker (aedes, in process):
 * every flow it starts completes, every message arrives once, and the in-flight window holds.
 * Counts only; nothing here is timed.
 */
describe('bench: generator against a broker', function () {
  let aedes: Aedes;
  let server: net.Server;
  let port: number;
  const clients: GenClient[] = [];

  beforeEach(async () => {
    aedes = await Aedes.createBroker();
    server = net.createServer(aedes.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as net.AddressInfo).port;
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function connect(clientId: string): Promise<GenClient> {
    const client = await GenClient.connect({ host: '127.0.0.1', port, clientId });
    clients.push(client);
    return client;
  }

  for (const qos of [0, 1, 2] as const) {
    it(`completes every QoS ${qos} message exactly once, with at most the window in flight`, async () => {
      const total = 1_000;
      const window = 50;
      const sub = await connect(`sub-${qos}`);
      await sub.subscribe(['gen/test'], qos);
      const pubClient = await connect(`pub-${qos}`);
      const tracker = new SeqTracker(1);
      const signal = new Signal();
      let arrived: () => void = () => {};
      const allArrived = new Promise<void>((resolve) => (arrived = resolve));
      sub.onPublish = (view) => {
        tracker.record(view.publisher, view.seq);
        if (tracker.received === total) arrived();
      };
      sub.onChunk = () => signal.notify();
      let maxInFlight = 0;
      const publisher: Publisher = new Publisher({
        client: pubClient,
        templates: [new PublishTemplate('gen/test', qos, 24)],
        index: 0,
        signal,
        window,
        batch: 20,
        maxMessages: total,
        // QoS 0 has no window of its own: bound it by what the subscriber has seen.
        credit: () => {
          maxInFlight = Math.max(maxInFlight, publisher.inFlight);
          return qos === 0 ? window - (publisher.sent - tracker.reached(0)) : Infinity;
        },
      });
      await publisher.run(process.hrtime.bigint() + 60_000_000_000n);
      await allArrived;
      while (qos > 0 && publisher.completed < total) await signal.wait();

      expect(publisher.sent).to.equal(total);
      expect({ unique: tracker.unique, duplicates: tracker.duplicates, foreign: tracker.foreign }).to.deep.equal({ unique: total, duplicates: 0, foreign: 0 });
      if (qos > 0) {
        expect(publisher.completed).to.equal(total);
        expect(publisher.strayAcks).to.equal(0);
        expect(maxInFlight).to.be.at.most(window);
      }
      expect(sub.error).to.equal(null);
      expect(pubClient.error).to.equal(null);
    });
  }

  it('reports a refused subscription instead of measuring without it', async () => {
    const sub = await connect('sub-bad');
    let error: Error | undefined;
    try {
      // A wildcard not alone in its level is refused (0x80) or the connection is closed.
      await sub.subscribe(['a/b#'], 0);
    } catch (err) {
      error = err as Error;
    }
    expect(error).to.be.instanceOf(Error);
  });
});
