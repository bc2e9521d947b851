/**
 * Seeded filters and topics for the register benchmark: a topic tree a few levels deep with a
 * vocabulary per level, filters a mix of exact (60 %), `+` (25 %) and `#` (15 %) filters.
 */

import { SharedRegister } from '../src/register/shared-register.js';

/** Small fast seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS_PER_LEVEL = [20, 50, 100, 100, 50];

function word(level: number, k: number): string {
  return `${['site', 'building', 'device', 'sensor', 'reading'][level]}${k}`;
}

/** `count` filters, deterministic for a seed. */
export function makeFilters(count: number, seed = 1): string[] {
  const rnd = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const depth = 3 + Math.floor(rnd() * 3);
    const kind = rnd();
    const levels: string[] = [];
    for (let l = 0; l < depth; l++) levels.push(word(l, Math.floor(rnd() * WORDS_PER_LEVEL[l]!)));
    if (kind < 0.25) levels[1 + Math.floor(rnd() * (depth - 1))] = '+';
    else if (kind < 0.4) levels.length = 1 + Math.floor(rnd() * (depth - 1)), levels.push('#');
    out.push(levels.join('/'));
  }
  return out;
}

/** `count` topic names from the same tree. */
export function makeTopics(count: number, seed = 2): string[] {
  const rnd = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const depth = 3 + Math.floor(rnd() * 3);
    const levels: string[] = [];
    for (let l = 0; l < depth; l++) levels.push(word(l, Math.floor(rnd() * WORDS_PER_LEVEL[l]!)));
    out.push(levels.join('/'));
  }
  return out;
}

/** A register holding `filters`, filter i subscribed by session `i / perSession + 1`. */
export async function build(filters: string[], perSession: number): Promise<SharedRegister> {
  const register = SharedRegister.create({ owner: 1, maxBytes: 256 * 1024 * 1024, resultCacheSize: 0, deliveryReuseSize: 0 });
  for (let i = 0; i < filters.length; i++) await register.subscribe(Math.floor(i / perSession) + 1, filters[i]!, { qos: 1 });
  return register;
}

