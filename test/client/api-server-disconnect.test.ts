/**
 * A server DISCONNECT end to end over real TCP, with both drivers: a session takeover against
 * Weft's broker (MQTT 5, DISCONNECT 0x8E), a scripted MQTT 3.1.1 server that sends a
 * DISCONNECT, which 3.1.1 does not allow a server to send, and scripted MQTT 5.0 servers that
 * send one before CONNACK [MQTT-3.14.0-1] or with 0x04, a reason code only a Client may send.
 */
import { expect } from 'chai';
import { startBroker } from '../../src/broker/index.js';
import { connect, ConnectError, ConnectionLostError, SessionTakenOverError, Subscription, type Message, type MqttClient } from '../../src/client/index.js';
import { recordingLogger, startScriptedServer } from './scripted-server.js';

/** Resolves with the arguments of the next `event` the client emits. */
function next(client: MqttClient, event: string): Promise<unknown[]> {
  return new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args)));
}

async function firstMessage(iterable: AsyncIterable<Message>): Promise<Message> {
  for await (const m of iterable) return m;
  throw new Error('iteration ended without a message');
}

/**
 * A 3.1.1 server that accepts every CONNECT; on its first connection it answers the first
 * PUBLISH with a DISCONNECT. Records the packets each connection received.
 */
function startDisconnectingServer() {
  return startScriptedServer(4, ({ index, socket, send }, p) => {
    if (p.cmd === 'connect') send({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
    else if (p.cmd === 'publish' && index === 0) socket.write(Buffer.from([0xe0, 0x00]));
    else if (p.cmd === 'pingreq') send({ cmd: 'pingresp' });
    else if (p.cmd === 'disconnect') socket.end();
  });
}

/**
 * Connects (reconnect period 20 ms), publishes once into a server that answers with a
 * DISCONNECT it may not send, and checks what every such violation shares: the connection is
 * lost with a ConnectionLostError, no 'disconnect' event is emitted, the client is connected
 * again. Returns the error for the case's own checks.
 */
async function publishIntoViolation(clients: MqttClient[], url: string, options: { thread: boolean; protocolVersion: 4 | 5; logger: import('pino').Logger }): Promise<ConnectionLostError> {
  const client = await connect(url, { ...options, reconnectPeriod: 20 });
  clients.push(client);
  const disconnects: unknown[] = [];
  client.on('disconnect', (p: unknown) => disconnects.push(p));
  client.on('error', () => undefined);
  const offline = next(client, 'offline');
  const reconnected = next(client, 'connect');
  await client.publish('t', 'x', { qos: 0 });
  const [error] = await offline;
  expect(error).to.be.instanceOf(ConnectionLostError);
  await reconnected;
  expect(client.connected).to.equal(true);
  expect(disconnects).to.deep.equal([]);
  return error as ConnectionLostError;
}

describe('client API: server DISCONNECT end to end', () => {
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
  });

  describe('session takeover against the Weft broker (MQTT 5.0)', () => {
    let broker: Awaited<ReturnType<typeof startBroker>>;
    beforeEach(async () => {
      broker = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
      await broker.close();
    });

    for (const thread of [true, false]) {
      const label = thread ? 'worker thread' : 'in-thread';

      it(`${label}: [MQTT-3.1.4-3] a second connection with the same client id ends the first with SessionTakenOverError (end event, waiting iterator, later calls); the second keeps its connection`, async () => {
        const first = await connect(broker.url, { thread, protocolVersion: 5, clientId: 'twin', logger: false, reconnectPeriod: 20 });
        clients.push(first);
        const sub = await first.subscribe('twin/#', { qos: 1 });
        // Handled at once: the rejection comes while the test waits for the 'end' event.
        const waiting = sub[Symbol.asyncIterator]()
          .next()
          .then(
            (r) => r,
            (e: unknown) => e,
          );
        const ended = next(first, 'end');

        const second = await connect(broker.url, { thread, protocolVersion: 5, clientId: 'twin', logger: false, reconnectPeriod: 20 });
        clients.push(second);
        const [endError] = await ended;
        expect(endError).to.be.instanceOf(SessionTakenOverError).and.include({ reasonCode: 0x8e, kind: 'server-disconnect' });
        expect(await waiting).to.equal(endError);
        expect(await first.publish('twin/late', 'x', { qos: 1 }).catch((e: unknown) => e)).to.equal(endError);
        expect(first.status).to.equal('ended');

        // Had the first reconnected (20 ms), it would have thrown the second off: the second still works.
        const sub2 = await second.subscribe('twin/#', { qos: 1 });
        await second.publish('twin/a', 'still here', { qos: 1 });
        expect((await firstMessage(sub2)).payload.toString()).to.equal('still here');
        expect(second.connected).to.equal(true);
      });
    }

    it('reconnectOnTakeover: the client that opted in takes its session back; the one that did not ends with SessionTakenOverError', async () => {
      const keen = await connect(broker.url, { protocolVersion: 5, clientId: 'twin', logger: false, reconnectPeriod: 100, reconnectOnTakeover: true });
      clients.push(keen);
      const keenOffline = next(keen, 'offline');
      const keenBack = new Promise<void>((resolve) => keen.on('connect', () => resolve()));

      const other = await connect(broker.url, { protocolVersion: 5, clientId: 'twin', logger: false, reconnectPeriod: 100 });
      clients.push(other);
      const otherEnded = next(other, 'end');

      const [offlineError] = await keenOffline;
      expect(offlineError).to.be.instanceOf(ConnectionLostError).and.include({ reasonCode: 0x8e }).and.not.be.instanceOf(SessionTakenOverError);
      await keenBack;
      const [endError] = await otherEnded;
      expect(endError).to.be.instanceOf(SessionTakenOverError);
      expect(keen.connected).to.equal(true);
    });
  });

  for (const thread of [true, false]) {
    const label = thread ? 'worker thread' : 'in-thread';

    it(`${label}: MQTT 3.1.1, a DISCONNECT from the server is a protocol violation [MQTT-4.8.0-1]: closed with a warning, no 'disconnect' event, reconnected`, async () => {
      const server = await startDisconnectingServer();
      try {
        const { logger, until } = recordingLogger();
        const error = await publishIntoViolation(clients, server.url, { thread, protocolVersion: 4, logger });
        expect(error).to.include({ kind: 'protocol' });
        expect(error.message).to.include('MQTT-4.8.0-1');
        expect(server.received[0]).to.deep.equal(['connect', 'publish']); // no DISCONNECT of ours in 3.1.1's reply to a violation
        expect(server.received[1]).to.deep.equal(['connect']);
        await until((r) => r.some((line) => line.level === 40 && /must not send DISCONNECT in MQTT 3\.1\.1/.test(line.msg)));
      } finally {
        await server.close();
      }
    });
  }
});

describe('client API: MQTT 5.0 DISCONNECTs a server may not send', () => {
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
  });

  /**
   * Answers the CONNECT of connection `index` < `refusing` with DISCONNECT 0x87 instead of a
   * CONNACK (and leaves the socket open, so the client's answer arrives), later ones with CONNACK.
   */
  const refusingServer = (refusing: number): ReturnType<typeof startScriptedServer> =>
    startScriptedServer(5, (c, p) => {
      if (p.cmd !== 'connect') return;
      if (c.index < refusing) c.send({ cmd: 'disconnect', reasonCode: 0x87, properties: { reasonString: 'not you' } });
      else c.send({ cmd: 'connack', sessionPresent: false, reasonCode: 0 });
    });

  for (const thread of [true, false]) {
    const label = thread ? 'worker thread' : 'in-thread';

    it(`${label}: [MQTT-3.14.0-1] a DISCONNECT before CONNACK fails the first connect with ConnectError kind protocol; the client answers DISCONNECT 0x82 and logs a warning`, async () => {
      const server = await refusingServer(1);
      try {
        const { logger, until } = recordingLogger();
        const error = await connect(server.url, { thread, protocolVersion: 5, logger }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(ConnectError).and.include({ kind: 'protocol', reasonCode: 0x82 });
        expect((error as Error).message).to.include('MQTT-3.14.0-1').and.include('0x87').and.include('not you');
        await server.closed(0);
        expect(server.received[0]).to.deep.equal(['connect', 'disconnect:0x82']);
        await until((r) => r.some((line) => line.level === 40 && /MQTT-3\.14\.0-1/.test(line.msg)));
      } finally {
        await server.close();
      }
    });

    it(`${label}: [MQTT-3.14.0-1] with retryFirstConnect the violation is retried after the backoff, and the next CONNACK connects`, async () => {
      const server = await refusingServer(2);
      try {
        const { logger, records, until } = recordingLogger();
        const client = await connect(server.url, { thread, protocolVersion: 5, logger, retryFirstConnect: true, reconnectPeriod: 20, reconnectJitter: 0 });
        clients.push(client);
        expect(client.connected).to.equal(true);
        expect(server.received.slice(0, 3)).to.deep.equal([['connect', 'disconnect:0x82'], ['connect', 'disconnect:0x82'], ['connect']]);
        await until((r) => r.filter((line) => line.msg === 'reconnect scheduled').length >= 2);
        expect(records.filter((r) => r.msg === 'reconnect scheduled').map((r) => r.delay)).to.deep.equal([20, 40]);
      } finally {
        await server.close();
      }
    });

    it(`${label}: 0x04 Disconnect with Will Message (Table 3-10: sent by Client) from the server is a protocol violation: DISCONNECT 0x82, ConnectionLostError kind protocol, no 'disconnect' event, reconnected`, async () => {
      const server = await startScriptedServer(5, (c, p) => {
        if (p.cmd === 'connect') c.send({ cmd: 'connack', sessionPresent: false, reasonCode: 0 });
        else if (p.cmd === 'publish' && c.index === 0) c.send({ cmd: 'disconnect', reasonCode: 0x04 });
      });
      try {
        const { logger, until } = recordingLogger();
        const error = await publishIntoViolation(clients, server.url, { thread, protocolVersion: 5, logger });
        expect(error).to.include({ kind: 'protocol', reasonCode: 0x82 });
        expect(error.message).to.include('0x04').and.include('Table 3-10');
        await server.closed(0);
        expect(server.received[0]).to.deep.equal(['connect', 'publish', 'disconnect:0x82']);
        await until((r) => r.some((line) => line.level === 40 && /only a Client may send/.test(line.msg)));
      } finally {
        await server.close();
      }
    });
  }
});

describe('Subscription iterator when the client ends by itself', () => {
  const message = (topic: string): Message => ({ topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
  const stubClient = { forget: () => undefined } as unknown as MqttClient;

  it('yields the messages already received, then throws the error once, then is done', async () => {
    const sub = new Subscription(stubClient, ['a/#'], [0], 10, () => undefined);
    sub.push(message('a/1'));
    const error = new SessionTakenOverError('taken over');
    sub.finish(error);
    const it = sub[Symbol.asyncIterator]();
    expect((await it.next()).value?.topic).to.equal('a/1');
    expect(await it.next().catch((e: unknown) => e)).to.equal(error);
    expect(await it.next()).to.deep.equal({ value: undefined, done: true });
  });

  it('an end asked for by the application (no error) just ends the iteration', async () => {
    const sub = new Subscription(stubClient, ['a/#'], [0], 10, () => undefined);
    const waiting = sub[Symbol.asyncIterator]().next();
    sub.finish(undefined);
    expect(await waiting).to.deep.equal({ value: undefined, done: true });
  });
});
