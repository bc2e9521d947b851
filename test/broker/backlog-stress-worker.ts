/**
 * One thread of the backlog stress test: a publisher that adds deliveries and waits whenever it
 * is told the subscriber is congested, or the subscriber that drains them in random bites.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SessionBacklog, type BacklogLimits } from '../../src/broker/session-backlog.js';

interface StressSetup {
  role: 'publisher' | 'subscriber';
  buffer: SharedArrayBuffer;
  limits: BacklogLimits;
  session: number;
  /** Publisher: messages to add. Subscriber: messages to drain in all. */
  count: number;
}

const setup = workerData as StressSetup;
const backlog = new SessionBacklog(setup.buffer, setup.limits);

async function publish(): Promise<number> {
  let waits = 0;
  for (let i = 0; i < setup.count; i++) {
    const since = backlog.added(setup.session, Date.now());
    if (since !== 0) {
      waits++;
      await backlog.waitUntilClear(setup.session, since);
    }
  }
  return waits;
}

async function drain(): Promise<number> {
  let drained = 0;
  let seed = 7;
  while (drained < setup.count) {
    const depth = backlog.depth(setup.session);
    if (depth > 0) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const bite = 1 + (seed % depth);
      backlog.consumed(setup.session, bite);
      drained += bite;
    }
    // Yield like a host between turns (never a busy loop that starves the event loop).
    await new Promise((resolve) => setImmediate(resolve));
  }
  return drained;
}

const result = setup.role === 'publisher' ? await publish() : await drain();
parentPort!.postMessage(result);
