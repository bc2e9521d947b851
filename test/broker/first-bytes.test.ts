/**
 * FirstBytes: what a socket delivered while its CONNECT was read, coalesced so that a peer
 * sending one byte per segment costs memory in bytes, not a Buffer per byte. Pure.
 */
import { expect } from 'chai';
import { FirstBytes } from '../../src/broker/first-bytes.js';

describe('broker: FirstBytes', () => {
  it('keeps the first chunk as it came (no copy) and returns it alone', () => {
    const bytes = new FirstBytes();
    const chunk = Buffer.from([0x10, 0x02, 0x00, 0x00]);
    bytes.push(chunk);
    const taken = bytes.take();
    expect(taken).to.have.length(1);
    expect(taken[0]).to.equal(chunk);
    expect(bytes.length).to.equal(0);
  });

  it('holds 100,000 one-byte chunks as at most two chunks, in under 3x their size, in order', () => {
    const bytes = new FirstBytes();
    const sent = Buffer.alloc(100_000);
    for (let i = 0; i < sent.length; i++) {
      sent[i] = i & 0xff;
      bytes.push(sent.subarray(i, i + 1));
    }
    expect(bytes.length).to.equal(sent.length);
    expect(bytes.joined().equals(sent)).to.equal(true);
    const taken = bytes.take();
    expect(taken.length).to.be.at.most(2);
    const memory = taken.reduce((n, chunk) => n + chunk.buffer.byteLength, 0);
    expect(memory).to.be.below(3 * sent.length);
    expect(Buffer.concat(taken).equals(sent)).to.equal(true);
  });

  it('gives the later chunks in a buffer of their own, which can be transferred', () => {
    const bytes = new FirstBytes();
    bytes.push(Buffer.from('ab'));
    bytes.push(Buffer.from('cd'));
    bytes.push(Buffer.from('e'));
    const [, tail] = bytes.take();
    expect(Buffer.from(tail!).toString()).to.equal('cde');
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(tail, [tail!.buffer as ArrayBuffer]);
    expect(tail!.byteLength).to.equal(0);
    port1.close();
    port2.close();
  });
});
