/**
 * FirstPacketReader: a new socket's first packet read the same way on main and on the session
 * threads; the timer, the pending place and the first packet's bytes held exactly while it is
 * awaited; the packet gathered into one buffer of its size, decoded from it and kept as it is.
 * Pure (no socket).
 */
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { pino } from 'pino';
import type { IConnectPacket, IPublishPacket } from 'mqtt-packet';
import { FirstPacketReader } from '../../src/broker/first-packet-reader.js';
import { PendingGauge } from '../../src/broker/pending-gauge.js';
import { CounterWord, SharedCounters } from '../../src/broker/shared-counters.js';
import { encodePacket } from '../../src/protocol/encoder.js';

const connect = encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'r', clean: true, keepalive: 0 } as IConnectPacket, 4);
const socket = { remoteAddress: '127.0.0.1', remotePort: 1, destroy() {} } as unknown as Socket;

/** A reader holding a place on a fresh gauge, and the gauge's word. */
function reading(
  connectTimeout = 60_000,
  timedOut = () => {},
  limits = { maxPacketSize: 1024, maxPendingConnectBytes: 1 << 20 },
): { reader: FirstPacketReader; pending: () => number; bytes: () => number; counters: SharedCounters } {
  const counters = SharedCounters.create();
  const place = new PendingGauge(counters, { maxPendingConnections: 10, maxPendingConnectBytes: limits.maxPendingConnectBytes }, pino({ level: 'silent' })).admit(socket)!;
  const reader = new FirstPacketReader({ maxPacketSize: limits.maxPacketSize, connectTimeout }, place, timedOut);
  return { reader, pending: () => counters.read(CounterWord.pendingConnections), bytes: () => counters.read(CounterWord.pendingConnectBytes), counters };
}

/** A CONNECT whose will carries `payloadBytes` bytes. */
function connectWithWill(payloadBytes: number): Buffer {
  const payload = Buffer.alloc(payloadBytes, 0x61);
  return encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'big', clean: true, keepalive: 0, will: { topic: 'w', payload, qos: 0, retain: false } } as IConnectPacket, 4);
}

/** The process's ArrayBuffer memory after a full collection (the test runs with gc exposed for it). */
function arrayBufferBytes(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().arrayBuffers;
}

describe('broker: FirstPacketReader', () => {
  it('a CONNECT split byte by byte: decoded once, every byte kept, the place given back', () => {
    const { reader, pending } = reading();
    expect(pending()).to.equal(1);
    const after = Buffer.from([0xc0, 0x00]); // a PINGREQ right behind it
    const stream = Buffer.concat([connect, after]);
    const reads = [];
    for (let i = 0; i < stream.length; i++) reads.push(reader.push(stream.subarray(i, i + 1)));
    const decoded = reads.filter((read) => read !== undefined);
    expect(decoded).to.have.length(1);
    expect((decoded[0] as { packet: IConnectPacket }).packet.clientId).to.equal('r');
    expect(reader.reading).to.equal(false);
    expect(pending()).to.equal(0);
    expect(Buffer.concat(reader.bytes.take()).equals(stream)).to.equal(true);
    reader.stop(); // once, however often
    expect(pending()).to.equal(0);
  });

  it('an undecodable first packet is reported once, and reading stops', () => {
    const { reader, pending } = reading();
    const read = reader.push(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]));
    expect(read).to.have.property('error');
    expect(reader.reading).to.equal(false);
    expect(pending()).to.equal(0);
    expect(reader.push(connect)).to.equal(undefined);
  });

  it('no packet within connectTimeout: reading stops and the owner is told, once', async () => {
    let told = 0;
    let resolve!: () => void;
    const timedOut = new Promise<void>((r) => (resolve = r));
    const { reader, pending } = reading(1, () => {
      told++;
      resolve();
    });
    reader.push(connect.subarray(0, 3));
    await timedOut;
    expect(told).to.equal(1);
    expect(reader.reading).to.equal(false);
    expect(pending()).to.equal(0);
    expect(reader.push(connect.subarray(3))).to.equal(undefined);
  });

  it("reserves the first packet's whole size as soon as its fixed header is read, and gives it back once decoded", () => {
    const big = connectWithWill(500);
    const { reader, pending, bytes } = reading();
    expect(reader.push(big.subarray(0, 1))).to.equal(undefined);
    expect(bytes()).to.equal(0);
    // The remaining length in two bytes: the size is known with the third byte, before the body.
    expect(reader.push(big.subarray(1, 3))).to.equal(undefined);
    expect(bytes()).to.equal(big.length);
    expect(reader.push(big.subarray(3, 100))).to.equal(undefined);
    expect(bytes()).to.equal(big.length);
    const read = reader.push(big.subarray(100));
    expect((read as { packet: IConnectPacket }).packet.clientId).to.equal('big');
    expect(bytes()).to.equal(0);
    expect(pending()).to.equal(0);
  });

  it('a first packet that does not fit in the bytes left is refused as its header is read: nothing held, place and bytes given back', () => {
    const big = connectWithWill(500);
    const { reader, pending, bytes, counters } = reading(60_000, () => {}, { maxPacketSize: 1024, maxPendingConnectBytes: big.length - 1 });
    expect(reader.push(big.subarray(0, 50))).to.deep.equal({ refused: big.length });
    expect(reader.reading).to.equal(false);
    expect(counters.read(CounterWord.pendingBytesRefused)).to.equal(1);
    expect(bytes()).to.equal(0);
    expect(pending()).to.equal(0);
    // One that fits exactly is read.
    const fits = reading(60_000, () => {}, { maxPacketSize: 1024, maxPendingConnectBytes: big.length });
    expect(fits.reader.push(big)).to.have.property('packet');
    expect(fits.bytes()).to.equal(0);
  });

  it('gives the bytes back on an undecodable packet, on timeout and on stop', async () => {
    // A CONNECT whose body is garbage: decoded once whole, and fails.
    const garbled = Buffer.concat([Buffer.from([0x10, 0x0a]), Buffer.alloc(10, 0xff)]);
    const bad = reading();
    expect(bad.reader.push(garbled.subarray(0, 4))).to.equal(undefined);
    expect(bad.bytes()).to.equal(12);
    expect(bad.reader.push(garbled.subarray(4))).to.have.property('error');
    expect(bad.bytes()).to.equal(0);
    expect(Buffer.from(bad.reader.bytes.joined()).equals(garbled)).to.equal(true);

    let resolve!: () => void;
    const timedOut = new Promise<void>((r) => (resolve = r));
    const slow = reading(1, () => resolve());
    slow.reader.push(garbled.subarray(0, 2));
    expect(slow.bytes()).to.equal(12);
    await timedOut;
    expect(slow.bytes()).to.equal(0);

    const stopped = reading();
    stopped.reader.push(garbled.subarray(0, 2));
    stopped.reader.stop();
    expect(stopped.bytes()).to.equal(0);
    expect(stopped.pending()).to.equal(0);
  });

  it('a packet over maxPacketSize is an error as its header is read, with the bytes received kept to answer it', () => {
    const big = connectWithWill(2000);
    const { reader, bytes } = reading();
    reader.push(big.subarray(0, 1));
    const read = reader.push(big.subarray(1, 40));
    expect((read as { error: { kind: string } }).error.kind).to.equal('too-large');
    expect(bytes()).to.equal(0);
    expect(Buffer.from(reader.bytes.joined()).equals(big.subarray(0, 40))).to.equal(true);
  });

  it('holds about one packet while gathering a large one, decodes from that buffer and keeps it for the session (no second copy)', () => {
    // Any first packet is read whole before it is judged: a PUBLISH can be far larger than a
    // 3.1.1 CONNECT (whose fields are at most 65,535 bytes each).
    const big = encodePacket({ cmd: 'publish', topic: 't', payload: Buffer.alloc(8 << 20, 0x61), qos: 0, retain: false, dup: false } as IPublishPacket, 4);
    const { reader } = reading(60_000, () => {}, { maxPacketSize: 16 << 20, maxPendingConnectBytes: 16 << 20 });
    const before = arrayBufferBytes();
    const chunk = 64 * 1024;
    let at = 0;
    for (; at + chunk < big.length; at += chunk) expect(reader.push(big.subarray(at, at + chunk))).to.equal(undefined);
    // Chunks are views of `big`: what grew is what the reader holds, one buffer of the packet's
    // size (three times that before: the chunks kept aside, doubling, and the decoder's own
    // buffer). The margin is for whatever else the process frees or allocates meanwhile.
    const slack = big.length / 2;
    expect(arrayBufferBytes() - before).to.be.at.most(big.length + slack);
    const read = reader.push(big.subarray(at)) as { packet: IPublishPacket };
    const taken = reader.bytes.take();
    expect(taken).to.have.length(1);
    expect(taken[0]!.byteLength).to.equal(big.length);
    expect(taken[0]!.buffer.byteLength).to.equal(big.length);
    expect(Buffer.compare(taken[0]!, big)).to.equal(0);
    // Decoded from the very buffer kept: the payload is a view of it.
    expect((read.packet.payload as Buffer).buffer).to.equal(taken[0]!.buffer);
    expect(arrayBufferBytes() - before).to.be.at.most(big.length + slack);
  });
});
