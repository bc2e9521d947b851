/**
 * The one table a run prints (Markdown, so it can go straight into docs/performance.md): each
 * figure per broker (the median over repeats), and Weft's ratio to each other broker.
 */
import type { BrokerName } from './broker-process.js';
import type { FigureDef, Scenario, Settings } from '../scenarios/types.js';

/** What the table knows about one broker in one scenario (`generatorShare`: the highest of its runs). */
export type Cell = { figures: Record<string, number>; generatorShare: number } | { error: string } | { unavailable: string };

export function formatFigure(value: number, format: FigureDef['format']): string {
  if (!Number.isFinite(value)) return '–';
  switch (format) {
    case 'rate':
      return Math.round(value).toLocaleString('en-US');
    case 'percent':
      return `${(value * 100).toFixed(value === 0 ? 0 : 2)}%`;
    case 'us':
      return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
    case 'mib':
    case 'kib':
      return value.toFixed(1);
    case 'seconds':
    case 'share':
      return value.toFixed(2);
    case 'count':
      return Math.round(value).toLocaleString('en-US');
  }
}

/** Weft's figure over another's; none when the other's shows as zero (a quotient of noise). */
export function formatRatio(weft: number, other: number, format: FigureDef['format']): string {
  if (!Number.isFinite(weft) || !Number.isFinite(other) || Number.parseFloat(formatFigure(other, format).replace(/,/g, '')) === 0) return '–';
  return `${(weft / other).toFixed(2)}×`;
}

/** Marks a figure the generator may have limited (it used ≥ 90 % of its one core). */
export const GENERATOR_BOUND_MARK = '†';
export const GENERATOR_BOUND_SHARE = 0.9;

export function renderTable(scenarios: readonly Scenario[], settings: Settings, brokers: readonly BrokerName[], cells: Map<string, Cell>): string {
  const others = brokers.filter((b) => b !== 'weft');
  const withRatios = brokers.includes('weft') ? others : [];
  const header = ['scenario', 'figure', 'better', ...brokers, ...withRatios.map((b) => `weft/${b}`)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`];
  for (const scenario of scenarios) {
    // The mark goes on the scenario's first throughput row, the figure a busy generator would cap.
    const markRow = Math.max(0, scenario.figures.findIndex((f) => f.format === 'rate'));
    scenario.figures.forEach((figure, row) => {
      const values: string[] = [];
      const numbers = new Map<BrokerName, number>();
      for (const broker of brokers) {
        const cell = cells.get(`${scenario.id}/${broker}`);
        if (cell === undefined) values.push('not run');
        else if ('unavailable' in cell) values.push('unavailable');
        else if ('error' in cell) values.push('error');
        else {
          const value = cell.figures[figure.key] ?? NaN;
          numbers.set(broker, value);
          const bound = row === markRow && cell.generatorShare >= GENERATOR_BOUND_SHARE ? GENERATOR_BOUND_MARK : '';
          values.push(formatFigure(value, figure.format) + bound);
        }
      }
      const ratios = withRatios.map((b) => (figure.better === 'n/a' ? '–' : formatRatio(numbers.get('weft') ?? NaN, numbers.get(b) ?? NaN, figure.format)));
      lines.push(`| ${row === 0 ? scenario.title(settings) : ''} | ${figure.label} | ${figure.better === 'n/a' ? '–' : figure.better} | ${[...values, ...ratios].join(' | ')} |`);
    });
  }
  return lines.join('\n');
}
