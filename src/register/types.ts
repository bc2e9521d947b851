/**
 * What every subscription register answers, whether it lives in one thread's heap (the
 * reference register) or in shared memory (the register the broker's threads share).
 *
 * The contract suite in `test/register/` runs the same operations on every implementation.
 */
import { TopicError } from './topic.js';

/**
 * Quality of service levels.
 *
 * @example
 * ```ts
 * const options: SubscriptionOptions = { qos: 1 satisfies QoS };
 * ```
 */
export type QoS = 0 | 1 | 2;

/**
 * A session as the register knows it: an opaque positive int32 the broker allocates
 * (1 ..= 0x7fffffff). The broker may put a generation in the high bits so that a reused slot
 * never receives a dead session's messages.
 *
 * @example
 * ```ts
 * const session: SessionId = 42;
 * await register.subscribe(session, 'sensors/#', { qos: 0 });
 * ```
 */
export type SessionId = number;

/**
 * How a session subscribed to a filter: the MQTT 5 subscription options and identifier.
 *
 * @example
 * ```ts
 * await register.subscribe(7, 'chat/+', { qos: 1, noLocal: true, subscriptionId: 12 });
 * ```
 */
export interface SubscriptionOptions {
  /** Maximum QoS granted for this subscription. */
  qos: QoS;
  /** MQTT 5 No Local: never deliver this session's own publishes back to it [MQTT-3.8.3-3]. */
  noLocal?: boolean;
  /** MQTT 5 Retain As Published: keep the RETAIN flag when forwarding [MQTT-3.3.1-12]. */
  retainAsPublished?: boolean;
  /** MQTT 5 Retain Handling 0/1/2 (the register stores it; the session acts on it). */
  retainHandling?: 0 | 1 | 2;
  /** MQTT 5 Subscription Identifier, 1 ..= 268,435,455; absent when the SUBSCRIBE had none. */
  subscriptionId?: number;
}

/** One filter of {@link SubscriptionRegister.subscribeAll}. */
export interface SubscribeEntry {
  /** The filter as the client sent it, `$share/{group}/` included. */
  readonly filter: string;
  readonly options: SubscriptionOptions;
}

/** Why {@link SubscriptionRegister.subscribeAll} stored no subscription for a filter. */
export type SubscribeRefusal = TopicError | FilterTooDeepError | RegisterFullError;

/** True when `err` is one of the errors `subscribe` throws for one filter (see {@link SubscribeRefusal}). */
export function isSubscribeRefusal(err: unknown): err is SubscribeRefusal {
  return err instanceof TopicError || err instanceof FilterTooDeepError || err instanceof RegisterFullError;
}

/**
 * The answer to {@link SubscriptionRegister.subscribe}.
 *
 * @example
 * ```ts
 * const first = await register.subscribe(7, 'a/b', { qos: 0 });
 * const again = await register.subscribe(7, 'a/b', { qos: 1 });
 * console.log(first.isNew, again.isNew); // true false (replaced, now QoS 1)
 * ```
 */
export interface SubscribeOutcome {
  /** False when the session already had this exact filter (and share group): it was replaced. */
  readonly isNew: boolean;
}

/**
 * One recipient of a matched PUBLISH and how to send it.
 *
 * @example
 * ```ts
 * await register.subscribe(7, 'a/+', { qos: 1, subscriptionId: 3 });
 * await register.subscribe(7, 'a/#', { qos: 0 });
 * const [delivery] = await register.match('a/b', 0);
 * console.log(delivery); // { session: 7, qos: 1, retainAsPublished: false, subscriptionIds: [3] }
 * ```
 */
export interface Delivery {
  /** The receiving session. */
  readonly session: SessionId;
  /** The maximum QoS over every matching subscription of this session (one copy per session). */
  readonly qos: QoS;
  /** True when any matching subscription asked for Retain As Published. */
  readonly retainAsPublished: boolean;
  /**
   * The Subscription Identifier of every matching subscription that has one, ascending; a value
   * appears once per such subscription, so two matching subscriptions with identifier 5 give
   * `[5, 5]` [MQTT-3.3.4-4]. Empty when none has one. A shared group's delivery carries only the
   * chosen member's identifier.
   */
  readonly subscriptionIds: readonly number[];
  /** Set when this delivery is the one member chosen for a shared subscription group. */
  readonly shareGroup?: string;
}

/**
 * A subscription as stored, for listing a session's subscriptions.
 *
 * @example
 * ```ts
 * await register.subscribe(7, '$share/workers/jobs/#', { qos: 1 });
 * console.log(register.subscriptionsOf(7)); // [{ filter: '$share/workers/jobs/#', options: { qos: 1, ... } }]
 * ```
 */
export interface StoredSubscription {
  /** The filter as the client sent it, `$share/{group}/` included. */
  readonly filter: string;
  readonly options: Readonly<SubscriptionOptions>;
}

/**
 * The subscription register: for a PUBLISH topic, which sessions receive it and how.
 *
 * Writes are exclusive and may wait for a lock, so they return promises; a register in one
 * thread resolves them at once. Matching never blocks a thread: `tryMatch` answers at once or
 * says "a write is in progress" (undefined), and `match` waits for the answer without blocking
 * the event loop. The answer reflects some moment between call and return.
 *
 * @example
 * ```ts
 * const register: SubscriptionRegister = new ReferenceRegister();
 * await register.subscribe(1, 'sensors/+/temp', { qos: 1 });
 * const deliveries = register.tryMatch('sensors/kitchen/temp', 0) ?? (await register.match('sensors/kitchen/temp', 0));
 * console.log(deliveries.map((d) => d.session)); // [1]
 * ```
 */
export interface SubscriptionRegister {
  /**
   * Adds or replaces `session`'s subscription to `filter` (which may be `$share/{g}/{f}`).
   * Throws {@link TopicError} for an invalid filter and {@link RegisterFullError} when the
   * register is at its configured capacity; in both cases nothing changes.
   */
  subscribe(session: SessionId, filter: string, options: SubscriptionOptions): Promise<SubscribeOutcome>;
  /**
   * The filters of one SUBSCRIBE: each is subscribed in order as {@link subscribe} would, and
   * answered with its outcome or with the {@link TopicError}, {@link FilterTooDeepError} or
   * {@link RegisterFullError} that `subscribe` would have thrown for it (that filter then
   * changed nothing; the others are stored). Other errors (a bad session id or options) reject.
   * A register may write them all under one lock hold.
   */
  subscribeAll(session: SessionId, entries: readonly SubscribeEntry[]): Promise<(SubscribeOutcome | SubscribeRefusal)[]>;
  /** Removes the subscription; resolves false when there was none. */
  unsubscribe(session: SessionId, filter: string): Promise<boolean>;
  /** Removes every subscription of `session`; resolves how many there were. */
  removeSession(session: SessionId): Promise<number>;
  /**
   * The deliveries for a PUBLISH to `topic` (a valid topic name) by `publisher` (for No Local;
   * 0 when no session published it, e.g. a will of a session already gone). Non-shared
   * subscriptions yield one delivery per session; each shared group yields one member.
   * Returns undefined, at once, only while another thread is in the middle of a write; the
   * caller then uses {@link match}. The array and its objects must not be mutated.
   */
  tryMatch(topic: string, publisher: SessionId): readonly Delivery[] | undefined;
  /** Like {@link tryMatch}, waiting (never blocking) until no write is in progress. */
  match(topic: string, publisher: SessionId): Promise<readonly Delivery[]>;
  /** The subscriptions `session` holds now, in no particular order. */
  subscriptionsOf(session: SessionId): StoredSubscription[];
  /** Number of stored subscriptions. */
  readonly size: number;
}

/**
 * The register is at its configured capacity; the SUBSCRIBE gets a failure code.
 *
 * @example
 * ```ts
 * const register = new ReferenceRegister({ maxSubscriptions: 1 });
 * await register.subscribe(1, 'a', { qos: 0 });
 * await register.subscribe(1, 'b', { qos: 0 }).catch((err) => console.log(err instanceof RegisterFullError)); // true
 * ```
 */
export class RegisterFullError extends Error {
  override readonly name = 'RegisterFullError';
}

export { TopicError } from './topic.js';

/**
 * The filter has more levels than the register was configured to store (`maxFilterLevels`);
 * the SUBSCRIBE gets a failure code (MQTT 5: 0x8F Topic Filter invalid). Nothing changes.
 *
 * @example
 * ```ts
 * const register = new ReferenceRegister({ maxFilterLevels: 2 });
 * await register.subscribe(1, 'a/b/c', { qos: 0 }).catch((err) => {
 *   if (err instanceof FilterTooDeepError) console.log(err.levels, err.maxLevels); // 3 2
 * });
 * ```
 */
export class FilterTooDeepError extends Error {
  override readonly name = 'FilterTooDeepError';
  constructor(
    /** Levels in the refused filter. */
    readonly levels: number,
    /** The configured maximum. */
    readonly maxLevels: number,
  ) {
    super(`a topic filter of ${levels} levels exceeds the register's maxFilterLevels (${maxLevels})`);
  }
}
