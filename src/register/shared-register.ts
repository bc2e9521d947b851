/**
 * The subscription register the broker's threads share: a trie, its tables and every
 * subscription in one growable SharedArrayBuffer (layout in shared-layout.ts and
 * docs/register.md). One thread creates it and posts {@link SharedRegister.handle} to the others,
 * which {@link SharedRegister.attach}.
 *
 * Writes take a futex-style mutex that records its owner, wait for readers to leave, and log
 * every store to an undo log, so a write is all-or-nothing even if its thread dies half-way
 * ({@link SharedRegister.recoverDeadOwner}). Matches run concurrently with each other and never
 * see a write in progress.
 */
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { checkIntOption, checkPublisher, checkSession, checkSubscribe, DEFAULT_MAX_FILTER_LEVELS } from './checks.js';
import { Arena, Views, WriteHaltedForTest } from './shared-arena.js';
import {
  FLAG_HAS_ID,
  FLAG_NO_LOCAL,
  FLAG_RAP,
  FLAG_SHARED,
  FORMAT_VERSION,
  G,
  H,
  HEADER_WORDS,
  KIND_ROOT,
  MAGIC,
  N,
  READER_STRIDE,
  S,
  SESSION_WORDS,
  SIZE_CLASSES,
  UNDO_ENTRIES,
  V,
  EDGE_WORDS,
} from './shared-layout.js';
import {
  drainReaders,
  enterRead,
  leaveRead,
  lock,
  lockOwner,
  markWaiting,
  readerSlot,
  readersGone,
  tryLock,
  unlock,
  waitChange,
} from './shared-lock.js';
import { checkIntegrity } from './shared-integrity.js';
import { Matcher } from './shared-matcher.js';
import { TrieWriter } from './shared-writer.js';
import { parseSubscriptionFilter } from './topic.js';
import {
  isSubscribeRefusal,
  RegisterFullError,
  type Delivery,
  type QoS,
  type SessionId,
  type StoredSubscription,
  type SubscribeEntry,
  type SubscribeOutcome,
  type SubscribeRefusal,
  type SubscriptionOptions,
  type SubscriptionRegister,
} from './types.js';

/** Options fixed when the register is created. */
export interface SharedRegisterOptions {
  /** Most bytes the buffer may grow to; a write needing more gets RegisterFullError. Default 64 MiB. */
  maxBytes?: number;
  /** Bytes allocated at creation (rounded up to 64 KiB). Default 1 MiB, or maxBytes if smaller. */
  initialBytes?: number;
  /** Most subscriptions stored at once. Default 1,000,000. */
  maxSubscriptions?: number;
  /** Most levels in a filter (1 ..= 1024); a deeper SUBSCRIBE gets FilterTooDeepError. Default 32. */
  maxFilterLevels?: number;
  /** Most attached threads; owners are 1 ..= maxOwners (1 ..= 4096). Default 64. */
  maxOwners?: number;
}

/** Options of one thread's attachment. */
export interface AttachOptions {
  /**
   * This thread's owner id, 1 ..= maxOwners, unique among live attachments (0 means "free").
   * Default `threadId + 1` (the main thread is 1).
   */
  owner?: number;
  /** Topics whose answers this thread caches (validated by the register's version). 0 disables. Default 1024. */
  resultCacheSize?: number;
  /**
   * Most delivery objects this thread keeps for reuse: per subscription vector (a filter's
   * subscribers), the deliveries of sessions whose only ordinary subscription it is, valid until
   * a write changes that vector. 0 disables. Default 131072 (a few MiB when full).
   */
  deliveryReuseSize?: number;
}

/** What a thread needs to attach: post it with `postMessage` (structured-cloneable). */
export interface SharedRegisterHandle {
  readonly kind: 'weft-shared-register';
  readonly formatVersion: number;
  readonly buffer: SharedArrayBuffer;
}

/** Figures about the register's memory and content, read without the lock (each word exact, the set approximate). */
export interface SharedRegisterStats {
  readonly bytesUsed: number;
  readonly bytesCapacity: number;
  readonly maxBytes: number;
  readonly subscriptions: number;
  readonly sessions: number;
  readonly nodes: number;
  readonly groups: number;
  readonly version: number;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const DEFAULT_INITIAL_BYTES = 1024 * 1024;
const MAX_MAX_BYTES = 1024 * 1024 * 1024;
const PAGE = 64 * 1024;
const INITIAL_EDGES = 256;
const INITIAL_SESSIONS = 64;
/** Attempts of tryMatch before reporting a write in progress. */
const READ_ATTEMPTS = 8;
/** How long subscriptionsOf, which is synchronous, may block waiting for a write (ms). */
const SYNC_READ_LIMIT_MS = 2000;

/**
 * Per register (by REGISTER_ID), the owner ids attached in this thread (module state is per
 * thread), and those whose write a test hook stopped half-way.
 */
const THIS_THREAD_OWNERS = new Map<number, Set<number>>();
const HALTED_OWNERS = new Map<number, Set<number>>();

function ownersIn(map: Map<number, Set<number>>, register: number): Set<number> {
  let set = map.get(register);
  if (set === undefined) map.set(register, (set = new Set()));
  return set;
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Words before the heap for `maxOwners` reader slots. */
function fixedWords(maxOwners: number): { readers: number; undo: number; heap: number } {
  const readers = roundUp(HEADER_WORDS + SIZE_CLASSES, READER_STRIDE);
  const undo = readers + (maxOwners + 1) * READER_STRIDE;
  const heap = undo + UNDO_ENTRIES * 2;
  return { readers, undo, heap };
}

/**
 * A {@link SubscriptionRegister} in shared memory, usable from every thread that attaches.
 *
 * @example
 * ```ts
 * // main thread: create, and hand the handle and an owner id to each worker
 * const register = SharedRegister.create({ maxBytes: 64 << 20 });
 * const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { handle: register.handle, owner: 2 } });
 * worker.on('exit', () => void register.recoverDeadOwner(2));
 *
 * // worker.js: attach, then subscribe and match from this thread
 * const shared = SharedRegister.attach(workerData.handle, { owner: workerData.owner });
 * await shared.subscribe(5, 'sensors/#', { qos: 1 });
 * const deliveries = shared.tryMatch('sensors/a', 0) ?? (await shared.match('sensors/a', 0));
 * ```
 */
export class SharedRegister implements SubscriptionRegister {
  /** This attachment's owner id (see `AttachOptions.owner`). */
  readonly owner: number;
  /** Post this to a worker; it calls {@link SharedRegister.attach}. */
  readonly handle: SharedRegisterHandle;
  readonly #views: Views;
  readonly #arena: Arena;
  readonly #writer: TrieWriter;
  readonly #matcher: Matcher;
  readonly #slot: number;
  readonly #maxLevels: number;
  readonly #localOwners: Set<number>;
  readonly #haltedOwners: Set<number>;

  private constructor(buffer: SharedArrayBuffer, options: AttachOptions) {
    const head = new Int32Array(buffer, 0, HEADER_WORDS);
    if (head[H.MAGIC] !== MAGIC) throw new TypeError('handle: the buffer is not a Weft register');
    if (head[H.FORMAT] !== FORMAT_VERSION) {
      throw new TypeError(`handle: register format ${head[H.FORMAT]}, this code reads format ${FORMAT_VERSION}`);
    }
    const maxOwners = head[H.MAX_OWNERS]!;
    this.owner = checkIntOption('owner', options.owner ?? threadId + 1, 1, maxOwners);
    const cacheSize = checkIntOption('resultCacheSize', options.resultCacheSize ?? 1024, 0, 1 << 20);
    this.handle = { kind: 'weft-shared-register', formatVersion: FORMAT_VERSION, buffer };
    this.#views = new Views(buffer);
    this.#arena = new Arena(this.#views);
    this.#writer = new TrieWriter(this.#arena);
    this.#maxLevels = head[H.MAX_LEVELS]!;
    const reuseSize = checkIntOption('deliveryReuseSize', options.deliveryReuseSize ?? 131072, 0, 1 << 24);
    this.#matcher = new Matcher(this.#views, this.#maxLevels, cacheSize, reuseSize);
    this.#slot = readerSlot(head, this.owner);
    const id = head[H.REGISTER_ID]!;
    this.#localOwners = ownersIn(THIS_THREAD_OWNERS, id);
    this.#haltedOwners = ownersIn(HALTED_OWNERS, id);
    this.#localOwners.add(this.owner);
  }

  /** Creates a register in a new buffer and attaches the calling thread. Throws naming a bad option. */
  static create(options: SharedRegisterOptions & AttachOptions = {}): SharedRegister {
    const maxOwners = checkIntOption('maxOwners', options.maxOwners ?? 64, 1, 4096);
    const maxLevels = checkIntOption('maxFilterLevels', options.maxFilterLevels ?? DEFAULT_MAX_FILTER_LEVELS, 1, 1024);
    const maxSubs = checkIntOption('maxSubscriptions', options.maxSubscriptions ?? 1_000_000, 1, 0x3fffffff);
    const fixed = fixedWords(maxOwners);
    const minBytes = roundUp((fixed.heap + N.UNITS + INITIAL_EDGES * EDGE_WORDS + INITIAL_SESSIONS * SESSION_WORDS + 64) * 4, PAGE);
    const maxBytes = roundUp(checkIntOption('maxBytes', options.maxBytes ?? DEFAULT_MAX_BYTES, minBytes, MAX_MAX_BYTES), PAGE);
    const initial = checkIntOption('initialBytes', options.initialBytes ?? Math.min(DEFAULT_INITIAL_BYTES, maxBytes), minBytes, maxBytes);
    const initialBytes = Math.min(maxBytes, roundUp(initial, PAGE));
    const buffer = new SharedArrayBuffer(initialBytes, { maxByteLength: maxBytes });
    const m = new Int32Array(buffer);
    m[H.MAGIC] = MAGIC;
    m[H.REGISTER_ID] = randomBytes(4).readInt32LE(0);
    m[H.FORMAT] = FORMAT_VERSION;
    m[H.CAPACITY_BYTES] = initialBytes;
    m[H.MAX_BYTES] = maxBytes;
    m[H.MAX_SUBS] = maxSubs;
    m[H.MAX_LEVELS] = maxLevels;
    m[H.MAX_OWNERS] = maxOwners;
    m[H.FREE_BASE] = HEADER_WORDS;
    m[H.READERS_BASE] = fixed.readers;
    m[H.UNDO_BASE] = fixed.undo;
    m[H.UNDO_CAP] = UNDO_ENTRIES;
    m[H.HEAP_BASE] = fixed.heap;
    m[H.TOP] = fixed.heap;
    const register = new SharedRegister(buffer, options);
    const a = register.#arena;
    const root = a.alloc(N.UNITS);
    a.init(root + N.META, KIND_ROOT << 16);
    a.set(H.ROOT, root);
    a.set(H.EDGE_TABLE, a.alloc(INITIAL_EDGES * EDGE_WORDS));
    a.set(H.EDGE_CAP, INITIAL_EDGES);
    a.set(H.SESSION_TABLE, a.alloc(INITIAL_SESSIONS * SESSION_WORDS));
    a.set(H.SESSION_CAP, INITIAL_SESSIONS);
    a.commit();
    return register;
  }

  /** Attaches the calling thread to a register created elsewhere. */
  static attach(handle: SharedRegisterHandle, options: AttachOptions = {}): SharedRegister {
    if (handle?.kind !== 'weft-shared-register' || !(handle.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError('handle: expected the handle of a SharedRegister');
    }
    return new SharedRegister(handle.buffer, options);
  }

  get size(): number {
    return Atomics.load(this.#views.i32, H.SUB_COUNT);
  }

  /** Memory and content figures. */
  stats(): SharedRegisterStats {
    const m = this.#views.i32;
    return {
      bytesUsed: (Atomics.load(m, H.HEAP_BASE) + Atomics.load(m, H.USED_WORDS)) * 4,
      bytesCapacity: Atomics.load(m, H.CAPACITY_BYTES),
      maxBytes: Atomics.load(m, H.MAX_BYTES),
      subscriptions: Atomics.load(m, H.SUB_COUNT),
      sessions: Atomics.load(m, H.SESSION_COUNT),
      nodes: Atomics.load(m, H.NODE_COUNT),
      groups: Atomics.load(m, H.GROUP_COUNT),
      version: Atomics.load(m, H.VERSION),
    };
  }

  async subscribe(session: SessionId, raw: string, options: SubscriptionOptions): Promise<SubscribeOutcome> {
    const s = this.#prepare(session, raw, options);
    const isNew = await this.#write((w) => w.subscribe(session, s.filter, s.group, s.flags, s.id));
    return { isNew };
  }

  /**
   * One lock hold for all the filters, each its own committed step (as {@link removeSession}
   * does): a filter that does not fit is rolled back alone and the next ones still go in.
   */
  async subscribeAll(session: SessionId, entries: readonly SubscribeEntry[]): Promise<(SubscribeOutcome | SubscribeRefusal)[]> {
    const results: (SubscribeOutcome | SubscribeRefusal)[] = [];
    const prepared = entries.map(({ filter, options }, i) => {
      try {
        return this.#prepare(session, filter, options);
      } catch (err) {
        if (!isSubscribeRefusal(err)) throw err;
        results[i] = err;
        return undefined;
      }
    });
    if (prepared.every((s) => s === undefined)) return results;
    await this.#write((w) => {
      prepared.forEach((s, i) => {
        if (s === undefined) return;
        try {
          results[i] = { isNew: w.subscribe(session, s.filter, s.group, s.flags, s.id) };
          this.#arena.commit();
        } catch (err) {
          if (!(err instanceof RegisterFullError)) throw err;
          this.#arena.rollback();
          results[i] = err;
        }
      });
    });
    return results;
  }

  /** Checks a subscription (throws what `subscribe` throws for it) and packs its options. */
  #prepare(session: SessionId, raw: string, options: SubscriptionOptions): { filter: string; group: string | undefined; flags: number; id: number } {
    const { filter, group } = checkSubscribe(session, raw, options, this.#maxLevels);
    let flags = options.qos | ((options.retainHandling ?? 0) << 4);
    if (options.noLocal === true) flags |= FLAG_NO_LOCAL;
    if (options.retainAsPublished === true) flags |= FLAG_RAP;
    const id = options.subscriptionId ?? 0;
    if (options.subscriptionId !== undefined) flags |= FLAG_HAS_ID;
    return { filter, group, flags, id };
  }

  async unsubscribe(session: SessionId, raw: string): Promise<boolean> {
    checkSession(session);
    let parsed;
    try {
      parsed = parseSubscriptionFilter(raw);
    } catch {
      return false; // an invalid filter was never stored
    }
    const { filter, group } = parsed;
    return this.#write((w) => {
      const sub = w.findSubscription(session, filter, group);
      if (sub === 0) return false;
      w.remove(sub);
      return true;
    });
  }

  async removeSession(session: SessionId): Promise<number> {
    checkSession(session);
    // One subscription per committed step: the undo log stays small however many there are,
    // and a thread dying half-way leaves some removed and the rest intact, never a torn one.
    return this.#write((w) => {
      let removed = 0;
      for (let sub = w.sessionHead(session); sub !== 0; sub = w.sessionHead(session)) {
        w.remove(sub);
        this.#arena.commit();
        removed++;
      }
      return removed;
    });
  }

  tryMatch(topic: string, publisher: SessionId): readonly Delivery[] | undefined {
    const m = this.#views.i32;
    const slot = this.#slot;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      if (enterRead(m, slot)) {
        try {
          return this.#matcher.match(topic, publisher);
        } finally {
          leaveRead(m, slot);
        }
      }
      if (this.#ownWriterIsWaiting()) return this.#matcher.match(topic, publisher);
    }
    return undefined;
  }

  async match(topic: string, publisher: SessionId): Promise<readonly Delivery[]> {
    checkPublisher(publisher);
    for (;;) {
      const answer = this.tryMatch(topic, publisher);
      if (answer !== undefined) return answer;
      const c = markWaiting(this.#views.i32);
      if (c !== 0) await waitChange(this.#views.i32, H.LOCK, c);
    }
  }

  /**
   * Lists `session`'s subscriptions. Synchronous: while another thread is writing it blocks
   * that thread's write (microseconds); it throws if the register stays locked for 2 s (an owner
   * died holding it and has not been recovered).
   */
  subscriptionsOf(session: SessionId): StoredSubscription[] {
    checkSession(session);
    const m = this.#views.i32;
    const deadline = Date.now() + SYNC_READ_LIMIT_MS;
    for (;;) {
      if (enterRead(m, this.#slot)) {
        try {
          return this.#list(session);
        } finally {
          leaveRead(m, this.#slot);
        }
      }
      if (this.#ownWriterIsWaiting()) return this.#list(session);
      const c = markWaiting(m);
      if (c === 0) continue;
      if (Date.now() > deadline) throw new Error(`the register is locked by owner ${lockOwner(c)}; recoverDeadOwner if it died`);
      Atomics.wait(m, H.LOCK, c, 10);
    }
  }

  /**
   * Releases what `dead` held: its reader slot and, if it held the writer mutex, the mutex after
   * rolling back its half-done write. Call from a live attached thread once `dead`'s thread has
   * exited (worker 'exit'), before its owner id is reused. Resolves true when a lock was released.
   */
  async recoverDeadOwner(dead: number): Promise<boolean> {
    const m = this.#views.i32;
    checkIntOption('owner', dead, 1, m[H.MAX_OWNERS]!);
    if (dead === this.owner) throw new RangeError('owner: a thread cannot recover itself');
    const slot = readerSlot(m, dead);
    Atomics.store(m, slot, 0);
    Atomics.notify(m, slot);
    for (;;) {
      const c = Atomics.load(m, H.LOCK);
      if (c === 0 || lockOwner(c) !== dead) return false;
      // Take the mutex over, keeping its waiters bit, so no other writer or reader enters.
      if (Atomics.compareExchange(m, H.LOCK, c, (this.owner << 2) | (c & 3)) === c) break;
    }
    // No reader of another thread is inside: the dead writer drained them before its first
    // store, and none enters while LOCK is held. Readers of this thread would bypass a lock this
    // thread holds, so the rollback runs synchronously, before any of them can.
    try {
      this.#arena.rollback();
    } finally {
      unlock(m);
    }
    return true;
  }

  // ---- internals ----

  /**
   * True when a write of this very thread (any attachment in it) holds the mutex: it can only be
   * suspended waiting for readers, having stored nothing yet, since a write's stores run
   * synchronously after that wait. Reading then is safe, and waiting for it would deadlock.
   */
  #ownWriterIsWaiting(): boolean {
    const c = Atomics.load(this.#views.i32, H.LOCK);
    return c !== 0 && this.#localOwners.has(lockOwner(c)) && !this.#haltedOwners.has(lockOwner(c));
  }

  /**
   * Runs `body` with the writer mutex held and no reader inside. Uncontended (the usual case) it
   * all happens synchronously, inside this call: the lock is never held across an `await`, so
   * another write of this same thread in the same turn finds it free instead of parking on
   * `Atomics.waitAsync` (which costs far more than the write).
   */
  #write<T>(body: (w: TrieWriter) => T): Promise<T> {
    const m = this.#views.i32;
    if (tryLock(m, this.owner)) {
      if (readersGone(m)) {
        try {
          return Promise.resolve(this.#writeLocked(body));
        } catch (e) {
          return Promise.reject(e);
        }
      }
      return this.#writeAfterReaders(body);
    }
    return lock(m, this.owner).then(() => this.#writeAfterReaders(body));
  }

  /** The write once the mutex is held: waits for readers to leave, then writes. */
  async #writeAfterReaders<T>(body: (w: TrieWriter) => T): Promise<T> {
    try {
      await drainReaders(this.#views.i32);
    } catch (e) {
      unlock(this.#views.i32);
      throw e;
    }
    return this.#writeLocked(body);
  }

  /** Writes with the mutex held and readers gone; releases it unless a test halted the write. */
  #writeLocked<T>(body: (w: TrieWriter) => T): T {
    const m = this.#views.i32;
    let release = true;
    try {
      this.#views.refresh();
      try {
        const result = body(this.#writer);
        this.#arena.commit();
        return result;
      } catch (e) {
        if (e instanceof WriteHaltedForTest) {
          release = false;
          this.#haltedOwners.add(this.owner);
        } else this.#arena.rollback();
        throw e;
      }
    } finally {
      if (release) unlock(m);
    }
  }

  #list(session: number): StoredSubscription[] {
    this.#views.refresh();
    const m = this.#views.i32;
    const out: StoredSubscription[] = [];
    let guard = m[H.SUB_COUNT]!;
    for (let s = this.#writer.sessionHead(session); s !== 0 && guard-- > 0; s = m[s + S.SESSION_NEXT]!) {
      const entry = this.#writer.entryOf(s);
      const flags = m[entry + V.FLAGS]!;
      let node = m[s + S.OWNER]!;
      let prefix = '';
      if (m[s + S.KIND] === FLAG_SHARED) {
        prefix = `$share/${this.#units(node + G.UNITS, m[node + G.LENGTH]!)}/`;
        node = m[node + G.NODE]!;
      }
      const levels: string[] = [];
      for (let depth = 0; node !== m[H.ROOT] && depth <= this.#maxLevels; depth++) {
        levels.push(this.#units(node + N.UNITS, m[node + N.META]! & 0xffff));
        node = m[node + N.PARENT]!;
      }
      const options: SubscriptionOptions = {
        qos: (flags & 3) as QoS,
        noLocal: (flags & FLAG_NO_LOCAL) !== 0,
        retainAsPublished: (flags & FLAG_RAP) !== 0,
        retainHandling: ((flags >>> 4) & 3) as 0 | 1 | 2,
      };
      if ((flags & FLAG_HAS_ID) !== 0) options.subscriptionId = m[entry + V.ID]!;
      out.push({ filter: prefix + levels.reverse().join('/'), options });
    }
    return out;
  }

  #units(at: number, len: number): string {
    const u = this.#views.u16;
    const b = at * 2;
    let s = '';
    for (let k = 0; k < len; k += 4096) s += String.fromCharCode(...u.subarray(b + k, b + Math.min(len, k + 4096)));
    return s;
  }

  // ---- test hooks (not part of the API) ----

  /** @internal Every inconsistency in the buffer (empty when consistent); only while no write runs. */
  checkIntegrityForTest(): string[] {
    this.#views.refresh();
    return checkIntegrity(this.#views.i32);
  }

  /** @internal Makes the next write stop after `stores` logged stores, keeping the mutex (a simulated death). */
  haltNextWriteForTest(stores: number): void {
    this.#arena.haltAfter = stores;
  }

  /** @internal Enters a read and never leaves it (to be killed inside a read). */
  holdReadForTest(): void {
    while (!enterRead(this.#views.i32, this.#slot));
  }

  /** @internal Takes the writer mutex and waits for readers, then keeps it (to be killed while holding it). */
  async holdLockForTest(): Promise<void> {
    const m = this.#views.i32;
    await lock(m, this.owner);
    await drainReaders(m);
    this.#haltedOwners.add(this.owner);
  }
}
