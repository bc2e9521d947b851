/**
 * What one session worker thread shares among the sessions it hosts: its register attachment,
 * the session→thread table, its fanout and mailbox, the per-turn batch, the session config.
 * Built once per thread from piscina's `workerData`.
 */
import { threadId, workerData } from 'node:worker_threads';
import type { Logger } from 'pino';
import { getLogger } from '../../log.js';
import type { SubscriptionRegister, SessionId } from '../../register/types.js';
import { Fanout } from '../../broker/fanout.js';
import { SessionThreadTable } from '../../broker/session-threads.js';
import { SessionBacklog } from '../../broker/session-backlog.js';
import type { MailboxBatch, WorkerSetup } from '../../broker/thread-messages.js';
import { TurnBatch } from '../../broker/turn-batch.js';
import { SharedCounters } from '../../broker/shared-counters.js';
import { attachRegister, type RegisterLinkHandle } from '../../broker/register-link.js';
import type { SessionConfig, SessionCoreApi } from '../core/api.js';
import { validateSessionConfig } from '../core/config.js';
import { createSessionCore } from './core-factory.js';
import type { SessionHost } from './session-host.js';
import { MainLink } from './main-link.js';

export class WorkerThread {
  readonly threadId = threadId;
  readonly sessions = new Map<SessionId, SessionHost>();
  readonly batch = new TurnBatch();
  /** Socket bytes of every session of this thread, to main, one message per turn. */
  readonly toMain = new MainLink(this.batch);
  readonly register: SubscriptionRegister;
  readonly table: SessionThreadTable;
  readonly backlog: SessionBacklog;
  readonly fanout: Fanout;
  readonly sessionConfig: SessionConfig;
  readonly maxPacketSize: number;
  readonly relayBufferBytes: number;
  readonly log: Logger;
  readonly counters: SharedCounters;

  constructor(setup: WorkerSetup) {
    this.log = getLogger('session', { logLevel: setup.logLevel as never }).child({ thread: threadId });
    this.sessionConfig = validateSessionConfig(setup.sessionOptions as Partial<SessionConfig>);
    this.maxPacketSize = setup.maxPacketSize;
    this.relayBufferBytes = setup.relayBufferBytes;
    this.register = attachRegister(setup.registerHandle as RegisterLinkHandle, threadId);
    this.table = new SessionThreadTable(setup.sessionThreads);
    this.backlog = new SessionBacklog(setup.backlog, setup.backlogLimits);
    this.counters = new SharedCounters(setup.counters);
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
    // Mailboxes from other threads: MessagePorts whose sending ends they keep (through main).
    this.toMain.onMailbox((port) => port.on('message', (batch: MailboxBatch) => this.fanout.receive(batch)));
  }

  /** A fresh core for `sessionId`. */
  createCore(sessionId: SessionId, clientId: string): SessionCoreApi {
    return createSessionCore({ sessionId, clientId }, this.sessionConfig);
  }

  private static instance: WorkerThread | undefined;

  /** This thread's context, built on first use. */
  static get(): WorkerThread {
    WorkerThread.instance ??= new WorkerThread(workerData as WorkerSetup);
    return WorkerThread.instance;
  }
}
