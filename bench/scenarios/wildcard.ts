/**
 * Wildcard-heavy routing: 10,000 subscriptions with `+`/`#` filters (2,000 with --quick), 50 per
 * connection on 200 connections, and one QoS 0 publisher cycling over topics `w/<a>/<b>/<c>`.
 *
 * Each connection holds filters of one shape, `w/x/y/+`, `w/x/+/y`, `w/+/x/y` or `w/x/y/#`, with
 * distinct (x, y), so no two filters of one connection match the same topic: the number of
 * deliveries each topic must produce is known exactly (one per matching filter, whatever a
 * broker does with overlapping subscriptions [MQTT-3.3.5-1]), and loss can be counted.
 */
import type { GenClient } from '../lib/gen-client.js';
import { Publisher, Signal } from '../lib/publisher.js';
import { SeqTracker } from '../lib/tracker.js';
import { assertHealthy, eachLimited } from '../lib/measure.js';
import { PublishTemplate } from '../lib/wire.js';
import { MAX_MESSAGES_PER_PUBLISHER, closeAll, connect, runTag } from './common.js';
import { drive } from './drive.js';
import { cpuMicrosPer, type Scenario, type ScenarioContext, type ScenarioOutcome } from './types.js';

const FILTERS_PER_CONNECTION = 50;
/** Values per topic level: topics are w/0..49/0..49/0..49. */
const SIDE = 50;
const TOPICS = 500;
const WINDOW = 1_000;
const SHAPES = 4;

export function wildcardConnections(quick: boolean): number {
  return quick ? 40 : 200;
}

/** The filter of `shape` for pair (x, y). */
function filterOf(tag: string, shape: number, x: number, y: number): string {
  switch (shape) {
    case 0:
      return `w/${tag}/${x}/${y}/+`;
    case 1:
      return `w/${tag}/${x}/+/${y}`;
    case 2:
      return `w/${tag}/+/${x}/${y}`;
    default:
      return `w/${tag}/${x}/${y}/#`;
  }
}

/** Deterministic topic picks (mulberry32), so every broker routes the same traffic. */
function topics(count: number): [number, number, number][] {
  let s = 0x5eed;
  const next = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return Array.from({ length: count }, () => [Math.floor(next() * SIDE), Math.floor(next() * SIDE), Math.floor(next() * SIDE)]);
}

async function runWildcard(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const tag = runTag();
  const connCount = wildcardConnections(ctx.settings.quick);
  // Pairs (x, y) in use per shape: pair p is (p % SIDE, floor(p / SIDE)).
  const pairsPerShape = new Array<number>(SHAPES).fill(0);
  const plan: { shape: number; filters: string[] }[] = [];
  for (let j = 0; j < connCount; j++) {
    const shape = j % SHAPES;
    const filters: string[] = [];
    for (let m = 0; m < FILTERS_PER_CONNECTION; m++) {
      const p = pairsPerShape[shape]!++;
      filters.push(filterOf(tag, shape, p % SIDE, Math.floor(p / SIDE)));
    }
    plan.push({ shape, filters });
  }
  const has = (shape: number, x: number, y: number) => y * SIDE + x < pairsPerShape[shape]!;
  const picks = topics(TOPICS);
  // Matches per topic: shape 0 and 3 on (a, b), shape 1 on (a, c), shape 2 on (b, c).
  const matches = picks.map(([a, b, c]) => Number(has(0, a, b)) + Number(has(1, a, c)) + Number(has(2, b, c)) + Number(has(3, a, b)));
  const prefix = [0];
  for (const m of matches) prefix.push(prefix[prefix.length - 1]! + m);
  const perCycle = prefix[TOPICS]!;
  const expectedFor = (sent: number) => Math.floor(sent / TOPICS) * perCycle + prefix[sent % TOPICS]!;

  const clients: GenClient[] = [];
  try {
    const signal = new Signal();
    const trackers: SeqTracker[] = [];
    let frontier = 0;
    const t0 = process.hrtime.bigint();
    await eachLimited(plan, 20, async (entry, j) => {
      const client = await connect(ctx, `wild-${j}-${tag}`);
      clients.push(client);
      await client.subscribe(entry.filters, 0, 1);
      const tracker = new SeqTracker(1);
      trackers.push(tracker);
      client.onPublish = (view) => {
        tracker.record(view.publisher, view.seq);
        if (view.seq >= frontier) frontier = view.seq + 1;
      };
      client.onChunk = () => signal.notify();
    });
    const setupSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const pubClient = await connect(ctx, `wild-pub-${tag}`);
    clients.push(pubClient);
    const publisher: Publisher = new Publisher({
      client: pubClient,
      templates: picks.map(([a, b, c]) => new PublishTemplate(`w/${tag}/${a}/${b}/${c}`, 0, ctx.settings.payloadBytes)),
      index: 0,
      signal,
      maxMessages: MAX_MESSAGES_PER_PUBLISHER,
      minBatch: 16,
      // The furthest sequence number any subscriber has seen is where the broker has got to.
      credit: (): number => WINDOW - (publisher.sent - frontier),
    });
    const delivered = () => trackers.reduce((n, t) => n + t.unique, 0);
    const run = await drive(ctx, {
      publishers: [publisher],
      signal,
      count: delivered,
      caughtUp: () => delivered() >= expectedFor(publisher.sent),
    });
    assertHealthy(clients);
    const expected = expectedFor(publisher.sent);
    const total = delivered();
    const routed = run.units / (perCycle / TOPICS);
    return {
      figures: {
        setupSeconds,
        rate: routed / run.window.seconds,
        deliveries: run.units / run.window.seconds,
        loss: expected > 0 ? (expected - total) / expected : NaN,
        cpuUsPerMsg: cpuMicrosPer(run.window.brokerCpuSeconds, routed),
        rssPeakMiB: run.window.rssPeakKiB / 1024,
      },
      details: {
        window: run.window,
        subscriptions: connCount * FILTERS_PER_CONNECTION,
        connections: connCount,
        topics: TOPICS,
        deliveriesPerMessage: perCycle / TOPICS,
        sent: publisher.sent,
        expected,
        delivered: total,
        duplicates: trackers.reduce((n, t) => n + t.duplicates, 0),
        caughtUp: run.caughtUp,
      },
    };
  } finally {
    await closeAll(clients);
  }
}

export const wildcard: Scenario = {
  id: 'wildcard',
  title: (s) => {
    const conns = wildcardConnections(s.quick);
    return `wildcard routing: ${(conns * FILTERS_PER_CONNECTION).toLocaleString('en-US')} \`+\`/\`#\` subscriptions (${conns} connections × ${FILTERS_PER_CONNECTION}), 1 publisher`;
  },
  figures: [
    { key: 'setupSeconds', label: 'subscribe set-up s', better: 'lower', format: 'seconds' },
    { key: 'rate', label: 'msg/s routed', better: 'higher', format: 'rate' },
    { key: 'deliveries', label: 'deliveries/s', better: 'higher', format: 'rate' },
    { key: 'loss', label: 'loss', better: 'lower', format: 'percent' },
    { key: 'cpuUsPerMsg', label: 'broker CPU µs/msg routed', better: 'lower', format: 'us' },
    { key: 'rssPeakMiB', label: 'broker RSS peak MiB', better: 'lower', format: 'mib' },
  ],
  run: runWildcard,
};
