/** Builds a {@link SessionConfig} from options, filling defaults and naming any bad option. */
import { DEFAULT_SESSION_CONFIG, type SessionConfig } from './api.js';

type IntRule = { min: number; max: number };

const INT_OPTIONS: Record<string, IntRule> = {
  maxInflight: { min: 1, max: 65535 },
  maxQueued: { min: 0, max: 1_000_000_000 },
  maxQueuedBytes: { min: 0, max: Number.MAX_SAFE_INTEGER },
  receiveMaximum: { min: 1, max: 65535 },
  // The smallest packet a peer must be able to send is a few bytes; 268,435,460 is the protocol's largest.
  maxPacketSize: { min: 16, max: 268_435_460 },
  topicAliasMaximum: { min: 0, max: 65535 },
  maxKeepAlive: { min: 1, max: 65535 },
  maxSessionExpiryInterval: { min: 0, max: 0xffffffff },
  maxClientIdLength: { min: 1, max: 65535 },
};

const BOOLEAN_OPTIONS = [
  'queueQoS0Offline',
  'outboundTopicAliases',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
  'allowEmptyClientId',
] as const;

/**
 * Returns a complete, frozen {@link SessionConfig}: `options` over the defaults of
 * `DEFAULT_SESSION_CONFIG`. Throws a TypeError naming the first bad or unknown option.
 */
export function validateSessionConfig(options: Partial<SessionConfig> = {}): SessionConfig {
  if (options === null || typeof options !== 'object') throw new TypeError('session options: expected an object');
  const known = new Set([...Object.keys(DEFAULT_SESSION_CONFIG), 'auth']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TypeError(`${key}: unknown session option`);
  }
  const config: SessionConfig = { ...DEFAULT_SESSION_CONFIG };
  for (const [name, rule] of Object.entries(INT_OPTIONS)) {
    const value = (options as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
      throw new TypeError(`${name}: expected an integer from ${rule.min} to ${rule.max}, got ${String(value)}`);
    }
    (config as unknown as Record<string, number>)[name] = value;
  }
  // Left at its default, the byte bound holds at least one message of the largest size accepted,
  // which may count up to twice its size (see `maxQueuedBytes`).
  if (options.maxQueuedBytes === undefined) config.maxQueuedBytes = Math.max(config.maxQueuedBytes, 2 * config.maxPacketSize);
  for (const name of BOOLEAN_OPTIONS) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw new TypeError(`${name}: expected a boolean, got ${String(value)}`);
    config[name] = value;
  }
  if (options.maximumQoS !== undefined) {
    if (options.maximumQoS !== 0 && options.maximumQoS !== 1 && options.maximumQoS !== 2) {
      throw new TypeError(`maximumQoS: expected 0, 1 or 2, got ${String(options.maximumQoS)}`);
    }
    config.maximumQoS = options.maximumQoS;
  }
  if (options.auth !== undefined) {
    const auth = options.auth;
    if (
      auth === null || typeof auth !== 'object' || !Array.isArray(auth.methods) ||
      typeof auth.start !== 'function' || typeof auth.continue !== 'function'
    ) {
      throw new TypeError('auth: expected { methods: string[], start(), continue() }');
    }
    config.auth = auth;
  }
  return Object.freeze(config);
}
