/**
 * The main thread's record of one session: its id, client id, port, thread, the connections
 * relayed to it, and how it ends. The session's state itself lives only in its worker.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { SessionId } from '../register/types.js';
import { ConnectionState, type ClientConnection } from './client-connection.js';
import type { FromSession, ToSession } from './thread-messages.js';

/** Where a session is, as main sees it. */
export const enum EntryState {
  /** Its task was submitted; the worker has not said `started` yet. */
  Starting,
  /** Running on `threadId`. */
  Live,
  /** Main agreed it may end; it is no longer in the directory. */
  Ending,
  /** Piscina refused its task; it must never touch anything if it runs after all. */
  Cancelled,
  /** Cleaned up. */
  Gone,
}

/** What the broker does with a session's messages. */
export interface EntryEvents {
  message(entry: SessionEntry, message: FromSession): void;
}

export class SessionEntry {
  state = EntryState.Starting;
  threadId = 0;
  /** Connections relayed to this session, by id. */
  readonly connections = new Map<number, ClientConnection>();
  /** Id of the last connection main attached (compared with the worker's `ending`). */
  lastAttached = 0;
  /** Connections waiting for `started` before their attach is sent. */
  private waiting: { connection: ClientConnection; assignedClientId: string | undefined }[] = [];
  readonly port: MessagePort;
  /** The worker's end, handed over in the task's transferList. */
  readonly workerPort: MessagePort;
  portClosed = false;
  /** The piscina task resolved (the session ended normally). */
  taskEnded = false;

  constructor(
    readonly id: SessionId,
    readonly clientId: string,
    private readonly events: EntryEvents,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.workerPort = port2;
    port1.on('message', (message: FromSession) => this.events.message(this, message));
  }

  /** The worker said it runs; attaches can be sent. */
  get started(): boolean {
    return this.state === EntryState.Live || this.state === EntryState.Ending;
  }

  post(message: ToSession, transfer: ArrayBuffer[] = []): void {
    if (this.state === EntryState.Gone || this.portClosed) return;
    this.port.postMessage(message, transfer);
  }

  /** Relays `connection` to this session (sent once the worker has started). */
  attach(connection: ClientConnection, assignedClientId: string | undefined): void {
    this.connections.set(connection.id, connection);
    this.lastAttached = connection.id;
    connection.relayTo(this);
    if (this.started) this.sendAttach(connection, assignedClientId);
    else this.waiting.push({ connection, assignedClientId });
  }

  /** The worker runs on `threadId`; returns how many connections were attached. */
  onStarted(threadId: number): number {
    if (this.state !== EntryState.Starting) return 0;
    this.threadId = threadId;
    this.state = EntryState.Live;
    let attached = 0;
    for (const { connection, assignedClientId } of this.waiting.splice(0)) {
      if (connection.state !== ConnectionState.Closed) {
        this.sendAttach(connection, assignedClientId);
        attached++;
      } else this.connections.delete(connection.id);
    }
    return attached;
  }

  /** Open connections of this session. */
  openConnections(): ClientConnection[] {
    return [...this.connections.values()].filter((c) => c.state !== ConnectionState.Closed);
  }

  private sendAttach(connection: ClientConnection, assignedClientId: string | undefined): void {
    const bytes = connection.takeFirstBytes();
    const message: ToSession = { t: 'attach', connection: connection.id, bytes, remote: connection.remote };
    if (assignedClientId !== undefined) message.assignedClientId = assignedClientId;
    this.post(message, bytes.map((b) => b.buffer as ArrayBuffer));
    connection.ready();
  }
}
