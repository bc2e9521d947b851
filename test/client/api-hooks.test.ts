/**
 * The API's hooks across both drivers: an injected pino logger receives the client's records
 * at haka-mqtt's levels, and the MQTT 5 AUTH hook answers a server's challenge.
 */
import { expect } from 'chai';
import net from 'node:net';
import { Writable } from 'node:stream';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { pino } from 'pino';
import { connect, ConnectError } from '../../src/client/index.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { closedPort } from './brokers.js';

/** A one-connection MQTT 5 server that runs a challenge/response AUTH exchange. */
async function startAuthServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const send = (p: Packet) => socket.write(encodePacket(p, 5));
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'connect') {
        if (p.properties?.authenticationMethod !== 'TEST') send({ cmd: 'connack', sessionPresent: false, reasonCode: 0x8c });
        else send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'TEST', authenticationData: Buffer.from('challenge') } });
      } else if (p.cmd === 'auth') {
        const ok = p.properties?.authenticationData?.toString() === 'response to challenge';
        send({ cmd: 'connack', sessionPresent: false, reasonCode: ok ? 0 : 0x87 });
      } else if (p.cmd === 'disconnect') socket.end();
    });
    socket.on('data', (d: Buffer) => parser.parse(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function capturingLogger(): { logger: import('pino').Logger; records: Array<{ level: number; msg: string }> } {
  const records: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const line of chunk.toString().split('\n')) if (line) records.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), records };
}

describe('client API hooks', () => {
  for (const thread of [true, false]) {
    const label = thread ? 'worker thread' : 'in-thread';

    it(`${label}: an injected logger gets info for lifecycle and warn for a network failure`, async () => {
      const { logger, records } = capturingLogger();
      const port = await closedPort();
      const err = await connect(`mqtt://127.0.0.1:${port}`, { thread, logger }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ConnectError);
      await new Promise((resolve) => setImmediate(resolve)); // pino writes on the next tick
      expect(records.some((r) => r.level === 30 && r.msg === 'connecting')).to.equal(true);
      expect(records.some((r) => r.level === 40 && r.msg === 'connect failed')).to.equal(true);
    });

    it(`${label}: authHandler answers the server's AUTH challenge (MQTT 5 enhanced authentication)`, async () => {
      const server = await startAuthServer();
      try {
        const seen: string[] = [];
        const client = await connect(server.url, {
          thread,
          protocolVersion: 5,
          logger: false,
          properties: { authenticationMethod: 'TEST' },
          authHandler: (packet) => {
            const data = packet.properties?.authenticationData as Uint8Array;
            seen.push(Buffer.from(data).toString());
            return { properties: { authenticationMethod: 'TEST', authenticationData: Buffer.from(`response to ${Buffer.from(data).toString()}`) } };
          },
        });
        expect(seen).to.deep.equal(['challenge']);
        expect(client.connected).to.equal(true);
        await client.end();
      } finally {
        await server.close();
      }
    });
  }
});
