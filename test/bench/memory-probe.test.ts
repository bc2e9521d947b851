import { expect } from 'chai';
import { BroadcastChannel } from 'node:worker_threads';
import probe from '../../bench/memory-probe.cjs';
import { startBrokerWith } from '../../src/broker/test-hooks.js';
import type { Broker } from '../../src/broker/index.js';
import { connect } from '../../src/index.js';

const { CHANNEL, isolateFigures } = probe;
type Figures = ReturnType<typeof isolateFigures>;

describe('bench: memory probe (memory-breakdown.ts)', () => {
  it("reads this isolate's V8 spaces: committed at least used, new and old space present", () => {
    const figures = isolateFigures();
    expect(figures.spaces).to.include.keys('new_space', 'old_space', 'code_space');
    for (const [name, space] of Object.entries(figures.spaces)) expect(space.committed, name).to.be.at.least(space.used);
    expect(figures.totalHeapSize).to.be.greaterThan(0);
  });

  it('gets one answer per session thread, each from its own thread, while the threads host sessions', async () => {
    let broker: Broker | undefined;
    const channel = new BroadcastChannel(CHANNEL);
    try {
      broker = await startBrokerWith(
        { port: 0, host: '127.0.0.1', threads: 2, logLevel: 'silent' },
        { threadEntry: { filename: new URL('../../bench/memory-probe.cjs', import.meta.url).href, name: 'hostWithProbe' } },
      );
      // A session on one of the threads: the probe entry still runs the real host.
      const client = await connect(broker.url, { logger: false });
      const answers = await new Promise<Figures[]>((resolve) => {
        const got: Figures[] = [];
        channel.onmessage = (event) => {
          const data = (event as MessageEvent).data as { reply?: number; figures: Figures };
          if (data.reply !== 1) return;
          got.push(data.figures);
          if (got.length === 2) resolve(got);
        };
        channel.postMessage({ ask: 1 });
      });
      const ids = answers.map((a) => a.threadId);
      expect(new Set(ids).size).to.equal(2);
      for (const id of ids) expect(id).to.be.greaterThan(0);
      const hosting = broker.sessions().map((s) => s.threadId);
      expect(hosting).to.have.lengthOf(1);
      expect(ids).to.include(hosting[0]);
      await client.end();
    } finally {
      channel.close();
      await broker?.close();
    }
  });
});
