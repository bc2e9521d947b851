/**
 * The reference register: plain Maps in one thread's heap, matching by scanning every filter
 * with {@link topicMatches}. Obviously correct rather than fast; the contract suite holds the
 * shared register to its answers, and the broker can use it in a single thread.
 */
import { checkIntOption, checkPublisher, checkSession, checkSubscribe, DEFAULT_MAX_FILTER_LEVELS } from './checks.js';
import { topicMatches, validateTopicName } from './topic.js';
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

/** Options of {@link ReferenceRegister}. */
export interface ReferenceRegisterOptions {
  /** Most subscriptions stored at once; a SUBSCRIBE beyond gets RegisterFullError. Default 1,000,000. */
  maxSubscriptions?: number;
  /** Most levels in a filter; a deeper one gets FilterTooDeepError. Default 32. */
  maxFilterLevels?: number;
}

interface Subscription {
  readonly raw: string;
  readonly filter: string;
  readonly group: string | undefined;
  options: Readonly<SubscriptionOptions>;
}

/** A shared group: `$share/{group}/{filter}`, members in joining order. */
interface ShareGroup {
  readonly group: string;
  readonly filter: string;
  readonly members: Map<SessionId, Subscription>;
  next: number;
}

const EMPTY: readonly number[] = Object.freeze([]);

/** Every option spelled out, as both registers list them in subscriptionsOf. */
function normalizeOptions(o: SubscriptionOptions): Readonly<SubscriptionOptions> {
  const out: SubscriptionOptions = {
    qos: o.qos,
    noLocal: o.noLocal === true,
    retainAsPublished: o.retainAsPublished === true,
    retainHandling: o.retainHandling ?? 0,
  };
  if (o.subscriptionId !== undefined) out.subscriptionId = o.subscriptionId;
  return Object.freeze(out);
}

/**
 * A single-thread {@link SubscriptionRegister} built on Maps.
 *
 * @example
 * ```ts
 * const register = new ReferenceRegister();
 * await register.subscribe(1, 'home/+/light', { qos: 1 });
 * await register.subscribe(2, '$share/g/home/#', { qos: 0 });
 * console.log(await register.match('home/kitchen/light', 0)); // session 1, and one member of group g
 * ```
 */
export class ReferenceRegister implements SubscriptionRegister {
  readonly #maxSubscriptions: number;
  readonly #maxFilterLevels: number;
  /** session → raw filter → subscription */
  readonly #sessions = new Map<SessionId, Map<string, Subscription>>();
  /** raw `$share/...` filter → group */
  readonly #groups = new Map<string, ShareGroup>();
  #size = 0;

  constructor(options: ReferenceRegisterOptions = {}) {
    this.#maxSubscriptions = checkIntOption('maxSubscriptions', options.maxSubscriptions ?? 1_000_000, 1, 0x3fffffff);
    this.#maxFilterLevels = checkIntOption('maxFilterLevels', options.maxFilterLevels ?? DEFAULT_MAX_FILTER_LEVELS, 1, 1024);
  }

  get size(): number {
    return this.#size;
  }

  async subscribe(session: SessionId, raw: string, options: SubscriptionOptions): Promise<SubscribeOutcome> {
    return this.subscribeNow(session, raw, options);
  }

  async subscribeAll(session: SessionId, entries: readonly SubscribeEntry[]): Promise<(SubscribeOutcome | SubscribeRefusal)[]> {
    return entries.map(({ filter, options }) => {
      try {
        return this.subscribeNow(session, filter, options);
      } catch (err) {
        if (isSubscribeRefusal(err)) return err;
        throw err;
      }
    });
  }

  /** {@link subscribe} without the promise. */
  subscribeNow(session: SessionId, raw: string, options: SubscriptionOptions): SubscribeOutcome {
    const { filter, group } = checkSubscribe(session, raw, options, this.#maxFilterLevels);
    const stored = normalizeOptions(options);
    const own = this.#sessions.get(session);
    const existing = own?.get(raw);
    if (existing !== undefined) {
      existing.options = stored;
      return { isNew: false };
    }
    if (this.#size >= this.#maxSubscriptions) {
      throw new RegisterFullError(`the register holds its maximum of ${this.#maxSubscriptions} subscriptions`);
    }
    const sub: Subscription = { raw, filter, group, options: stored };
    if (own === undefined) this.#sessions.set(session, new Map([[raw, sub]]));
    else own.set(raw, sub);
    if (group !== undefined) {
      let g = this.#groups.get(raw);
      if (g === undefined) {
        g = { group, filter, members: new Map(), next: 0 };
        this.#groups.set(raw, g);
      }
      g.members.set(session, sub);
    }
    this.#size++;
    return { isNew: true };
  }

  async unsubscribe(session: SessionId, raw: string): Promise<boolean> {
    return this.unsubscribeNow(session, raw);
  }

  /** {@link unsubscribe} without the promise. */
  unsubscribeNow(session: SessionId, raw: string): boolean {
    checkSession(session);
    const own = this.#sessions.get(session);
    const sub = own?.get(raw);
    if (own === undefined || sub === undefined) return false;
    own.delete(raw);
    if (own.size === 0) this.#sessions.delete(session);
    if (sub.group !== undefined) {
      const g = this.#groups.get(raw)!;
      g.members.delete(session);
      if (g.members.size === 0) this.#groups.delete(raw);
    }
    this.#size--;
    return true;
  }

  async removeSession(session: SessionId): Promise<number> {
    return this.removeSessionNow(session);
  }

  /** {@link removeSession} without the promise. */
  removeSessionNow(session: SessionId): number {
    checkSession(session);
    const own = this.#sessions.get(session);
    if (own === undefined) return 0;
    const raws = [...own.keys()];
    for (const raw of raws) this.unsubscribeNow(session, raw);
    return raws.length;
  }

  tryMatch(topic: string, publisher: SessionId): readonly Delivery[] {
    validateTopicName(topic);
    checkPublisher(publisher);
    const perSession = new Map<SessionId, { qos: QoS; rap: boolean; ids: number[] }>();
    for (const [session, subs] of this.#sessions) {
      for (const sub of subs.values()) {
        if (sub.group !== undefined || !topicMatches(sub.filter, topic)) continue;
        // [MQTT-3.8.3-3] No Local: not back to the session that published it.
        if (sub.options.noLocal === true && session === publisher) continue;
        let acc = perSession.get(session);
        if (acc === undefined) {
          acc = { qos: 0, rap: false, ids: [] };
          perSession.set(session, acc);
        }
        // [MQTT-3.3.4-2] one copy at the maximum QoS of the overlapping subscriptions;
        // [MQTT-3.3.4-3,4] carrying the Subscription Identifier of every matching subscription
        // that has one: a value two subscriptions share is carried twice.
        if (sub.options.qos > acc.qos) acc.qos = sub.options.qos;
        if (sub.options.retainAsPublished === true) acc.rap = true;
        if (sub.options.subscriptionId !== undefined) acc.ids.push(sub.options.subscriptionId);
      }
    }
    const out: Delivery[] = [];
    for (const [session, acc] of perSession) {
      out.push({
        session,
        qos: acc.qos,
        retainAsPublished: acc.rap,
        subscriptionIds: acc.ids.length === 0 ? EMPTY : acc.ids.sort((a, b) => a - b),
      });
    }
    // [MQTT-4.8.2] each matching shared group delivers to one member, round-robin.
    for (const g of this.#groups.values()) {
      if (!topicMatches(g.filter, topic)) continue;
      const members = [...g.members];
      const [session, sub] = members[g.next % members.length]!;
      g.next = (g.next + 1) >>> 0;
      const id = sub.options.subscriptionId;
      out.push({
        session,
        qos: sub.options.qos,
        retainAsPublished: sub.options.retainAsPublished === true,
        subscriptionIds: id === undefined ? EMPTY : [id],
        shareGroup: g.group,
      });
    }
    return out;
  }

  async match(topic: string, publisher: SessionId): Promise<readonly Delivery[]> {
    return this.tryMatch(topic, publisher);
  }

  subscriptionsOf(session: SessionId): StoredSubscription[] {
    checkSession(session);
    const own = this.#sessions.get(session);
    if (own === undefined) return [];
    return [...own.values()].map((s) => ({ filter: s.raw, options: s.options }));
  }
}
