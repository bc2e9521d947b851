/**
 * Bytes that move between threads by transfer, not copy: a transfer takes a whole ArrayBuffer,
 * and Node's socket chunks and small encoded Buffers may be views of a shared pool, which
 * cannot be transferred (and must not be: other Buffers live in it). The same own-or-copy rule
 * serves bytes kept for long (a session's queue), which must not keep a larger buffer alive.
 * No I/O and no thread of its own: main, the session threads and the pure session core use it.
 */

/** True when `chunk` owns its whole ArrayBuffer, which can then be transferred, not copied. */
export function ownsBuffer(chunk: Uint8Array): boolean {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && !(chunk.buffer instanceof SharedArrayBuffer);
}

/** `chunk` itself when it owns its memory, else a copy that does: something that can be transferred. */
export function transferable(chunk: Uint8Array): Uint8Array {
  return ownsBuffer(chunk) ? chunk : new Uint8Array(chunk);
}

/**
 * True when `chunk` is a view into an ArrayBuffer of more than twice its size: kept for long,
 * it would keep the rest alive too (a socket read of up to 64 KiB, an 8 KiB pool slab, a
 * mailbox batch, which a structured clone copies with the whole buffer of its views).
 */
export function wastesBuffer(chunk: Uint8Array): boolean {
  return chunk.buffer.byteLength > 2 * chunk.byteLength;
}

/**
 * Bytes to keep for long (a session's queue): `chunk` itself when its ArrayBuffer is at most
 * twice its size, else an unpooled Buffer copy that owns its memory ({@link joinUnpooled}). At
 * most half of what is kept is slack; a small message no longer keeps the buffer it was read
 * into alive. Not `new Uint8Array(chunk)`: a small one lives in V8's heap, and the first read of
 * its `.buffer` (every send makes a Buffer of it) moves it out, at several times the copy's cost.
 */
export function compacted(chunk: Uint8Array): Uint8Array {
  return wastesBuffer(chunk) ? joinUnpooled([chunk], chunk.byteLength) : chunk;
}

/** The bytes {@link compacted}`(chunk)` keeps alive: its own when copied, else its whole ArrayBuffer's. */
export function compactedBytes(chunk: Uint8Array): number {
  return wastesBuffer(chunk) ? chunk.byteLength : chunk.buffer.byteLength;
}

/** `chunks` (`total` bytes in all) joined into one unpooled Buffer, whose memory can be transferred. */
export function joinUnpooled(chunks: readonly Uint8Array[], total: number): Buffer {
  const joined = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.byteLength;
  }
  return joined;
}
