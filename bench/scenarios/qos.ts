/**
 * QoS 1 and QoS 2: one publisher with a window of 100 flows in flight, one subscriber at the
 * same QoS acknowledging every delivery (PUBACK; PUBREC then PUBCOMP). The headline figure is
 * flows completed at the publisher per second (PUBACK / PUBCOMP received); deliveries at the
 * subscriber in the same window are shown beside it, since a broker may acknowledge the
 * publisher faster than it delivers (and then queue or drop). Every message must reach
 * the subscriber (MQTT 3.1.1 §4.3.2, §4.3.3); what has not after the bounded wait counts as lost.
 */
import { Publisher, Signal } from '../lib/publisher.js';
import { SeqTracker } from '../lib/tracker.js';
import { assertHealthy } from '../lib/measure.js';
import { PublishTemplate } from '../lib/wire.js';
import { MAX_MESSAGES_PER_PUBLISHER, closeAll, connect, runTag } from './common.js';
import { drive } from './drive.js';
import { CPU_FIGURE, cpuMicrosPer, type Scenario, type ScenarioContext, type ScenarioOutcome } from './types.js';

const IN_FLIGHT = 100;
/** The window is refilled once at least this many flows have completed. */
const REFILL = 25;

async function runQos(ctx: ScenarioContext, qos: 1 | 2): Promise<ScenarioOutcome> {
  const tag = runTag();
  const topic = `bench/${tag}/qos${qos}`;
  const sub = await connect(ctx, `qos${qos}-sub-${tag}`);
  const clients = [sub];
  try {
    await sub.subscribe([topic], qos);
    const pubClient = await connect(ctx, `qos${qos}-pub-${tag}`);
    clients.push(pubClient);
    const tracker = new SeqTracker(1);
    const signal = new Signal();
    sub.onPublish = (view) => tracker.record(view.publisher, view.seq);
    const publisher = new Publisher({
      client: pubClient,
      templates: [new PublishTemplate(topic, qos, ctx.settings.payloadBytes)],
      index: 0,
      signal,
      window: IN_FLIGHT,
      batch: IN_FLIGHT,
      minBatch: REFILL,
      maxMessages: MAX_MESSAGES_PER_PUBLISHER,
      credit: () => Infinity,
    });
    const run = await drive(ctx, {
      publishers: [publisher],
      signal,
      count: () => publisher.completed,
      secondary: () => tracker.unique,
      caughtUp: () => publisher.inFlight === 0 && tracker.unique >= publisher.sent,
    });
    assertHealthy(clients);
    return {
      figures: {
        rate: run.units / run.window.seconds,
        delivered: run.secondaryUnits / run.window.seconds,
        loss: publisher.sent > 0 ? (publisher.sent - tracker.unique) / publisher.sent : NaN,
        duplicates: tracker.duplicates,
        cpuUsPerMsg: cpuMicrosPer(run.window.brokerCpuSeconds, run.units),
      },
      details: {
        window: run.window,
        sent: publisher.sent,
        completed: publisher.completed,
        strayAcks: publisher.strayAcks,
        received: tracker.received,
        unique: tracker.unique,
        caughtUp: run.caughtUp,
        inFlight: IN_FLIGHT,
      },
    };
  } finally {
    await closeAll(clients);
  }
}

function qosScenario(qos: 1 | 2): Scenario {
  return {
    id: `qos${qos}`,
    title: () => `QoS ${qos}: 1 publisher (${IN_FLIGHT} in flight) → 1 subscriber at QoS ${qos}`,
    figures: [
      { key: 'rate', label: 'completed/s (at the publisher)', better: 'higher', format: 'rate' },
      { key: 'delivered', label: 'delivered/s (at the subscriber)', better: 'higher', format: 'rate' },
      { key: 'loss', label: 'undelivered', better: 'lower', format: 'percent' },
      { key: 'duplicates', label: 'duplicates', better: 'lower', format: 'count' },
      CPU_FIGURE,
    ],
    run: (ctx) => runQos(ctx, qos),
  };
}

export const qos1 = qosScenario(1);
export const qos2 = qosScenario(2);
