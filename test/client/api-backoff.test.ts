/**
 * The backoff rule end to end over real TCP, with both drivers: a connection that does not stay
 * up `minConnectedTimeToResetBackoff` after its CONNACK does not reset the reconnect backoff,
 * however it is lost. The delays are read from the client's 'reconnect scheduled' log records
 * (no jitter), not from timing.
 */
import { expect } from 'chai';
import { startBroker } from '../../src/broker/index.js';
import { connect, type MqttClient } from '../../src/client/index.js';
import { recordingLogger, scheduledDelays, startScriptedServer } from './scripted-server.js';

/** 20, 40, 80, 160, 160 ms; no connection in these tests lives a minute, so none resets it. */
const BACKOFF = { reconnectPeriod: 20, maxReconnectPeriod: 160, reconnectJitter: 0, minConnectedTimeToResetBackoff: 60_000 } as const;

describe('client API: the reconnect backoff is reset only by a connection that stayed up', () => {
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
  });

  for (const thread of [true, false]) {
    const label = thread ? 'worker thread' : 'in-thread';

    it(`${label}: MQTT 3.1.1, a server that accepts every CONNECT and closes the socket at once (an ACL kick, an overloaded server) sees reconnects 20, 40, 80, 160, 160 ms apart, not every reconnectPeriod`, async () => {
      const server = await startScriptedServer(4, (c, p) => {
        if (p.cmd === 'connect') c.socket.end(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK accepted, then FIN
      });
      try {
        const { logger, records, until } = recordingLogger();
        const client = await connect(server.url, { thread, protocolVersion: 4, logger, ...BACKOFF });
        clients.push(client);
        client.on('error', () => undefined);
        await until((r) => scheduledDelays(r).length >= 5);
        expect(scheduledDelays(records).slice(0, 5)).to.deep.equal([20, 40, 80, 160, 160]);
        expect(server.received.length).to.be.at.least(5);
        for (const connection of server.received.slice(0, 5)) expect(connection).to.deep.equal(['connect']);
      } finally {
        await server.close();
      }
    });
  }

  it('[MQTT-3.1.4-2] two MQTT 3.1.1 clients with one client id against the Weft broker throw each other off ever more slowly (20, 40, 80, 160 ms), not every reconnectPeriod', async () => {
    const broker = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
    try {
      const first = recordingLogger();
      const second = recordingLogger();
      const a = await connect(broker.url, { protocolVersion: 4, clientId: 'twin-311', logger: first.logger, ...BACKOFF });
      clients.push(a);
      a.on('error', () => undefined);
      const b = await connect(broker.url, { protocolVersion: 4, clientId: 'twin-311', logger: second.logger, ...BACKOFF });
      clients.push(b);
      b.on('error', () => undefined);
      await Promise.all([first.until((r) => scheduledDelays(r).length >= 4), second.until((r) => scheduledDelays(r).length >= 4)]);
      expect(scheduledDelays(first.records).slice(0, 4)).to.deep.equal([20, 40, 80, 160]);
      expect(scheduledDelays(second.records).slice(0, 4)).to.deep.equal([20, 40, 80, 160]);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
      await broker.close();
    }
  });
});
