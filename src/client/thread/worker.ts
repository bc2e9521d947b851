/**
 * The client worker: runs one {@link ConnectionLoop} (socket, core, timer) on its own event
 * loop, so keepalive keeps working while the caller's thread is busy. It speaks only through
 * the MessagePort in `workerData`, and lets the thread exit once the client has ended.
 */
import { workerData } from 'node:worker_threads';
import { Writable } from 'node:stream';
import { pino, type LevelWithSilent } from 'pino';
import { ConnectionLoop } from '../driver/connection-loop.js';
import type { CoreConfig } from '../core/types.js';
import { getLogger } from '../../log.js';
import { eventToWire, publishFromWire, type FromWorker, type ToWorker, type WorkerInit } from './messages.js';
import { reviveBuffers } from './messages.js';

const init = workerData as WorkerInit;
const port = init.port;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

const logger = init.forwardLogs
  ? pino(
      { level: init.logLevel as LevelWithSilent, base: { component: 'client' } },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          post({ type: 'log', line: chunk.toString() });
          done();
        },
      }),
    )
  : getLogger('client', { logLevel: init.logLevel as LevelWithSilent });

/** Structured clone turned the config's Buffers into Uint8Arrays; the codec wants Buffers. */
function reviveConfig(core: Partial<CoreConfig>): Partial<CoreConfig> {
  const out = { ...core };
  if (out.password) out.password = Buffer.from(out.password);
  if (out.will) {
    const will = { ...out.will };
    if (typeof will.payload !== 'string') will.payload = Buffer.from(will.payload);
    if (will.properties) will.properties = reviveBuffers(will.properties);
    out.will = will;
  }
  if (out.properties) out.properties = reviveBuffers(out.properties);
  return out;
}

init.config.core = reviveConfig(init.config.core) as CoreConfig;

let ended = false;
const loop = new ConnectionLoop(init.config, (event) => {
  const { wire, transfer } = eventToWire(event);
  post({ type: 'event', event: wire }, transfer);
  if (event.type === 'ended' && !ended) {
    ended = true;
    // Nothing else may keep the thread alive once the client is done.
    setImmediate(() => port.close());
  }
}, logger);

port.on('message', (message: ToWorker) => {
  if (message.type !== 'command') return;
  const cmd = message.command;
  switch (cmd.type) {
    case 'publish':
      return loop.command({ ...cmd, request: publishFromWire(cmd.request) });
    case 'auth':
    case 'subscribe':
    case 'unsubscribe':
      return loop.command(cmd.properties ? { ...cmd, properties: reviveBuffers(cmd.properties) } : cmd);
    case 'reconnect':
      return loop.command({ ...cmd, changes: reviveConfig(cmd.changes) });
    default:
      return loop.command(cmd);
  }
});
loop.start();
