/**
 * A small sequence-diagram renderer: a PlantUML-like text (`docs/diagrams/*.seq`) in, one
 * self-contained SVG out. It exists because the usual renderers need a browser (mermaid-cli)
 * or Java (PlantUML), neither of which this project's machines may download.
 *
 * The format, one statement per line (`#` starts a comment line):
 *
 * ```text
 * title PUBLISH, QoS 1
 * participant P "publisher\nsocket"        id, then the label shown in the box (\n breaks)
 * P -> M: bytes                            solid arrow: a call or a message
 * M --> P: PUBACK                          dashed arrow: an answer
 * A -> A: match                            an arrow to itself
 * note right of A: text                    a note beside a lifeline (also: note left of A)
 * note over A, B: text                     a note across lifelines
 * == later ==                              a divider (PlantUML's `== ... ==`)
 * ```
 *
 * Text is set in a monospace font, so widths are computed, not measured: the output depends
 * only on the source, and a test can check that the committed SVG matches it byte for byte.
 */

const FONT = 13;
/** Advance of one character of a monospace font, in px, at {@link FONT}. */
const CHAR = FONT * 0.6;
const LINE = FONT + 4;
const PAD = 8;
const MARGIN = 16;
const ROW_GAP = 12;
const MIN_COLUMN_GAP = 40;
const FONT_FAMILY = 'ui-monospace, SFMono-Regular, Menlo, Consolas, &quot;DejaVu Sans Mono&quot;, monospace';

interface Participant {
  id: string;
  lines: string[];
  width: number;
  x: number;
}

type Statement =
  | { kind: 'message'; from: number; to: number; dashed: boolean; lines: string[]; line: number }
  | { kind: 'note'; side: 'left' | 'right' | 'over'; of: number[]; lines: string[] }
  | { kind: 'divider'; lines: string[] };

export interface SequenceDiagram {
  title: string | undefined;
  participants: Participant[];
  statements: Statement[];
}

/** A line of a `.seq` source the parser does not understand. */
export class SequenceSyntaxError extends Error {
  override readonly name = 'SequenceSyntaxError';
  constructor(
    readonly lineNumber: number,
    message: string,
  ) {
    super(`line ${lineNumber}: ${message}`);
  }
}

function splitLabel(text: string): string[] {
  return text
    .trim()
    .split('\\n')
    .map((l) => l.trim());
}

function textWidth(lines: readonly string[]): number {
  return Math.max(0, ...lines.map((l) => [...l].length)) * CHAR;
}

/** Parses a `.seq` source; throws {@link SequenceSyntaxError} naming the line. */
export function parseSequence(source: string): SequenceDiagram {
  let title: string | undefined;
  const participants: Participant[] = [];
  const statements: Statement[] = [];
  const index = (id: string, line: number): number => {
    const i = participants.findIndex((p) => p.id === id);
    if (i < 0) throw new SequenceSyntaxError(line, `unknown participant "${id}" (declare it with "participant ${id} \\"label\\"")`);
    return i;
  };
  const lines = source.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = n + 1;
    const text = lines[n]!.trim();
    if (text === '' || text.startsWith('#')) continue;
    let m: RegExpMatchArray | null;
    if ((m = /^title\s+(.+)$/.exec(text))) {
      title = m[1]!.trim();
    } else if ((m = /^participant\s+(\w+)(?:\s+"(.*)")?$/.exec(text))) {
      const id = m[1]!;
      if (participants.some((p) => p.id === id)) throw new SequenceSyntaxError(line, `participant "${id}" declared twice`);
      const labelLines = splitLabel(m[2] ?? id);
      participants.push({ id, lines: labelLines, width: textWidth(labelLines) + 2 * PAD, x: 0 });
    } else if ((m = /^(\w+)\s*(->|-->)\s*(\w+)\s*:\s*(.*)$/.exec(text))) {
      statements.push({
        kind: 'message',
        from: index(m[1]!, line),
        to: index(m[3]!, line),
        dashed: m[2] === '-->',
        lines: splitLabel(m[4]!),
        line,
      });
    } else if ((m = /^note\s+(left|right)\s+of\s+(\w+)\s*:\s*(.+)$/.exec(text))) {
      statements.push({ kind: 'note', side: m[1] as 'left' | 'right', of: [index(m[2]!, line)], lines: splitLabel(m[3]!) });
    } else if ((m = /^note\s+over\s+(\w+)(?:\s*,\s*(\w+))?\s*:\s*(.+)$/.exec(text))) {
      const of = [index(m[1]!, line)];
      if (m[2] !== undefined) of.push(index(m[2], line));
      statements.push({ kind: 'note', side: 'over', of, lines: splitLabel(m[3]!) });
    } else if ((m = /^==\s*(.*?)\s*==$/.exec(text))) {
      statements.push({ kind: 'divider', lines: splitLabel(m[1]!) });
    } else {
      throw new SequenceSyntaxError(line, `cannot read "${text}"`);
    }
  }
  if (participants.length === 0) throw new SequenceSyntaxError(lines.length, 'no participant declared');
  return { title, participants, statements };
}

/** Places lifelines far enough apart for every box and every label between them. */
function layoutColumns(d: SequenceDiagram): void {
  const ps = d.participants;
  // Required distance between the centres of neighbours i and i+1, then widened by labels that
  // span several columns (spread over the span's last gap, which keeps the code simple).
  const gap: number[] = ps.slice(1).map((p, i) => Math.max(MIN_COLUMN_GAP + (ps[i]!.width + p.width) / 2, 0));
  const spans = d.statements
    .filter((s): s is Extract<Statement, { kind: 'message' }> => s.kind === 'message' && s.from !== s.to)
    .map((s) => ({ lo: Math.min(s.from, s.to), hi: Math.max(s.from, s.to), need: textWidth(s.lines) + 3 * PAD }))
    .sort((a, b) => a.hi - a.lo - (b.hi - b.lo));
  for (const s of spans) {
    let have = 0;
    for (let i = s.lo; i < s.hi; i++) have += gap[i]!;
    if (have < s.need) gap[s.hi - 1]! += s.need - have;
  }
  // Notes beside a lifeline and self-arrows need room up to the next lifeline.
  for (const s of d.statements) {
    if (s.kind === 'note' && s.side !== 'over') {
      const i = s.of[0]!;
      const g = s.side === 'right' ? i : i - 1;
      if (g >= 0 && g < gap.length) gap[g] = Math.max(gap[g]!, textWidth(s.lines) + 2 * PAD + 2 * PAD);
    }
    if (s.kind === 'message' && s.from === s.to && s.from < gap.length) {
      gap[s.from] = Math.max(gap[s.from]!, textWidth(s.lines) + 5 * PAD);
    }
  }
  let x = MARGIN + Math.max(ps[0]!.width / 2, leftOverhang(d, 0));
  for (let i = 0; i < ps.length; i++) {
    ps[i]!.x = x;
    if (i < gap.length) x += gap[i]!;
  }
}

/** How far a note on the left of the first lifeline reaches. */
function leftOverhang(d: SequenceDiagram, first: number): number {
  let reach = 0;
  for (const s of d.statements) {
    if (s.kind === 'note' && s.side === 'left' && s.of[0] === first) reach = Math.max(reach, textWidth(s.lines) + 3 * PAD);
  }
  return reach;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

class Svg {
  readonly parts: string[] = [];
  text(x: number, y: number, lines: readonly string[], anchor: 'start' | 'middle', extra = ''): void {
    lines.forEach((l, k) => {
      this.parts.push(`<text x="${fmt(x)}" y="${fmt(y + k * LINE)}" text-anchor="${anchor}"${extra}>${esc(l)}</text>`);
    });
  }
  rect(x: number, y: number, w: number, h: number, cls: string): void {
    this.parts.push(`<rect class="${cls}" x="${fmt(x)}" y="${fmt(y)}" width="${fmt(w)}" height="${fmt(h)}"/>`);
  }
  line(x1: number, y1: number, x2: number, y2: number, cls: string): void {
    this.parts.push(`<line class="${cls}" x1="${fmt(x1)}" y1="${fmt(y1)}" x2="${fmt(x2)}" y2="${fmt(y2)}"/>`);
  }
  arrowHead(x: number, y: number, direction: 1 | -1): void {
    const b = x - direction * 9;
    this.parts.push(`<polygon class="head" points="${fmt(x)},${fmt(y)} ${fmt(b)},${fmt(y - 4)} ${fmt(b)},${fmt(y + 4)}"/>`);
  }
}

/** Renders a parsed diagram to SVG text. */
export function renderSequence(d: SequenceDiagram): string {
  layoutColumns(d);
  const ps = d.participants;
  const svg = new Svg();
  const boxHeight = Math.max(...ps.map((p) => p.lines.length)) * LINE + 2 * PAD;
  let y = MARGIN;
  if (d.title !== undefined) {
    y += LINE;
    svg.text(MARGIN, y, [d.title], 'start', ' class="title"');
    y += PAD;
  }
  const top = y;
  y += boxHeight + ROW_GAP;
  let right = Math.max(...ps.map((p) => p.x + p.width / 2));
  const body: Svg = new Svg();
  for (const s of d.statements) {
    const h = s.lines.length * LINE;
    if (s.kind === 'message') {
      const x1 = ps[s.from]!.x;
      const x2 = ps[s.to]!.x;
      const cls = s.dashed ? 'msg dashed' : 'msg';
      if (s.from === s.to) {
        const loop = 28;
        body.text(x1 + PAD, y + FONT, s.lines, 'start');
        const ya = y + h + 4;
        const yb = ya + 14;
        body.parts.push(`<polyline class="${cls}" points="${fmt(x1)},${fmt(ya)} ${fmt(x1 + loop)},${fmt(ya)} ${fmt(x1 + loop)},${fmt(yb)} ${fmt(x1 + 1)},${fmt(yb)}"/>`);
        body.arrowHead(x1 + 1, yb, -1);
        right = Math.max(right, x1 + PAD + textWidth(s.lines), x1 + loop);
        y = yb + ROW_GAP;
      } else {
        const dir = x2 > x1 ? 1 : -1;
        const mid = (x1 + x2) / 2;
        body.text(mid, y + FONT, s.lines, 'middle');
        const ya = y + h + 5;
        body.line(x1, ya, x2 - dir * 2, ya, cls);
        body.arrowHead(x2 - dir, ya, dir);
        y = ya + ROW_GAP;
      }
    } else if (s.kind === 'note') {
      const w = textWidth(s.lines) + 2 * PAD;
      const nh = h + PAD;
      let x: number;
      if (s.side === 'over') {
        const lo = Math.min(...s.of.map((i) => ps[i]!.x));
        const hi = Math.max(...s.of.map((i) => ps[i]!.x));
        const width = Math.max(w, hi - lo + 2 * PAD);
        x = (lo + hi) / 2 - width / 2;
        body.rect(x, y, width, nh, 'note');
        body.text(x + PAD, y + FONT + 2, s.lines, 'start');
        right = Math.max(right, x + width);
      } else {
        const at = ps[s.of[0]!]!.x;
        x = s.side === 'right' ? at + PAD : at - PAD - w;
        body.rect(x, y, w, nh, 'note');
        body.text(x + PAD, y + FONT + 2, s.lines, 'start');
        right = Math.max(right, x + w);
      }
      y += nh + ROW_GAP;
    } else {
      body.parts.push(`@@DIVIDER ${fmt(y + h / 2 + 2)} ${s.lines.map(esc).join('\u0001')}`);
      y += h + PAD + ROW_GAP;
    }
  }
  const bottom = y;
  const width = right + MARGIN;
  const height = bottom + boxHeight + MARGIN;
  // Lifelines first, so arrows and notes are drawn over them.
  for (const p of ps) svg.line(p.x, top + boxHeight, p.x, bottom, 'life');
  for (const part of body.parts) {
    if (!part.startsWith('@@DIVIDER ')) {
      svg.parts.push(part);
      continue;
    }
    const [, at, label] = /^@@DIVIDER (\S+) (.*)$/.exec(part)!;
    const dy = Number(at);
    const labels = label!.split('\u0001');
    svg.line(MARGIN / 2, dy - 2, width - MARGIN / 2, dy - 2, 'divider');
    svg.line(MARGIN / 2, dy + 2, width - MARGIN / 2, dy + 2, 'divider');
    const w = Math.max(...labels.map((l) => [...l].length)) * CHAR + 2 * PAD;
    const lh = labels.length * LINE + 4;
    svg.rect(width / 2 - w / 2, dy - lh / 2, w, lh, 'divider-label');
    labels.forEach((l, k) => {
      svg.parts.push(`<text x="${fmt(width / 2)}" y="${fmt(dy - lh / 2 + FONT + 1 + k * LINE)}" text-anchor="middle" class="strong">${l}</text>`);
    });
  }
  for (const p of ps) {
    for (const at of [top, bottom]) {
      svg.rect(p.x - p.width / 2, at, p.width, boxHeight, 'box');
      const first = at + (boxHeight - p.lines.length * LINE) / 2 + FONT;
      svg.text(p.x, first, p.lines, 'middle', ' class="strong"');
    }
  }
  const style = [
    `text{font-family:${FONT_FAMILY};font-size:${FONT}px;fill:#1f2328}`,
    '.title{font-size:15px;font-weight:bold}',
    '.strong{font-weight:bold}',
    '.box{fill:#eef3fb;stroke:#3d5a80;stroke-width:1.2}',
    '.life{stroke:#8c959f;stroke-width:1;stroke-dasharray:4 4}',
    '.msg{stroke:#1f2328;stroke-width:1.2;fill:none}',
    '.dashed{stroke-dasharray:6 4}',
    '.head{fill:#1f2328}',
    '.note{fill:#fff8c5;stroke:#bf8700;stroke-width:1}',
    '.divider{stroke:#57606a;stroke-width:1}',
    '.divider-label{fill:#ffffff;stroke:#57606a;stroke-width:1}',
  ].join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fmt(width)}" height="${fmt(height)}" viewBox="0 0 ${fmt(width)} ${fmt(height)}">`,
    `<style>${style}</style>`,
    `<rect x="0" y="0" width="${fmt(width)}" height="${fmt(height)}" fill="#ffffff"/>`,
    ...svg.parts,
    '</svg>',
    '',
  ].join('\n');
}
