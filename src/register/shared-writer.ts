/**
 * The write side of the shared trie: creating and pruning nodes, linking subscriptions into
 * their node (or shared group) list and their session's list, and the two open-addressing
 * tables (edges, sessions). Runs only in the thread holding the writer mutex, with no reader
 * inside (see shared-lock.ts), so plain loads and stores suffice; every store into existing
 * memory goes through `arena.set` so the write can be rolled back.
 */
import type { Arena } from './shared-arena.js';
import {
  edgeHash,
  EDGE_WORDS,
  FLAG_MULTI,
  FLAG_SHARED,
  G,
  V,
  VEC_CAP,
  VEC_COUNT,
  VEC_HEAD,
  VEC_STAMP,
  H,
  hashUnits,
  KIND_EXACT,
  KIND_HASH,
  KIND_PLUS,
  N,
  S,
  sessionHash,
  SESSION_WORDS,
} from './shared-layout.js';
import { RegisterFullError } from './types.js';

/** Words of a node or group record holding `units` code units after `fixed` words. */
function recordWords(fixed: number, units: number): number {
  return fixed + ((units + 1) >>> 1);
}

export class TrieWriter {
  constructor(readonly arena: Arena) {}

  get #m(): Int32Array {
    return this.arena.views.i32;
  }

  // ---- reading helpers (also used by subscriptionsOf) ----

  /** Compares the code units stored at word `at` (length `len`) with `s[from..to)`. */
  unitsEqual(at: number, len: number, s: string, from: number, to: number): boolean {
    if (len !== to - from) return false;
    const u = this.arena.views.u16;
    const b = at * 2;
    for (let k = 0; k < len; k++) if (u[b + k] !== s.charCodeAt(from + k)) return false;
    return true;
  }

  /** The exact child of `parent` for level `s[from..to)` with hash `h`, or 0. */
  findEdge(parent: number, s: string, from: number, to: number, h: number): number {
    const m = this.#m;
    const table = m[H.EDGE_TABLE]!;
    const mask = m[H.EDGE_CAP]! - 1;
    for (let i = edgeHash(parent, h) & mask, probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
      const e = table + i * EDGE_WORDS;
      const p = m[e]!;
      if (p === 0) return 0;
      if (p === parent && m[e + 1] === h) {
        const child = m[e + 2]!;
        if (this.unitsEqual(child + N.UNITS, m[child + N.META]! & 0xffff, s, from, to)) return child;
      }
    }
    return 0;
  }

  /** The node of `filter`, creating missing levels when `create`; 0 when absent. */
  walk(filter: string, create: boolean): number {
    const a = this.arena;
    let node = this.#m[H.ROOT]!;
    let from = 0;
    for (;;) {
      let to = filter.indexOf('/', from);
      if (to < 0) to = filter.length;
      const len = to - from;
      const c = len === 1 ? filter.charCodeAt(from) : 0;
      if (c === 0x2b /* + */ || c === 0x23 /* # */) {
        const field = c === 0x2b ? N.PLUS : N.HASH_CHILD;
        let child = this.#m[node + field]!;
        if (child === 0) {
          if (!create) return 0;
          child = this.#newNode(node, c === 0x2b ? KIND_PLUS : KIND_HASH, filter, from, to, 0);
          a.set(node + field, child);
          a.set(node + N.CHILDREN, this.#m[node + N.CHILDREN]! + 1);
        }
        node = child;
      } else {
        const h = hashUnits(filter, from, to);
        let child = this.findEdge(node, filter, from, to, h);
        if (child === 0) {
          if (!create) return 0;
          child = this.#newNode(node, KIND_EXACT, filter, from, to, h);
          this.#insertEdge(node, h, child);
          a.set(node + N.CHILDREN, this.#m[node + N.CHILDREN]! + 1);
        }
        node = child;
      }
      if (to === filter.length) return node;
      from = to + 1;
    }
  }

  /** The group named `name` at `node`, or 0. */
  findGroup(node: number, name: string): number {
    const m = this.#m;
    const h = hashUnits(name, 0, name.length);
    for (let g = m[node + N.GROUPS]!; g !== 0; g = m[g + G.NEXT]!) {
      if (m[g + G.HASH] === h && this.unitsEqual(g + G.UNITS, m[g + G.LENGTH]!, name, 0, name.length)) return g;
    }
    return 0;
  }

  /** Head of `session`'s subscription list, or 0. */
  sessionHead(session: number): number {
    const slot = this.#sessionSlot(session);
    return slot < 0 ? 0 : this.#m[slot + 1]!;
  }

  // ---- writes ----

  /**
   * Adds or replaces `session`'s subscription on `filter` (in `group` when shared).
   * Returns true when it is new.
   */
  subscribe(session: number, filter: string, group: string | undefined, flags: number, id: number): boolean {
    const a = this.arena;
    const node = this.walk(filter, true);
    let owner = node;
    if (group !== undefined) {
      owner = this.findGroup(node, group);
      if (owner === 0) owner = this.#newGroup(node, group);
    }
    const field = owner + (group === undefined ? N.SUBS : G.MEMBERS);
    const existing = this.#recordOf(session, owner, field);
    if (existing !== 0) {
      const e = this.entryOf(existing);
      a.set(e + V.FLAGS, flags | (this.#m[e + V.FLAGS]! & FLAG_MULTI));
      a.set(e + V.ID, id);
      this.#touch(this.#vectorOf(existing));
      return false;
    }
    if (group === undefined) {
      const others = this.#ordinaryCount(session, 2);
      if (others > 0) {
        flags |= FLAG_MULTI;
        if (others === 1) this.#markMulti(session, true);
      }
    }
    const max = this.#m[H.MAX_SUBS]!;
    if (this.#m[H.SUB_COUNT]! >= max) throw new RegisterFullError(`the register holds its maximum of ${max} subscriptions`);
    const sub = a.alloc(S.WORDS);
    a.init(sub + S.SESSION, session);
    a.init(sub + S.OWNER, owner);
    a.init(sub + S.KIND, group === undefined ? 0 : FLAG_SHARED);
    const index = this.#append(field, session, flags, id, sub);
    a.init(sub + S.INDEX, index);
    const head = this.sessionHead(session);
    a.init(sub + S.SESSION_NEXT, head);
    if (head !== 0) a.set(head + S.SESSION_PREV, sub);
    this.#setSessionHead(session, sub);
    a.set(H.SUB_COUNT, this.#m[H.SUB_COUNT]! + 1);
    return true;
  }

  /**
   * Ordinary (non-shared) subscriptions `session` holds, counted up to `limit`: callers only
   * tell 0, 1 and more apart, and a full count made each SUBSCRIBE of n filters walk n²/2 records.
   */
  #ordinaryCount(session: number, limit: number): number {
    const m = this.#m;
    let n = 0;
    for (let s = this.sessionHead(session); s !== 0 && n < limit; s = m[s + S.SESSION_NEXT]!) if (m[s + S.KIND] !== FLAG_SHARED) n++;
    return n;
  }

  /** Sets or clears FLAG_MULTI on every ordinary entry of `session`. */
  #markMulti(session: number, on: boolean): void {
    const m = this.#m;
    for (let s = this.sessionHead(session); s !== 0; s = m[s + S.SESSION_NEXT]!) {
      if (m[s + S.KIND] === FLAG_SHARED) continue;
      const e = this.entryOf(s) + V.FLAGS;
      this.arena.set(e, on ? m[e]! | FLAG_MULTI : m[e]! & ~FLAG_MULTI);
      this.#touch(this.#vectorOf(s));
    }
  }

  /** The vector holding subscription record `sub`'s entry. */
  #vectorOf(sub: number): number {
    const m = this.#m;
    return m[m[sub + S.OWNER]! + (m[sub + S.KIND] === FLAG_SHARED ? G.MEMBERS : N.SUBS)]!;
  }

  /** Word index of subscription record `sub`'s entry in its owner's vector. */
  entryOf(sub: number): number {
    return this.#vectorOf(sub) + VEC_HEAD + this.#m[sub + S.INDEX]! * V.WORDS;
  }

  /** Stamps a vector changed by this write with the version its commit will publish. */
  #touch(vec: number): void {
    this.arena.set(vec + VEC_STAMP, (this.#m[H.VERSION]! + 1) | 0);
  }

  /**
   * `session`'s record in `owner` (node or group), or 0: a walk of the session's own list, skipped
   * when `owner`'s vector (at `m[field]`) is empty, as it is for every filter new to the register.
   */
  #recordOf(session: number, owner: number, field: number): number {
    const m = this.#m;
    if (m[field] === 0) return 0;
    for (let s = this.sessionHead(session); s !== 0; s = m[s + S.SESSION_NEXT]!) {
      if (m[s + S.OWNER] === owner) return s;
    }
    return 0;
  }

  /** The subscription record of `session` on `filter`/`group`, or 0. */
  findSubscription(session: number, filter: string, group: string | undefined): number {
    const node = this.walk(filter, false);
    if (node === 0) return 0;
    const owner = group === undefined ? node : this.findGroup(node, group);
    return owner === 0 ? 0 : this.#recordOf(session, owner, owner + (group === undefined ? N.SUBS : G.MEMBERS));
  }

  /** Unlinks and frees subscription record `sub`, pruning what it leaves empty. */
  remove(sub: number): void {
    const a = this.arena;
    let m = this.#m;
    const session = m[sub + S.SESSION]!;
    const owner = m[sub + S.OWNER]!;
    const shared = m[sub + S.KIND] === FLAG_SHARED;
    const left = this.#removeEntry(owner + (shared ? G.MEMBERS : N.SUBS), m[sub + S.INDEX]!);
    const sprev = m[sub + S.SESSION_PREV]!;
    const snext = m[sub + S.SESSION_NEXT]!;
    if (sprev !== 0) a.set(sprev + S.SESSION_NEXT, snext);
    else this.#setSessionHead(session, snext);
    if (snext !== 0) a.set(snext + S.SESSION_PREV, sprev);
    a.free(sub, S.WORDS);
    m = this.#m;
    a.set(H.SUB_COUNT, m[H.SUB_COUNT]! - 1);
    if (!shared) {
      if (this.#ordinaryCount(session, 2) === 1) this.#markMulti(session, false);
      this.#prune(owner);
      return;
    }
    if (left > 0) return;
    const node = m[owner + G.NODE]!;
    const gprev = m[owner + G.PREV]!;
    const gnext = m[owner + G.NEXT]!;
    if (gprev !== 0) a.set(gprev + G.NEXT, gnext);
    else a.set(node + N.GROUPS, gnext);
    if (gnext !== 0) a.set(gnext + G.PREV, gprev);
    a.free(owner, recordWords(G.UNITS, m[owner + G.LENGTH]!));
    a.set(H.GROUP_COUNT, this.#m[H.GROUP_COUNT]! - 1);
    this.#prune(node);
  }

  // ---- subscription vectors ----

  /** Appends an entry to the vector at `m[field]` (creating or doubling it); returns its slot. */
  #append(field: number, session: number, flags: number, id: number, record: number): number {
    const a = this.arena;
    let vec = this.#m[field]!;
    const count = vec === 0 ? 0 : this.#m[vec + VEC_COUNT]!;
    const cap = vec === 0 ? 0 : this.#m[vec + VEC_CAP]!;
    if (count === cap) {
      const next = cap === 0 ? 2 : cap * 2;
      const grown = a.alloc(VEC_HEAD + next * V.WORDS);
      const m = this.#m;
      a.init(grown + VEC_COUNT, count);
      a.init(grown + VEC_CAP, next);
      if (vec !== 0) {
        m.copyWithin(grown + VEC_HEAD, vec + VEC_HEAD, vec + VEC_HEAD + count * V.WORDS);
        a.free(vec, VEC_HEAD + cap * V.WORDS);
      }
      a.set(field, grown);
      vec = grown;
    }
    const e = vec + VEC_HEAD + count * V.WORDS;
    a.set(e + V.SESSION, session);
    a.set(e + V.FLAGS, flags);
    a.set(e + V.ID, id);
    a.set(e + V.RECORD, record);
    a.set(vec + VEC_COUNT, count + 1);
    this.#touch(vec);
    return count;
  }

  /** Removes slot `index` of the vector at `m[field]` (the last entry moves in); returns the count left. */
  #removeEntry(field: number, index: number): number {
    const a = this.arena;
    const m = this.#m;
    const vec = m[field]!;
    const last = m[vec + VEC_COUNT]! - 1;
    if (last === 0) {
      a.free(vec, VEC_HEAD + m[vec + VEC_CAP]! * V.WORDS);
      a.set(field, 0);
      return 0;
    }
    if (index !== last) {
      const from = vec + VEC_HEAD + last * V.WORDS;
      const to = vec + VEC_HEAD + index * V.WORDS;
      for (let k = 0; k < V.WORDS; k++) a.set(to + k, m[from + k]!);
      a.set(m[from + V.RECORD]! + S.INDEX, index);
    }
    a.set(vec + VEC_COUNT, last);
    this.#touch(vec);
    return last;
  }

  // ---- nodes and groups ----

  #newNode(parent: number, kind: number, s: string, from: number, to: number, h: number): number {
    const a = this.arena;
    const len = to - from;
    const n = a.alloc(recordWords(N.UNITS, len));
    a.init(n + N.PARENT, parent);
    a.init(n + N.META, len | (kind << 16));
    a.init(n + N.HASH, h);
    const u = a.views.u16;
    const b = (n + N.UNITS) * 2;
    for (let k = 0; k < len; k++) u[b + k] = s.charCodeAt(from + k);
    a.set(H.NODE_COUNT, this.#m[H.NODE_COUNT]! + 1);
    return n;
  }

  #newGroup(node: number, name: string): number {
    const a = this.arena;
    const g = a.alloc(recordWords(G.UNITS, name.length));
    a.init(g + G.NODE, node);
    a.init(g + G.LENGTH, name.length);
    a.init(g + G.HASH, hashUnits(name, 0, name.length));
    const u = a.views.u16;
    const b = (g + G.UNITS) * 2;
    for (let k = 0; k < name.length; k++) u[b + k] = name.charCodeAt(k);
    const first = this.#m[node + N.GROUPS]!;
    a.init(g + G.NEXT, first);
    if (first !== 0) a.set(first + G.PREV, g);
    a.set(node + N.GROUPS, g);
    a.set(H.GROUP_COUNT, this.#m[H.GROUP_COUNT]! + 1);
    return g;
  }

  /** Frees `node` and then its ancestors while they hold nothing. The root stays. */
  #prune(node: number): void {
    const a = this.arena;
    for (;;) {
      const m = this.#m;
      if (node === m[H.ROOT]) return;
      if (m[node + N.CHILDREN] !== 0 || m[node + N.SUBS] !== 0 || m[node + N.GROUPS] !== 0) return;
      const parent = m[node + N.PARENT]!;
      const meta = m[node + N.META]!;
      const kind = meta >>> 16;
      if (kind === KIND_PLUS) a.set(parent + N.PLUS, 0);
      else if (kind === KIND_HASH) a.set(parent + N.HASH_CHILD, 0);
      else this.#deleteEdge(parent, node);
      a.set(parent + N.CHILDREN, this.#m[parent + N.CHILDREN]! - 1);
      a.free(node, recordWords(N.UNITS, meta & 0xffff));
      a.set(H.NODE_COUNT, this.#m[H.NODE_COUNT]! - 1);
      node = parent;
    }
  }

  // ---- edge table: linear probing, backward-shift deletion, grown by rebuild + one swing ----

  #insertEdge(parent: number, h: number, child: number): void {
    const a = this.arena;
    if ((this.#m[H.EDGE_COUNT]! + 1) * 2 > this.#m[H.EDGE_CAP]!) this.#growEdges();
    const m = this.#m;
    const table = m[H.EDGE_TABLE]!;
    const mask = m[H.EDGE_CAP]! - 1;
    let i = edgeHash(parent, h) & mask;
    while (m[table + i * EDGE_WORDS] !== 0) i = (i + 1) & mask;
    const e = table + i * EDGE_WORDS;
    a.set(e + 1, h);
    a.set(e + 2, child);
    a.set(e, parent);
    a.set(H.EDGE_COUNT, m[H.EDGE_COUNT]! + 1);
  }

  #deleteEdge(parent: number, child: number): void {
    const a = this.arena;
    const m = this.#m;
    const table = m[H.EDGE_TABLE]!;
    const mask = m[H.EDGE_CAP]! - 1;
    let i = edgeHash(parent, m[child + N.HASH]!) & mask;
    while (m[table + i * EDGE_WORDS + 2] !== child) i = (i + 1) & mask;
    // Backward shift: pull later entries of the run into the hole so probes never stop early.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const ej = table + j * EDGE_WORDS;
      if (m[ej] === 0) break;
      const home = edgeHash(m[ej]!, m[ej + 1]!) & mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      const ei = table + i * EDGE_WORDS;
      a.set(ei, m[ej]!);
      a.set(ei + 1, m[ej + 1]!);
      a.set(ei + 2, m[ej + 2]!);
      i = j;
    }
    const ei = table + i * EDGE_WORDS;
    a.set(ei, 0);
    a.set(ei + 1, 0);
    a.set(ei + 2, 0);
    a.set(H.EDGE_COUNT, m[H.EDGE_COUNT]! - 1);
  }

  #growEdges(): void {
    const a = this.arena;
    const oldCap = this.#m[H.EDGE_CAP]!;
    const cap = oldCap * 2;
    const table = a.alloc(cap * EDGE_WORDS);
    const m = this.#m;
    const old = m[H.EDGE_TABLE]!;
    const mask = cap - 1;
    for (let k = 0; k < oldCap; k++) {
      const e = old + k * EDGE_WORDS;
      const p = m[e]!;
      if (p === 0) continue;
      let i = edgeHash(p, m[e + 1]!) & mask;
      while (m[table + i * EDGE_WORDS] !== 0) i = (i + 1) & mask;
      const d = table + i * EDGE_WORDS;
      a.init(d, p);
      a.init(d + 1, m[e + 1]!);
      a.init(d + 2, m[e + 2]!);
    }
    a.set(H.EDGE_TABLE, table);
    a.set(H.EDGE_CAP, cap);
    a.free(old, oldCap * EDGE_WORDS);
  }

  // ---- session table: session id → head of its list; same scheme as the edge table ----

  #sessionSlot(session: number): number {
    const m = this.#m;
    const table = m[H.SESSION_TABLE]!;
    const mask = m[H.SESSION_CAP]! - 1;
    for (let i = sessionHash(session) & mask, probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
      const e = table + i * SESSION_WORDS;
      const s = m[e]!;
      if (s === 0) return -1;
      if (s === session) return e;
    }
    return -1;
  }

  #setSessionHead(session: number, head: number): void {
    const a = this.arena;
    const slot = this.#sessionSlot(session);
    if (slot >= 0) {
      if (head !== 0) a.set(slot + 1, head);
      else this.#deleteSession(slot);
      return;
    }
    if (head === 0) return;
    if ((this.#m[H.SESSION_COUNT]! + 1) * 2 > this.#m[H.SESSION_CAP]!) this.#growSessions();
    const m = this.#m;
    const table = m[H.SESSION_TABLE]!;
    const mask = m[H.SESSION_CAP]! - 1;
    let i = sessionHash(session) & mask;
    while (m[table + i * SESSION_WORDS] !== 0) i = (i + 1) & mask;
    const e = table + i * SESSION_WORDS;
    a.set(e + 1, head);
    a.set(e, session);
    a.set(H.SESSION_COUNT, m[H.SESSION_COUNT]! + 1);
  }

  #deleteSession(slot: number): void {
    const a = this.arena;
    const m = this.#m;
    const table = m[H.SESSION_TABLE]!;
    const mask = m[H.SESSION_CAP]! - 1;
    let i = (slot - table) / SESSION_WORDS;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const ej = table + j * SESSION_WORDS;
      if (m[ej] === 0) break;
      const home = sessionHash(m[ej]!) & mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      const ei = table + i * SESSION_WORDS;
      a.set(ei, m[ej]!);
      a.set(ei + 1, m[ej + 1]!);
      i = j;
    }
    const ei = table + i * SESSION_WORDS;
    a.set(ei, 0);
    a.set(ei + 1, 0);
    a.set(H.SESSION_COUNT, m[H.SESSION_COUNT]! - 1);
  }

  #growSessions(): void {
    const a = this.arena;
    const oldCap = this.#m[H.SESSION_CAP]!;
    const cap = oldCap * 2;
    const table = a.alloc(cap * SESSION_WORDS);
    const m = this.#m;
    const old = m[H.SESSION_TABLE]!;
    const mask = cap - 1;
    for (let k = 0; k < oldCap; k++) {
      const e = old + k * SESSION_WORDS;
      const s = m[e]!;
      if (s === 0) continue;
      let i = sessionHash(s) & mask;
      while (m[table + i * SESSION_WORDS] !== 0) i = (i + 1) & mask;
      a.init(table + i * SESSION_WORDS, s);
      a.init(table + i * SESSION_WORDS + 1, m[e + 1]!);
    }
    a.set(H.SESSION_TABLE, table);
    a.set(H.SESSION_CAP, cap);
    a.free(old, oldCap * SESSION_WORDS);
  }
}

