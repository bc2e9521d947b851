/** What every scenario gets and gives back. */
import type { RunningBroker } from '../lib/broker-process.js';

export interface Settings {
  /** Measured seconds per scenario run. */
  durationS: number;
  /** Seconds of load before measuring. */
  warmupS: number;
  /** Smaller populations (connections, subscribers) for a smoke run. */
  quick: boolean;
  /** PUBLISH payload size in bytes (at least the 16-byte generator header). */
  payloadBytes: number;
  /**
   * Seconds the connections scenario leaves its idle-memory broker alone, once before its
   * connections (the baseline) and once after them. Absent from results saved before it existed.
   */
  idleSettleS: number;
}

export interface ScenarioContext {
  broker: RunningBroker;
  settings: Settings;
  /** One progress line on stderr. */
  log(message: string): void;
  /**
   * Stops {@link broker} and starts another the same way, for a round that needs a process
   * nothing has run on yet; the run stops the new one at its end.
   */
  relaunch(): Promise<RunningBroker>;
}

/** Which way is good; `n/a` for context rows (how much CPU each side used). */
export type Better = 'higher' | 'lower' | 'n/a';

/** One row of the table. */
export interface FigureDef {
  key: string;
  label: string;
  better: Better;
  /** How to print it. */
  format: 'rate' | 'percent' | 'us' | 'mib' | 'kib' | 'seconds' | 'count' | 'share';
}

export interface ScenarioOutcome {
  /** The table's figures, by {@link FigureDef.key}. */
  figures: Record<string, number>;
  /** Everything else worth keeping in the raw JSON. */
  details: Record<string, unknown>;
}

export interface Scenario {
  id: string;
  /** The table's label, which names the populations used. */
  title(settings: Settings): string;
  figures: readonly FigureDef[];
  /** Seconds a run may take beyond warm-up, measured time and the usual slack (waits it is told to make). */
  extraBoundS?(settings: Settings): number;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}

/** Broker CPU per unit of work, in µs. */
export function cpuMicrosPer(cpuSeconds: number, units: number): number {
  return units > 0 ? (cpuSeconds * 1e6) / units : NaN;
}

/** Figures every message scenario adds: broker CPU per message and the generator's CPU share. */
export const CPU_FIGURE: FigureDef = { key: 'cpuUsPerMsg', label: 'broker CPU µs/msg', better: 'lower', format: 'us' };
