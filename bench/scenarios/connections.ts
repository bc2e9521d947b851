/**
 * Connections: open N connections (2,000; 200 with --quick), each CONNECT + SUBSCRIBE to its own
 * topic, at most 50 being set up at once. Figures: the time to set them all up, and the broker's
 * memory and CPU per connection (RSS after the last SUBACK and a short settle, minus RSS before
 * the first connection). The broker's CPU while idle, with no client and then with every
 * connection open and silent, shows work a broker does when nothing happens (polling, timers).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { GenClient } from '../lib/gen-client.js';
import { Meter, assertHealthy, eachLimited } from '../lib/measure.js';
import { cpuSeconds } from '../lib/proc.js';
import { closeAll, connect, runTag } from './common.js';
import { cpuMicrosPer, type Scenario, type ScenarioContext, type ScenarioOutcome } from './types.js';

const CONCURRENT_SETUPS = 50;
const SETTLE_MS = 500;
const IDLE_MS = 1_000;

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

async function runConnections(ctx: ScenarioContext): Promise<ScenarioOutcome> {
  const n = connectionCount(ctx.settings.quick);
  const tag = runTag();
  const clients: GenClient[] = [];
  try {
    await sleep(SETTLE_MS);
    const idleEmpty = await idleShare(ctx.broker.pid, IDLE_MS);
    const meter = new Meter(ctx.broker.pid);
    meter.start();
    const t0 = process.hrtime.bigint();
    await eachLimited(
      Array.from({ length: n }, (_, i) => i),
      CONCURRENT_SETUPS,
      async (i) => {
        const client = await connect(ctx, `conn-${i}-${tag}`);
        clients.push(client);
        await client.subscribe([`bench/${tag}/conn/${i}`], 0);
      },
    );
    const setupSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await sleep(SETTLE_MS);
    const window = meter.stop();
    const idleConnected = await idleShare(ctx.broker.pid, IDLE_MS);
    assertHealthy(clients);
    return {
      figures: {
        setupSeconds,
        rate: n / setupSeconds,
        rssKiBPerConn: (window.rssEndKiB - window.rssStartKiB) / n,
        cpuUsPerConn: cpuMicrosPer(window.brokerCpuSeconds, n),
        idleEmpty,
        idleConnected,
      },
      details: { window, connections: n, concurrentSetups: CONCURRENT_SETUPS },
    };
  } finally {
    await closeAll(clients);
  }
}

export const connections: Scenario = {
  id: 'connections',
  title: (s) => `connections: ${connectionCount(s.quick).toLocaleString('en-US')} clients with one subscription each`,
  figures: [
    { key: 'setupSeconds', label: 'set-up time s', better: 'lower', format: 'seconds' },
    { key: 'rate', label: 'connections/s', better: 'higher', format: 'rate' },
    { key: 'rssKiBPerConn', label: 'broker RSS KiB/connection', better: 'lower', format: 'kib' },
    { key: 'cpuUsPerConn', label: 'broker CPU µs/connection', better: 'lower', format: 'us' },
    { key: 'idleEmpty', label: 'broker idle CPU, no clients', better: 'lower', format: 'percent' },
    { key: 'idleConnected', label: 'broker idle CPU, all connected', better: 'lower', format: 'percent' },
  ],
  run: runConnections,
};
