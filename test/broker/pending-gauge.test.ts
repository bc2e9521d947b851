/**
 * PendingGauge: the places under `maxPendingConnections`, one shared word for the whole broker,
 * and a thread's share that main gives back when the thread dies. Pure (a stand-in socket).
 */
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { pino } from 'pino';
import { newShare, PendingGauge, reclaimShare } from '../../src/broker/pending-gauge.js';
import { CounterWord, SharedCounters } from '../../src/broker/shared-counters.js';
import { recordingLogger } from '../recording-logger.js';

const quiet = pino({ level: 'silent' });

/** A socket that only records whether it was destroyed. */
function fakeSocket(): Socket & { destroyedHere: boolean } {
  const socket = { destroyedHere: false, remoteAddress: '127.0.0.1', remotePort: 1, destroy() { socket.destroyedHere = true; } };
  return socket as unknown as Socket & { destroyedHere: boolean };
}

describe('broker: PendingGauge', () => {
  it('admits up to the bound, closes and counts the next socket, and takes a given-back place again', () => {
    const counters = SharedCounters.create();
    const gauge = new PendingGauge(counters, 2, quiet);
    const a = gauge.admit(fakeSocket());
    const b = gauge.admit(fakeSocket());
    expect(a).to.not.equal(undefined);
    expect(b).to.not.equal(undefined);
    const over = fakeSocket();
    expect(gauge.admit(over)).to.equal(undefined);
    expect(over.destroyedHere).to.equal(true);
    expect(counters.read(CounterWord.pendingRefused)).to.equal(1);
    expect(counters.read(CounterWord.pendingConnections)).to.equal(2);
    a!.release();
    a!.release(); // once, however often
    expect(counters.read(CounterWord.pendingConnections)).to.equal(1);
    expect(gauge.admit(fakeSocket())).to.not.equal(undefined);
    expect(counters.read(CounterWord.pendingConnections)).to.equal(2);
  });

  it('logs refusals at the 1st, 2nd, 4th, 8th... one with the total, not a line per socket (a flood is one fault)', async () => {
    const counters = SharedCounters.create();
    const { logger, records, until } = recordingLogger('warn');
    const gauge = new PendingGauge(counters, 1, logger);
    gauge.admit(fakeSocket());
    for (let i = 0; i < 9; i++) expect(gauge.admit(fakeSocket())).to.equal(undefined);
    // Another gauge on the same word (another thread) continues the same count.
    const other = new PendingGauge(counters, 1, logger);
    for (let i = 0; i < 7; i++) other.admit(fakeSocket());
    expect(counters.read(CounterWord.pendingRefused)).to.equal(16);
    await until((r) => r.length >= 5);
    expect(records.map((r) => r.refused)).to.deep.equal([1, 2, 4, 8, 16]);
    expect(records.every((r) => r.maxPendingConnections === 1 && /too many waiting/.test(r.msg))).to.equal(true);
  });

  it('shares one bound between gauges on the same word (main and each thread)', () => {
    const counters = SharedCounters.create();
    const main = new PendingGauge(counters, 3, quiet);
    const thread = new PendingGauge(counters, 3, quiet, newShare());
    expect([main.admit(fakeSocket()), thread.admit(fakeSocket()), thread.admit(fakeSocket())].every((p) => p !== undefined)).to.equal(true);
    expect(main.admit(fakeSocket())).to.equal(undefined);
    expect(thread.admit(fakeSocket())).to.equal(undefined);
    expect(counters.read(CounterWord.pendingRefused)).to.equal(2);
  });

  it("gives back a dead thread's places from its share, and only those", () => {
    const counters = SharedCounters.create();
    const main = new PendingGauge(counters, 10, quiet);
    const share = newShare();
    const thread = new PendingGauge(counters, 10, quiet, share);
    main.admit(fakeSocket());
    const released = thread.admit(fakeSocket())!;
    thread.admit(fakeSocket());
    thread.admit(fakeSocket());
    released.release();
    expect(counters.read(CounterWord.pendingConnections)).to.equal(3);
    // The thread dies holding two places: main subtracts them, once.
    reclaimShare(counters, share);
    reclaimShare(counters, share);
    expect(counters.read(CounterWord.pendingConnections)).to.equal(1);
  });
});
