import { expect } from 'chai';
import { SharedRegister } from '../../src/register/shared-register.js';
import { RegisterFullError } from '../../src/register/types.js';
import { leaveRead, lockOwner, readerSlot } from '../../src/register/shared-lock.js';
import { H } from '../../src/register/shared-layout.js';
import { registerContract, snapshot } from './register-contract.js';

registerContract('SharedRegister', (options) => {
  const register = SharedRegister.create({ ...options, initialBytes: 64 * 1024 * 4 });
  return { register, check: () => expect(register.checkIntegrityForTest()).to.deep.equal([]) };
});

describe('SharedRegister: memory and options', () => {
  it('refuses bad options with an error naming the option', () => {
    expect(() => SharedRegister.create({ maxBytes: 1000 })).to.throw(RangeError, /maxBytes/);
    expect(() => SharedRegister.create({ initialBytes: 10 })).to.throw(RangeError, /initialBytes/);
    expect(() => SharedRegister.create({ maxBytes: 1 << 20, initialBytes: 2 << 20 })).to.throw(RangeError, /initialBytes/);
    expect(() => SharedRegister.create({ maxSubscriptions: 0 })).to.throw(RangeError, /maxSubscriptions/);
    expect(() => SharedRegister.create({ maxFilterLevels: 0 })).to.throw(RangeError, /maxFilterLevels/);
    expect(() => SharedRegister.create({ maxOwners: 1.5 })).to.throw(RangeError, /maxOwners/);
    expect(() => SharedRegister.create({ owner: 0 })).to.throw(RangeError, /owner/);
    expect(() => SharedRegister.create({ resultCacheSize: -1 })).to.throw(RangeError, /resultCacheSize/);
    expect(() => SharedRegister.attach({ kind: 'x' } as never)).to.throw(TypeError, /handle/);
  });

  it('grows its buffer on demand and keeps every answer', async () => {
    const r = SharedRegister.create({ initialBytes: 256 * 1024, maxBytes: 16 << 20 });
    const before = r.stats().bytesCapacity;
    for (let i = 0; i < 3000; i++) await r.subscribe((i % 100) + 1, `level-${i}/x/${'y'.repeat(i % 50)}`, { qos: 1 });
    expect(r.stats().bytesCapacity).to.be.greaterThan(before);
    expect(r.size).to.equal(3000);
    expect(r.tryMatch(`level-2999/x/${'y'.repeat(2999 % 50)}`, 0)).to.deep.equal([
      { session: 100, qos: 1, retainAsPublished: false, subscriptionIds: [] },
    ]);
    expect(r.checkIntegrityForTest()).to.deep.equal([]);
  });

  it('subscribeAll past maxBytes stores the filters that fit, refuses the rest one by one, and stays whole', async () => {
    const r = SharedRegister.create({ initialBytes: 256 * 1024, maxBytes: 320 * 1024 });
    const long = (n: number): string => `t/${n}/${'z'.repeat(200)}`;
    const entries = Array.from({ length: 3_000 }, (_, n) => ({ filter: long(n), options: { qos: 1 as const } }));
    const results = await r.subscribeAll(1, entries);
    const stored = results.findIndex((x) => x instanceof RegisterFullError);
    expect(stored).to.be.greaterThan(0);
    expect(results.slice(0, stored).every((x) => !(x instanceof Error) && x.isNew)).to.equal(true);
    expect(results.slice(stored).every((x) => x instanceof RegisterFullError)).to.equal(true);
    expect(r.size).to.equal(stored);
    expect(r.checkIntegrityForTest()).to.deep.equal([]);
    expect(r.tryMatch(long(stored - 1), 0)).to.have.length(1);
    expect(r.tryMatch(long(stored), 0)).to.deep.equal([]);
  });

  it('refuses a write past maxBytes with RegisterFullError, changes nothing, and frees memory on unsubscribe', async () => {
    const r = SharedRegister.create({ initialBytes: 256 * 1024, maxBytes: 320 * 1024 });
    let refused: unknown;
    let n = 0;
    for (; n < 100_000; n++) {
      try {
        await r.subscribe(1 + (n % 7), `t/${n}/${'z'.repeat(200)}`, { qos: 0 });
      } catch (e) {
        refused = e;
        break;
      }
    }
    expect(refused).to.be.instanceOf(RegisterFullError);
    expect(r.size).to.equal(n);
    expect(r.checkIntegrityForTest()).to.deep.equal([]);
    const sessions = [1, 2, 3, 4, 5, 6, 7];
    const before = snapshot(r, sessions, ['t/0/' + 'z'.repeat(200), `t/${n}/${'z'.repeat(200)}`]);
    expect(await r.subscribe(9, `t/${n}/${'z'.repeat(200)}`, { qos: 0 }).catch((e: unknown) => e)).to.be.instanceOf(RegisterFullError);
    expect(snapshot(r, sessions, ['t/0/' + 'z'.repeat(200), `t/${n}/${'z'.repeat(200)}`])).to.deep.equal(before);
    const used = r.stats().bytesUsed;
    expect(await r.removeSession(1)).to.be.greaterThan(0);
    expect(r.stats().bytesUsed).to.be.lessThan(used);
    expect((await r.subscribe(9, `t/${n}/${'z'.repeat(200)}`, { qos: 0 })).isNew).to.equal(true);
    expect(r.checkIntegrityForTest()).to.deep.equal([]);
  });

  it('frees everything when every subscription is removed', async () => {
    const r = SharedRegister.create();
    const empty = r.stats().bytesUsed;
    for (let i = 0; i < 500; i++) await r.subscribe((i % 13) + 1, `a/${i % 17}/+/${i}`, { qos: 0 });
    await r.subscribe(3, '$share/g/a/#', { qos: 0 });
    for (let s = 1; s <= 13; s++) await r.removeSession(s);
    expect(r.stats()).to.include({ subscriptions: 0, sessions: 0, nodes: 0, groups: 0 });
    // tables grown on the way keep their size; everything else is back on the free lists
    expect(r.checkIntegrityForTest()).to.deep.equal([]);
    expect(r.stats().bytesUsed).to.be.at.least(empty);
  });

  it('a second attachment in the same thread sees the same register', async () => {
    const a = SharedRegister.create({ owner: 1 });
    const b = SharedRegister.attach(a.handle, { owner: 2 });
    await a.subscribe(1, 'x/+', { qos: 1 });
    expect(b.tryMatch('x/y', 0)).to.deep.equal([{ session: 1, qos: 1, retainAsPublished: false, subscriptionIds: [] }]);
    await b.unsubscribe(1, 'x/+');
    expect(a.tryMatch('x/y', 0)).to.deep.equal([]);
  });

  it('reads through another attachment in the same thread while a write of this thread waits', async () => {
    const a = SharedRegister.create({ owner: 1 });
    const b = SharedRegister.attach(a.handle, { owner: 2 });
    await a.subscribe(1, 'x', { qos: 0 });
    // A reader of owner 3 is inside a read, so a's next write takes the mutex and then waits.
    const m = new Int32Array(a.handle.buffer);
    const reader = readerSlot(m, 3);
    SharedRegister.attach(a.handle, { owner: 3 }).holdReadForTest();
    const pending = a.subscribe(1, 'y', { qos: 0 }); // holds the mutex now, nothing written yet
    expect(lockOwner(Atomics.load(m, H.LOCK))).to.equal(1);
    expect(b.tryMatch('x', 0)).to.deep.equal([{ session: 1, qos: 0, retainAsPublished: false, subscriptionIds: [] }]);
    expect(b.subscriptionsOf(1).map((s) => s.filter)).to.deep.equal(['x']);
    expect(await b.match('y', 0)).to.deep.equal([]);
    leaveRead(m, reader);
    await pending;
    expect(b.subscriptionsOf(1).map((s) => s.filter).sort()).to.deep.equal(['x', 'y']);
  });

  it('an uncontended write is done before its promise is even awaited (no lock held across a turn)', async () => {
    const r = SharedRegister.create({ owner: 1 });
    const first = r.subscribe(1, 'p', { qos: 0 });
    const second = r.subscribe(2, 'p', { qos: 1 }); // same turn: finds the mutex free again
    expect(r.tryMatch('p', 0)?.map((d) => d.session).sort()).to.deep.equal([1, 2]);
    expect(Atomics.load(new Int32Array(r.handle.buffer), H.LOCK)).to.equal(0);
    await Promise.all([first, second]);
  });

  it('a thread-local result cache never serves an answer older than the last write', async () => {
    const r = SharedRegister.create({ resultCacheSize: 4 });
    await r.subscribe(1, 'a', { qos: 0 });
    expect(r.tryMatch('a', 0)).to.have.length(1);
    expect(r.tryMatch('a', 0)).to.have.length(1);
    await r.subscribe(2, 'a', { qos: 0 });
    expect(r.tryMatch('a', 0)).to.have.length(2);
    for (let i = 0; i < 10; i++) r.tryMatch(`t${i}`, 0);
    await r.unsubscribe(1, 'a');
    expect(r.tryMatch('a', 0)).to.deep.equal([{ session: 2, qos: 0, retainAsPublished: false, subscriptionIds: [] }]);
  });
});
