/**
 * Closing a socket after its last bytes, the same way on main and on the session threads.
 */
import type { Socket } from 'node:net';

/**
 * How long a closing socket may take to flush its last bytes before it is cut off: a peer that
 * does not read cannot keep a closing socket's buffers for ever.
 */
export const LINGER_MS = 5000;

/**
 * Writes `bytes` (a refusal's CONNACK), ends the socket and destroys it once flushed, or after
 * {@link LINGER_MS} if the peer does not read. The caller has an `'error'` listener on it.
 */
export function writeAndClose(socket: Socket, bytes: Uint8Array): void {
  socket.end(bytes, () => socket.destroy());
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once('close', () => clearTimeout(linger));
}
