/**
 * The SVGs committed in docs/diagrams/ are what `npm run diagrams` makes of their sources, so a
 * diagram cannot drift from its text. On a failure: run `npm run diagrams` and commit the SVGs.
 */
import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagramSources, generateDiagrams, renderDiagram, repositoryRoot, svgName } from '../../tools/diagrams.js';
import { parseSequence } from '../../tools/sequence-diagram.js';

const sourceDir = join(repositoryRoot(), 'docs', 'diagrams');

describe('docs/diagrams', function () {
  let outDir: string;

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'weft-diagrams-'));
  });

  after(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('every committed SVG equals what its source renders to now', async () => {
    const written = await generateDiagrams(sourceDir, outDir);
    expect(written.length).to.be.greaterThan(0);
    const stale: string[] = [];
    for (const name of written) {
      const fresh = await readFile(join(outDir, name), 'utf8');
      const committed = await readFile(join(sourceDir, name), 'utf8').catch(() => '(missing)');
      if (committed !== fresh) stale.push(name);
    }
    expect(stale, 'out of date: run `npm run diagrams`').to.deep.equal([]);
  });

  it('every SVG in docs/diagrams has a source', async () => {
    const sources = new Set((await diagramSources(sourceDir)).map(svgName));
    const svgs = (await readdir(sourceDir)).filter((n) => n.endsWith('.svg'));
    expect(svgs.filter((n) => !sources.has(n))).to.deep.equal([]);
  });

  it('a sequence source naming an undeclared participant fails with its line number', () => {
    expect(() => parseSequence('participant A "a"\nA -> B: hello')).to.throw(/line 2: unknown participant "B"/);
  });

  it('renders a sequence diagram with its participants, arrows and notes, text escaped', async () => {
    const svg = await renderDiagram(
      'x.seq',
      'participant A "main <thread>"\nparticipant B "worker"\nA -> B: in\nB --> A: out & back\nnote over A, B: shared',
    );
    expect(svg).to.match(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).to.include('main &lt;thread&gt;');
    expect(svg).to.include('out &amp; back');
    expect(svg.match(/class="msg dashed"/g)).to.have.length(1);
    expect(svg.match(/class="note"/g)).to.have.length(1);
  });
});
