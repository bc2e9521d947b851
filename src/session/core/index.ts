/** The session core's public surface: the contract with the broker runtime. */
export * from './api.js';
export { SessionCore } from './session-core.js';
export { validateSessionConfig } from './config.js';
export { TRANSITIONS } from './state.js';
