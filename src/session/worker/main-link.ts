/**
 * A worker thread's link to main, both ways, shared by every session of the thread.
 *
 * Out: what the thread's sessions write to their sockets and tell main in one event-loop turn
 * goes as one message, not one per connection or session (a fan-out to 50 sessions on a thread
 * was 50 port messages per PUBLISH, each woken up, deserialized and dispatched on main; now it is
 * one). In: main's batches for this thread's sessions. One ordered port each way, so a session's
 * bytes are never overtaken by an event it sends after them.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SessionId } from '../../register/types.js';
import type {
  FromListener,
  FromSession,
  FromThread,
  MailboxOffer,
  OutMessage,
  ToListener,
  ToSession,
  ToThread,
} from '../../broker/thread-messages.js';
import type { Flushable, TurnBatch } from '../../broker/turn-batch.js';

/** What the thread does with what main sends. */
export interface MainLinkEvents {
  /** One message for one of the thread's sessions (or one to start), or for its listener. */
  session(message: ToSession | ToListener): void;
  /** The receiving end of a mailbox another thread opened to this one. */
  mailbox(port: MessagePort): void;
  /** Main closed the link: the broker is closing or gone. */
  closed(): void;
}

export class MainLink implements Flushable {
  private items: (FromSession | FromListener)[] = [];
  private transfer: ArrayBuffer[] = [];

  constructor(
    private readonly port: MessagePort,
    private readonly batch: TurnBatch,
    threadId: number,
    events: MainLinkEvents,
  ) {
    port.on('message', (message: ToThread) => {
      if (message.t === 'mailbox') return events.mailbox(message.port);
      for (const item of message.items) events.session(item);
    });
    port.on('close', () => events.closed());
    port.postMessage({ t: 'ready', threadId } satisfies FromThread);
  }

  /** Sends main the receiving end of a new mailbox to thread `to`, for main to pass on. */
  offerMailbox(to: number, port: MessagePort): void {
    this.port.postMessage({ t: 'mailbox', to, port } satisfies MailboxOffer, [port]);
  }

  /** Queues socket bytes of `session` for this turn's batch; `buffer` is transferred with it. */
  send(session: SessionId, out: Omit<OutMessage, 't' | 'session'>, buffer: ArrayBuffer | undefined): void {
    const message = out as OutMessage;
    message.t = 'out';
    message.session = session;
    if (buffer !== undefined) this.transfer.push(buffer);
    this.queue(message);
  }

  /** Queues a session event for this turn's batch, after everything the session queued before. */
  event(message: FromSession): void {
    this.queue(message);
  }

  /** Queues an item of the thread's listener for this turn's batch; `transfer` moves with it. */
  listenerEvent(item: FromListener, transfer?: ArrayBuffer[]): void {
    if (transfer !== undefined) for (const buffer of transfer) this.transfer.push(buffer);
    this.queue(item);
  }

  private queue(message: FromSession | FromListener): void {
    this.items.push(message);
    if (this.items.length === 1) this.batch.mark(this);
  }

  flush(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    const transfer = this.transfer;
    this.items = [];
    this.transfer = [];
    this.port.postMessage({ t: 'batch', items } satisfies FromThread, transfer);
  }

  /** Closes the link (the thread's host is done). */
  close(): void {
    this.flush();
    this.port.close();
  }
}
