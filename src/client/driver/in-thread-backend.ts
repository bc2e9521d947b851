/**
 * The in-thread driver (`{ thread: false }`): the connection loop runs on the caller's event
 * loop. Same API, no extra thread; keepalive then depends on that event loop staying free.
 */
import type { Logger } from '../../log.js';
import type { Backend } from '../backend.js';
import type { ClientEvent } from '../core/types.js';
import type { DriverConfig } from '../options.js';
import { ConnectionLoop, type LoopCommand } from './connection-loop.js';

export class InThreadBackend implements Backend {
  private readonly loop: ConnectionLoop;

  constructor(config: DriverConfig, logger: Logger, onEvent: (event: ClientEvent) => void) {
    this.loop = new ConnectionLoop(config, onEvent, logger);
    queueMicrotask(() => this.loop.start());
  }

  send(command: LoopCommand): void {
    this.loop.command(command);
  }

  close(): void {}
}
