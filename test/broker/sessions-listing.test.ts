/**
 * `broker.sessions()`: the read-only listing of running sessions with the thread hosting each
 * (used by examples/thread-per-session.ts).
 */
import { expect } from 'chai';
import type { Broker } from '../../src/broker/index.js';
import { sessionThreadOf } from '../../src/broker/test-hooks.js';
import { client, forceClose, testBroker, until } from './helpers.js';

describe('broker: sessions() lists sessions with their threads', function () {
  this.timeout(15000);
  let broker: Broker;

  beforeEach(async () => {
    broker = await testBroker({ threadPerSession: true, threads: 2, maxSessions: 8, maxConnections: 8 });
  });
  afterEach(async () => {
    await broker.close();
  });

  it('is empty before anyone connects', () => {
    expect(broker.sessions()).to.deep.equal([]);
  });

  it('names each connected session, its protocol level and its own thread', async () => {
    const v4 = await client(broker, { clientId: 'listed-v4', protocolVersion: 4 });
    const v5 = await client(broker, { clientId: 'listed-v5', protocolVersion: 5 });
    try {
      const listed = [...broker.sessions()].sort((a, b) => a.clientId.localeCompare(b.clientId));
      expect(listed).to.deep.equal([
        { clientId: 'listed-v4', threadId: sessionThreadOf(broker, 'listed-v4'), connected: true, protocolVersion: 4 },
        { clientId: 'listed-v5', threadId: sessionThreadOf(broker, 'listed-v5'), connected: true, protocolVersion: 5 },
      ]);
      // Thread per session: two sessions, two worker threads, neither of them main (0).
      expect(listed[0]!.threadId).to.be.greaterThan(0);
      expect(listed[1]!.threadId).to.be.greaterThan(0);
      expect(listed[0]!.threadId).to.not.equal(listed[1]!.threadId);
    } finally {
      await forceClose(v4, v5);
    }
  });

  it('keeps an offline persistent session (not connected, no protocol level) and drops an ended clean one', async () => {
    const persistent = await client(broker, { clientId: 'keeps', clean: false });
    const transient = await client(broker, { clientId: 'goes', clean: true });
    const thread = sessionThreadOf(broker, 'keeps');
    await persistent.endAsync();
    await transient.endAsync();

    await until(
      () => broker.sessions().length === 1 && broker.sessions()[0]!.connected === false,
      () => `only the offline persistent session, got ${JSON.stringify(broker.sessions())}`,
    );
    expect(broker.sessions()).to.deep.equal([{ clientId: 'keeps', threadId: thread, connected: false }]);
  });
});
