/**
 * Argument checks shared by every register implementation, so that they refuse the same
 * inputs with the same errors before touching any state.
 */
import { parseSubscriptionFilter, TopicError, type ParsedFilter } from './topic.js';
import { FilterTooDeepError, type SessionId, type SubscriptionOptions } from './types.js';

/** Largest MQTT 5 Subscription Identifier (a variable byte integer of up to 4 bytes). */
export const MAX_SUBSCRIPTION_ID = 268_435_455;

/** Default for `maxFilterLevels`. */
export const DEFAULT_MAX_FILTER_LEVELS = 32;

/** Throws a RangeError unless `session` is a session id (1 ..= 0x7fffffff). */
export function checkSession(session: SessionId, what = 'session'): void {
  if (!Number.isInteger(session) || session < 1 || session > 0x7fffffff) {
    throw new RangeError(`${what}: expected an integer in 1 ..= 2147483647, got ${String(session)}`);
  }
}

/** Throws a RangeError unless `publisher` is 0 (no session) or a session id. */
export function checkPublisher(publisher: SessionId): void {
  if (publisher !== 0) checkSession(publisher, 'publisher');
}

/** Throws a TypeError/RangeError unless `options` are well-formed subscription options. */
export function checkOptions(options: SubscriptionOptions): void {
  if (options === null || typeof options !== 'object') throw new TypeError('options: expected an object');
  if (options.qos !== 0 && options.qos !== 1 && options.qos !== 2) {
    throw new RangeError(`options.qos: expected 0, 1 or 2, got ${String(options.qos)}`);
  }
  const rh = options.retainHandling;
  if (rh !== undefined && rh !== 0 && rh !== 1 && rh !== 2) {
    throw new RangeError(`options.retainHandling: expected 0, 1 or 2, got ${String(rh)}`);
  }
  const id = options.subscriptionId;
  if (id !== undefined && (!Number.isInteger(id) || id < 1 || id > MAX_SUBSCRIPTION_ID)) {
    throw new RangeError(`options.subscriptionId: expected an integer in 1 ..= ${MAX_SUBSCRIPTION_ID}, got ${String(id)}`);
  }
}

/** Number of levels of a (valid) topic filter. */
export function levelCount(filter: string): number {
  let n = 1;
  for (let i = 0; i < filter.length; i++) if (filter.charCodeAt(i) === 0x2f) n++;
  return n;
}

/**
 * Everything a register checks before a SUBSCRIBE: the session, the options, the filter
 * (TopicError with the rule id), the depth limit and No Local on a shared subscription.
 */
export function checkSubscribe(
  session: SessionId,
  raw: string,
  options: SubscriptionOptions,
  maxFilterLevels: number,
): ParsedFilter {
  checkSession(session);
  checkOptions(options);
  const parsed = parseSubscriptionFilter(raw);
  if (parsed.group !== undefined && options.noLocal === true) {
    throw new TopicError('No Local must not be set on a shared subscription', 'MQTT-3.8.3-4');
  }
  const levels = levelCount(parsed.filter);
  if (levels > maxFilterLevels) throw new FilterTooDeepError(levels, maxFilterLevels);
  return parsed;
}

/** Throws a RangeError naming `name` unless `value` is an integer in `min ..= max`. */
export function checkIntOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected an integer in ${min} ..= ${max}, got ${String(value)}`);
  }
  return value;
}
