/**
 * The check every received UTF-8 Encoded String gets, from its bytes: well-formed UTF-8
 * [MQTT-1.5.3-1 in 3.1.1, MQTT-1.5.4-1 in 5.0] and no U+0000 [MQTT-1.5.3-2, MQTT-1.5.4-2];
 * both halves of a User Property [MQTT-1.5.7-1]. Buffer#toString, which mqtt-packet and the
 * plain decoders use, turns ill-formed UTF-8 into U+FFFD without a word, so a packet that breaks
 * these rules would decode, and its altered strings be forwarded; the bytes are the only place
 * to see it. Such a packet is a Malformed Packet in 5.0 and closes the connection in 3.1.1: the
 * decoder throws a `malformed` DecodeError (0x81). The plain decoders check each string as they
 * read it; `frame-walk.ts` finds every string field of a frame mqtt-packet decoded.
 *
 * Binary fields (Password, Will Payload, Correlation Data, Authentication Data) and payloads
 * are not strings and are not checked here. A payload with Payload Format Indicator 1 that is
 * not UTF-8 is the session core's (0x99, [MQTT-3.3.2-4]).
 */
import { isUtf8 } from 'node:buffer';

/** What is wrong with one string field. */
export type Utf8Fault = 'ill-formed' | 'null';

/**
 * What is wrong with the UTF-8 Encoded String in `frame[start, end)`, or undefined when nothing
 * is. Cheap on the usual ASCII string: one pass over its bytes, no allocation; only a string
 * with a byte ≥ 0x80 is handed to `isUtf8` (which takes a view, the one allocation). U+0000 can
 * only be the byte 0x00 in well-formed UTF-8 (its two-byte form C0 80 is an overlong, which
 * `isUtf8` refuses), and 0x00 is never part of another character's encoding, so a byte scan
 * finds it.
 */
export function utf8StringFault(frame: Uint8Array, start: number, end: number): Utf8Fault | undefined {
  for (let i = start; i < end; i++) {
    const byte = frame[i]!;
    if (byte === 0) return 'null';
    if (byte >= 0x80) {
      // The bytes before i are ASCII, which cannot change whether the rest is well-formed.
      if (!isUtf8(frame.subarray(i, end))) return 'ill-formed';
      for (let j = i + 1; j < end; j++) if (frame[j] === 0) return 'null';
      return undefined;
    }
  }
  return undefined;
}

/** The DecodeError message for a string field `what` with `fault`, citing the rule of protocol `version` (`pair`: a User Property's). */
export function utf8FaultMessage(what: string, fault: Utf8Fault, version: number, pair = false): string {
  const v5 = version === 5;
  const rule = fault === 'ill-formed' ? (v5 ? 'MQTT-1.5.4-1' : 'MQTT-1.5.3-1') : v5 ? 'MQTT-1.5.4-2' : 'MQTT-1.5.3-2';
  const text = fault === 'ill-formed' ? 'is not well-formed UTF-8' : 'contains U+0000';
  return `${what} ${text} [${rule}${pair ? ', MQTT-1.5.7-1' : ''}]`;
}
