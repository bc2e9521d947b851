/**
 * The read side of the shared trie: one thread's matcher, with its own scratch buffers and
 * caches so a match allocates little beyond the answer array. Runs inside a read (see shared-lock.ts): no writer is active,
 * so plain loads see a consistent structure (the writer's last stores happen-before the
 * mutex release this reader's entry synchronised with). Loops are bounded anyway, by the
 * configured depth and the table sizes, so a bug cannot hang a reader.
 */
import type { Views } from './shared-arena.js';
import {
  edgeHash,
  EDGE_WORDS,
  FLAG_HAS_ID,
  FLAG_MULTI,
  FLAG_NO_LOCAL,
  FLAG_RAP,
  G,
  H,
  N,
  V,
  VEC_CAP,
  VEC_COUNT,
  VEC_HEAD,
  VEC_STAMP,
} from './shared-layout.js';
import type { Delivery, QoS } from './types.js';

const EMPTY_IDS: readonly number[] = Object.freeze([]);

function newOutgoing(session: number, flags: number, id: number): Outgoing {
  return new Outgoing(session, (flags & 3) as QoS, (flags & FLAG_RAP) !== 0, (flags & FLAG_HAS_ID) !== 0 ? [id] : EMPTY_IDS);
}

/** A delivery while the answer is being built; callers see it as the readonly Delivery. */
interface MutableDelivery {
  session: number;
  qos: QoS;
  retainAsPublished: boolean;
  subscriptionIds: readonly number[];
  shareGroup?: string;
}

/** An ordinary delivery: a class, so every one shares a shape V8 allocates inline. */
class Outgoing implements MutableDelivery {
  constructor(
    public session: number,
    public qos: QoS,
    public retainAsPublished: boolean,
    public subscriptionIds: readonly number[],
  ) {}
}

/** Vectors shorter than this are read directly; a list lookup would cost more. */
const LIST_MIN = 4;

/** A vector's reusable deliveries (see Matcher.#lists). */
interface VectorList {
  readonly stamp: number;
  /** deliveries of entries without FLAG_MULTI or No Local: copied into answers as they are */
  readonly singles: readonly Delivery[];
  /** single-subscription deliveries of FLAG_MULTI entries (no No Local): folded by session */
  readonly multis: readonly Delivery[];
  /** offsets (from the vector) of No Local entries, processed one by one */
  readonly others: readonly number[];
}

interface CacheEntry {
  version: number;
  deliveries: readonly Delivery[];
}

export class Matcher {
  #levelStart: Int32Array;
  #levelEnd: Int32Array;
  #levelHash: Int32Array;
  #stack: Int32Array;
  // Per-match accumulation: `#out` is the answer being built; an open-addressing table maps a
  // session to its delivery's index in it. Slots are stamped with the match number so
  // clearing the table costs nothing.
  #slotKey = new Int32Array(1024);
  #slotStamp = new Int32Array(1024);
  #slotIndex = new Int32Array(1024);
  /** 1 when the delivery at that slot is this answer's own object (may be merged into) */
  #slotOwned = new Uint8Array(1024);
  #stamp = 0;
  #ordinary = 0;
  #out: (MutableDelivery | Delivery)[] = [];
  /** indices of deliveries holding several subscription ids (to sort) */
  #manyIds: number[] = [];
  #cacheable = true;
  readonly #cache = new Map<string, CacheEntry>();

  // Thread-local delivery lists per subscription vector (of LIST_MIN entries or more), keyed by
  // the vector's word index and valid while its stamp is unchanged: prebuilt deliveries of its
  // entries without No Local, copied into answers as they are (or, for a session with several
  // subscriptions, copied before a merge). Deliveries are shared between answers, which the
  // contract forbids callers to mutate. Bounded by `reuseSize` deliveries; cleared when full.
  readonly #lists = new Map<number, VectorList>();
  #listed = 0;
  /** VERSION when the caches were last emptied. */
  #epoch = 0;

  constructor(
    readonly views: Views,
    readonly maxLevels: number,
    readonly cacheSize: number,
    readonly reuseSize: number,
  ) {
    this.#levelStart = new Int32Array(maxLevels + 1);
    this.#levelEnd = new Int32Array(maxLevels + 1);
    this.#levelHash = new Int32Array(maxLevels + 1);
    this.#stack = new Int32Array(2 * (maxLevels + 4));
  }

  /** Matches `topic` for `publisher`; call only inside a read. */
  match(topic: string, publisher: number): readonly Delivery[] {
    this.views.refresh();
    const m = this.views.i32;
    const version = m[H.VERSION]!;
    // Versions and stamps are 32-bit and wrap: forget everything cached long before a value
    // could come round again, so an old (vector, stamp) or (topic, version) can never match.
    if ((version - this.#epoch) >>> 0 > 0x40000000) {
      this.#epoch = version;
      this.#cache.clear();
      this.#lists.clear();
      this.#listed = 0;
    }
    if (this.cacheSize > 0) {
      const hit = this.#cache.get(topic);
      if (hit !== undefined && hit.version === version) return hit.deliveries;
    }
    const levels = this.#split(topic);
    this.#ordinary = 0;
    this.#cacheable = true;
    if (++this.#stamp === 0x7fffffff) {
      this.#stamp = 1;
      this.#slotStamp.fill(0);
    }
    this.#walk(m, topic, levels, publisher);
    const out = this.#deliveries();
    if (this.cacheSize > 0 && this.#cacheable) {
      if (this.#cache.size >= this.cacheSize) this.#cache.clear();
      this.#cache.set(topic, { version, deliveries: out });
    }
    return out;
  }

  /** Splits `topic` into levels (start, end, hash); returns the total level count. */
  #split(topic: string): number {
    const max = this.maxLevels;
    const starts = this.#levelStart;
    const ends = this.#levelEnd;
    const hashes = this.#levelHash;
    let level = 0;
    let start = 0;
    let h = 0x811c9dc5 | 0;
    const len = topic.length;
    for (let i = 0; i < len; i++) {
      const c = topic.charCodeAt(i);
      if (c === 0x2f) {
        if (level < max) {
          starts[level] = start;
          ends[level] = i;
          hashes[level] = h;
        }
        level++;
        start = i + 1;
        h = 0x811c9dc5 | 0;
      } else {
        h = Math.imul(h ^ c, 0x01000193);
      }
    }
    if (level < max) {
      starts[level] = start;
      ends[level] = len;
      hashes[level] = h;
    }
    return level + 1;
  }

  #walk(m: Int32Array, topic: string, levels: number, publisher: number): void {
    const stack = this.#stack;
    const stackCap = stack.length;
    const dollar = topic.charCodeAt(0) === 0x24;
    const depthLimit = Math.min(levels, this.maxLevels);
    const table = m[H.EDGE_TABLE]!;
    const mask = m[H.EDGE_CAP]! - 1;
    const u = this.views.u16;
    let sp = 0;
    stack[sp++] = m[H.ROOT]!;
    stack[sp++] = 0;
    while (sp > 0) {
      const depth = stack[--sp]!;
      const node = stack[--sp]!;
      // [MQTT-4.7.2-1] wildcards at the first level do not match topics starting with '$'.
      const wild = !(dollar && depth === 0);
      const hashChild = m[node + N.HASH_CHILD]!;
      if (depth === levels) {
        this.#collect(m, node, publisher);
        // '#' also matches the parent level [MQTT-4.7.1-2]: 'a/#' matches 'a'.
        if (hashChild !== 0) this.#collect(m, hashChild, publisher);
        continue;
      }
      if (hashChild !== 0 && wild) this.#collect(m, hashChild, publisher);
      if (depth >= depthLimit || sp + 4 > stackCap) continue;
      const plus = m[node + N.PLUS]!;
      if (plus !== 0 && wild) {
        stack[sp++] = plus;
        stack[sp++] = depth + 1;
      }
      if (m[node + N.CHILDREN]! > (plus !== 0 ? 1 : 0) + (hashChild !== 0 ? 1 : 0)) {
        const child = this.#edge(m, u, table, mask, node, topic, depth);
        if (child !== 0) {
          stack[sp++] = child;
          stack[sp++] = depth + 1;
        }
      }
    }
  }

  #edge(m: Int32Array, u: Uint16Array, table: number, mask: number, parent: number, topic: string, depth: number): number {
    const h = this.#levelHash[depth]!;
    const from = this.#levelStart[depth]!;
    const len = this.#levelEnd[depth]! - from;
    for (let i = edgeHash(parent, h) & mask, probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
      const e = table + i * EDGE_WORDS;
      const p = m[e]!;
      if (p === 0) return 0;
      if (p !== parent || m[e + 1] !== h) continue;
      const child = m[e + 2]!;
      if ((m[child + N.META]! & 0xffff) !== len) continue;
      const b = (child + N.UNITS) * 2;
      let k = 0;
      while (k < len && u[b + k] === topic.charCodeAt(from + k)) k++;
      if (k === len) return child;
    }
    return 0;
  }

  /** One vector entry `e` of an ordinary subscription. */
  #entry(m: Int32Array, e: number, publisher: number): void {
    const session = m[e]!;
    const flags = m[e + V.FLAGS]!;
    if ((flags & FLAG_NO_LOCAL) !== 0) {
      this.#cacheable = false;
      // [MQTT-3.8.3-3] No Local: never back to the publishing session.
      if (session === publisher) return;
    }
    // Without FLAG_MULTI this is the session's only ordinary subscription: nothing folds into it.
    if ((flags & FLAG_MULTI) === 0) this.#out.push(newOutgoing(session, flags, m[e + V.ID]!));
    else this.#fold(session, flags & 3, (flags & FLAG_RAP) !== 0, (flags & FLAG_HAS_ID) !== 0 ? m[e + V.ID]! : 0, undefined);
  }

  #collect(m: Int32Array, node: number, publisher: number): void {
    const vec = m[node + N.SUBS]!;
    if (vec !== 0) {
      const count = Math.min(m[vec + VEC_COUNT]!, m[vec + VEC_CAP]!);
      const list = count >= LIST_MIN ? this.#list(m, vec, count) : undefined;
      if (list !== undefined) {
        const out = this.#out;
        const singles = list.singles;
        for (let k = 0; k < singles.length; k++) out.push(singles[k]!);
        const multis = list.multis;
        for (let k = 0; k < multis.length; k++) {
          const d = multis[k]!;
          this.#fold(d.session, d.qos, d.retainAsPublished, d.subscriptionIds.length > 0 ? d.subscriptionIds[0]! : 0, d);
        }
        const others = list.others;
        for (let k = 0; k < others.length; k++) this.#entry(m, vec + others[k]!, publisher);
      } else {
        for (let e = vec + VEC_HEAD, end = e + count * V.WORDS; e < end; e += V.WORDS) this.#entry(m, e, publisher);
      }
    }
    let groups = m[H.GROUP_COUNT]!;
    for (let g = m[node + N.GROUPS]!; g !== 0 && groups-- > 0; g = m[g + G.NEXT]!) {
      this.#cacheable = false;
      const members = m[g + G.MEMBERS]!;
      const count = members === 0 ? 0 : Math.min(m[members + VEC_COUNT]!, m[members + VEC_CAP]!);
      if (count <= 0) continue;
      // One member per message, round-robin over the group [MQTT-4.8.2]; the cursor is the only
      // word readers write, with Atomics.add so concurrent readers pick different members.
      const k = (Atomics.add(m, g + G.CURSOR, 1) >>> 0) % count;
      const e = members + VEC_HEAD + k * V.WORDS;
      const flags = m[e + V.FLAGS]!;
      this.#out.push({
        session: m[e + V.SESSION]!,
        qos: (flags & 3) as QoS,
        retainAsPublished: (flags & FLAG_RAP) !== 0,
        subscriptionIds: (flags & FLAG_HAS_ID) !== 0 ? [m[e + V.ID]!] : EMPTY_IDS,
        shareGroup: this.#groupName(g),
      });
    }
  }

  #groupName(g: number): string {
    const m = this.views.i32;
    const u = this.views.u16;
    const len = m[g + G.LENGTH]!;
    const b = (g + G.UNITS) * 2;
    let s = '';
    for (let k = 0; k < len; k++) s += String.fromCharCode(u[b + k]!);
    return s;
  }

  /** The thread-local list for vector `vec`, (re)built if its stamp moved; undefined if not worth it. */
  #list(m: Int32Array, vec: number, count: number): VectorList | undefined {
    const stamp = m[vec + VEC_STAMP]!;
    const known = this.#lists.get(vec);
    if (known !== undefined && known.stamp === stamp) return known;
    if (count > this.reuseSize) return undefined;
    if (this.#listed + count > this.reuseSize) {
      this.#lists.clear();
      this.#listed = 0;
    }
    const singles: Delivery[] = [];
    const multis: Delivery[] = [];
    const others: number[] = [];
    for (let e = vec + VEC_HEAD, end = e + count * V.WORDS; e < end; e += V.WORDS) {
      const flags = m[e + V.FLAGS]!;
      if ((flags & FLAG_NO_LOCAL) !== 0) others.push(e - vec);
      else if ((flags & FLAG_MULTI) === 0) singles.push(newOutgoing(m[e]!, flags, m[e + V.ID]!));
      else multis.push(newOutgoing(m[e]!, flags, m[e + V.ID]!));
    }
    const list: VectorList = { stamp, singles, multis, others };
    if (known !== undefined) this.#listed -= known.singles.length + known.multis.length;
    this.#lists.set(vec, list);
    this.#listed += singles.length + multis.length;
    return list;
  }

  /**
   * Folds a matching subscription of a session holding several (qos, rap, subscription id or 0)
   * into that session's delivery. `cached` is the subscription's prebuilt delivery from a
   * vector list: used as is when the session has no other match here, copied before any merge.
   */
  #fold(session: number, qos: number, rap: boolean, id: number, cached: Delivery | undefined): void {
    let keys = this.#slotKey;
    if (this.#ordinary * 2 >= keys.length) {
      this.#growScratch();
      keys = this.#slotKey;
    }
    const mask = keys.length - 1;
    const stamps = this.#slotStamp;
    const stamp = this.#stamp;
    let i = (Math.imul(session, 0x9e3779b1) >>> 0) & mask;
    while (stamps[i] === stamp) {
      if (keys[i] === session) {
        this.#merge(i, qos, rap, id);
        return;
      }
      i = (i + 1) & mask;
    }
    stamps[i] = stamp;
    keys[i] = session;
    const out = this.#out;
    this.#slotIndex[i] = out.length;
    this.#slotOwned[i] = cached === undefined ? 1 : 0;
    this.#ordinary++;
    out.push(cached ?? new Outgoing(session, qos as QoS, rap, id !== 0 ? [id] : EMPTY_IDS));
  }

  /**
   * A session's second (or later) matching subscription [MQTT-3.3.4-2], [MQTT-3.3.4-3]. Its
   * identifier is added even when an earlier subscription of the session carried the same value:
   * the one copy carries the identifiers "for all matching subscriptions" [MQTT-3.3.4-4], so a
   * value repeats once per subscription that has it (MQTT 5.0 section 3.3.4: "multiple identical
   * Subscription Identifiers").
   */
  #merge(slot: number, qos: number, rap: boolean, id: number): void {
    const index = this.#slotIndex[slot]!;
    let d = this.#out[index] as MutableDelivery;
    if (this.#slotOwned[slot] === 0) {
      // a shared prebuilt delivery: merge into this answer's own copy
      d = new Outgoing(d.session, d.qos, d.retainAsPublished, d.subscriptionIds === EMPTY_IDS ? EMPTY_IDS : [...d.subscriptionIds]);
      this.#out[index] = d;
      this.#slotOwned[slot] = 1;
    }
    if (qos > d.qos) d.qos = qos as QoS;
    if (rap) d.retainAsPublished = true;
    if (id === 0) return;
    if (d.subscriptionIds === EMPTY_IDS) d.subscriptionIds = [id];
    else {
      (d.subscriptionIds as number[]).push(id);
      if (d.subscriptionIds.length === 2) this.#manyIds.push(index);
    }
  }

  #growScratch(): void {
    const cap = this.#slotKey.length * 2;
    const oldKeys = this.#slotKey;
    const oldStamps = this.#slotStamp;
    const oldIndex = this.#slotIndex;
    const oldOwned = this.#slotOwned;
    this.#slotKey = new Int32Array(cap);
    this.#slotStamp = new Int32Array(cap);
    this.#slotIndex = new Int32Array(cap);
    this.#slotOwned = new Uint8Array(cap);
    const mask = cap - 1;
    for (let j = 0; j < oldKeys.length; j++) {
      if (oldStamps[j] !== this.#stamp) continue;
      let i = (Math.imul(oldKeys[j]!, 0x9e3779b1) >>> 0) & mask;
      while (this.#slotStamp[i] === this.#stamp) i = (i + 1) & mask;
      this.#slotStamp[i] = this.#stamp;
      this.#slotKey[i] = oldKeys[j]!;
      this.#slotIndex[i] = oldIndex[j]!;
      this.#slotOwned[i] = oldOwned[j]!;
    }
  }

  /**
   * Hands over the answer: ids ascending (their order is not significant [MQTT-3.3.4-4]; sorted so
   * that an answer does not depend on the walk's order), repeats kept, scratch reset. Sorting in
   * place is safe: `#manyIds` only holds this answer's own deliveries (`#merge` copies a shared
   * prebuilt one before adding an id), and nothing here touches shared memory.
   */
  #deliveries(): readonly Delivery[] {
    const out = this.#out;
    const many = this.#manyIds;
    for (let k = 0; k < many.length; k++) (out[many[k]!]!.subscriptionIds as number[]).sort((a, b) => a - b);
    many.length = 0;
    this.#out = [];
    return out;
  }
}
