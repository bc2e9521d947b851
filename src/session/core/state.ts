/**
 * The one state of a session and the transitions it may take. Everything that moves a
 * session between states goes through {@link transition}, so this table is the whole story;
 * tests check it and `docs/protocol.md` draws it.
 */
import { SessionState } from './api.js';

export { SessionState };

/** Allowed transitions: from a state, the states it may move to. */
export const TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  // CONNECT accepted, enhanced auth begins, or CONNECT refused (a new session ends at once).
  [SessionState.AwaitingConnect]: [SessionState.Connected, SessionState.Authenticating, SessionState.Ended],
  // Auth completes, fails, or the connection drops mid-auth.
  [SessionState.Authenticating]: [SessionState.Connected, SessionState.Offline, SessionState.Ended],
  // Takeover keeps Connected; the connection ends (persistent → Offline, else Ended).
  [SessionState.Connected]: [SessionState.Connected, SessionState.Authenticating, SessionState.Offline, SessionState.Ended],
  // A client resumes the session, or it expires / is ended.
  [SessionState.Offline]: [SessionState.Connected, SessionState.Authenticating, SessionState.Ended],
  [SessionState.Ended]: [],
};

/** Returns `to` after checking the table; a disallowed transition is a bug in the core. */
export function transition(from: SessionState, to: SessionState): SessionState {
  if (!TRANSITIONS[from].includes(to)) throw new Error(`session core: no transition from ${from} to ${to}`);
  return to;
}
