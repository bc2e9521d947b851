/**
 * Stress worker: mixed subscribe / unsubscribe / removeSession / match on the shared register,
 * for sessions this worker alone owns, mirrored into a local ReferenceRegister. Every match is
 * checked: deliveries to this worker's sessions must equal the mirror's (no other thread
 * writes them); deliveries to other sessions must name a session some worker owns.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ReferenceRegister } from '../../src/register/reference-register.js';
import { SharedRegister, type SharedRegisterHandle } from '../../src/register/shared-register.js';
import { topicMatches } from '../../src/register/topic.js';
import type { Delivery, QoS, StoredSubscription } from '../../src/register/types.js';

export interface StressJob {
  handle: SharedRegisterHandle;
  owner: number;
  index: number;
  workers: number;
  ops: number;
  seed: number;
}

export interface StressResult {
  final: [number, StoredSubscription[]][];
  errors: string[];
  counts: Record<string, number>;
}

export const SESSIONS_PER_WORKER = 8;
export const LEVELS = ['a', 'b', 'c', ''];
const FILTER_LEVELS = [...LEVELS, '+'];

export function sessionsOf(index: number): number[] {
  return Array.from({ length: SESSIONS_PER_WORKER }, (_, k) => index * 100 + k + 1);
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ordinaryOf(ds: readonly Delivery[], mine: Set<number>): unknown[] {
  return ds
    .filter((d) => d.shareGroup === undefined && mine.has(d.session))
    .map((d) => ({ ...d, subscriptionIds: [...d.subscriptionIds] }))
    .sort((a, b) => a.session - b.session);
}

async function run(job: StressJob): Promise<StressResult> {
  const rnd = prng(job.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const shared = SharedRegister.attach(job.handle, { owner: job.owner, resultCacheSize: 64 });
  const mirror = new ReferenceRegister();
  const sessions = sessionsOf(job.index);
  const mine = new Set(sessions);
  const errors: string[] = [];
  const counts: Record<string, number> = { subscribe: 0, unsubscribe: 0, removeSession: 0, match: 0, waited: 0 };
  const filter = (): string => {
    const depth = 1 + Math.floor(rnd() * 3);
    const levels = Array.from({ length: depth }, () => pick(FILTER_LEVELS));
    if (rnd() < 0.2) levels.push('#');
    const f = levels.join('/') || '/';
    return rnd() < 0.15 ? `$share/${pick(['g', 'h'])}/${f}` : f;
  };
  const topic = (): string => Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(LEVELS)).join('/') || 'a';
  for (let i = 0; i < job.ops; i++) {
    const r = rnd();
    const session = pick(sessions);
    if (r < 0.3) {
      const f = filter();
      const options = { qos: Math.floor(rnd() * 3) as QoS, subscriptionId: 1 + Math.floor(rnd() * 4) };
      const got = await shared.subscribe(session, f, options);
      const want = await mirror.subscribe(session, f, options);
      if (got.isNew !== want.isNew) errors.push(`subscribe ${session} ${f}: isNew ${got.isNew}, expected ${want.isNew}`);
      counts.subscribe!++;
    } else if (r < 0.4) {
      const own = mirror.subscriptionsOf(session);
      const f = own.length > 0 && rnd() < 0.8 ? pick(own).filter : filter();
      const got = await shared.unsubscribe(session, f);
      const want = await mirror.unsubscribe(session, f);
      if (got !== want) errors.push(`unsubscribe ${session} ${f}: ${got}, expected ${want}`);
      counts.unsubscribe!++;
    } else if (r < 0.42) {
      const got = await shared.removeSession(session);
      const want = await mirror.removeSession(session);
      if (got !== want) errors.push(`removeSession ${session}: ${got}, expected ${want}`);
      counts.removeSession!++;
    } else {
      const t = topic();
      const publisher = rnd() < 0.5 ? 0 : session;
      let ds = shared.tryMatch(t, publisher);
      if (ds === undefined) {
        counts.waited!++;
        ds = await shared.match(t, publisher);
      }
      const want = ordinaryOf(mirror.tryMatch(t, publisher), mine);
      const got = ordinaryOf(ds, mine);
      if (JSON.stringify(got) !== JSON.stringify(want)) errors.push(`match ${t}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      for (const d of ds) {
        const group = d.shareGroup;
        const owner = Math.floor((d.session - 1) / 100);
        if (owner < 0 || owner >= job.workers || (d.session - 1) % 100 >= SESSIONS_PER_WORKER) errors.push(`match ${t}: unknown session ${d.session}`);
        if (group !== undefined && mine.has(d.session)) {
          const member = mirror
            .subscriptionsOf(d.session)
            .some((s) => s.filter.startsWith(`$share/${group}/`) && topicMatches(s.filter.slice(8 + group.length), t));
          if (!member) errors.push(`match ${t}: ${d.session} is not in a matching group ${group}`);
        }
      }
      counts.match!++;
    }
    if (errors.length > 5) break;
  }
  return { final: sessions.map((s) => [s, mirror.subscriptionsOf(s)]), errors, counts };
}

if (parentPort !== null && workerData !== null) {
  parentPort.postMessage(await run(workerData as StressJob));
}
