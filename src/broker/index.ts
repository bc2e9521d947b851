/**
 * The broker: `startBroker(options)` → a running MQTT 3.1.1 / 5.0 broker.
 *
 * @packageDocumentation
 */
export { startBroker, type Broker, type BrokerStats, type BrokerCounters, type SessionInfo } from './broker.js';
export { SessionThreadStartError } from './thread-links.js';
export {
  resolveBrokerOptions,
  loadBrokerConfig,
  defaultBrokerOptions,
  BrokerOptionError,
  type BrokerOptions,
  type ResolvedBrokerOptions,
} from './options.js';
export type { RetainedStore, Retainable, RetainOutcome } from './retained/types.js';
export { MemoryRetainedStore } from './retained/memory-store.js';
