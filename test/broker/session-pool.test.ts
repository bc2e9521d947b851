/** How the options place sessions on threads, and the per-thread limits that go with it. */
import { expect } from 'chai';
import { resolveBrokerOptions } from '../../src/broker/options.js';
import { placementFor } from '../../src/broker/session-pool.js';

describe('broker: session placement', () => {
  it('M:N: a fixed set of threads sharing maxSessions, each with the young-generation cap', () => {
    const placement = placementFor(resolveBrokerOptions({ threads: 3, maxSessions: 100, maxConnections: 100, threadYoungGenerationMb: 16 }));
    expect(placement).to.deep.equal({ minThreads: 3, maxThreads: 3, sessionsPerThread: 34, youngGenerationMb: 16 });
  });

  it('thread per session: one session a thread, up to maxSessions threads, V8\'s own young generation', () => {
    // The cap made tens of one-session threads on a core far slower (docs/performance.md).
    const placement = placementFor(resolveBrokerOptions({ threadPerSession: true, threads: 2, maxSessions: 50, maxConnections: 50 }));
    expect(placement).to.deep.equal({ minThreads: 2, maxThreads: 50, sessionsPerThread: 1, youngGenerationMb: undefined });
  });
});
