/**
 * The main thread's record of one session: its id, client id, thread, the connections relayed
 * to it, and how it ends. The session's state itself lives only in its worker; main talks to it
 * over its thread's link.
 */
import type { SessionId } from '../register/types.js';
import { ConnectionState, type ClientConnection } from './client-connection.js';
import type { ToSession, WithoutSession } from './thread-messages.js';
import type { ThreadLink } from './thread-links.js';
import type { FdHandoff } from './fd-handoff.js';

/** Where a session is, as main sees it. */
export const enum EntryState {
  /** On its thread, reachable by its client id. */
  Live,
  /** Main agreed it may end; it is no longer in the directory. */
  Ending,
  /** Cleaned up. */
  Gone,
}

export class SessionEntry {
  state = EntryState.Live;
  /**
   * Connections relayed to this session, oldest first: the one connection itself, or an array
   * for a takeover's moment (two or more). Not an array always: a one-element array costs ~56
   * bytes, an empty Map ~180, and every idle session would carry it.
   */
  private connections: ClientConnection | ClientConnection[] | undefined;
  /** Id of the last connection main attached (compared with the worker's `ending`). */
  lastAttached = 0;

  constructor(
    readonly id: SessionId,
    readonly clientId: string,
    readonly thread: ThreadLink,
  ) {
    thread.send({ t: 'start', session: id, clientId });
  }

  /** `threadId` of the session's thread (0 until the thread said it is ready). */
  get threadId(): number {
    return this.thread.threadId;
  }

  post(message: WithoutSession<ToSession>, transfer?: readonly ArrayBuffer[]): void {
    if (this.state === EntryState.Gone) return;
    this.thread.send({ ...message, session: this.id } as ToSession, transfer);
  }

  /**
   * Gives `connection` to this session: the socket its accepting thread (this session's) holds,
   * its socket itself when `handoff` is given and the socket can be handed off, else a relay;
   * its first bytes go with the attach (or stay on the accepting thread).
   */
  attach(connection: ClientConnection, assignedClientId: string | undefined, handoff: FdHandoff | undefined): void {
    const held = this.connections;
    // concat(), not push() or a spread: those leave room for 16 more (~150 bytes) never used.
    this.connections = held === undefined ? connection : Array.isArray(held) ? held.concat([connection]) : [held, connection];
    this.lastAttached = connection.id;
    const attach = connection.attachTo(this, handoff);
    if (assignedClientId !== undefined) attach.assignedClientId = assignedClientId;
    this.post(attach, attach.bytes.map((b) => b.buffer as ArrayBuffer));
  }

  /** The connection with this id, while it is this session's. */
  connection(id: number): ClientConnection | undefined {
    const held = this.connections;
    if (!Array.isArray(held)) return held?.id === id ? held : undefined;
    return held.find((c) => c.id === id);
  }

  /** The connection with this id is gone. */
  forget(id: number): void {
    const held = this.connections;
    if (!Array.isArray(held)) {
      if (held?.id === id) this.connections = undefined;
      return;
    }
    const rest = held.filter((c) => c.id !== id);
    this.connections = rest.length > 1 ? rest : rest[0];
  }

  /** Open connections of this session, oldest first. */
  openConnections(): ClientConnection[] {
    const held = this.connections;
    if (held === undefined) return [];
    if (!Array.isArray(held)) return held.state !== ConnectionState.Closed ? [held] : [];
    return held.filter((c) => c.state !== ConnectionState.Closed);
  }
}
