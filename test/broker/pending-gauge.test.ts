/**
 * PendingGauge: the places under `maxPendingConnections`, one shared word for the whole broker,
 * and a thread's share that main gives back when the thread dies. Pure (a stand-in socket).
 */
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { pino } from 'pino';
import { newShare, PendingGauge, reclaimShare, type PendingLimits } from '../../src/broker/pending-gauge.js';
import { CounterWord, SharedCounters } from '../../src/broker/shared-counters.js';
import { recordingLogger } from '../recording-logger.js';

const quiet = pino({ level: 'silent' });

/** Limits with `n` places and bytes enough for any test here. */
const places = (n: number): PendingLimits => ({ maxPendingConnections: n, maxPendingConnectBytes: 1 << 20 });

/** A socket that only records whether it was destroyed. */
function fakeSocket(): Socket & { destroyedHere: boolean } {
  const socket = { destroyedHere: false, remoteAddress: '127.0.0.1', remotePort: 1, destroy() { socket.destroyedHere = true; } };
  return socket as unknown as Socket & { destroyedHere: boolean };
}

describe('broker: PendingGauge', () => {
  it('admits up to the bound, closes and counts the next socket, and takes a given-back place again', () => {
    const counters = SharedCounters.create();
    const gauge = new PendingGauge(counters, places(2), quiet);
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
    const gauge = new PendingGauge(counters, places(1), logger);
    gauge.admit(fakeSocket());
    for (let i = 0; i < 9; i++) expect(gauge.admit(fakeSocket())).to.equal(undefined);
    // Another gauge on the same word (another thread) continues the same count.
    const other = new PendingGauge(counters, places(1), logger);
    for (let i = 0; i < 7; i++) other.admit(fakeSocket());
    expect(counters.read(CounterWord.pendingRefused)).to.equal(16);
    await until((r) => r.length >= 5);
    expect(records.map((r) => r.refused)).to.deep.equal([1, 2, 4, 8, 16]);
    expect(records.every((r) => r.maxPendingConnections === 1 && /too many waiting/.test(r.msg))).to.equal(true);
  });

  it('shares one bound between gauges on the same word (main and each thread)', () => {
    const counters = SharedCounters.create();
    const main = new PendingGauge(counters, places(3), quiet);
    const thread = new PendingGauge(counters, places(3), quiet, newShare());
    expect([main.admit(fakeSocket()), thread.admit(fakeSocket()), thread.admit(fakeSocket())].every((p) => p !== undefined)).to.equal(true);
    expect(main.admit(fakeSocket())).to.equal(undefined);
    expect(thread.admit(fakeSocket())).to.equal(undefined);
    expect(counters.read(CounterWord.pendingRefused)).to.equal(2);
  });

  it("gives back a dead thread's places from its share, and only those", () => {
    const counters = SharedCounters.create();
    const main = new PendingGauge(counters, places(10), quiet);
    const share = newShare();
    const thread = new PendingGauge(counters, places(10), quiet, share);
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

describe('broker: PendingGauge, bytes of first packets (maxPendingConnectBytes)', () => {
  const limits = (bytes: number): PendingLimits => ({ maxPendingConnections: 10, maxPendingConnectBytes: bytes });
  const bytesHeld = (counters: SharedCounters): number => counters.read(CounterWord.pendingConnectBytes);

  it('reserves up to the bound; a packet that does not fit in what is left is refused and counted, the socket left to its owner', () => {
    const counters = SharedCounters.create();
    const gauge = new PendingGauge(counters, limits(1000), quiet);
    const a = gauge.admit(fakeSocket())!;
    const b = gauge.admit(fakeSocket())!;
    const bSocket = fakeSocket();
    const c = gauge.admit(bSocket)!;
    expect(a.reserve(600)).to.equal(true);
    expect(b.reserve(401)).to.equal(false);
    expect(bytesHeld(counters)).to.equal(600);
    expect(counters.read(CounterWord.pendingBytesRefused)).to.equal(1);
    // Exactly what is left fits.
    expect(c.reserve(400)).to.equal(true);
    expect(bytesHeld(counters)).to.equal(1000);
    expect(bSocket.destroyedHere).to.equal(false);
    // Released, a refused place gives back its place and no bytes.
    b.release();
    expect(bytesHeld(counters)).to.equal(1000);
    expect(counters.read(CounterWord.pendingConnections)).to.equal(2);
  });

  it('gives a place and its bytes back together, once, and a released place reserves nothing', () => {
    const counters = SharedCounters.create();
    const gauge = new PendingGauge(counters, limits(1000), quiet);
    const a = gauge.admit(fakeSocket())!;
    expect(a.reserve(700)).to.equal(true);
    a.release();
    a.release();
    expect(bytesHeld(counters)).to.equal(0);
    expect(counters.read(CounterWord.pendingConnections)).to.equal(0);
    expect(a.reserve(10)).to.equal(false);
    expect(bytesHeld(counters)).to.equal(0);
  });

  it('shares one byte bound between gauges on the same word (main and each thread)', () => {
    const counters = SharedCounters.create();
    const main = new PendingGauge(counters, limits(1000), quiet);
    const thread = new PendingGauge(counters, limits(1000), quiet, newShare());
    expect(main.admit(fakeSocket())!.reserve(500)).to.equal(true);
    expect(thread.admit(fakeSocket())!.reserve(500)).to.equal(true);
    expect(thread.admit(fakeSocket())!.reserve(1)).to.equal(false);
    expect(main.admit(fakeSocket())!.reserve(1)).to.equal(false);
    expect(counters.read(CounterWord.pendingBytesRefused)).to.equal(2);
  });

  it("gives back a dead thread's bytes from its share, and only those, once", () => {
    const counters = SharedCounters.create();
    const main = new PendingGauge(counters, limits(10_000), quiet);
    const share = newShare();
    const thread = new PendingGauge(counters, limits(10_000), quiet, share);
    main.admit(fakeSocket())!.reserve(100);
    const released = thread.admit(fakeSocket())!;
    released.reserve(1000);
    thread.admit(fakeSocket())!.reserve(2000);
    thread.admit(fakeSocket())!.reserve(3000);
    thread.admit(fakeSocket()); // a place whose header has not come: no bytes
    released.release();
    expect(bytesHeld(counters)).to.equal(5100);
    // The thread dies holding three places and 5000 bytes: main subtracts them, once.
    reclaimShare(counters, share);
    reclaimShare(counters, share);
    expect(bytesHeld(counters)).to.equal(100);
    expect(counters.read(CounterWord.pendingConnections)).to.equal(1);
  });

  it('logs refusals at the 1st, 2nd, 4th, 8th... one with the total, naming the option', async () => {
    const counters = SharedCounters.create();
    const { logger, records, until } = recordingLogger('warn');
    const gauge = new PendingGauge(counters, limits(10), logger);
    for (let i = 0; i < 9; i++) expect(gauge.admit(fakeSocket())!.reserve(11)).to.equal(false);
    expect(counters.read(CounterWord.pendingBytesRefused)).to.equal(9);
    await until((r) => r.length >= 4);
    expect(records.map((r) => r.refused)).to.deep.equal([1, 2, 4, 8]);
    expect(records.every((r) => r.maxPendingConnectBytes === 10 && r.size === 11 && r.remote === '127.0.0.1:1')).to.equal(true);
  });

  it('never takes the word past the bound, even at 2^31 - 1 (the Int32 word cannot wrap)', () => {
    const counters = SharedCounters.create();
    const max = 2 ** 31 - 1;
    expect(counters.addWithin(CounterWord.pendingConnectBytes, max - 10, max)).to.equal(true);
    expect(counters.addWithin(CounterWord.pendingConnectBytes, 268_435_460, max)).to.equal(false);
    expect(counters.addWithin(CounterWord.pendingConnectBytes, 11, max)).to.equal(false);
    expect(counters.addWithin(CounterWord.pendingConnectBytes, 10, max)).to.equal(true);
    expect(bytesHeld(counters)).to.equal(max);
  });
});

/**
 * Run in two threads at once: each takes 7 bytes of a bound of 20 (room for two takers) and
 * gives them back, many times, recording the most it ever saw in the word.
 */
const HAMMER = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.module).then(({ SharedCounters, CounterWord }) => {
  const counters = new SharedCounters(workerData.buffer);
  const word = CounterWord.pendingConnectBytes;
  let taken = 0;
  let most = 0;
  for (let i = 0; i < workerData.rounds; i++) {
    if (!counters.addWithin(word, 7, 20)) continue;
    taken++;
    most = Math.max(most, counters.read(word));
    counters.add(word, -7);
  }
  parentPort.postMessage({ taken, most });
});
`;

describe('broker: SharedCounters.addWithin across threads', () => {
  it('two threads taking at once never take the word past the bound, and lose no update', async () => {
    const counters = SharedCounters.create();
    const module = new URL('../../src/broker/shared-counters.js', import.meta.url).href;
    const workers = [0, 1].map(() => new Worker(HAMMER, { eval: true, workerData: { module, buffer: counters.buffer, rounds: 200_000 } }));
    const results = (await Promise.all(workers.map((w) => once(w, 'message')))).map(([r]) => r as { taken: number; most: number });
    await Promise.all(workers.map((w) => w.terminate()));
    expect(results.every((r) => r.taken > 0 && r.most <= 20)).to.equal(true);
    expect(counters.read(CounterWord.pendingConnectBytes)).to.equal(0);
  });
});
