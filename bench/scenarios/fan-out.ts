/**
 * Fan-out: 1 QoS 0 publisher → 50 QoS 0 subscribers of one topic, at a steady rate that every
 * broker should sustain (the figures of merit are CPU per delivery and memory) and at a
 * saturating rate (the publisher may run at most `WINDOW` messages ahead of the slowest
 * subscriber). Deliveries are counted at the subscribers.
 */
import { Publisher, Signal } from '../lib/publisher.js';
import { SeqTracker } from '../lib/tracker.js';
import { assertHealthy } from '../lib/measure.js';
import { PublishTemplate } from '../lib/wire.js';
import type { GenClient } from '../lib/gen-client.js';
import { MAX_MESSAGES_PER_PUBLISHER, closeAll, connect, runTag } from './common.js';
import { drive } from './drive.js';
import { cpuMicrosPer, type Scenario, type ScenarioContext, type ScenarioOutcome } from './types.js';

const SUBSCRIBERS = 50;
const WINDOW = 1_000;
/** Messages per second from the publisher in the steady run (× 50 deliveries). */
export const STEADY_RATE = 1_000;

async function runFanOut(ctx: ScenarioContext, rate: number | null): Promise<ScenarioOutcome> {
  const tag = runTag();
  const topic = `bench/${tag}/fan-out`;
  const clients: GenClient[] = [];
  try {
    const signal = new Signal();
    const trackers: SeqTracker[] = [];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const sub = await connect(ctx, `fanout-sub-${i}-${tag}`);
      clients.push(sub);
      await sub.subscribe([topic], 0);
      const tracker = new SeqTracker(1);
      trackers.push(tracker);
      sub.onPublish = (view) => tracker.record(view.publisher, view.seq);
      sub.onChunk = () => signal.notify();
    }
    const pubClient = await connect(ctx, `fanout-pub-${tag}`);
    clients.push(pubClient);
    const slowest = () => {
      let min = Infinity;
      for (const t of trackers) min = Math.min(min, t.reached(0));
      return min;
    };
    let started = 0n;
    const credit: () => number =
      rate === null
        ? () => WINDOW - (publisher.sent - slowest())
        : () => {
            if (started === 0n) started = process.hrtime.bigint();
            const due = Math.floor((Number(process.hrtime.bigint() - started) / 1e9) * rate) - publisher.sent;
            return Math.min(due, WINDOW - (publisher.sent - slowest()));
          };
    const publisher: Publisher = new Publisher({
      client: pubClient,
      templates: [new PublishTemplate(topic, 0, ctx.settings.payloadBytes)],
      index: 0,
      signal,
      maxMessages: MAX_MESSAGES_PER_PUBLISHER,
      // Saturating: refill in batches; steady: send what is due as it falls due.
      minBatch: rate === null ? 16 : 1,
      credit,
    });
    const delivered = () => trackers.reduce((n, t) => n + t.unique, 0);
    const run = await drive(ctx, {
      publishers: [publisher],
      signal,
      tickMs: rate === null ? 20 : 1,
      count: delivered,
      caughtUp: () => delivered() >= publisher.sent * SUBSCRIBERS,
    });
    assertHealthy(clients);
    const expected = publisher.sent * SUBSCRIBERS;
    const total = delivered();
    return {
      figures: {
        rate: run.units / run.window.seconds,
        loss: expected > 0 ? (expected - total) / expected : NaN,
        cpuUsPerMsg: cpuMicrosPer(run.window.brokerCpuSeconds, run.units),
        rssPeakMiB: run.window.rssPeakKiB / 1024,
      },
      details: {
        window: run.window,
        sent: publisher.sent,
        expected,
        delivered: total,
        duplicates: trackers.reduce((n, t) => n + t.duplicates, 0),
        caughtUp: run.caughtUp,
        subscribers: SUBSCRIBERS,
        rate,
      },
    };
  } finally {
    await closeAll(clients);
  }
}

const figures = [
  { key: 'rate', label: 'deliveries/s', better: 'higher', format: 'rate' },
  { key: 'loss', label: 'loss', better: 'lower', format: 'percent' },
  { key: 'cpuUsPerMsg', label: 'broker CPU µs/delivery', better: 'lower', format: 'us' },
  { key: 'rssPeakMiB', label: 'broker RSS peak MiB', better: 'lower', format: 'mib' },
] as const;

export const fanOutSteady: Scenario = {
  id: 'fan-out-steady',
  title: () => `fan-out steady: 1 publisher at ${STEADY_RATE.toLocaleString('en-US')} msg/s → ${SUBSCRIBERS} subscribers`,
  figures,
  run: (ctx) => runFanOut(ctx, STEADY_RATE),
};

export const fanOutMax: Scenario = {
  id: 'fan-out-max',
  title: () => `fan-out saturating: 1 publisher → ${SUBSCRIBERS} subscribers`,
  figures,
  run: (ctx) => runFanOut(ctx, null),
};
