/**
 * `maxPendingConnections`: sockets accepted whose CONNECT has not been decoded yet are bounded
 * across the whole broker, on both accept paths (main, with `acceptOnSessionThreads: false`;
 * the session threads, by default where the hand-off addon is built). Over the bound a new
 * socket is closed unread (no CONNACK) and counted; the gauge (`stats().pendingConnections`)
 * returns to 0 on every way out of the pending state, a dead thread's sockets included; connected
 * clients are unaffected. Real TCP on 127.0.0.1, port 0.
 */
import { expect } from 'chai';
import { BrokerOptionError, resolveBrokerOptions } from '../../src/broker/options.js';
import { fdHandoff } from '../../src/broker/fd-handoff.js';
import { crashSessionThread, sessionThreads } from '../../src/broker/test-hooks.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { recordingLogger } from '../recording-logger.js';
import { client, forceClose, packetsUntilClosed, RawClient, testBroker, until } from './helpers.js';
import { PATHS, pending, silentSockets, stillWorks } from './pending-helpers.js';

describe('broker: maxPendingConnections', function () {
  this.timeout(20000);

  describe('the option', () => {
    it('defaults to maxConnections, which defaults to 1000 (or maxSessions when smaller)', () => {
      expect(resolveBrokerOptions({}).maxPendingConnections).to.equal(1000);
      expect(resolveBrokerOptions({ maxConnections: 50, maxSessions: 100 }).maxPendingConnections).to.equal(50);
      expect(resolveBrokerOptions({ maxSessions: 20 }).maxPendingConnections).to.equal(20);
      expect(resolveBrokerOptions({ maxConnections: 50, maxPendingConnections: 5000 }).maxPendingConnections).to.equal(5000);
    });

    for (const bad of [0, -1, 1.5, '10', null, 1_000_001]) {
      it(`refuses ${JSON.stringify(bad)} with an error naming it`, () => {
        expect(() => resolveBrokerOptions({ maxPendingConnections: bad as number }))
          .to.throw(BrokerOptionError, /^maxPendingConnections: /)
          .with.property('key', 'maxPendingConnections');
      });
    }
  });

  for (const path of PATHS) {
    describe(path.name, () => {
      before(function () {
        if (path.needsAddon && fdHandoff() === undefined) this.skip();
      });

      it('closes a socket over the bound at once, unread and without CONNACK, counts it, and leaves connected clients alone', async () => {
        const broker = await testBroker({ ...path.options, threads: 2, maxPendingConnections: 2 });
        let connected: import('mqtt').MqttClient | undefined;
        try {
          connected = await client(broker, { clientId: 'connected' });
          expect(pending(broker)).to.equal(0);
          const waiting = await silentSockets(broker, 2);
          const over = await RawClient.open(broker);
          // Even a CONNECT sent at once is not read: the broker closed the socket as it accepted it.
          over.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'over', clean: true, keepalive: 0 });
          expect(await packetsUntilClosed(over)).to.deep.equal([]);
          const stats = broker.stats();
          expect(stats.counters.pendingRefused).to.equal(1);
          expect(stats.pendingConnections).to.equal(2);
          expect(stats.connections).to.equal(1);
          await stillWorks(connected, 'pending/a');
          // The places come back as the waiting sockets go; a new client then connects.
          for (const socket of waiting) socket.destroy();
          await until(() => pending(broker) === 0, () => `gauge back to 0, saw ${pending(broker)}`);
          const late = await RawClient.open(broker);
          expect(await late.connect('late')).to.include({ cmd: 'connack', returnCode: 0 });
          late.destroy();
          expect(broker.stats().counters.pendingRefused).to.equal(1);
        } finally {
          await forceClose(connected);
          await broker.close();
        }
      });

      it('gives the places back on timeout, on an undecodable or non-CONNECT first packet, and once the CONNECT decodes', async () => {
        const broker = await testBroker({ ...path.options, threads: 2, maxPendingConnections: 3, connectTimeout: 300 });
        try {
          // Timeouts: both closed by the broker, the gauge back to 0.
          const silent = await silentSockets(broker, 2);
          await Promise.all(silent.map((s) => s.waitClosed()));
          await until(() => pending(broker) === 0, () => `gauge 0 after timeouts, saw ${pending(broker)}`);
          expect(broker.stats().counters.connectTimeouts).to.equal(2);

          // A first packet that is not CONNECT [MQTT-3.1.0-1], and one that cannot be decoded
          // (a remaining length in five bytes; section 1.5.5 allows four).
          const [pinger, garbled] = await silentSockets(broker, 2);
          pinger!.sendBytes([0xc0, 0x00]);
          garbled!.sendBytes([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]);
          await Promise.all([pinger!.waitClosed(), garbled!.waitClosed()]);
          await until(() => pending(broker) === 0, () => `gauge 0 after bad first packets, saw ${pending(broker)}`);

          // A CONNECT sent one byte at a time: accepted, and no longer pending once decoded.
          const [slow] = await silentSockets(broker, 1);
          const connect = encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'slow', clean: true, keepalive: 0 }, 4);
          for (const byte of connect.subarray(0, -1)) {
            slow!.sendBytes([byte]);
            await new Promise((resolve) => setImmediate(resolve));
          }
          expect(pending(broker)).to.equal(1);
          slow!.sendBytes(connect.subarray(-1));
          expect(await slow!.next()).to.include({ cmd: 'connack', returnCode: 0 });
          expect(pending(broker)).to.equal(0);
          expect(broker.stats().connections).to.equal(1);
          slow!.destroy();
          expect(broker.stats().counters.pendingRefused).to.equal(0);
        } finally {
          await broker.close();
        }
      });
    });
  }

  it('main warns about a socket it closes over the bound, naming the option', async () => {
    const { logger, records, until: logged } = recordingLogger('warn');
    const broker = await testBroker({ logger, acceptOnSessionThreads: false, threads: 1, maxPendingConnections: 1 });
    try {
      const [waiting] = await silentSockets(broker, 1);
      const over = await RawClient.open(broker);
      await over.waitClosed();
      await logged((r) => r.some((record) => record.maxPendingConnections === 1));
      const line = records.find((record) => record.maxPendingConnections === 1)!;
      expect(line.level).to.equal(40);
      expect(line.remote).to.be.a('string').and.match(/^127\.0\.0\.1:\d+$/);
      waiting!.destroy();
    } finally {
      await broker.close();
    }
  });

  it('a session thread that dies with pending sockets gives their places back (main subtracts its share)', async function () {
    if (fdHandoff() === undefined) this.skip();
    // One thread: it accepts every socket, so the pending ones are surely on the thread that dies.
    const broker = await testBroker({ threads: 1, maxPendingConnections: 3 });
    try {
      const victim = await client(broker, { clientId: 'victim' });
      const victimClosed = new Promise<void>((resolve) => victim.once('close', () => resolve()));
      const waiting = await silentSockets(broker, 3);
      const dead = crashSessionThread(broker, 'victim');
      await victimClosed;
      await Promise.all(waiting.map((s) => s.waitClosed()));
      // The thread exited without running its sockets' close handlers: only main's reclaim
      // brings the gauge back.
      await until(() => pending(broker) === 0, () => `gauge 0 after the thread died, saw ${pending(broker)}`);
      await until(() => sessionThreads(broker).some((t) => t.ready && t.threadId !== dead), 'a replacement thread');
      // All three places are free again: three silent sockets fit, a fourth does not.
      const again = await silentSockets(broker, 3);
      const over = await RawClient.open(broker);
      await over.waitClosed();
      expect(broker.stats().counters.pendingRefused).to.equal(1);
      for (const socket of again) socket.destroy();
      await until(() => pending(broker) === 0, () => `gauge 0 at the end, saw ${pending(broker)}`);
    } finally {
      await broker.close();
    }
  });
});
