/**
 * FirstPacketReader: a new socket's first packet read the same way on main and on the session
 * threads; the timer and the pending place held exactly while it is awaited. Pure (no socket).
 */
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { pino } from 'pino';
import type { IConnectPacket } from 'mqtt-packet';
import { FirstPacketReader } from '../../src/broker/first-packet-reader.js';
import { PendingGauge } from '../../src/broker/pending-gauge.js';
import { CounterWord, SharedCounters } from '../../src/broker/shared-counters.js';
import { encodePacket } from '../../src/protocol/encoder.js';

const connect = encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'r', clean: true, keepalive: 0 } as IConnectPacket, 4);
const socket = { remoteAddress: '127.0.0.1', remotePort: 1, destroy() {} } as unknown as Socket;

/** A reader holding a place on a fresh gauge, and the gauge's word. */
function reading(connectTimeout = 60_000, timedOut = () => {}): { reader: FirstPacketReader; pending: () => number } {
  const counters = SharedCounters.create();
  const place = new PendingGauge(counters, 10, pino({ level: 'silent' })).admit(socket)!;
  const reader = new FirstPacketReader({ maxPacketSize: 1024, connectTimeout }, place, timedOut);
  return { reader, pending: () => counters.read(CounterWord.pendingConnections) };
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
});
