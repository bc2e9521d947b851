/**
 * Handing an accepted socket to a session thread (docs/architecture.md, "Who owns a socket").
 *
 * Node 20 cannot move a `net.Socket` to a worker thread, and passing on the fd number alone is
 * unsafe: main's handle would still own it, and closing that handle closes the connection. So
 * main duplicates the fd with the native addon (`native/fd-handoff`, built at install), closes
 * its own handle (no FIN is sent while the duplicate refers to the socket), and the session's
 * thread opens the duplicate with `new net.Socket({ fd })`: from then on it is the only owner,
 * reads and writes with no relay, and its socket closes with it if the thread dies.
 *
 * A duplicate in transit belongs to nobody until its thread opens it. If the thread dies first,
 * main closes it, but only after checking that the fd number still names the same socket (its
 * inode): fd numbers are reused, and a stale number must never close another connection.
 *
 * Without the addon (not built, or not a Unix platform) {@link fdHandoff} is undefined and the
 * broker relays bytes through main instead.
 */
import { fstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server, Socket } from 'node:net';

interface NativeFd {
  dup(fd: number): number;
  close(fd: number): void;
  /** fstat's st_ino; absent from an addon built before it existed. */
  inode?(fd: number): number;
  /** See {@link WriteBatch}; absent from an addon built before it existed (then sockets are written through their streams). */
  writeBatchShared?: WriteBatch;
}

/**
 * The addon's batched socket write (`native/fd-handoff/src/fd_handoff.c`, `writeBatchShared`):
 * for each entry `i < n`, sends `counts[i]` buffers to `fds[i]` with one non-blocking
 * `sendmsg`, the buffers being `chunks[refs[k]]` for the next `counts[i]` values of `k` (a
 * buffer several entries share is listed once in `chunks`), and stores in `results[i]` the
 * bytes the kernel took (0 when its buffer was full) or `-errno`. A bad argument throws, after
 * the entries before it were sent, with their results stored and 0 for the rest. Callers must
 * own every fd and have nothing queued in its stream (see `session/worker/socket-writer.ts`).
 */
export type WriteBatch = (fds: Int32Array, counts: Int32Array, refs: Int32Array, chunks: readonly Buffer[], n: number, results: Int32Array) => void;

/** A socket's duplicate fd, on its way to (or owned by) a session thread. */
export interface HandedSocket {
  readonly fd: number;
  /** The socket's inode, to recognise the fd later (see {@link FdHandoff.closeOrphan}). */
  readonly ino: number;
}

/** The hand-off operations, when the native addon is available. */
export interface FdHandoff {
  /**
   * Duplicates `socket`'s fd and destroys `socket` (main's handle) in the same tick, so main
   * reads nothing more; undefined (socket untouched) when the socket has no fd to hand off.
   */
  handOff(socket: Socket): HandedSocket | undefined;
  /** Closes a duplicate whose thread died, if `fd` still names the same socket. */
  closeOrphan(handed: HandedSocket): void;
  /**
   * A new duplicate of `fd` (a listening socket's, for one session thread) and its inode. The
   * caller owns it: it goes to a thread, or is closed with {@link closeOrphan}.
   */
  duplicate(fd: number): HandedSocket;
}

/** The fd of a net handle (a `Socket` or a `Server`), or undefined when it has none. */
export function handleFd(handled: Socket | Server): number | undefined {
  const fd = (handled as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * A duplicate of a listening `server`'s fd (docs/architecture.md, "Who accepts"): main keeps it
 * for the broker's life, to give every session thread its own duplicate, and closes `server`
 * itself so it never accepts. The port stays bound while any duplicate is open. Undefined when
 * the addon is missing or `server` has no fd (then main keeps accepting).
 */
export function duplicateListener(server: Server): HandedSocket | undefined {
  const handoff = fdHandoff();
  const fd = handleFd(server);
  if (handoff === undefined || fd === undefined) return undefined;
  return handoff.duplicate(fd);
}

let addon: NativeFd | null | undefined;
let loaded: FdHandoff | null | undefined;

/** The addon, or null when it is not built or cannot load here (once per thread). */
function nativeFd(): NativeFd | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.platform === 'win32') return addon;
  try {
    // dist/src/broker → the package root; a build elsewhere (a test's own outDir) names it.
    const path = process.env.WEFT_FD_HANDOFF_ADDON ?? '../../../native/fd-handoff/build/Release/fd_handoff.node';
    addon = createRequire(import.meta.url)(path) as NativeFd;
  } catch {
    // not built: callers fall back
  }
  return addon;
}

/** The hand-off operations, or undefined when the addon is not built or cannot load here. */
export function fdHandoff(): FdHandoff | undefined {
  if (loaded === undefined) loaded = load();
  return loaded ?? undefined;
}

/** The addon's batched socket write, or undefined when the addon (or this function of it) is missing. */
export function nativeWriteBatch(): WriteBatch | undefined {
  return nativeFd()?.writeBatchShared;
}

function load(): FdHandoff | null {
  const native = nativeFd();
  if (native === null) return null;
  const inode = native.inode ?? ((fd: number) => fstatSync(fd).ino);
  const duplicate = (fd: number): HandedSocket => {
    const copy = native.dup(fd);
    try {
      return { fd: copy, ino: inode(copy) };
    } catch (err) {
      native.close(copy);
      throw err;
    }
  };
  return {
    handOff(socket: Socket): HandedSocket | undefined {
      const fd = handleFd(socket);
      if (fd === undefined) return undefined;
      const handed = duplicate(fd);
      socket.destroy();
      return handed;
    },
    duplicate,
    closeOrphan(handed: HandedSocket): void {
      try {
        if (inode(handed.fd) === handed.ino) native.close(handed.fd);
      } catch {
        // Already closed (the thread had opened it and died with it).
      }
    },
  };
}
