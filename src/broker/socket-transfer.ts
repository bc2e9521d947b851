/**
 * Can this Node move a TCP socket to a worker thread? Node 20 cannot (`postMessage` throws
 * `DataCloneError`); newer lines add transferable, freshly accepted `net.Socket` handles
 * (nodejs/node PR #64225). Today the broker hands sockets over by fd with a native dup
 * (`fd-handoff.ts`); where this probe says yes, a transfer could replace the addon (see
 * docs/architecture.md). It is logged at start.
 */
import { Socket } from 'node:net';
import { MessageChannel } from 'node:worker_threads';

let probed: boolean | undefined;

/** True when a `net.Socket` survives `postMessage` with a transferList (probed once). */
export function socketTransferSupported(): boolean {
  if (probed !== undefined) return probed;
  const { port1, port2 } = new MessageChannel();
  const socket = new Socket();
  try {
    port1.postMessage(socket, [socket as never]);
    probed = true;
  } catch {
    probed = false;
  } finally {
    socket.destroy();
    port1.close();
    port2.close();
  }
  return probed;
}
