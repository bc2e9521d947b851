/**
 * What one session worker thread shares among the sessions it hosts: its link to main, its
 * register attachment, the session→thread table, its fanout and mailboxes, the per-turn batch,
 * the session config. Built once per thread from piscina's `workerData` when the thread's host
 * task starts; sessions then start and end as messages on the link.
 */
import { threadId, workerData, type MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import { getLogger } from '../../log.js';
import type { SubscriptionRegister, SessionId } from '../../register/types.js';
import { Fanout } from '../../broker/fanout.js';
import { SessionThreadTable } from '../../broker/session-threads.js';
import { SessionBacklog } from '../../broker/session-backlog.js';
import type { MailboxBatch, ToListener, ToSession, WorkerSetup } from '../../broker/thread-messages.js';
import { TurnBatch } from '../../broker/turn-batch.js';
import { SharedCounters } from '../../broker/shared-counters.js';
import { attachRegister, type RegisterLinkHandle } from '../../broker/register-link.js';
import type { SessionConfig, SessionCoreApi } from '../core/api.js';
import { validateSessionConfig } from '../core/config.js';
import { createSessionCore } from './core-factory.js';
import { SessionHost } from './session-host.js';
import { MainLink } from './main-link.js';
import { closeUnadopted } from './connection-link.js';
import { SocketWriter } from './socket-writer.js';
import { nativeWriteBatch } from '../../broker/fd-handoff.js';
import { ThreadListener } from './thread-listener.js';

/** Whether an item main sent the thread is for its listener rather than one of its sessions. */
function toListener(item: ToSession | ToListener): item is ToListener {
  switch (item.t) {
    case 'listen':
    case 'unlisten':
    case 'release':
    case 'refuse':
    case 'drop':
      return true;
    default:
      return false;
  }
}

export class WorkerThread {
  readonly threadId = threadId;
  readonly sessions = new Map<SessionId, SessionHost>();
  readonly batch = new TurnBatch();
  /** The link to main: every session's bytes and events, one message per turn each way. */
  readonly toMain: MainLink;
  readonly register: SubscriptionRegister;
  readonly table: SessionThreadTable;
  readonly backlog: SessionBacklog;
  readonly fanout: Fanout;
  readonly sessionConfig: SessionConfig;
  readonly maxPacketSize: number;
  readonly relayBufferBytes: number;
  readonly log: Logger;
  readonly counters: SharedCounters;
  /** Accepts sockets on this thread, once main sends it a listening fd (thread-listener.ts). */
  readonly listener: ThreadListener;

  /** Sessions holding QoS 0 deliveries back while their connection is behind. */
  readonly holding = new Set<SessionHost>();
  /**
   * Every owned socket's write callback: a write reached the kernel, so sessions holding
   * deliveries check whether their connection is still behind. One function for the thread (the
   * set is empty but under congestion), not a closure per connection.
   */
  readonly socketWritten = (): void => {
    for (const host of this.holding) host.releaseHeld();
  };

  /**
   * Writes the owned sockets' bytes of a turn in one native call (socket-writer.ts); undefined
   * without the addon, and then each socket is written with `socket.write`.
   */
  readonly socketWriter: SocketWriter | undefined;

  private resolveServed!: () => void;
  /** Settles when main closes the link: the thread's host task is over. */
  readonly served = new Promise<void>((resolve) => (this.resolveServed = resolve));

  constructor(setup: WorkerSetup, port: MessagePort) {
    this.log = getLogger('session', { logLevel: setup.logLevel as never }).child({ thread: threadId });
    this.sessionConfig = validateSessionConfig(setup.sessionOptions as Partial<SessionConfig>);
    this.maxPacketSize = setup.maxPacketSize;
    this.relayBufferBytes = setup.relayBufferBytes;
    this.register = attachRegister(setup.registerHandle as RegisterLinkHandle, threadId);
    this.table = new SessionThreadTable(setup.sessionThreads);
    this.backlog = new SessionBacklog(setup.backlog, setup.backlogLimits);
    this.counters = new SharedCounters(setup.counters);
    const writeBatch = nativeWriteBatch();
    this.socketWriter = writeBatch === undefined ? undefined : new SocketWriter(writeBatch, this.batch, this.socketWritten);
    this.fanout = new Fanout(
      this.register,
      this.table,
      this.backlog,
      threadId,
      (session, message, info) => {
        const host = this.sessions.get(session);
        if (host === undefined) return false;
        host.deliver(message, info);
        return true;
      },
      (to, port) => this.toMain.offerMailbox(to, port),
    );
    this.listener = new ThreadListener({
      maxPacketSize: setup.maxPacketSize,
      connectTimeout: setup.connectTimeout,
      maxPendingConnections: setup.maxPendingConnections,
      maxPendingConnectBytes: setup.maxPendingConnectBytes,
      counters: this.counters,
      log: this.log,
      send: (item, transfer) => this.toMain.listenerEvent(item, transfer),
      flush: () => this.toMain.flush(),
    });
    this.toMain = new MainLink(port, this.batch, threadId, {
      session: (message) => (toListener(message) ? this.listener.onMessage(message) : this.onSessionMessage(message)),
      // Mailboxes from other threads: MessagePorts whose sending ends they keep (through main).
      mailbox: (mailbox) => mailbox.on('message', (batch: MailboxBatch) => this.fanout.receive(batch)),
      closed: () => {
        this.listener.close();
        this.resolveServed();
      },
    });
  }

  private onSessionMessage(message: ToSession): void {
    if (message.t === 'start') {
      this.sessions.set(message.session, new SessionHost(message.session, message.clientId, this));
      return;
    }
    // A session that has finished here ignores what main sent before it learned so; a socket
    // handed to it is closed, since nobody else will.
    const host = this.sessions.get(message.session);
    if (host !== undefined) host.onMessage(message);
    else if (message.t === 'attach' && message.fd !== undefined) closeUnadopted(message.fd);
    else if (message.t === 'attach' && message.local !== undefined) this.listener.drop(message.local);
  }

  /** A fresh core for `sessionId`. */
  createCore(sessionId: SessionId, clientId: string): SessionCoreApi {
    return createSessionCore({ sessionId, clientId }, this.sessionConfig);
  }

  private static instance: WorkerThread | undefined;

  /** Starts this thread's host on `port` (its link to main); a thread has one for its life. */
  static serve(port: MessagePort): WorkerThread {
    if (WorkerThread.instance !== undefined) throw new Error('this worker thread already hosts sessions');
    WorkerThread.instance = new WorkerThread(workerData as WorkerSetup, port);
    return WorkerThread.instance;
  }
}
