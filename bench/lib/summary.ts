/**
 * Turns the raw results of a run (what `bench/results/*.json` holds) into the report: medians
 * over repeats, the comparison table, the thread-scaling table, and the lines that say on what
 * machine, when, and under what load. `run.ts` prints it at the end of a run; `report.ts`
 * prints it again from a saved file.
 */
import type { BrokerName } from './broker-process.js';
import type { CpuPlan } from './cpus.js';
import type { Window } from './measure.js';
import { GENERATOR_BOUND_MARK, GENERATOR_BOUND_SHARE, renderTable, type Cell } from './report.js';
import { median } from './stats.js';
import { SCENARIOS } from '../scenarios/index.js';
import type { FigureDef, Scenario, Settings } from '../scenarios/types.js';

/** One scenario run against one broker. */
export interface RunRecord {
  scenario: string;
  broker: BrokerName;
  threads?: number;
  repeat: number;
  version?: string;
  figures?: Record<string, number>;
  details?: Record<string, unknown>;
  error?: string;
  unavailable?: string;
}

/** The JSON file a run writes. */
export interface ResultsFile {
  startedAt: string;
  finishedAt: string;
  machine: { cpuModel: string; cpus: number; memoryGiB: number; node: string; kernel: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  cpuPlan: CpuPlan;
  settings: Settings & { repeat: number; scenarios: string[]; brokers: BrokerName[]; threads: number[] };
  versions: Partial<Record<BrokerName, string>>;
  unavailable: Partial<Record<BrokerName, string>>;
  runs: RunRecord[];
  report?: string;
}

/** Rows every scenario gets from its measured window: how much of a core each side used. */
const SHARE_FIGURES: readonly FigureDef[] = [
  { key: 'brokerShare', label: 'broker CPU used (1.00 = one core)', better: 'n/a', format: 'share' },
  { key: 'generatorShare', label: 'generator CPU used (1.00 = its core)', better: 'n/a', format: 'share' },
];

function windowOf(run: RunRecord): Window | undefined {
  return run.details?.window as Window | undefined;
}

/** A run's figure, including the CPU shares derived from its window. */
function figureOf(run: RunRecord, key: string): number {
  const window = windowOf(run);
  if (key === 'brokerShare') return window ? window.brokerCpuSeconds / window.seconds : NaN;
  if (key === 'generatorShare') return window ? window.generatorCpuSeconds / window.seconds : NaN;
  return run.figures?.[key] ?? NaN;
}

function withShares(scenario: Scenario): Scenario {
  return { ...scenario, figures: [...scenario.figures, ...SHARE_FIGURES] };
}

const fmtLoad = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(' ');

export function summarize(results: ResultsFile): string {
  const scenarios = SCENARIOS.filter((s) => results.settings.scenarios.includes(s.id)).map(withShares);
  const brokers = results.settings.brokers;
  const cells = new Map<string, Cell>();
  for (const scenario of scenarios) {
    for (const name of brokers) {
      const mine = results.runs.filter((r) => r.scenario === scenario.id && r.broker === name && r.threads === undefined);
      const ok = mine.filter((r) => r.figures !== undefined);
      if (ok.length > 0) {
        const figures: Record<string, number> = {};
        for (const f of scenario.figures) figures[f.key] = median(ok.map((r) => figureOf(r, f.key)));
        cells.set(`${scenario.id}/${name}`, { figures, generatorShare: Math.max(...ok.map((r) => figureOf(r, 'generatorShare')).filter(Number.isFinite), 0) });
      } else if (mine.some((r) => r.unavailable !== undefined)) {
        cells.set(`${scenario.id}/${name}`, { unavailable: mine.find((r) => r.unavailable)!.unavailable! });
      } else if (mine.length > 0) {
        cells.set(`${scenario.id}/${name}`, { error: mine.find((r) => r.error)?.error ?? 'no result' });
      }
    }
  }

  const { machine, cpuPlan: plan, settings } = results;
  const tookS = Math.round((Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000);
  const lines: string[] = [
    `Weft broker benchmark — ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${machine.cpuModel}, ${machine.cpus} CPUs, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}`,
    `brokers: ${brokers.map((b) => results.versions[b] ?? (results.unavailable[b] !== undefined ? `${b} (unavailable)` : b)).join(', ')}`,
    `${plan.note ?? `brokers pinned to CPU ${plan.broker}, generator to CPU ${plan.generator}`}; ${settings.warmupS} s warm-up + ${settings.durationS} s measured per run, ${settings.repeat} run(s) each (medians), payload ${settings.payloadBytes} B${settings.quick ? ', quick populations' : ''}`,
    `load average at start ${fmtLoad(machine.loadAverageAtStart)}, at end ${fmtLoad(machine.loadAverageAtEnd)}; took ${tookS} s`,
    '',
    renderTable(scenarios, settings, brokers, cells),
    '',
    `${GENERATOR_BOUND_MARK} in at least one run of that cell the generator used ≥ ${GENERATOR_BOUND_SHARE * 100}% of its core: the figure may be the generator's limit, not the broker's.`,
  ];
  for (const [name, reason] of Object.entries(results.unavailable)) lines.push(`${name} unavailable: ${reason}`);
  for (const [key, cell] of cells) if ('error' in cell) lines.push(`${key} error: ${cell.error}`);

  if (settings.threads.length > 0) {
    lines.push('', `Weft fan-in throughput by session threads (broker CPU set: ${plan.broker ?? 'all'})`);
    if (plan.cpus <= 2) {
      lines.push(`This machine has ${plan.cpus} CPUs and the broker gets ${plan.broker === null ? 'all of them' : 'one'}: threads cannot add throughput here; run this on a machine with more cores.`);
    }
    lines.push('', '| threads | msg/s | × first | broker CPU µs/msg | broker CPU used |', '|---:|---:|---:|---:|---:|');
    let first = NaN;
    for (const threads of settings.threads) {
      const mine = results.runs.filter((r) => r.threads === threads);
      const ok = mine.filter((r) => r.figures !== undefined);
      if (ok.length === 0) {
        lines.push(`| ${threads} | ${mine.some((r) => r.unavailable !== undefined) ? 'unavailable' : 'error'} | – | – | – |`);
        continue;
      }
      const rate = median(ok.map((r) => figureOf(r, 'rate')));
      if (Number.isNaN(first)) first = rate;
      lines.push(
        `| ${threads} | ${Math.round(rate).toLocaleString('en-US')} | ${(rate / first).toFixed(2)}× | ${median(ok.map((r) => figureOf(r, 'cpuUsPerMsg'))).toFixed(2)} | ${median(ok.map((r) => figureOf(r, 'brokerShare'))).toFixed(2)} |`,
      );
    }
  }
  return lines.join('\n');
}
