/**
 * The shared register across real worker threads: a mixed-operation stress run checked
 * against per-worker mirrors, and threads that die holding the lock, half-way through a write,
 * or inside a read, recovered with recoverDeadOwner.
 */
import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { ReferenceRegister } from '../../src/register/reference-register.js';
import { SharedRegister } from '../../src/register/shared-register.js';
import type { Delivery, SubscriptionRegister } from '../../src/register/types.js';
import { byFilter } from './register-contract.js';
import type { OwnerJob } from './register-owner-worker.js';
import { LEVELS, sessionsOf, type StressJob, type StressResult } from './register-stress-worker.js';

function allTopics(): string[] {
  const out: string[] = [];
  for (const a of LEVELS) {
    out.push(a || '/');
    for (const b of LEVELS) {
      out.push(`${a}/${b}`);
      for (const c of LEVELS) out.push(`${a}/${b}/${c}`);
    }
  }
  return out;
}

/** Ordinary deliveries sorted, plus the sorted list of group names that delivered. */
function comparable(ds: readonly Delivery[]): unknown {
  return {
    ordinary: ds
      .filter((d) => d.shareGroup === undefined)
      .map((d) => ({ ...d, subscriptionIds: [...d.subscriptionIds] }))
      .sort((a, b) => a.session - b.session),
    groups: ds.map((d) => d.shareGroup).filter((g) => g !== undefined).sort(),
  };
}

function expectSameState(shared: SubscriptionRegister, reference: SubscriptionRegister, sessions: number[], topics: string[]): void {
  expect(shared.size).to.equal(reference.size);
  for (const s of sessions) expect(shared.subscriptionsOf(s).sort(byFilter), `session ${s}`).to.deep.equal(reference.subscriptionsOf(s).sort(byFilter));
  for (const t of topics) expect(comparable(shared.tryMatch(t, 0)!), `topic ${t}`).to.deep.equal(comparable(reference.tryMatch(t, 0)!));
}

function runWorker<T>(file: string, workerData: unknown): { worker: Worker; result: Promise<T>; exited: Promise<number> } {
  const worker = new Worker(new URL(file, import.meta.url), { workerData });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const result = new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    void exited.then((code) => reject(new Error(`worker exited with ${code} before answering`)));
  });
  return { worker, result, exited };
}

async function waitSignal(control: Int32Array): Promise<void> {
  while (Atomics.load(control, 0) === 0) await Atomics.waitAsync(control, 0, 0, 1000).value;
}

describe('SharedRegister across worker threads', function () {
  this.timeout(60_000);

  it('4 workers × 25,000 mixed operations, growing the buffer, end in the state their mirrors computed', async () => {
    const workers = 4;
    const register = SharedRegister.create({ owner: 1, initialBytes: 64 * 1024 });
    const initialCapacity = register.stats().bytesCapacity;
    const runs = Array.from({ length: workers }, (_, index) =>
      runWorker<StressResult>('./register-stress-worker.js', {
        handle: register.handle,
        owner: 2 + index,
        index,
        workers,
        ops: 25_000,
        seed: 1000 + index,
      } satisfies StressJob),
    );
    // The main thread reads concurrently too: every answer names known sessions only.
    let reads = 0;
    let done = false;
    const all = Promise.all(runs.map((r) => r.result)).finally(() => (done = true));
    while (!done) {
      for (const d of await register.match('a/b', 0)) expect(Math.floor((d.session - 1) / 100)).to.be.below(workers);
      reads++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await all;
    await Promise.all(runs.map((r) => r.exited));
    const errors = results.flatMap((r) => r.errors);
    expect(errors).to.deep.equal([]);
    const ops = results.reduce((n, r) => n + Object.entries(r.counts).filter(([k]) => k !== 'waited').reduce((m, [, v]) => m + v, 0), 0);
    expect(ops).to.equal(100_000);
    expect(reads).to.be.greaterThan(0);
    const reference = new ReferenceRegister();
    for (const r of results) for (const [session, subs] of r.final) for (const s of subs) await reference.subscribe(session, s.filter, s.options);
    const sessions = Array.from({ length: workers }, (_, i) => sessionsOf(i)).flat();
    expectSameState(register, reference, sessions, allTopics());
    expect(register.checkIntegrityForTest()).to.deep.equal([]);
    expect(register.stats().bytesCapacity, 'the buffer grew while workers used it').to.be.greaterThan(initialCapacity);
  });

  describe('a thread that dies', () => {
    let register: SharedRegister;
    let reference: ReferenceRegister;
    const topics = ['a/b', 'a/c', 'x/y/z', 'half/done/write/x', 'carry/on', 'after/recovery'];
    const sessions = [1, 2, 3, 77, 99];

    beforeEach(async () => {
      register = SharedRegister.create({ owner: 1 });
      reference = new ReferenceRegister();
      for (const r of [register, reference] as SubscriptionRegister[]) {
        await r.subscribe(1, 'a/+', { qos: 1, subscriptionId: 4 });
        await r.subscribe(2, 'a/#', { qos: 2 });
        await r.subscribe(3, 'x/y/z', { qos: 0 });
        await r.subscribe(3, 'half/#', { qos: 0 });
      }
    });

    async function killAndRecover(mode: OwnerJob['mode'], expectReleased: boolean): Promise<void> {
      const control = new Int32Array(new SharedArrayBuffer(8));
      const victim = runWorker<never>('./register-owner-worker.js', { handle: register.handle, owner: 5, mode, control: control.buffer } satisfies OwnerJob);
      victim.result.catch(() => {});
      await waitSignal(control);
      if (mode !== 'read') expect(register.tryMatch('a/b', 0), 'no answer while a write is in progress').to.equal(undefined);
      if (mode === 'halt') expect(register.checkIntegrityForTest().join()).to.match(/undo log holds/);
      // A live worker and this thread both want to write; neither can until recovery.
      const carry = runWorker<Delivery[]>('./register-owner-worker.js', { handle: register.handle, owner: 6, mode: 'carry', control: control.buffer } satisfies OwnerJob);
      const pending = register.subscribe(1, 'after/recovery', { qos: 0 });
      await reference.subscribe(1, 'after/recovery', { qos: 0 });
      await reference.subscribe(77, 'carry/on', { qos: 2 });
      let settled = false;
      void pending.then(() => (settled = true));
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled, 'a write waits while the dead owner blocks it').to.equal(false);
      await victim.worker.terminate();
      expect(await register.recoverDeadOwner(5)).to.equal(expectReleased);
      expect((await pending).isNew).to.equal(true);
      expect(await carry.result).to.deep.equal([{ session: 77, qos: 2, retainAsPublished: false, subscriptionIds: [] }]);
      await carry.exited;
      expectSameState(register, reference, sessions, topics);
      expect(register.checkIntegrityForTest()).to.deep.equal([]);
    }

    it('holding the writer lock: recoverDeadOwner releases it and the others carry on', async () => {
      await killAndRecover('hold', true);
    });

    it('half-way through a write: recoverDeadOwner rolls the write back', async () => {
      await killAndRecover('halt', true);
      expect(register.subscriptionsOf(99)).to.deep.equal([]);
    });

    it('inside a read: recoverDeadOwner clears its reader slot so writers proceed', async () => {
      await killAndRecover('read', false);
    });
  });
});
