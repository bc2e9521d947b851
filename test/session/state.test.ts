import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SessionState, TRANSITIONS } from '../../src/session/core/index.js';

describe('session core: the state table', () => {
  it('docs/protocol.md draws exactly the transition table of state.ts', () => {
    // Tests run from the repository root (npm test, or mocha from /work/main).
    const doc = readFileSync(join(process.cwd(), 'docs', 'protocol.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### States'), doc.indexOf('### Inputs and outputs'));
    const drawn: Record<string, string[]> = {};
    for (const line of section.split('\n')) {
      const cells = line.trim().split('|').slice(1, -1).map((c) => c.trim());
      if (cells.length !== 2 || !/^[a-z]+(-[a-z]+)*$/.test(cells[0]!) || cells[0] === 'from') continue;
      drawn[cells[0]!] = cells[1]!.split(',').map((c) => c.trim()).filter(Boolean).sort();
    }
    const table = Object.fromEntries(Object.entries(TRANSITIONS).map(([from, to]) => [from, [...to].sort()]));
    expect(drawn).to.deep.equal(table);
  });

  it('every state appears in the table and nothing leaves Ended', () => {
    expect(Object.keys(TRANSITIONS).sort()).to.deep.equal(Object.values(SessionState).sort());
    expect(TRANSITIONS[SessionState.Ended]).to.deep.equal([]);
  });
});
