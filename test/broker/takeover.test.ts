/**
 * Session takeover across protocol versions: a CONNECT with the client id of a connected client
 * closes the old connection [MQTT-3.1.4-2]; what the old one is sent is encoded in ITS protocol
 * version: an MQTT 5 connection gets DISCONNECT 0x8E first [MQTT-3.1.4-3 (5.0)], a 3.1.1
 * connection (which has no server DISCONNECT) is just closed.
 */
import { expect } from 'chai';
import type { IConnackPacket, IDisconnectPacket, Packet } from 'mqtt-packet';
import type { Broker } from '../../src/broker/index.js';
import { PLACEMENTS, RawClient, testBroker } from './helpers.js';

/** Connects `clientId` over a raw socket; fails unless the CONNACK accepts. */
async function connected(broker: Broker, clientId: string, version: 4 | 5): Promise<RawClient> {
  const raw = await RawClient.open(broker, version);
  const connack = (await raw.connect(clientId)) as IConnackPacket;
  expect(version === 5 ? connack.reasonCode : connack.returnCode).to.equal(0);
  return raw;
}

/** Everything `raw` is sent from now on, as bytes and as packets, until the broker closes it. */
async function restUntilClosed(raw: RawClient): Promise<{ bytes: number; packets: Packet[]; endedByPeer: boolean }> {
  let bytes = 0;
  raw.socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const packets: Packet[] = [];
  for (;;) {
    try {
      packets.push(await raw.next());
    } catch {
      // 'end' seen: the broker closed with a FIN after flushing, not a reset.
      return { bytes, packets, endedByPeer: raw.socket.readableEnded };
    }
  }
}

for (const placement of PLACEMENTS) {
  describe(`broker: takeover across protocol versions, ${placement.name}`, function () {
    this.timeout(15000);
    let broker: Broker;

    beforeEach(async () => {
      broker = await testBroker(placement.options);
    });
    afterEach(async () => {
      await broker.close();
    });

    it('a 3.1.1 connection taken over by an MQTT 5 one is closed with nothing sent [MQTT-3.1.4-2]', async () => {
      const old = await connected(broker, 'twin', 4);
      const rest = restUntilClosed(old);
      const fresh = await connected(broker, 'twin', 5);
      try {
        const { bytes, packets, endedByPeer } = await rest;
        expect(bytes, 'bytes sent to the old 3.1.1 connection after its CONNACK').to.equal(0);
        expect(packets).to.deep.equal([]);
        expect(endedByPeer).to.equal(true);
        expect(broker.sessions().find((s) => s.clientId === 'twin')).to.include({ connected: true, protocolVersion: 5 });
      } finally {
        fresh.destroy();
      }
    });

    it('an MQTT 5 connection taken over by a 3.1.1 one gets DISCONNECT 0x8E, then the close [MQTT-3.1.4-3 (5.0)]', async () => {
      const old = await connected(broker, 'twin', 5);
      const rest = restUntilClosed(old);
      const fresh = await connected(broker, 'twin', 4);
      try {
        const { packets, endedByPeer } = await rest;
        expect(packets.map((p) => [p.cmd, (p as IDisconnectPacket).reasonCode])).to.deep.equal([['disconnect', 0x8e]]);
        expect(endedByPeer).to.equal(true);
        // The new 3.1.1 connection works: a PINGREQ is answered.
        fresh.send({ cmd: 'pingreq' });
        expect((await fresh.next()).cmd).to.equal('pingresp');
      } finally {
        fresh.destroy();
      }
    });
  });
}
