/**
 * Latency at a fixed 2,000 msg/s: one QoS 0 publisher stamps `process.hrtime.bigint()` into
 * each payload as it writes it, one subscriber reads the clock as it parses the delivery, both
 * in the generator (one clock). The figure includes both ends' socket work and the generator's
 * event-loop delay, which is the same for every broker.
 */
import { Publisher, Signal } from '../lib/publisher.js';
import { SeqTracker } from '../lib/tracker.js';
import { assertHealthy } from '../lib/measure.js';
import { PublishTemplate } from '../lib/wire.js';
import { percentile } from '../lib/stats.js';
import { MAX_MESSAGES_PER_PUBLISHER, closeAll, connect, runTag } from './common.js';
import { drive } from './drive.js';
import { CPU_FIGURE, cpuMicrosPer, type Scenario, type ScenarioContext, type ScenarioOutcome } from './types.js';

export const LATENCY_RATE = 2_000;
/** The publisher never runs more than this far ahead of the subscriber, even when the broker stalls. */
const WINDOW = 1_000;

async function runLatency(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const tag = runTag();
  const topic = `bench/${tag}/latency`;
  const sub = await connect(ctx, `latency-sub-${tag}`);
  const clients = [sub];
  try {
    await sub.subscribe([topic], 0);
    const pubClient = await connect(ctx, `latency-pub-${tag}`);
    clients.push(pubClient);
    const tracker = new SeqTracker(1);
    const signal = new Signal();
    // Bounded store: the measured window at the fixed rate, with room for a late tail.
    const samples = new Float64Array(Math.ceil(LATENCY_RATE * (ctx.settings.durationS + ctx.settings.warmupS + 3)) + 1_000);
    let sampleCount = 0;
    let recording = false;
    sub.wantTime = true;
    sub.onPublish = (view) => {
      tracker.record(view.publisher, view.seq);
      if (recording && view.sentAt !== 0n && sampleCount < samples.length) {
        samples[sampleCount++] = Number(process.hrtime.bigint() - view.sentAt) / 1_000;
      }
    };
    let started = 0n;
    const publisher: Publisher = new Publisher({
      client: pubClient,
      templates: [new PublishTemplate(topic, 0, ctx.settings.payloadBytes)],
      index: 0,
      signal,
      stamp: true,
      maxMessages: MAX_MESSAGES_PER_PUBLISHER,
      credit: (): number => {
        if (started === 0n) started = process.hrtime.bigint();
        const due = Math.floor((Number(process.hrtime.bigint() - started) / 1e9) * LATENCY_RATE) - publisher.sent;
        return Math.min(due, WINDOW - (publisher.sent - tracker.reached(0)));
      },
    });
    const warmupTimer = setTimeout(() => (recording = true), ctx.settings.warmupS * 1000);
    const run = await drive(ctx, {
      publishers: [publisher],
      signal,
      tickMs: 1,
      count: () => tracker.unique,
      caughtUp: () => tracker.unique >= publisher.sent,
    });
    clearTimeout(warmupTimer);
    assertHealthy(clients);
    const sorted = samples.slice(0, sampleCount).sort();
    return {
      figures: {
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        max: sampleCount > 0 ? sorted[sampleCount - 1]! : NaN,
        rate: run.units / run.window.seconds,
        loss: publisher.sent > 0 ? (publisher.sent - tracker.unique) / publisher.sent : NaN,
        cpuUsPerMsg: cpuMicrosPer(run.window.brokerCpuSeconds, run.units),
      },
      details: { window: run.window, sent: publisher.sent, unique: tracker.unique, samples: sampleCount, caughtUp: run.caughtUp },
    };
  } finally {
    await closeAll(clients);
  }
}

export const latency: Scenario = {
  id: 'latency',
  title: () => `latency: 1 publisher at ${LATENCY_RATE.toLocaleString('en-US')} msg/s → 1 subscriber, QoS 0`,
  figures: [
    { key: 'p50', label: 'p50 µs', better: 'lower', format: 'us' },
    { key: 'p99', label: 'p99 µs', better: 'lower', format: 'us' },
    { key: 'max', label: 'max µs', better: 'lower', format: 'us' },
    { key: 'rate', label: 'msg/s delivered', better: 'higher', format: 'rate' },
    { key: 'loss', label: 'loss', better: 'lower', format: 'percent' },
    CPU_FIGURE,
  ],
  run: runLatency,
};
