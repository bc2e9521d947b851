/**
 * Weft: an MQTT 3.1.1 / 5.0 broker and client for Node.js, built on worker threads.
 *
 * @packageDocumentation
 */
export { getLogger, silentLogger, checkLogLevel, LOG_LEVELS, type LogOptions, type Logger } from './log.js';
export * from './client/index.js';
export { startBroker } from './broker/index.js';
export { SharedRegister } from './register/shared-register.js';
export { ReferenceRegister } from './register/reference-register.js';
export * from './register/types.js';
