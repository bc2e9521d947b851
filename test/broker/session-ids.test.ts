/** Session ids: slots are reused, but never with the same id. */
import { expect } from 'chai';
import { SessionIdAllocator, slotOf } from '../../src/broker/session-ids.js';

describe('SessionIdAllocator', () => {
  it('hands out positive int32 ids up to its capacity', () => {
    const ids = new SessionIdAllocator(3);
    const got = [ids.allocate(), ids.allocate(), ids.allocate()];
    expect(got.every((id) => id !== undefined && id > 0 && id <= 0x7fffffff)).to.equal(true);
    expect(ids.allocate()).to.equal(undefined);
  });

  it('gives a reused slot a new generation, so a dead session id never comes back at once', () => {
    const ids = new SessionIdAllocator(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2047; i++) {
      const id = ids.allocate()!;
      expect(seen.has(id)).to.equal(false);
      seen.add(id);
      expect(slotOf(id)).to.equal(0);
      ids.release(id);
    }
  });
});
