/**
 * Reading a newly accepted socket's first packet, the same on both accept paths (main's
 * `ClientConnection`, a session thread's `ThreadListener`): the bytes as they come, kept for
 * whoever takes the socket next ({@link FirstBytes}); the decoder, bounded by `maxPacketSize`;
 * the `connectTimeout` timer; and the socket's place under `maxPendingConnections`
 * (pending-gauge.ts). What to do with the packet, an undecodable one or a timeout is the
 * owner's: this only reads.
 *
 * Invariant: the timer runs and the place is held exactly while the first packet is awaited;
 * {@link stop} ends both, once, whichever way reading ends (packet, error, timeout, close,
 * the broker closing).
 */
import type { Packet } from 'mqtt-packet';
import type { Logger } from 'pino';
import { DecodeError, PacketDecoder } from '../protocol/decoder.js';
import { encodePacket } from '../protocol/encoder.js';
import { answerUndecodableConnect } from '../session/core/connect.js';
import { FirstBytes } from './first-bytes.js';
import type { PendingPlace } from './pending-gauge.js';
import { CounterWord, type SharedCounters } from './shared-counters.js';

/** What a chunk came to: the first packet, or why there is none (the connection must close). */
export type FirstRead = { readonly packet: Packet } | { readonly error: unknown };

export class FirstPacketReader {
  /** Every byte read so far, the first packet's and what came with and after it. */
  readonly bytes = new FirstBytes();
  private decoder: PacketDecoder | undefined;
  private timer: NodeJS.Timeout | undefined;
  private place: PendingPlace | undefined;

  /** @param timedOut called once if no first packet decodes within `connectTimeout` (reading has stopped). */
  constructor(limits: { readonly maxPacketSize: number; readonly connectTimeout: number }, place: PendingPlace, timedOut: () => void) {
    this.place = place;
    // The CONNECT's will may be published by main (crash wills), User Properties in the order
    // received [MQTT-3.1.3-10].
    this.decoder = new PacketDecoder(limits.maxPacketSize, 4, { userPropertyOrder: true });
    this.timer = setTimeout(() => {
      this.stop();
      timedOut();
    }, limits.connectTimeout);
  }

  /** True until the first packet decoded, failed to, or reading was stopped. */
  get reading(): boolean {
    return this.decoder !== undefined;
  }

  /**
   * Keeps `kept` (the chunk, or the owner's copy of it) and, while reading, decodes `chunk`:
   * the first packet, or the decoding error, once; undefined while more bytes are needed and
   * after reading ended.
   */
  push(chunk: Buffer, kept: Uint8Array = chunk): FirstRead | undefined {
    this.bytes.push(kept);
    const decoder = this.decoder;
    if (decoder === undefined) return undefined;
    let packets: Packet[];
    try {
      packets = decoder.push(chunk);
    } catch (error) {
      this.stop();
      return { error };
    }
    if (packets.length === 0) return undefined;
    this.stop();
    return { packet: packets[0]! };
  }

  /** Reading ends (whichever way): the decoder goes, the timer stops, the place is given back; once. */
  stop(): void {
    this.decoder = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.place?.release();
    this.place = undefined;
  }
}

/**
 * A first packet that did not decode (`error` from {@link FirstPacketReader.push}), on either
 * accept path: counted, logged (a peer fault), and the CONNACK to write before closing, if the
 * spec has one for it (`answerUndecodableConnect` reads `bytes`, the client id being unknown,
 * so no session can answer); undefined: close without one.
 */
export function answerUndecodableFirst(error: unknown, bytes: Uint8Array, counters: SharedCounters, log: Logger, remote: () => string): Buffer | undefined {
  const fault = error instanceof DecodeError ? error.kind : 'malformed';
  counters.add(fault === 'too-large' ? CounterWord.packetTooLarge : CounterWord.badPackets);
  const answer = answerUndecodableConnect(bytes, fault);
  if (log.isLevelEnabled('warn')) {
    log.warn({ remote: remote(), err: (error as Error)?.message, reason: answer.reason, connack: answer.connack !== undefined }, 'undecodable first packet');
  }
  return answer.connack === undefined ? undefined : encodePacket(answer.connack, answer.version);
}
