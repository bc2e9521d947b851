/**
 * Bytes that move between threads by transfer, not copy: a transfer takes a whole ArrayBuffer,
 * and Node's socket chunks and small encoded Buffers may be views of a shared pool, which
 * cannot be transferred (and must not be: other Buffers live in it).
 */

/** True when `chunk` owns its whole ArrayBuffer, which can then be transferred, not copied. */
export function ownsBuffer(chunk: Uint8Array): boolean {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && !(chunk.buffer instanceof SharedArrayBuffer);
}

/** `chunk` itself when it owns its memory, else a copy that does: something that can be transferred. */
export function transferable(chunk: Uint8Array): Uint8Array {
  return ownsBuffer(chunk) ? chunk : new Uint8Array(chunk);
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
