/**
 * SessionBacklog under real threads: three publisher workers and one subscriber worker race on
 * the same two words. If the flag handshake could leave CONGESTED set on a drained queue, a
 * publisher would wait out the (here one-minute) stall bound and the test would time out.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { SessionBacklog, backlogLimits } from '../../src/broker/session-backlog.js';

const SESSION = (1 << 20) | 1;

function start(role: 'publisher' | 'subscriber', backlog: SessionBacklog, count: number): Promise<number> {
  const worker = new Worker(new URL('./backlog-stress-worker.js', import.meta.url), {
    workerData: { role, buffer: backlog.buffer, limits: backlog.limits, session: SESSION, count },
  });
  return once(worker, 'message').then(([result]) => result as number);
}

describe('SessionBacklog across threads', function () {
  this.timeout(30_000);

  it('publishers held back by a congested subscriber always resume, and the count ends at zero', async () => {
    // High 2, low 1: congested nearly all the time, so every interleaving of the handshake is hit.
    const backlog = SessionBacklog.create(4, backlogLimits(4, 60_000));
    const perPublisher = 20_000;
    const [waits1, waits2, waits3, drained] = await Promise.all([
      start('publisher', backlog, perPublisher),
      start('publisher', backlog, perPublisher),
      start('publisher', backlog, perPublisher),
      start('subscriber', backlog, 3 * perPublisher),
    ]);
    expect(drained).to.equal(3 * perPublisher);
    expect(backlog.depth(SESSION)).to.equal(0);
    expect(waits1! + waits2! + waits3!, 'the congested path was exercised').to.be.greaterThan(0);
    expect(backlog.added(SESSION, Date.now()), 'no flag left behind').to.equal(0);
  });
});
