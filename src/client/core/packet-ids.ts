/**
 * The client's own packet identifiers: 1..65535, never 0, never one still in use
 * ([MQTT-2.3.1-1] in 3.1.1, [MQTT-2.2.1-3] in 5.0). A cursor walks the range so a freed id is not reused at once (a late ack
 * for an old id is then less likely to be mistaken for a new one).
 */
import { PacketIdExhaustedError } from '../errors.js';

/** Largest packet identifier (two bytes). */
export const MAX_PACKET_ID = 65535;

export class PacketIdAllocator {
  private readonly inUse = new Set<number>();
  private cursor = 0;

  /** Number of ids currently allocated. */
  get size(): number {
    return this.inUse.size;
  }

  /** Returns a free id; throws {@link PacketIdExhaustedError} when all 65535 are in use. */
  allocate(): number {
    if (this.inUse.size >= MAX_PACKET_ID) throw new PacketIdExhaustedError();
    for (;;) {
      this.cursor = this.cursor >= MAX_PACKET_ID ? 1 : this.cursor + 1;
      if (!this.inUse.has(this.cursor)) {
        this.inUse.add(this.cursor);
        return this.cursor;
      }
    }
  }

  has(id: number): boolean {
    return this.inUse.has(id);
  }

  release(id: number): void {
    this.inUse.delete(id);
  }

  clear(): void {
    this.inUse.clear();
  }
}
