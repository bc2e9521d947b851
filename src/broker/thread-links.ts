/**
 * Main's ends of the worker threads' links (see `session/worker/main-link.ts`): one batch of
 * socket bytes per thread per turn. {@link ThreadLinks.drain} reads a thread's link empty
 * synchronously; main calls it before it handles any message or close of a session port, so a
 * session's bytes are never overtaken by what it posted after them on its own port. Links also
 * carry mailbox ports between threads: a thread offers the receiving end of its new mailbox to
 * another, and main passes it on over that thread's link (held until the thread has one).
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { MailboxOffer, OutMessage, ThreadLinkMessage } from './thread-messages.js';

export class ThreadLinks {
  private readonly links = new Map<number, MessagePort>();
  /** Mailbox ends for threads whose link has not arrived yet. */
  private readonly waiting = new Map<number, MessagePort[]>();

  constructor(private readonly deliver: (out: OutMessage) => void) {}

  /** Starts reading the link of `threadId` (main's end, as the thread's first session sent it). */
  add(threadId: number, port: MessagePort): void {
    this.links.set(threadId, port);
    port.on('message', (message: ThreadLinkMessage) => this.receive(message));
    // The thread is gone (its end closed with it).
    port.on('close', () => {
      if (this.links.get(threadId) === port) this.links.delete(threadId);
    });
    const waiting = this.waiting.get(threadId);
    this.waiting.delete(threadId);
    for (const mailbox of waiting ?? []) this.forward(threadId, mailbox);
  }

  /** Passes the receiving end of a mailbox on to thread `to`. */
  forward(to: number, port: MessagePort): void {
    const link = this.links.get(to);
    if (link === undefined) {
      let waiting = this.waiting.get(to);
      if (waiting === undefined) this.waiting.set(to, (waiting = []));
      waiting.push(port);
      return;
    }
    link.postMessage({ t: 'mailbox', to, port } satisfies MailboxOffer, [port]);
  }

  /** Handles whatever the thread's link holds now. */
  drain(threadId: number): void {
    const port = this.links.get(threadId);
    if (port === undefined) return;
    for (let next = receiveMessageOnPort(port); next !== undefined; next = receiveMessageOnPort(port)) {
      this.receive(next.message as ThreadLinkMessage);
    }
  }

  /** Closes every link and held mailbox end (the broker is closing). */
  close(): void {
    for (const port of this.links.values()) port.close();
    this.links.clear();
    for (const ports of this.waiting.values()) for (const port of ports) port.close();
    this.waiting.clear();
  }

  private receive(message: ThreadLinkMessage): void {
    if (message.t === 'mailbox') return this.forward(message.to, message.port);
    for (const out of message.outs) this.deliver(out);
  }
}
