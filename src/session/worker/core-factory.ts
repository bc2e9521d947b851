/** Where the worker gets its session cores: the pure protocol state machine of `../core`. */
import { SessionCore } from '../core/session-core.js';
import type { SessionConfig, SessionCoreApi, SessionIdentity } from '../core/api.js';

/** A fresh core for one session. */
export function createSessionCore(identity: SessionIdentity, config: SessionConfig): SessionCoreApi {
  return new SessionCore(config, identity);
}
