/** The in-memory retained store: trie matching, replacement, deletion and bounds. */
import { expect } from 'chai';
import fc from 'fast-check';
import { MemoryRetainedStore } from '../../src/broker/retained/memory-store.js';
import { topicMatches } from '../../src/register/topic.js';

interface Msg {
  topic: string;
  payload: string;
}

function store(maxMessages = 100, maxBytes = 10_000): MemoryRetainedStore<Msg> {
  return new MemoryRetainedStore<Msg>({ maxMessages, maxBytes });
}

function put(s: MemoryRetainedStore<Msg>, topic: string, payload = 'p'): string {
  return s.set({ topic, payload }, topic.length + payload.length);
}

describe('MemoryRetainedStore', () => {
  it('replaces the retained message of a topic [MQTT-3.3.1-5]', () => {
    const s = store();
    expect(put(s, 'a/b', 'one')).to.equal('stored');
    expect(put(s, 'a/b', 'two')).to.equal('replaced');
    expect(s.match('a/b')).to.deep.equal([{ topic: 'a/b', payload: 'two' }]);
    expect([s.size, s.bytes]).to.deep.equal([1, 6]);
  });

  it('deletes and prunes [MQTT-3.3.1-10]', () => {
    const s = store();
    put(s, 'a/b/c');
    expect(s.delete('a/b/c')).to.equal('deleted');
    expect(s.delete('a/b/c')).to.equal('absent');
    expect([s.size, s.bytes]).to.deep.equal([0, 0]);
    expect(s.match('#')).to.deep.equal([]);
  });

  it('refuses what would break a bound and keeps what it had', () => {
    const s = store(2, 100);
    put(s, 'a');
    put(s, 'b');
    expect(put(s, 'c')).to.equal('refused-full');
    expect(put(s, 'a', 'x'.repeat(200))).to.equal('refused-full');
    expect(s.match('a')).to.deep.equal([{ topic: 'a', payload: 'p' }]);
    expect(s.counters.refusedFull).to.equal(2);
  });

  it('answers a filter exactly as the reference matcher does', () => {
    const level = fc.constantFrom('a', 'b', '$s', '');
    const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/')).filter((t) => t.length > 0);
    const filterLevel = fc.constantFrom('a', 'b', '$s', '', '+');
    const filter = fc
      .tuple(fc.array(filterLevel, { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
      .filter((f) => f.length > 0);
    fc.assert(
      fc.property(fc.uniqueArray(topic, { maxLength: 12 }), filter, (topics, f) => {
        const s = store();
        for (const t of topics) put(s, t);
        const got = s.match(f).map((m) => m.topic).sort();
        const want = topics.filter((t) => topicMatches(f, t)).sort();
        expect(got).to.deep.equal(want);
      }),
      { numRuns: 300 },
    );
  });
});
