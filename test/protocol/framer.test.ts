/**
 * PacketFramer cut by chunks of every shape: split at every byte, several packets across chunk
 * boundaries, a header split inside its remaining-length bytes, an oversize packet refused from
 * its header. The cost is asserted in bytes copied (the framer's own count), not in time: a
 * packet sent one byte at a time must cost a small multiple of its size, not its square.
 */
import { expect } from 'chai';
import { FramingError, PacketFramer } from '../../src/protocol/framer.js';
import { varint } from '../varint.js';

/** A PUBLISH-like packet (type 3) of `body` bytes of remaining length, filled with `fill`. */
function packet(body: number, fill: number): Buffer {
  return Buffer.concat([Buffer.from([0x30, ...varint(body)]), Buffer.alloc(body, fill)]);
}

/** Whether `frames` are exactly `expected`, byte for byte (chai's deep equality is slow on Buffers). */
function same(frames: Buffer[], expected: Buffer[]): boolean {
  return frames.length === expected.length && frames.every((frame, i) => frame.equals(expected[i]!));
}

/** Everything `framer` returns for `bytes` fed in chunks of the given sizes (cycled). */
function feed(framer: PacketFramer, bytes: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(...framer.push(bytes.subarray(pos, pos + n)));
    pos += n;
  }
  return out;
}

describe('protocol: PacketFramer', () => {
  const packets = [packet(0, 0), packet(5, 1), packet(127, 2), packet(128, 3), packet(300, 4), packet(16_384, 5), packet(2, 6)];
  const stream = Buffer.concat(packets);

  it('cuts the same packets whatever byte the stream is split at', () => {
    for (let at = 1; at < stream.length; at++) {
      const framer = new PacketFramer(1 << 20);
      const frames = [...framer.push(stream.subarray(0, at)), ...framer.push(stream.subarray(at))];
      expect(same(frames, packets), `split at ${at}`).to.equal(true);
      expect(framer.buffered).to.equal(0);
    }
  });

  it('cuts the same packets from chunks of 1, 2, 3, 7 and 4096 bytes', () => {
    for (const sizes of [[1], [2], [3], [7], [4096], [1, 4096, 3]]) {
      const framer = new PacketFramer(1 << 20);
      expect(same(feed(framer, stream, sizes), packets), `chunks of ${sizes.join(',')}`).to.equal(true);
      expect(framer.buffered).to.equal(0);
    }
  });

  it('returns several packets from a chunk that ends one and starts others, keeping the tail', () => {
    const framer = new PacketFramer(1 << 20);
    const [a, b, c] = [packet(10, 1), packet(20, 2), packet(30, 3)];
    const all = Buffer.concat([a, b, c]);
    expect(framer.push(all.subarray(0, 5))).to.deep.equal([]);
    // The rest of a, all of b, and the first byte of c.
    expect(framer.push(all.subarray(5, a.length + b.length + 1))).to.deep.equal([a, b]);
    expect(framer.buffered).to.equal(1);
    expect(framer.push(all.subarray(a.length + b.length + 1))).to.deep.equal([c]);
  });

  it('completes a header split inside its remaining-length bytes', () => {
    // 200,000 bytes of remaining length take three bytes: 0xC0 0x9A 0x0C.
    const big = packet(200_000, 7);
    expect([...big.subarray(1, 4)]).to.deep.equal([0xc0, 0x9a, 0x0c]);
    for (const at of [1, 2, 3]) {
      const framer = new PacketFramer(1 << 20);
      expect(framer.push(big.subarray(0, at + 1))).to.deep.equal([]);
      expect(framer.buffered).to.equal(at + 1);
      expect(framer.push(big.subarray(at + 1))).to.deep.equal([big]);
    }
  });

  it('refuses an oversize packet once its header is whole, before its body arrives', () => {
    const framer = new PacketFramer(1000);
    const big = packet(5000, 1);
    // Header bytes 0xB8 0x27: the size is not known after the first of them.
    expect(framer.push(big.subarray(0, 2))).to.deep.equal([]);
    expect(() => framer.push(big.subarray(2, 3))).to.throw(FramingError).with.property('size', big.length);
  });

  it('refuses an oversize packet whose first bytes came after a whole one', () => {
    const framer = new PacketFramer(1000);
    const small = packet(10, 1);
    expect(() => framer.push(Buffer.concat([small, packet(5000, 2).subarray(0, 3)]))).to.throw(FramingError).with.property('kind', 'too-large');
  });

  it('checks a packet being gathered against a limit lowered meanwhile', () => {
    const framer = new PacketFramer(1 << 20);
    const p = packet(5000, 1);
    expect(framer.push(p.subarray(0, 100))).to.deep.equal([]);
    framer.setMaxPacketSize(1000);
    expect(() => framer.push(p.subarray(100))).to.throw(FramingError).with.property('kind', 'too-large');
  });

  it('copies nothing when every chunk holds whole packets (each packet a view of its chunk)', () => {
    const framer = new PacketFramer(1 << 20);
    const frames = framer.push(stream);
    expect(frames).to.deep.equal(packets);
    expect(frames[1]!.buffer).to.equal(stream.buffer);
    expect(framer.copied).to.equal(0);
  });

  it('copies a packet sent one byte at a time a small constant number of times, not its square', () => {
    const size = 1 << 20;
    const big = packet(size - 4, 9);
    const framer = new PacketFramer(size);
    let frames: Buffer[] = [];
    for (let pos = 0; pos < big.length; pos++) frames = frames.concat(framer.push(big.subarray(pos, pos + 1)));
    expect(frames).to.have.length(1);
    expect(frames[0]!.equals(big)).to.equal(true);
    // Each byte once, plus the doublings from INITIAL_CAPACITY (less than the size again).
    // Re-joining what is pending on every chunk would be ~size²/2 (5e11 here).
    expect(framer.copied).to.be.at.most(2 * big.length);
  });

  it('does not take the size a packet announces before its bytes arrive', () => {
    const framer = new PacketFramer(1 << 28);
    const announced = Buffer.from([0x30, 0xff, 0xff, 0xff, 0x3f]); // 134,217,727 bytes of remaining length
    const before = process.memoryUsage().arrayBuffers;
    framer.push(Buffer.concat([announced, Buffer.alloc(100_000, 1)]));
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(framer.buffered).to.equal(100_005);
    // The buffer grows by doubling with what arrives: ~100 kB here, not the 128 MiB announced.
    expect(grown).to.be.below(16 << 20);
    expect(framer.copied).to.equal(100_005);
  });

  it('never calls Buffer.concat on the split path', () => {
    const concat = Buffer.concat;
    let calls = 0;
    Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
      calls++;
      return concat(list, total);
    }) as typeof Buffer.concat;
    try {
      const framer = new PacketFramer(1 << 20);
      const frames = feed(framer, stream, [1]);
      expect(frames).to.have.length(packets.length);
    } finally {
      Buffer.concat = concat;
    }
    expect(calls).to.equal(0);
  });
});
