/** Register owner ids: dense, claimed atomically, reusable after a dead thread is recovered. */
import { expect } from 'chai';
import { MAIN_OWNER, OwnerSlots } from '../../src/broker/owner-slots.js';

describe('OwnerSlots', () => {
  it('gives main owner 1 and each thread the lowest free id', () => {
    const slots = OwnerSlots.create(4);
    expect(MAIN_OWNER).to.equal(1);
    expect(slots.claim(11)).to.equal(2);
    expect(slots.claim(12)).to.equal(3);
    expect(slots.ownerOf(12)).to.equal(3);
    slots.release(2);
    expect(slots.claim(13)).to.equal(2);
    expect(slots.claim(14)).to.equal(4);
    expect(() => slots.claim(15)).to.throw(RangeError);
  });
});
