/**
 * Topic names and topic filters: validation and the `$share` prefix.
 *
 * Every rule here is cited by its OASIS id (MQTT 3.1.1 section 4.7, MQTT 5.0 sections 4.7 and
 * 4.8.2). The two versions number the wildcard rules differently; errors carry both ids. The session core validates what peers send with these functions and the register
 * validates again before it stores anything, so a refused operation never touches shared state.
 */

/**
 * A topic name or filter broke a rule of the spec; `rule` is the OASIS rule id.
 *
 * @example
 * ```ts
 * await register.subscribe(1, 'a/#/b', { qos: 0 }).catch((err) => {
 *   if (err instanceof TopicError) console.log(err.rule); // MQTT-4.7.1-2: '#' must be last
 * });
 * ```
 */
export class TopicError extends Error {
  override readonly name = 'TopicError';
  constructor(
    message: string,
    /** The MQTT 3.1.1 rule id the input breaks, e.g. `MQTT-4.7.1-2` (5.0's for 5.0-only rules). */
    readonly rule: string,
    /** The same rule's id in MQTT 5.0 where the numbering differs. */
    readonly rule5: string = rule,
  ) {
    super(rule5 === rule ? `${message} [${rule}]` : `${message} [${rule} in 3.1.1, ${rule5} in 5.0]`);
  }
}

/** Longest topic name or filter the protocol can carry: a UTF-8 string's 2-byte length. */
export const MAX_TOPIC_BYTES = 65535;

const SHARE_PREFIX = '$share/';

/** Returns the UTF-8 byte length of `s` without allocating. */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function checkCommon(s: string, what: string): void {
  if (typeof s !== 'string' || s.length === 0) throw new TopicError(`${what} must be at least one character long`, 'MQTT-4.7.3-1');
  if (s.includes('\u0000')) throw new TopicError(`${what} must not contain U+0000`, 'MQTT-4.7.3-2');
  // A UTF-16 code unit encodes to at most 3 UTF-8 bytes (a surrogate pair, 2 units, to 4), so a
  // string of up to a third of the limit in units cannot exceed it: most never need counting.
  if (s.length > MAX_TOPIC_BYTES || (s.length > MAX_TOPIC_BYTES / 3 && utf8Length(s) > MAX_TOPIC_BYTES)) {
    throw new TopicError(`${what} must not encode to more than ${MAX_TOPIC_BYTES} bytes`, 'MQTT-4.7.3-3');
  }
  if (!s.isWellFormed()) throw new TopicError(`${what} must be well-formed UTF-16 (no lone surrogates)`, 'MQTT-1.5.3-1');
}

/** Throws a {@link TopicError} unless `topic` is a valid topic name (what a PUBLISH carries). */
export function validateTopicName(topic: string): void {
  checkCommon(topic, 'a topic name');
  if (topic.includes('+') || topic.includes('#')) {
    throw new TopicError('wildcards are not allowed in a topic name', 'MQTT-4.7.1-1', 'MQTT-4.7.0-1');
  }
}

/** Throws a {@link TopicError} unless `filter` is a valid (non-shared) topic filter. */
export function validateTopicFilter(filter: string): void {
  checkCommon(filter, 'a topic filter');
  // Level by level, between slashes, without splitting (this runs for every filter subscribed).
  for (let start = 0; ; ) {
    const slash = filter.indexOf('/', start);
    const end = slash < 0 ? filter.length : slash;
    const whole = end - start === 1;
    if (has(filter, '#', start, end) && !(whole && slash < 0)) {
      throw new TopicError("'#' must be a whole level and the last one", 'MQTT-4.7.1-2', 'MQTT-4.7.1-1');
    }
    if (has(filter, '+', start, end) && !whole) {
      throw new TopicError("'+' must occupy a whole level", 'MQTT-4.7.1-3', 'MQTT-4.7.1-2');
    }
    if (slash < 0) return;
    start = slash + 1;
  }
}

/** Whether `s` has `char` at an index in `start ..< end`. */
function has(s: string, char: string, start: number, end: number): boolean {
  const at = s.indexOf(char, start);
  return at >= 0 && at < end;
}

/** A subscription's filter with its MQTT 5 shared-subscription group, if it has one. */
export interface ParsedFilter {
  /** The topic filter that is matched against topic names. */
  readonly filter: string;
  /** The ShareName of `$share/{ShareName}/{filter}`, or undefined for an ordinary filter. */
  readonly group: string | undefined;
}

/**
 * Splits `$share/{group}/{filter}` (MQTT 5.0 section 4.8.2) and validates both parts; an
 * ordinary filter comes back with `group: undefined`. Throws {@link TopicError}.
 */
export function parseSubscriptionFilter(raw: string): ParsedFilter {
  if (!raw.startsWith(SHARE_PREFIX)) {
    validateTopicFilter(raw);
    return { filter: raw, group: undefined };
  }
  checkCommon(raw, 'a shared subscription filter');
  const rest = raw.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf('/');
  const group = slash < 0 ? rest : rest.slice(0, slash);
  if (group.length === 0) {
    throw new TopicError('a ShareName must be at least one character long', 'MQTT-4.8.2-1');
  }
  if (group.includes('+') || group.includes('#')) {
    throw new TopicError("a ShareName must not contain '/', '+' or '#'", 'MQTT-4.8.2-2');
  }
  if (slash < 0 || slash === rest.length - 1) {
    throw new TopicError('a ShareName must be followed by \'/\' and a topic filter', 'MQTT-4.8.2-2');
  }
  const filter = rest.slice(slash + 1);
  validateTopicFilter(filter);
  return { filter, group };
}

/**
 * Reference matcher: does `filter` (valid, non-shared) match `topic` (valid)? Linear in the
 * number of levels; the register's trie must agree with it on every input.
 */
export function topicMatches(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with '$'.
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    // '#' also matches the parent level: 'a/#' matches 'a' [MQTT-4.7.1-2].
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
