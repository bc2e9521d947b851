/**
 * The API's hooks across both drivers: an injected pino logger receives the client's records
 * at haka-mqtt's levels, and the MQTT 5 AUTH hook answers a server's challenge.
 */
import { expect } from 'chai';
import { connect, ConnectError } from '../../src/client/index.js';
import { closedPort } from './brokers.js';
import { recordingLogger, startScriptedServer } from './scripted-server.js';

/** An MQTT 5 server that runs a challenge/response AUTH exchange. */
function startAuthServer() {
  return startScriptedServer(5, ({ socket, send }, p) => {
    if (p.cmd === 'connect') {
      if (p.properties?.authenticationMethod !== 'TEST') send({ cmd: 'connack', sessionPresent: false, reasonCode: 0x8c });
      else send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'TEST', authenticationData: Buffer.from('challenge') } });
    } else if (p.cmd === 'auth') {
      const ok = p.properties?.authenticationData?.toString() === 'response to challenge';
      send({ cmd: 'connack', sessionPresent: false, reasonCode: ok ? 0 : 0x87 });
    } else if (p.cmd === 'disconnect') socket.end();
  });
}

describe('client API hooks', () => {
  for (const thread of [true, false]) {
    const label = thread ? 'worker thread' : 'in-thread';

    it(`${label}: an injected logger gets info for lifecycle and warn for a network failure`, async () => {
      const { logger, records, until } = recordingLogger('debug');
      const port = await closedPort();
      const err = await connect(`mqtt://127.0.0.1:${port}`, { thread, logger }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ConnectError);
      // A worker thread's lines may arrive after the rejection: awaited, not assumed a tick away.
      await until((r) => r.some((line) => line.level === 40 && line.msg === 'connect failed'));
      expect(records.some((r) => r.level === 30 && r.msg === 'connecting')).to.equal(true);
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
