/**
 * The shape every message-throughput scenario shares: publishers start, run `warmupS`
 * unmeasured, then `durationS` measured; they stop, and the run waits (bounded) for the
 * subscribers to receive what is still in the broker before counting loss. A ticker wakes the
 * publishers regularly so deadlines are seen and fixed-rate credit grows.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Meter, deadlineIn, settle, type Window } from '../lib/measure.js';
import type { Publisher, Signal } from '../lib/publisher.js';
import type { ScenarioContext } from './types.js';

export interface DriveOptions {
  publishers: readonly Publisher[];
  signal: Signal;
  /** Units of work done so far (deliveries, completed flows). */
  count(): number;
  /** A second counter read at the same instants (QoS: deliveries beside completed flows). */
  secondary?: () => number;
  /** True when everything sent has arrived (or completed). */
  caughtUp(): boolean;
  /** Ticker period; 1 ms for fixed-rate publishers. */
  tickMs?: number;
}

export interface Driven {
  window: Window;
  /** Units counted inside the measured window. */
  units: number;
  /** The secondary counter's units inside the window (0 without one). */
  secondaryUnits: number;
  /** Whether the subscribers caught up after the publishers stopped. */
  caughtUp: boolean;
}

/** Publisher deadline slack past the measured window: a bound, never reached in a normal run. */
const DEADLINE_SLACK_S = 2;

export async function drive(ctx: ScenarioContext, options: DriveOptions): Promise<Driven> {
  const { warmupS, durationS } = ctx.settings;
  const ticker = setInterval(() => options.signal.notify(), options.tickMs ?? 20);
  try {
    const deadline = deadlineIn(warmupS + durationS + DEADLINE_SLACK_S);
    const runs = options.publishers.map((p) => p.run(deadline));
    await sleep(warmupS * 1000);
    const meter = new Meter(ctx.broker.pid);
    const c0 = options.count();
    const s0 = options.secondary?.() ?? 0;
    meter.start();
    await sleep(durationS * 1000);
    const c1 = options.count();
    const s1 = options.secondary?.() ?? 0;
    const window = meter.stop();
    for (const p of options.publishers) p.stop();
    await Promise.all(runs);
    const caughtUp = await settle(options.caughtUp, options.count);
    return { window, units: c1 - c0, secondaryUnits: s1 - s0, caughtUp };
  } finally {
    clearInterval(ticker);
  }
}
