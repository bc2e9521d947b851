/**
 * Session threads accept the sockets themselves (option `acceptOnSessionThreads`, default on):
 * main binds the port and decides where each connection goes, but reads no socket. A socket
 * accepted by one thread for a session on another is released by it and handed to the
 * session's thread; refusals, connect timeouts and a first packet that is not CONNECT are
 * handled on the accepting thread as main handles them; a replacement thread accepts too.
 * The native hand-off addon must be built (WEFT_FD_HANDOFF_ADDON, as for socket-handoff.test.ts).
 */
import { createServer } from 'node:net';
import { once } from 'node:events';
import { expect } from 'chai';
import type { IConnackPacket, Packet } from 'mqtt-packet';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { Broker, BrokerOptions } from '../../src/broker/index.js';
import { fdHandoff } from '../../src/broker/fd-handoff.js';
import {
  crashSessionThread,
  sessionThreadOf,
  sessionThreads,
  socketOwnerOf,
  startBrokerWith,
} from '../../src/broker/test-hooks.js';
import { recordingLogger } from '../recording-logger.js';
import { client, forceClose, nextMessages, RawClient, testBroker, until } from './helpers.js';

/** A broker on which only the session threads whose start ordinal passes `listens` accept. */
function brokerListeningOn(listens: (ordinal: number) => boolean, options: BrokerOptions = {}): Promise<Broker> {
  return startBrokerWith({ port: 0, logLevel: 'silent', threads: 2, ...options }, { listensOn: listens });
}


describe('broker: session threads accept connections', function () {
  this.timeout(20000);

  before(function () {
    if (fdHandoff() === undefined) this.skip();
  });

  it('a connection accepted by one thread for a session on the other (resume, then takeover) lands on the session thread and works', async () => {
    const broker = await brokerListeningOn((ordinal) => ordinal === 0);
    const [acceptor, other] = sessionThreads(broker).map((t) => t.threadId);
    const opened: import('mqtt').MqttClient[] = [];
    try {
      // First session: both threads empty, the accepting one keeps it.
      const pub = await client(broker, { clientId: 'pub' });
      opened.push(pub);
      expect(sessionThreadOf(broker, 'pub')).to.equal(acceptor);
      // Second: the other thread is less loaded, so the socket is released to it.
      const sub = await client(broker, { clientId: 'sub', clean: false });
      opened.push(sub);
      expect(sessionThreadOf(broker, 'sub')).to.equal(other);
      expect(socketOwnerOf(broker, 'sub')).to.equal('session thread');
      await sub.subscribeAsync('t/#', { qos: 1 });
      let got = nextMessages(sub, 1);
      await pub.publishAsync('t/1', 'one', { qos: 1 });
      expect(await got).to.deep.equal([{ topic: 't/1', payload: 'one', retain: false, qos: 1 }]);

      // Resume: accepted by the acceptor again, for the persistent session on the other thread
      // (its subscription still there).
      await sub.endAsync();
      const resumed = await client(broker, { clientId: 'sub', clean: false });
      opened.push(resumed);
      expect(resumed.connected).to.equal(true);
      expect(sessionThreadOf(broker, 'sub')).to.equal(other);
      got = nextMessages(resumed, 1);
      await pub.publishAsync('t/2', 'two', { qos: 1 });
      expect(await got).to.deep.equal([{ topic: 't/2', payload: 'two', retain: false, qos: 1 }]);

      // Takeover: a second connection with the same client id closes the first [MQTT-3.1.4-2].
      const resumedClosed = new Promise<void>((resolve) => resumed.once('close', () => resolve()));
      const takeover = await client(broker, { clientId: 'sub', clean: false });
      opened.push(takeover);
      await resumedClosed;
      expect(sessionThreadOf(broker, 'sub')).to.equal(other);
      got = nextMessages(takeover, 1);
      await pub.publishAsync('t/3', 'three', { qos: 1 });
      expect(await got).to.deep.equal([{ topic: 't/3', payload: 'three', retain: false, qos: 1 }]);
      await until(() => broker.stats().connections === 2, () => `connections: ${broker.stats().connections}`);
    } finally {
      await forceClose(...opened);
      await broker.close();
    }
  });

  it('a released socket keeps the packets that came right behind its CONNECT, in order', async () => {
    const broker = await brokerListeningOn((ordinal) => ordinal === 0);
    const [, other] = sessionThreads(broker).map((t) => t.threadId);
    const first = await client(broker, { clientId: 'first' });
    const raw = await RawClient.open(broker);
    try {
      // CONNECT and SUBSCRIBE in one write, a PINGREQ in the next: read by the accepting thread
      // (or left in its paused socket) before main answers; all of it must reach the session,
      // the CONNECT first (a CONNACK before anything else [MQTT-3.2.0-1]).
      const connect = encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'piped', clean: true, keepalive: 0 } as Packet, 4);
      const subscribe = encodePacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p/#', qos: 1 }] } as Packet, 4);
      raw.sendBytes(Buffer.concat([connect, subscribe]));
      raw.sendBytes([0xc0, 0x00]);
      expect((await raw.next()).cmd).to.equal('connack');
      // Both answered (the SUBACK waits for the register write, so it may come second).
      const answers = [(await raw.next()).cmd, (await raw.next()).cmd];
      expect(answers).to.have.members(['suback', 'pingresp']);
      expect(sessionThreadOf(broker, 'piped')).to.equal(other);
    } finally {
      raw.destroy();
      await forceClose(first);
      await broker.close();
    }
  });

  for (const where of ['its own thread', 'the other thread'] as const) {
    it(`a client that sends CONNECT and goes at once leaves nothing behind (session on ${where})`, async () => {
      const broker = await brokerListeningOn((ordinal) => ordinal === 0);
      const first = where === 'the other thread' ? await client(broker, { clientId: 'first' }) : undefined;
      try {
        const raw = await RawClient.open(broker);
        raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'gone', clean: true, keepalive: 0 } as Packet);
        raw.destroy();
        const expected = first === undefined ? 0 : 1;
        await until(() => broker.stats().connections === expected && broker.stats().sessions === expected, () => JSON.stringify(broker.stats()));
      } finally {
        await forceClose(first);
        await broker.close();
      }
    });
  }

  for (const protocolVersion of [4, 5] as const) {
    it(`refuses at maxConnections from a thread-accepted socket with ${protocolVersion === 4 ? '0x03 (3.1.1)' : '0x89 (5.0)'}`, async () => {
      const broker = await testBroker({ threads: 1, maxConnections: 1 });
      const first = await client(broker, { clientId: 'first' });
      try {
        const raw = await RawClient.open(broker, protocolVersion);
        const connack = (await raw.connect('second')) as IConnackPacket;
        // 3.1.1: 0x03 Server unavailable; 5.0: 0x89 Server busy; Session Present 0 with either
        // [MQTT-3.2.2-4 (3.1.1), MQTT-3.2.2-6 (5.0)], then the connection closes [MQTT-3.2.2-5].
        if (protocolVersion === 4) expect(connack.returnCode).to.equal(3);
        else expect(connack.reasonCode).to.equal(0x89);
        expect(connack.sessionPresent).to.equal(false);
        await raw.waitClosed();
        expect(broker.stats().counters.refusedConnections).to.equal(1);
        expect(broker.stats().connections).to.equal(1);
      } finally {
        await forceClose(first);
        await broker.close();
      }
    });
  }

  it('counts a connect timeout and a first packet that is not CONNECT [MQTT-3.1.0-1] on the accepting thread', async () => {
    const broker = await testBroker({ threads: 1, connectTimeout: 200 });
    try {
      const silent = await RawClient.open(broker);
      await silent.waitClosed();
      expect(broker.stats().counters.connectTimeouts).to.equal(1);
      const pinger = await RawClient.open(broker);
      pinger.sendBytes([0xc0, 0x00]); // PINGREQ first
      await pinger.waitClosed();
      expect(broker.stats().counters.notConnectFirst).to.equal(1);
      expect(broker.stats().connections).to.equal(0);
    } finally {
      await broker.close();
    }
  });

  it('a thread that replaces a crashed one accepts new connections', async () => {
    // Thread 1 never listens: after thread 0 dies, only its replacement (ordinal 2) can accept.
    const broker = await brokerListeningOn((ordinal) => ordinal !== 1);
    try {
      const victim = await client(broker, { clientId: 'victim' });
      const victimClosed = new Promise<void>((resolve) => victim.once('close', () => resolve()));
      const dead = crashSessionThread(broker, 'victim');
      expect(dead).to.equal(sessionThreads(broker)[0]!.threadId);
      await victimClosed;
      await until(() => {
        const threads = sessionThreads(broker);
        return threads.length === 2 && threads.every((t) => t.ready && t.threadId !== dead);
      }, 'a replacement thread to be ready');
      const late = await client(broker, { clientId: 'late' });
      try {
        expect(late.connected).to.equal(true);
        expect(sessionThreadOf(broker, 'late')).to.not.equal(dead);
        await late.subscribeAsync('x');
        const got = nextMessages(late, 1);
        await late.publishAsync('x', 'after');
        expect((await got)[0]!.payload).to.equal('after');
      } finally {
        await forceClose(late);
      }
    } finally {
      await broker.close();
    }
  });

  it('says who accepts in "broker listening": session threads by default, main with acceptOnSessionThreads false', async () => {
    for (const [acceptOnSessionThreads, accepts] of [[undefined, 'session threads'], [false, 'main']] as const) {
      const { logger, records } = recordingLogger('info');
      const broker = await testBroker({ logger, threads: 1, ...(acceptOnSessionThreads === undefined ? {} : { acceptOnSessionThreads }) });
      await broker.close();
      expect(records.find((r) => r.msg === 'broker listening')?.accepts).to.equal(accepts);
    }
  });

  it('close() frees the port while the threads held duplicates of it', async () => {
    const broker = await testBroker({ threads: 2 });
    const port = broker.port;
    const c = await client(broker, { clientId: 'c' });
    await c.endAsync();
    await broker.close();
    const server = createServer();
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('close() right after start frees the port: a duplicate sent to a thread that had not opened it yet is closed by main', async () => {
    // Closed at once, a thread is often terminated before it reads its `listen`; its duplicate
    // then has no other owner. Several rounds: one round can miss the window.
    for (let round = 0; round < 5; round++) {
      const broker = await testBroker({ threads: 2 });
      const port = broker.port;
      await broker.close();
      const server = createServer();
      server.listen(port, '127.0.0.1');
      // Rejects with EADDRINUSE while a duplicate is still open.
      await once(server, 'listening');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
