/**
 * `await startBroker()` resolves once the broker is ready: every session thread started up front
 * has said `ready`. A thread that fails before that makes it reject with a
 * `SessionThreadStartError` naming the cause; threads not ready within `threadStartTimeoutMs`,
 * or closing the broker while it starts, end the start the same way. (That nothing is left
 * running after a failed start is checked in a child process, in process-hygiene.test.ts.)
 */
import { expect } from 'chai';
import { SessionThreadStartError, type Broker, type BrokerOptions } from '../../src/broker/index.js';
import { sessionThreadOf, sessionThreads, startBrokerWith } from '../../src/broker/test-hooks.js';
import { client, forceClose, PLACEMENTS, testBroker } from './helpers.js';

/** The session-thread entries that fail before `ready` (thread-start-faults.cts). */
const faults = new URL('./thread-start-faults.cjs', import.meta.url).href;

/** Starts a broker whose threads run `name` from thread-start-faults.cts; resolves with how the start ended. */
async function startFaulty(name: string, options: BrokerOptions = {}): Promise<{ broker: Broker; error: unknown }> {
  let broker: Broker | undefined;
  let error: unknown;
  try {
    await startBrokerWith(
      { port: 0, logLevel: 'silent', threads: 2, ...options },
      { threadEntry: { filename: faults, name }, created: (created) => (broker = created) },
    );
  } catch (err) {
    error = err;
  }
  return { broker: broker!, error };
}

describe('broker: startBroker resolves once its session threads are ready', function () {
  this.timeout(15000);

  for (const placement of PLACEMENTS) {
    it(`every thread started up front has said ready, with its own thread id (${placement.name})`, async () => {
      const broker = await testBroker(placement.options);
      try {
        const threads = sessionThreads(broker);
        // Both placements start `threads: 2` up front.
        expect(threads).to.have.length(2);
        for (const thread of threads) {
          expect(thread.ready).to.equal(true);
          expect(thread.threadId).to.be.greaterThan(0);
        }
        expect(new Set(threads.map((thread) => thread.threadId)).size).to.equal(2);
        // The first session goes to one of those threads, already running.
        const first = await client(broker, { clientId: 'first' });
        try {
          expect(threads.map((thread) => thread.threadId)).to.include(sessionThreadOf(broker, 'first'));
        } finally {
          await forceClose(first);
        }
      } finally {
        await broker.close();
      }
    });
  }
});

describe('broker: startBroker rejects when a session thread fails before it is ready', function () {
  this.timeout(15000);

  it('a thread whose set-up throws: SessionThreadStartError with the thread\'s error as its cause', async () => {
    const { broker, error } = await startFaulty('throwsBeforeReady');
    expect(error).to.be.instanceOf(SessionThreadStartError);
    expect((error as Error).message).to.equal('a session thread failed before it was ready: injected fault: session host set-up failed');
    expect(((error as Error).cause as Error).message).to.equal('injected fault: session host set-up failed');
    // The failed start closed the broker: no thread left, and no replacement started.
    expect(sessionThreads(broker)).to.deep.equal([]);
    expect(broker.stats().threads).to.equal(0);
  });

  it('a thread that exits: the error names its exit code', async () => {
    const { broker, error } = await startFaulty('exitsBeforeReady', { threadPerSession: true, maxSessions: 4, maxConnections: 4 });
    expect(error).to.be.instanceOf(SessionThreadStartError);
    expect((error as Error).message).to.equal('a session thread failed before it was ready: worker exited with code: 7');
    expect(sessionThreads(broker)).to.deep.equal([]);
  });

  it('one thread of two fails: the start fails, and the thread that was fine is stopped too', async () => {
    const { broker, error } = await startFaulty('oddThreadsThrow');
    expect(error).to.be.instanceOf(SessionThreadStartError);
    expect((error as Error).message).to.match(/^a session thread failed before it was ready: injected fault: thread \d+ failed$/);
    expect(sessionThreads(broker)).to.deep.equal([]);
  });

  it('threads that never say ready: after threadStartTimeoutMs, SessionThreadStartError naming the timeout, and nothing left running', async () => {
    const { broker, error } = await startFaulty('neverReady', { threadStartTimeoutMs: 100 });
    expect(error).to.be.instanceOf(SessionThreadStartError);
    expect((error as Error).message).to.equal('the session threads were not ready within threadStartTimeoutMs (100 ms)');
    // The failed start closed the broker: no thread left (process-hygiene.test.ts checks that
    // nothing else is either: no listener, no timer).
    expect(sessionThreads(broker)).to.deep.equal([]);
    expect(broker.stats().threads).to.equal(0);
  });

  it('closing the broker while its threads start ends the start with SessionThreadStartError', async () => {
    let broker: Broker | undefined;
    const starting = startBrokerWith(
      { port: 0, logLevel: 'silent', threads: 2 },
      { threadEntry: { filename: faults, name: 'neverReady' }, created: (created) => (broker = created) },
    );
    const outcome = starting.then(
      () => undefined,
      (err: unknown) => err,
    );
    await broker!.close();
    const error = await outcome;
    expect(error).to.be.instanceOf(SessionThreadStartError);
    expect((error as Error).message).to.equal('the broker was closed before its session threads were ready');
    expect(sessionThreads(broker!)).to.deep.equal([]);
  });
});
