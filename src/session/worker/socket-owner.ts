/**
 * The listeners of the sockets a session thread owns, shared by every socket: functions that
 * find the socket's current owner on it (Node calls a listener with the socket as `this`), not
 * closures made per connection, which every idle connection would carry.
 *
 * A socket this thread accepted keeps the same three listeners for its whole life: its pending
 * record (thread-listener.ts) owns its events while main decides, then the session's link
 * (connection-link.ts) takes them over with {@link handOver}. Taking them off and putting new
 * ones on (six `EventEmitter` calls, and a second property on the socket) cost every connection,
 * in its run time and in the code V8 compiles for it (docs/performance.md, "Eleventh round").
 *
 * Invariant: a socket's events go to exactly one owner at a time, the last one set; an owner
 * that gives the socket up without handing it over takes the listeners off ({@link disown}).
 */
import type { Socket } from 'node:net';

/** What an owner of a socket's events is told. */
export interface SocketOwner {
  socketData(chunk: Buffer): void;
  socketClosed(hadError: boolean): void;
}

const kOwner = Symbol('weft.socketOwner');
type OwnedSocket = Socket & { [kOwner]: SocketOwner };

function onData(this: OwnedSocket, chunk: Buffer): void {
  this[kOwner].socketData(chunk);
}

function onError(): void {
  // 'close' follows.
}

function onClose(this: OwnedSocket, hadError: boolean): void {
  this[kOwner].socketClosed(hadError);
}

/** Puts the shared listeners on `socket`; `owner` gets its events. */
export function own(socket: Socket, owner: SocketOwner): void {
  (socket as OwnedSocket)[kOwner] = owner;
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
}

/** `owner` gets the events of `socket` (already {@link own}ed) from now on. */
export function handOver(socket: Socket, owner: SocketOwner): void {
  (socket as OwnedSocket)[kOwner] = owner;
}

/** Takes the shared listeners off `socket`: its events go nowhere from now on (errors excepted: see below). */
export function disown(socket: Socket): void {
  socket.off('data', onData);
  socket.off('close', onClose);
  // The no-op error listener stays: a socket given up is closed or destroyed next, and an
  // 'error' with no listener would throw.
}
