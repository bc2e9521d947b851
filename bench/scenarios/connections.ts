/**
 * Connections: open N connections (2,000; 200 with --quick), each CONNECT + SUBSCRIBE to its own
 * topic, at most 50 being set up at once. Figures: the time to set them all up, and the broker's
 * memory and CPU per connection (RSS after the last SUBACK and a short settle, minus RSS before
 * the first connection); then the same again after closing them all, for a broker past its
 * warm-up (the other scenarios have a warm-up second before they measure). The broker's CPU while idle, with no client and then with every
 * connection open and silent, shows work a broker does when nothing happens (polling, timers).
 *
 * Last, memory per idle connection on another fresh broker process: RSS after N connections have
 * stayed idle for the settle period minus RSS after the process, with no connection, stayed idle
 * for the same period. The short settle of the first rounds measures what a burst costs, which
 * for a Node broker includes young generations grown during it and garbage not yet collected;
 * V8 gives such memory back only once the process has been idle for a while (its memory reducer
 * waits ~8 s after the last full collection, and then again if the heap was not idle). It does
 * the same to a process that has only started: a fresh Weft's RSS falls by ~11 MiB ~8 s after
 * start with no client at all (aedes' by ~3 MiB), so the baseline settles too, or that fall would
 * count as memory the connections gave back. The settle is a fixed period, not "until RSS is
 * stable": RSS is flat for seconds before the reducer acts, so a stability rule would stop before
 * the fall it is there to wait for.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { GenClient } from '../lib/gen-client.js';
import { Meter, assertHealthy, eachLimited } from '../lib/measure.js';
import { cpuSeconds, rssKiB } from '../lib/proc.js';
import { closeAll, connect, runTag } from './common.js';
import { cpuMicrosPer, type Scenario, type ScenarioContext, type ScenarioOutcome } from './types.js';

const CONCURRENT_SETUPS = 50;
const SETTLE_MS = 500;
const IDLE_MS = 1_000;
/** How often an idle settle reads the broker's RSS (the readings go into the details). */
const RSS_SAMPLE_MS = 1_000;

/** Share of one core the broker uses over `ms` of doing nothing asked of it. */
async function idleShare(pid: number, ms: number): Promise<number> {
  const cpu0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  return (cpuSeconds(pid) - cpu0) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export function connectionCount(quick: boolean): number {
  return quick ? 200 : 2_000;
}

/** The broker's RSS in KiB every second over `seconds`, ending with a reading at `seconds`: the last is the figure. */
async function rssOver(pid: number, seconds: number): Promise<number[]> {
  const end = Date.now() + seconds * 1000;
  const readings = [rssKiB(pid)];
  for (let left = end - Date.now(); left > 0; left = end - Date.now()) {
    await sleep(Math.min(RSS_SAMPLE_MS, left));
    readings.push(rssKiB(pid));
  }
  return readings;
}

/** Opens `n` clients (each CONNECT + SUBSCRIBE to its own topic), 50 at a time; returns the seconds it took. */
async function openAll(ctx: ScenarioContext, n: number, name: string, clients: GenClient[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  await eachLimited(
    Array.from({ length: n }, (_, i) => i),
    CONCURRENT_SETUPS,
    async (i) => {
      const client = await connect(ctx, `${name}-${i}`);
      clients.push(client);
      await client.subscribe([`bench/${name}/${i}`], 0);
    },
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Opens `n` clients inside a measuring window (closed after a settle): set-up time, CPU and RSS per connection. */
async function measuredRound(ctx: ScenarioContext, n: number, name: string, clients: GenClient[]) {
  const meter = new Meter(ctx.broker.pid);
  meter.start();
  const setupSeconds = await openAll(ctx, n, name, clients);
  await sleep(SETTLE_MS);
  const window = meter.stop();
  assertHealthy(clients);
  return {
    setupSeconds,
    window,
    rssKiBPerConn: (window.rssEndKiB - window.rssStartKiB) / n,
    cpuUsPerConn: cpuMicrosPer(window.brokerCpuSeconds, n),
  };
}

/**
 * On a broker process started for it: RSS per connection once `n` connections have stayed idle
 * for the settle period, against the process's RSS after the same idle period with none.
 */
async function idleRound(ctx: ScenarioContext, n: number, name: string) {
  const broker = await ctx.relaunch();
  const clients: GenClient[] = [];
  try {
    const beforeKiB = await rssOver(broker.pid, ctx.settings.idleSettleS);
    await openAll({ ...ctx, broker }, n, name, clients);
    const idleKiB = await rssOver(broker.pid, ctx.settings.idleSettleS);
    assertHealthy(clients);
    return { rssKiBPerConn: (idleKiB.at(-1)! - beforeKiB.at(-1)!) / n, beforeKiB, idleKiB };
  } finally {
    await closeAll(clients);
  }
}

async function runConnections(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const n = connectionCount(ctx.settings.quick);
  const tag = runTag();
  let clients: GenClient[] = [];
  try {
    await sleep(SETTLE_MS);
    const idleEmpty = await idleShare(ctx.broker.pid, IDLE_MS);
    // First round: a fresh broker process, so a JIT-compiled broker also pays its warm-up here.
    const fresh = await measuredRound(ctx, n, `conn-${tag}`, clients);
    const idleConnected = await idleShare(ctx.broker.pid, IDLE_MS);
    // Second round, after the first is closed: what the same connections cost a broker that has
    // run for a while (code compiled, heap grown): the steady state of a long-lived broker.
    await closeAll(clients);
    clients = [];
    await sleep(SETTLE_MS);
    const again = await measuredRound(ctx, n, `again-${tag}`, clients);
    await closeAll(clients);
    clients = [];
    const idle = await idleRound(ctx, n, `idle-${tag}`);
    return {
      figures: {
        setupSeconds: fresh.setupSeconds,
        rate: n / fresh.setupSeconds,
        rssKiBPerConn: fresh.rssKiBPerConn,
        cpuUsPerConn: fresh.cpuUsPerConn,
        idleEmpty,
        idleConnected,
        setupSecondsAgain: again.setupSeconds,
        rssKiBPerConnAgain: again.rssKiBPerConn,
        cpuUsPerConnAgain: again.cpuUsPerConn,
        rssKiBPerConnIdle: idle.rssKiBPerConn,
      },
      details: {
        window: fresh.window,
        windowAgain: again.window,
        // RSS readings (KiB, one a second) of the idle round's broker, without and with the connections.
        idleRss: { settleS: ctx.settings.idleSettleS, beforeKiB: idle.beforeKiB, connectedKiB: idle.idleKiB },
        connections: n,
        concurrentSetups: CONCURRENT_SETUPS,
      },
    };
  } finally {
    await closeAll(clients);
  }
}

export const connections: Scenario = {
  id: 'connections',
  title: (s) =>
    `connections: ${connectionCount(s.quick).toLocaleString('en-US')} clients with one subscription each` +
    (s.idleSettleS === undefined ? '' : `; idle: after ${s.idleSettleS} s idle, on another fresh broker`),
  figures: [
    { key: 'setupSeconds', label: 'set-up time s', better: 'lower', format: 'seconds' },
    { key: 'rate', label: 'connections/s', better: 'higher', format: 'rate' },
    { key: 'rssKiBPerConn', label: 'broker RSS KiB/connection', better: 'lower', format: 'kib' },
    { key: 'cpuUsPerConn', label: 'broker CPU µs/connection', better: 'lower', format: 'us' },
    { key: 'idleEmpty', label: 'broker idle CPU, no clients', better: 'lower', format: 'percent' },
    { key: 'idleConnected', label: 'broker idle CPU, all connected', better: 'lower', format: 'percent' },
    { key: 'setupSecondsAgain', label: 'again, after closing them: set-up time s', better: 'lower', format: 'seconds' },
    { key: 'rssKiBPerConnAgain', label: 'again: broker RSS KiB/connection', better: 'lower', format: 'kib' },
    { key: 'cpuUsPerConnAgain', label: 'again: broker CPU µs/connection', better: 'lower', format: 'us' },
    { key: 'rssKiBPerConnIdle', label: 'broker RSS KiB/connection, idle', better: 'lower', format: 'kib' },
  ],
  // Two idle settles, and a second broker's start-up.
  extraBoundS: (s) => 2 * s.idleSettleS + 20,
  run: runConnections,
};
