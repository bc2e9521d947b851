/**
 * `maxPendingConnectBytes`: the bytes of the first packets being read are bounded across the
 * whole broker, on both accept paths (main, with `acceptOnSessionThreads: false`; the session
 * threads, by default where the hand-off addon is built). A socket reserves its first packet's
 * whole size as soon as the fixed header is read; one that does not fit in what is left is
 * closed unanswered and counted, while one that fits is accepted; the gauge
 * (`stats().pendingConnectBytes`) returns to 0 on every way out, a dead thread's reservations
 * included; connected clients are unaffected. Real TCP on 127.0.0.1, port 0.
 */
import { expect } from 'chai';
import type { Packet } from 'mqtt-packet';
import type { Broker } from '../../src/broker/index.js';
import { BrokerOptionError, resolveBrokerOptions } from '../../src/broker/options.js';
import { fdHandoff } from '../../src/broker/fd-handoff.js';
import { crashSessionThread, sessionThreads } from '../../src/broker/test-hooks.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { recordingLogger } from '../recording-logger.js';
import { client, forceClose, packetsUntilClosed, RawClient, testBroker, until } from './helpers.js';
import { PATHS, pending, pendingBytes, stillWorks } from './pending-helpers.js';
import { varint } from '../varint.js';

/** The fixed header of a CONNECT whose whole size (header included) is `size` bytes. */
function connectHeader(size: number): Buffer {
  for (let n = 1; n <= 4; n++) {
    const bytes = [0x10, ...varint(size - 1 - n)];
    if (bytes.length === 1 + n) return Buffer.from(bytes);
  }
  throw new Error(`no header for ${size}`);
}

/** A 3.1.1 CONNECT of client id `clientId`, encoded. */
function connectBytes(clientId: string): Buffer {
  return encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 0 } as Packet, 4);
}

/** Opens a socket that sends the fixed header of a `size`-byte CONNECT, and waits until the broker reserved it. */
async function announce(broker: Broker, size: number): Promise<RawClient> {
  const before = pendingBytes(broker);
  const socket = await RawClient.open(broker);
  socket.sendBytes(connectHeader(size));
  await until(() => pendingBytes(broker) === before + size, () => `${before + size} bytes pending, saw ${pendingBytes(broker)}`);
  return socket;
}

describe('broker: maxPendingConnectBytes', function () {
  this.timeout(20000);

  describe('the option', () => {
    it('defaults to 64 MiB, or maxPacketSize when larger; a value given is kept', () => {
      expect(resolveBrokerOptions({}).maxPendingConnectBytes).to.equal(64 * 1024 * 1024);
      expect(resolveBrokerOptions({ maxPacketSize: 100 * 1024 * 1024 }).maxPendingConnectBytes).to.equal(100 * 1024 * 1024);
      expect(resolveBrokerOptions({ maxPacketSize: 100 * 1024 * 1024, maxPendingConnectBytes: 1 << 20 }).maxPendingConnectBytes).to.equal(1 << 20);
      expect(resolveBrokerOptions({ maxPendingConnectBytes: 2 ** 31 - 1 }).maxPendingConnectBytes).to.equal(2 ** 31 - 1);
    });

    for (const bad of [0, 1, -1, 1.5, '10', null, 2 ** 31]) {
      it(`refuses ${JSON.stringify(bad)} with an error naming it`, () => {
        expect(() => resolveBrokerOptions({ maxPendingConnectBytes: bad as number }))
          .to.throw(BrokerOptionError, /^maxPendingConnectBytes: /)
          .with.property('key', 'maxPendingConnectBytes');
      });
    }
  });

  for (const path of PATHS) {
    describe(path.name, () => {
      before(function () {
        if (path.needsAddon && fdHandoff() === undefined) this.skip();
      });

      it('closes a socket whose first packet does not fit in the bytes left, unanswered, counts it, and accepts one that fits', async () => {
        const broker = await testBroker({ ...path.options, threads: 2, maxPendingConnectBytes: 1000 });
        let connected: import('mqtt').MqttClient | undefined;
        try {
          connected = await client(broker, { clientId: 'connected' });
          expect(pendingBytes(broker)).to.equal(0);
          const holder = await announce(broker, 900);
          const large = connectBytes('x'.repeat(180));
          expect(large.length).to.be.above(100);
          const over = await RawClient.open(broker);
          over.sendBytes(large);
          expect(await packetsUntilClosed(over)).to.deep.equal([]);
          let stats = broker.stats();
          expect(stats.counters.pendingBytesRefused).to.equal(1);
          expect(stats.pendingConnectBytes).to.equal(900);
          expect(stats.pendingConnections).to.equal(1);
          // One that fits in the 100 bytes left is read and accepted.
          const small = await RawClient.open(broker);
          expect(await small.connect('small')).to.include({ cmd: 'connack', returnCode: 0 });
          await stillWorks(connected, 'pending-bytes/a');
          // The bytes come back as the holder goes; the large CONNECT then fits.
          holder.destroy();
          await until(() => pendingBytes(broker) === 0, () => `gauge back to 0, saw ${pendingBytes(broker)}`);
          const again = await RawClient.open(broker);
          again.sendBytes(large);
          expect(await again.next()).to.include({ cmd: 'connack', returnCode: 0 });
          stats = broker.stats();
          expect(stats.counters.pendingBytesRefused).to.equal(1);
          expect(stats.counters.pendingRefused).to.equal(0);
          small.destroy();
          again.destroy();
        } finally {
          await forceClose(connected);
          await broker.close();
        }
      });

      it('gives the bytes back on timeout, peer close, an undecodable, non-CONNECT or too large first packet, and once the CONNECT decodes', async () => {
        const broker = await testBroker({ ...path.options, threads: 2, maxPacketSize: 1000, maxPendingConnectBytes: 2000, connectTimeout: 300 });
        const backToZero = (what: string): Promise<void> => until(() => pendingBytes(broker) === 0 && pending(broker) === 0, () => `gauges 0 after ${what}, saw ${pendingBytes(broker)} bytes, ${pending(broker)} sockets`);
        try {
          // Timeouts: closed by the broker.
          const silent = [await announce(broker, 500), await announce(broker, 600)];
          await Promise.all(silent.map((s) => s.waitClosed()));
          await backToZero('timeouts');
          expect(broker.stats().counters.connectTimeouts).to.equal(2);

          // The peer closes.
          (await announce(broker, 700)).destroy();
          await backToZero('peer close');

          // A CONNECT whose body is garbage, and a first packet that is not a CONNECT, each header first.
          const garbled = await announce(broker, 12);
          const publish = encodePacket({ cmd: 'publish', topic: 't', payload: Buffer.alloc(100), qos: 0, retain: false, dup: false } as Packet, 4);
          const publisher = await RawClient.open(broker);
          publisher.sendBytes(publish.subarray(0, 2));
          await until(() => pendingBytes(broker) === 12 + publish.length, 'the PUBLISH reserved');
          garbled.sendBytes(Buffer.alloc(10, 0xff));
          publisher.sendBytes(publish.subarray(2));
          await Promise.all([garbled.waitClosed(), publisher.waitClosed()]);
          await backToZero('bad first packets');
          expect(broker.stats().counters.notConnectFirst).to.equal(1);

          // Over maxPacketSize: refused as its header is read, nothing reserved.
          const huge = await RawClient.open(broker);
          huge.sendBytes(connectHeader(1500));
          await huge.waitClosed();
          await backToZero('a packet over maxPacketSize');
          expect(broker.stats().counters.packetTooLarge).to.equal(1);

          // A CONNECT in two parts: reserved with its header, given back as it decodes.
          const connect = connectBytes('slow');
          const slow = await RawClient.open(broker);
          slow.sendBytes(connect.subarray(0, 5));
          await until(() => pendingBytes(broker) === connect.length, 'the CONNECT reserved');
          slow.sendBytes(connect.subarray(5));
          expect(await slow.next()).to.include({ cmd: 'connack', returnCode: 0 });
          expect(pendingBytes(broker)).to.equal(0);
          slow.destroy();
          expect(broker.stats().counters.pendingBytesRefused).to.equal(0);
        } finally {
          await broker.close();
        }
      });

      it('gives the bytes back when the broker closes', async () => {
        const broker = await testBroker({ ...path.options, threads: 2, maxPendingConnectBytes: 2000 });
        const held = [await announce(broker, 500), await announce(broker, 600)];
        await broker.close();
        await Promise.all(held.map((s) => s.waitClosed()));
        expect(pendingBytes(broker)).to.equal(0);
        expect(pending(broker)).to.equal(0);
      });
    });
  }

  it('main warns about a first packet over the bytes left, naming the option', async () => {
    const { logger, records, until: logged } = recordingLogger('warn');
    const broker = await testBroker({ logger, acceptOnSessionThreads: false, threads: 1, maxPendingConnectBytes: 100 });
    try {
      const over = await RawClient.open(broker);
      over.sendBytes(connectHeader(101));
      await over.waitClosed();
      await logged((r) => r.some((record) => record.maxPendingConnectBytes === 100));
      const line = records.find((record) => record.maxPendingConnectBytes === 100)!;
      expect(line.level).to.equal(40);
      expect(line.size).to.equal(101);
      expect(line.remote).to.be.a('string').and.match(/^127\.0\.0\.1:\d+$/);
    } finally {
      await broker.close();
    }
  });

  it('a session thread that dies holding reservations gives them back (main subtracts its share)', async function () {
    if (fdHandoff() === undefined) this.skip();
    // One thread: it accepts every socket, so the reservations are surely on the thread that dies.
    const broker = await testBroker({ threads: 1, maxPendingConnectBytes: 1000 });
    try {
      const victim = await client(broker, { clientId: 'victim' });
      const victimClosed = new Promise<void>((resolve) => victim.once('close', () => resolve()));
      const holders = [await announce(broker, 300), await announce(broker, 300), await announce(broker, 300)];
      const dead = crashSessionThread(broker, 'victim');
      await victimClosed;
      await Promise.all(holders.map((s) => s.waitClosed()));
      // The thread exited without running its sockets' close handlers: only main's reclaim
      // brings the gauge back.
      await until(() => pendingBytes(broker) === 0, () => `bytes 0 after the thread died, saw ${pendingBytes(broker)}`);
      expect(pending(broker)).to.equal(0);
      await until(() => sessionThreads(broker).some((t) => t.ready && t.threadId !== dead), 'a replacement thread');
      // All the bytes are free again: three fit, a fourth does not.
      const again = [await announce(broker, 300), await announce(broker, 300), await announce(broker, 300)];
      const over = await RawClient.open(broker);
      over.sendBytes(connectHeader(300));
      await over.waitClosed();
      expect(broker.stats().counters.pendingBytesRefused).to.equal(1);
      for (const socket of again) socket.destroy();
      await until(() => pendingBytes(broker) === 0, () => `bytes 0 at the end, saw ${pendingBytes(broker)}`);
    } finally {
      await broker.close();
    }
  });
});
