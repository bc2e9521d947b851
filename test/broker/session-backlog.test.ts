/**
 * SessionBacklog: the shared per-session count that lets a subscriber hold its publishers back,
 * and the flag handshake that must never leave a publisher waiting on a drained queue.
 */
import { expect } from 'chai';
import { SessionBacklog, backlogLimits } from '../../src/broker/session-backlog.js';

const SESSION = (1 << 20) | 3; // generation 1, slot 3

describe('SessionBacklog', () => {
  it('derives its marks from the queue bound and turns off with a zero wait or a zero queue', () => {
    expect(backlogLimits(1000, 500)).to.deep.equal({ high: 500, low: 250, stallMs: 500 });
    expect(backlogLimits(1000, 0).stallMs).to.equal(0);
    expect(backlogLimits(0, 500).stallMs).to.equal(0);
  });

  it('lets publishers on until the high-water mark, then returns the congestion stamp', () => {
    const backlog = SessionBacklog.create(8, backlogLimits(8, 1000)); // high 4, low 2
    const now = 5_000;
    for (let i = 0; i < 3; i++) expect(backlog.added(SESSION, now)).to.equal(0);
    const since = backlog.added(SESSION, now);
    expect(since).to.equal(now);
    expect(backlog.added(SESSION, now + 10), 'a later publisher waits on the same stamp').to.equal(since);
  });

  it('stops holding publishers back once the congestion is older than the wait bound', () => {
    const backlog = SessionBacklog.create(8, backlogLimits(8, 100));
    for (let i = 0; i < 3; i++) backlog.added(SESSION, 0);
    expect(backlog.added(SESSION, 1_000)).to.equal(1_000);
    expect(backlog.added(SESSION, 1_099)).to.equal(1_000);
    expect(backlog.added(SESSION, 1_100), 'stalled: the queue bound applies instead').to.equal(0);
  });

  it('clears the flag when the subscriber drains below the low-water mark, waking waiters', async () => {
    const backlog = SessionBacklog.create(8, backlogLimits(8, 60_000));
    for (let i = 0; i < 3; i++) backlog.added(SESSION, Date.now());
    const since = backlog.added(SESSION, Date.now());
    expect(since).to.not.equal(0);
    let woke = false;
    const waiting = backlog.waitUntilClear(SESSION, since).then(() => (woke = true));
    backlog.consumed(SESSION, 1); // depth 3: still above low (2)
    await new Promise((resolve) => setImmediate(resolve));
    expect(woke).to.equal(false);
    backlog.consumed(SESSION, 2); // depth 1
    await waiting;
    expect(backlog.depth(SESSION)).to.equal(1);
    expect(backlog.added(SESSION, Date.now()), 'flag cleared: the next message goes on').to.equal(0);
  });

  it('release clears the slot so the next session starts at zero', () => {
    const backlog = SessionBacklog.create(8, backlogLimits(8, 1000));
    for (let i = 0; i < 6; i++) backlog.added(SESSION, 1);
    backlog.clear(SESSION);
    expect(backlog.depth(SESSION)).to.equal(0);
    expect(backlog.added(SESSION, 2)).to.equal(0);
  });
});
