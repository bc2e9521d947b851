/**
 * The few writes every plain encoder needs (`plain-publish-encode.ts`, `plain-control-encode.ts`):
 * a remaining length or other variable byte integer, a two-byte number, a length-prefixed string
 * or binary. Each measures first (so a packet is allocated once, at its exact size) and then
 * writes at a position, returning the next one. Limits are checked when measuring: a value that
 * does not fit measures as -1, and the encoder then leaves the packet to mqtt-packet, whose
 * error is the one the caller sees.
 */

/** Largest remaining length (and variable byte integer) MQTT can write: 4 bytes of 7 bits. */
export const MAX_VARIABLE_BYTE_INTEGER = 268_435_455;

/** Writes `value` as MQTT's variable byte integer (e.g. a remaining length); returns the next position. */
export function writeRemainingLength(bytes: Buffer, pos: number, value: number): number {
  let n = value;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes[pos++] = byte;
  } while (n > 0);
  return pos;
}

/** How many bytes {@link writeRemainingLength} writes for `value` (at most {@link MAX_VARIABLE_BYTE_INTEGER}). */
export function remainingLengthBytes(value: number): number {
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}

/** An integer in 0..0xffff: a packet id, a keep alive, a two-byte property. */
export function isU16(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff;
}

/** Writes a big-endian two-byte number; returns the next position. */
export function writeU16(bytes: Buffer, pos: number, value: number): number {
  bytes[pos] = value >> 8;
  bytes[pos + 1] = value & 0xff;
  return pos + 2;
}

/** UTF-8 bytes of `value` when it fits a length-prefixed string (at most 65,535), else -1. */
export function stringBytes(value: string): number {
  // Every UTF-16 unit is at most 3 UTF-8 bytes, so short strings skip the count's range check.
  const length = value.length < 128 && isAscii(value) ? value.length : Buffer.byteLength(value);
  return length <= 0xffff ? length : -1;
}

/** Whether every unit of a short string is ASCII: then its UTF-8 length is its length. */
function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Writes `value` with its two-byte length; `length` is its {@link stringBytes}. Returns the next
 * position. Short ASCII strings are copied unit by unit: cheaper than `Buffer#write` for the
 * topics and ids of a few dozen bytes most packets carry.
 */
export function writeString(bytes: Buffer, pos: number, value: string, length: number): number {
  bytes[pos++] = length >> 8;
  bytes[pos++] = length & 0xff;
  if (length === value.length && length < 64) {
    for (let i = 0; i < length; i++) bytes[pos + i] = value.charCodeAt(i);
    return pos + length;
  }
  return pos + bytes.write(value, pos, length, 'utf8');
}

/** Writes binary data with its two-byte length (the caller checked it is at most 65,535); returns the next position. */
export function writeBinary(bytes: Buffer, pos: number, value: Uint8Array): number {
  bytes[pos++] = value.byteLength >> 8;
  bytes[pos++] = value.byteLength & 0xff;
  bytes.set(value, pos);
  return pos + value.byteLength;
}
