/**
 * A worker thread's link to main for socket bytes: what every session of the thread writes in
 * one event-loop turn goes to main as one message, not one per connection. A fan-out to 50
 * sessions on a thread was 50 port messages per PUBLISH, each woken up, deserialized and
 * dispatched on main; now it is one.
 *
 * Order (see `thread-messages.ts`): a session's other messages to main go over its own port,
 * and main reads this link empty before it handles any of them, so the session flushes this
 * link before posting one ({@link MainLink.flush}).
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { SessionId } from '../../register/types.js';
import type { MailboxOffer, OutMessage, ThreadOutBatch } from '../../broker/thread-messages.js';
import type { Flushable, TurnBatch } from '../../broker/turn-batch.js';

export class MainLink implements Flushable {
  private readonly port: MessagePort;
  /** Main's end, until it has been sent. */
  private mainEnd: MessagePort | undefined;
  private outs: OutMessage[] = [];
  private transfer: ArrayBuffer[] = [];

  constructor(private readonly batch: TurnBatch) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.mainEnd = port2;
  }

  /** Main's end of the link the first time it is asked for (to transfer it), then undefined. */
  takeMainEnd(): MessagePort | undefined {
    const end = this.mainEnd;
    this.mainEnd = undefined;
    return end;
  }

  /** Sends main the receiving end of a new mailbox to thread `to`, for main to pass on. */
  offerMailbox(to: number, port: MessagePort): void {
    this.port.postMessage({ t: 'mailbox', to, port } satisfies MailboxOffer, [port]);
  }

  /** Takes the receiving ends of mailboxes other threads opened to this one (main passes them on). */
  onMailbox(accept: (port: MessagePort) => void): void {
    this.port.on('message', (offer: MailboxOffer) => accept(offer.port));
  }

  /** Queues `out` of `session` for this turn's batch; `buffer` is transferred with it. */
  send(session: SessionId, out: Omit<OutMessage, 'session'>, buffer: ArrayBuffer | undefined): void {
    (out as OutMessage).session = session;
    this.outs.push(out as OutMessage);
    if (buffer !== undefined) this.transfer.push(buffer);
    if (this.outs.length === 1) this.batch.mark(this);
  }

  flush(): void {
    if (this.outs.length === 0) return;
    const batch: ThreadOutBatch = { t: 'outs', outs: this.outs };
    const transfer = this.transfer;
    this.outs = [];
    this.transfer = [];
    this.port.postMessage(batch, transfer);
  }
}
