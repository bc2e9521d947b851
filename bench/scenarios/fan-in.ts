/**
 * Fan-in: 8 QoS 0 publishers → 1 QoS 0 subscriber on one topic. Each publisher may run at most
 * `WINDOW` messages ahead of what the subscriber has received from it (by sequence number, so a
 * lost message does not stall it): this measures the rate the broker sustains, not how much it
 * can buffer. Loss and duplicates are counted over the whole run.
 */
import { Publisher, Signal } from '../lib/publisher.js';
import { SeqTracker } from '../lib/tracker.js';
import { assertHealthy } from '../lib/measure.js';
import { PublishTemplate } from '../lib/wire.js';
import { MAX_MESSAGES_PER_PUBLISHER, closeAll, connect, runTag } from './common.js';
import { drive } from './drive.js';
import { CPU_FIGURE, cpuMicrosPer, type Scenario, type ScenarioContext } from './types.js';

const PUBLISHERS = 8;
const WINDOW = 1_000;
const MIN_BATCH = 16;

export async function runFanIn(ctx: ScenarioContext) {
  const tag = runTag();
  const topic = `bench/${tag}/fan-in`;
  const sub = await connect(ctx, `fanin-sub-${tag}`);
  const clients = [sub];
  try {
    await sub.subscribe([topic], 0);
    const pubClients = [];
    for (let i = 0; i < PUBLISHERS; i++) pubClients.push(await connect(ctx, `fanin-pub-${i}-${tag}`));
    clients.push(...pubClients);
    const tracker = new SeqTracker(PUBLISHERS);
    const signal = new Signal();
    sub.onPublish = (view) => tracker.record(view.publisher, view.seq);
    sub.onChunk = () => signal.notify();
    const template = new PublishTemplate(topic, 0, ctx.settings.payloadBytes);
    const publishers: Publisher[] = pubClients.map(
      (client, index) =>
        new Publisher({
          client,
          templates: [template],
          index,
          signal,
          maxMessages: MAX_MESSAGES_PER_PUBLISHER,
          minBatch: MIN_BATCH,
          credit: (): number => WINDOW - (publishers[index]!.sent - tracker.reached(index)),
        }),
    );
    const sent = () => publishers.reduce((n, p) => n + p.sent, 0);
    const run = await drive(ctx, {
      publishers,
      signal,
      count: () => tracker.unique,
      caughtUp: () => tracker.unique >= sent(),
    });
    assertHealthy(clients);
    const total = sent();
    return {
      figures: {
        rate: run.units / run.window.seconds,
        loss: total > 0 ? (total - tracker.unique) / total : NaN,
        duplicates: tracker.duplicates,
        cpuUsPerMsg: cpuMicrosPer(run.window.brokerCpuSeconds, run.units),
      },
      details: { window: run.window, sent: total, received: tracker.received, unique: tracker.unique, caughtUp: run.caughtUp, publishers: PUBLISHERS, creditWindow: WINDOW },
    };
  } finally {
    await closeAll(clients);
  }
}

export const fanIn: Scenario = {
  id: 'fan-in',
  title: () => `fan-in: ${PUBLISHERS} QoS 0 publishers → 1 subscriber`,
  figures: [
    { key: 'rate', label: 'msg/s delivered', better: 'higher', format: 'rate' },
    { key: 'loss', label: 'loss', better: 'lower', format: 'percent' },
    { key: 'duplicates', label: 'duplicates', better: 'lower', format: 'count' },
    CPU_FIGURE,
  ],
  run: runFanIn,
};
