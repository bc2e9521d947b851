/**
 * Weft: an MQTT 3.1.1 / 5.0 broker and client for Node.js, built on worker threads.
 *
 * @packageDocumentation
 */
export { getLogger, silentLogger, checkLogLevel, LOG_LEVELS, type LogOptions, type Logger } from './log.js';
export * from './client/index.js';
export { startBroker, BrokerOptionError, SessionThreadStartError } from './broker/index.js';
export type { Broker, BrokerStats, BrokerCounters, SessionInfo } from './broker/broker.js';
export type { BrokerOptions, ResolvedBrokerOptions } from './broker/options.js';
export type { ReceivedMessage, TransportAction, OutgoingPacket, PublishRequest, SubscriptionRequest } from './client/core/types.js';
export { SharedRegister } from './register/shared-register.js';
export type { SharedRegisterHandle, SharedRegisterStats, SharedRegisterOptions, AttachOptions } from './register/shared-register.js';
export { ReferenceRegister, type ReferenceRegisterOptions } from './register/reference-register.js';
export * from './register/types.js';
