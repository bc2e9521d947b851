/**
 * Building and reading MQTT bytes by hand, for tests whose peer must be raw bytes (no encoder in
 * between to reorder or repair what is sent) or must read exactly what the broker wrote.
 */

/** An MQTT string: two length bytes, then its UTF-8 bytes. */
export function str(s: string): number[] {
  const bytes = [...Buffer.from(s, 'utf8')];
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

/** Fixed sizes of the properties a forwarded PUBLISH may carry besides User Properties; -1: a string or binary, -2: a varint. */
const SKIP: Record<number, number> = { 0x01: 1, 0x02: 4, 0x03: -1, 0x08: -1, 0x09: -1, 0x0b: -2, 0x23: 2 };

/** The User Properties of a whole v5 PUBLISH frame, pair by pair as they are on the wire. */
export function userPropertyPairs(frame: Buffer): [string, string][] {
  let pos = 1;
  while ((frame[pos++]! & 0x80) !== 0);
  pos += 2 + frame.readUInt16BE(pos) + (((frame[0]! >> 1) & 3) > 0 ? 2 : 0);
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = frame[pos++]!;
    length += (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
  }
  const end = pos + length;
  const pairs: [string, string][] = [];
  const string = (): string => {
    const size = frame.readUInt16BE(pos);
    pos += 2 + size;
    return frame.toString('utf8', pos - size, pos);
  };
  while (pos < end) {
    const id = frame[pos++]!;
    const skip = SKIP[id];
    if (id === 0x26) pairs.push([string(), string()]);
    else if (skip === -1) pos += 2 + frame.readUInt16BE(pos);
    else if (skip === -2) while ((frame[pos++]! & 0x80) !== 0);
    else if (skip !== undefined) pos += skip;
    else throw new Error(`unexpected property 0x${id.toString(16)} in the forwarded PUBLISH`);
  }
  return pairs;
}
