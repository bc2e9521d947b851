/**
 * Counts what one subscriber receives from each publisher, by the sequence number in the
 * payload. A broker keeps one publisher's messages on one topic in order at one QoS
 * [MQTT-4.6.0-5] [MQTT-4.6.0-6], so a number at or below the last one seen is a duplicate (or a reordering,
 * which the figures count the same way: both are faults) and a jump is a gap.
 */
export class SeqTracker {
  /** Deliveries seen, duplicates included. */
  received = 0;
  /** Deliveries with a sequence number higher than any seen before from that publisher. */
  unique = 0;
  /** Deliveries at or below the last sequence number seen from their publisher. */
  duplicates = 0;
  /** Deliveries whose payload had no generator header or an unknown publisher. */
  foreign = 0;
  private readonly last: Int32Array;

  constructor(publishers: number) {
    this.last = new Int32Array(publishers).fill(-1);
  }

  record(publisher: number, seq: number): void {
    this.received++;
    if (publisher < 0 || publisher >= this.last.length) {
      this.foreign++;
      return;
    }
    if (seq > this.last[publisher]!) {
      this.last[publisher] = seq;
      this.unique++;
    } else {
      this.duplicates++;
    }
  }

  /** Messages from `publisher` that are behind us: the highest sequence number seen plus one. */
  reached(publisher: number): number {
    return this.last[publisher]! + 1;
  }
}
