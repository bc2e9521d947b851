/**
 * The edge around {@link ClientCore}: owns the socket and the one timer, feeds the core bytes
 * and `Date.now()`, writes what it returns and hands its events to `emit`. Both drivers run
 * this loop: the worker-thread driver inside a worker, the in-thread driver in the caller's
 * thread.
 */
import type net from 'node:net';
import type { Logger } from '../../log.js';
import { ClientCore } from '../core/client-core.js';
import { ClientState, type ClientEvent, type CoreConfig, type CoreOutput, type DisconnectRequest, type PublishRequest, type SubscriptionRequest } from '../core/types.js';
import type { UserPropertyList } from '../core/user-property-list.js';
import type { DriverConfig } from '../options.js';
import { openTransport } from './transport.js';

/** Commands the API sends to a loop (also the body of the thread messages). */
export type LoopCommand =
  | { type: 'publish'; token: number; request: PublishRequest }
  | { type: 'subscribe'; token: number; subscriptions: SubscriptionRequest[]; properties?: Record<string, unknown>; userPropertyList?: UserPropertyList }
  | { type: 'unsubscribe'; token: number; topics: string[]; properties?: Record<string, unknown>; userPropertyList?: UserPropertyList }
  | { type: 'auth'; reasonCode: number; properties?: Record<string, unknown> }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'reconnect'; changes: Partial<CoreConfig>; tls?: DriverConfig['tls'] }
  | { type: 'end'; force: boolean; disconnect?: DisconnectRequest };

export class ConnectionLoop {
  private readonly core: ClientCore;
  private socket: net.Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private tlsOptions: DriverConfig['tls'];

  constructor(
    private readonly config: DriverConfig,
    private readonly emit: (event: ClientEvent) => void,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    this.tlsOptions = config.tls;
    this.core = new ClientCore(config.core, { logger: log });
  }

  get state(): ClientState {
    return this.core.state;
  }

  start(): void {
    this.apply(this.core.start(this.clock()));
  }

  /** Runs one command; an unexpected throw fails that command instead of the whole loop. */
  command(cmd: LoopCommand): void {
    try {
      this.run(cmd);
    } catch (err) {
      this.log.error({ err: (err as Error).message, command: cmd.type }, 'command failed');
      if ('token' in cmd) this.emit({ type: 'operation-failed', token: cmd.token, error: err as Error });
      else this.emit({ type: 'error', error: err as Error });
    }
  }

  private run(cmd: LoopCommand): void {
    const now = this.clock();
    switch (cmd.type) {
      case 'publish':
        return this.apply(this.core.publish(cmd.token, cmd.request, now));
      case 'subscribe':
        return this.apply(this.core.subscribe(cmd.token, cmd.subscriptions, cmd.properties, now, cmd.userPropertyList));
      case 'unsubscribe':
        return this.apply(this.core.unsubscribe(cmd.token, cmd.topics, cmd.properties, now, cmd.userPropertyList));
      case 'auth':
        return this.apply(this.core.auth(cmd.reasonCode, cmd.properties, now));
      case 'pause':
        return this.apply(this.core.pause(now));
      case 'resume':
        return this.apply(this.core.resume(now));
      case 'reconnect':
        if (cmd.tls) this.tlsOptions = cmd.tls;
        return this.apply(this.core.reconnect(cmd.changes, now));
      case 'end':
        return this.apply(this.core.end(now, cmd.force, cmd.disconnect));
    }
  }

  private apply(out: CoreOutput): void {
    const socket = this.socket;
    if (out.writes.length > 0 && socket && !socket.destroyed) {
      socket.cork();
      let ok = true;
      for (const w of out.writes) ok = socket.write(w.bytes);
      socket.uncork();
      if (!ok) this.later(this.core.setWritable(false, this.clock()));
    }
    for (const action of out.actions) {
      if (action.type === 'close') this.closeSocket(action.graceful);
      else this.openSocket();
    }
    // Schedule before emitting: a handler may call back into the loop and set a newer deadline.
    this.schedule(out.deadline);
    for (const event of out.events) this.emit(event);
    if (this.core.state === ClientState.Ended) this.shutdown();
  }

  /** Applies an output produced while already applying one (no recursion into the socket write). */
  private later(out: CoreOutput): void {
    queueMicrotask(() => this.apply(out));
  }

  private openSocket(): void {
    const endpoint = this.config.endpoint;
    const socket = openTransport(endpoint, this.tlsOptions, {
      onOpen: () => {
        if (this.socket === socket) this.apply(this.core.transportOpen(this.clock()));
      },
      onOpenFailed: (error) => {
        if (this.socket === socket) {
          this.socket = undefined;
          this.apply(this.core.transportFailed(error, this.clock()));
        }
      },
      onData: (chunk) => {
        if (this.socket === socket) this.apply(this.core.receive(chunk, this.clock()));
      },
      onDrain: () => {
        if (this.socket === socket) this.apply(this.core.setWritable(true, this.clock()));
      },
      onClose: (error) => {
        if (this.socket === socket) {
          this.socket = undefined;
          this.apply(this.core.transportClosed(this.clock(), error));
        }
      },
    });
    this.socket = socket;
  }

  private closeSocket(graceful: boolean): void {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    // Written bytes (a DISCONNECT) are flushed by end(); destroy drops them.
    if (graceful) {
      socket.end();
      socket.setTimeout(5000, () => socket.destroy());
    } else socket.destroy();
  }

  private schedule(deadline: number | undefined): void {
    if (deadline === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = deadline;
    if (deadline === undefined) return;
    const delay = Math.max(0, deadline - this.clock());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.apply(this.core.tick(this.clock()));
    }, delay);
  }

  private shutdown(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
    if (this.socket) this.closeSocket(true);
  }
}
