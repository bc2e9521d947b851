/**
 * The in-memory retained store: a topic trie (one node per level) so a wildcard filter visits
 * only the branches it can match, never every retained topic.
 */
import type { Retainable, RetainedStore, RetainOutcome } from './types.js';

interface Node<M> {
  readonly children: Map<string, Node<M>>;
  entry: { message: M; bytes: number } | undefined;
}

function node<M>(): Node<M> {
  return { children: new Map(), entry: undefined };
}

/** Bounds of a {@link MemoryRetainedStore}. */
export interface RetainedLimits {
  /** Most retained messages held. */
  maxMessages: number;
  /** Most bytes held (as counted by the caller of `set`). */
  maxBytes: number;
}

/** Counters of a store, for logs and tests. */
export interface RetainedCounters {
  /** Messages not stored because a bound was reached. */
  refusedFull: number;
}

/** Retained messages in one thread's heap, bounded by count and bytes. */
export class MemoryRetainedStore<M extends Retainable> implements RetainedStore<M> {
  private readonly root: Node<M> = node();
  private count = 0;
  private total = 0;
  readonly counters: RetainedCounters = { refusedFull: 0 };

  constructor(private readonly limits: RetainedLimits) {}

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.total;
  }

  set(message: M, bytes: number): RetainOutcome {
    const levels = message.topic.split('/');
    const existing = this.find(levels);
    const oldBytes = existing?.entry?.bytes ?? 0;
    const addsOne = existing?.entry === undefined ? 1 : 0;
    if (this.count + addsOne > this.limits.maxMessages || this.total - oldBytes + bytes > this.limits.maxBytes) {
      this.counters.refusedFull++;
      return 'refused-full';
    }
    let at = this.root;
    for (const level of levels) {
      let next = at.children.get(level);
      if (next === undefined) {
        next = node();
        at.children.set(level, next);
      }
      at = next;
    }
    at.entry = { message, bytes };
    this.count += addsOne;
    this.total += bytes - oldBytes;
    return addsOne === 1 ? 'stored' : 'replaced';
  }

  delete(topic: string): RetainOutcome {
    const levels = topic.split('/');
    const path: Node<M>[] = [this.root];
    for (const level of levels) {
      const next = path[path.length - 1]!.children.get(level);
      if (next === undefined) return 'absent';
      path.push(next);
    }
    const leaf = path[path.length - 1]!;
    if (leaf.entry === undefined) return 'absent';
    this.count--;
    this.total -= leaf.entry.bytes;
    leaf.entry = undefined;
    // Prune empty branches so deleted topics cost nothing.
    for (let i = levels.length; i > 0; i--) {
      const at = path[i]!;
      if (at.entry !== undefined || at.children.size > 0) break;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
    return 'deleted';
  }

  match(filter: string): M[] {
    const out: M[] = [];
    this.collect(this.root, filter.split('/'), 0, out);
    return out;
  }

  private find(levels: string[]): Node<M> | undefined {
    let at: Node<M> | undefined = this.root;
    for (const level of levels) {
      at = at.children.get(level);
      if (at === undefined) return undefined;
    }
    return at;
  }

  private collect(at: Node<M>, filter: string[], depth: number, out: M[]): void {
    if (depth === filter.length) {
      if (at.entry) out.push(at.entry.message);
      return;
    }
    const level = filter[depth]!;
    // [MQTT-4.7.2-1] a filter whose first level is a wildcard does not match '$' topics.
    const skipDollar = depth === 0;
    if (level === '#') {
      // '#' matches the parent level too [MQTT-4.7.1-2].
      if (at.entry && depth > 0) out.push(at.entry.message);
      this.collectAll(at, skipDollar, out);
      return;
    }
    if (level === '+') {
      for (const [name, child] of at.children) {
        if (skipDollar && name.startsWith('$')) continue;
        this.collect(child, filter, depth + 1, out);
      }
      return;
    }
    const child = at.children.get(level);
    if (child) this.collect(child, filter, depth + 1, out);
  }

  private collectAll(at: Node<M>, skipDollar: boolean, out: M[]): void {
    for (const [name, child] of at.children) {
      if (skipDollar && name.startsWith('$')) continue;
      if (child.entry) out.push(child.entry.message);
      this.collectAll(child, false, out);
    }
  }
}
