/**
 * The worker-thread driver, caller's side: starts the client worker, posts commands to it and
 * turns what it posts back into events. The worker owns the socket and the core.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import type { ClientEvent } from '../core/types.js';
import type { LoopCommand } from '../driver/connection-loop.js';
import type { DriverConfig } from '../options.js';
import { eventFromWire, publishToWire, type FromWorker, type ToWorker, type WorkerInit } from './messages.js';
import type { Backend } from '../backend.js';

export class ThreadBackend implements Backend {
  private readonly worker: Worker;
  private readonly port: import('node:worker_threads').MessagePort;
  private closed = false;

  constructor(config: DriverConfig, logLevel: string, onLogLine: ((line: string) => void) | undefined, private readonly onEvent: (event: ClientEvent) => void) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: Omit<WorkerInit, 'port'> & { port: unknown } = { config, logLevel, forwardLogs: onLogLine !== undefined, port: port2 };
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init, transferList: [port2], execArgv: workerExecArgv() });
    port1.on('message', (message: FromWorker) => {
      if (message.type === 'log') onLogLine?.(message.line);
      else this.onEvent(eventFromWire(message.event));
    });
    this.worker.on('error', (err) => {
      // The worker died: report it and end, so no caller waits forever.
      this.onEvent({ type: 'connect-failed', error: err, final: true });
      this.onEvent({ type: 'error', error: err });
      this.onEvent({ type: 'ended', error: err });
    });
  }

  send(command: LoopCommand): void {
    if (this.closed) return;
    let message: ToWorker;
    let transfer: ArrayBuffer[] = [];
    if (command.type === 'publish') {
      const w = publishToWire(command.request);
      message = { type: 'command', command: { ...command, request: w.request } };
      transfer = w.transfer;
    } else message = { type: 'command', command };
    this.port.postMessage(message, transfer as never);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
  }
}

/**
 * The caller's Node flags minus those that describe the main script (`-e`, `--input-type`):
 * the worker is a file, and `--input-type` would make loading it fail.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') {
      i++;
      continue;
    }
    if (a.startsWith('--input-type') || a.startsWith('--eval=') || a.startsWith('--print=')) continue;
    out.push(a);
  }
  return out;
}
