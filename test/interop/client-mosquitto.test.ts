/**
 * The Weft client against mosquitto (Debian package): the API suite for MQTT 3.1.1 and 5.0,
 * the blocked-caller keepalive test, the CLI against mosquitto's own tools, and a
 * fault-injecting proxy that cuts connections mid-QoS-1 and mid-QoS-2: nothing is lost and
 * QoS 2 is delivered exactly once.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Message, type MqttClient } from '../../src/client/index.js';
import { runPub } from '../../src/cli/pub.js';
import { runSub } from '../../src/cli/sub.js';
import { apiSuite } from '../client/api-suite.js';
import { startMosquitto, type Mosquitto } from '../client/mosquitto.js';
import { startFaultProxy, type CutRule, type FaultProxy } from '../support/fault-proxy.js';

describe('interop: Weft client against mosquitto', function () {
  this.timeout(30000);
  let mosquitto: Mosquitto;
  before(async () => {
    mosquitto = await startMosquitto();
  });
  after(async () => {
    await mosquitto.stop();
  });

  describe('API', () => {
    const shared = async () => ({ url: mosquitto.url, close: async () => undefined });
    apiSuite(shared, { versions: [4, 5], startOffThread: shared });
  });

  describe('CLI', () => {
    it('weft pub reaches mosquitto_sub (-V 5, QoS 2)', async () => {
      const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'cli/m', '-C', '1', '-v', '-V', 'mqttv5', '-q', '2', '-W', '20']);
      let out = '';
      sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
      // mosquitto_sub says nothing when subscribed; a retained message removes the race.
      const io = { stdout: { write: () => true }, stderr: { write: (s: string) => process.stderr.write(s) } };
      expect(await runPub(['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'cli/m', '-m', 'from weft', '-q', '2', '-r', '-V', '5'], io)).to.equal(0);
      const [code] = await once(sub, 'exit');
      expect(code).to.equal(0);
      expect(out).to.equal('cli/m from weft\n');
      await runPub(['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'cli/m', '-n', '-r'], io);
    });

    it('weft sub prints what mosquitto_pub sends', async () => {
      let out = '';
      let subscribed!: () => void;
      const ready = new Promise<void>((r) => (subscribed = r));
      const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => process.stderr.write(s) }, onSubscribed: () => subscribed() };
      const sub = runSub(['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'cli/n/#', '-q', '1', '-v', '-C', '2'], io);
      await ready;
      const pub = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'cli/n/x', '-q', '1', '-l']);
      pub.stdin.end('a\nb\n');
      const [code] = await once(pub, 'exit');
      expect(code).to.equal(0);
      expect(await sub).to.equal(0);
      expect(out).to.equal('cli/n/x a\ncli/n/x b\n');
    });
  });

  describe('fault injection: connections cut mid-handshake', () => {
    let proxy: FaultProxy;
    const clients: MqttClient[] = [];
    beforeEach(async () => {
      proxy = await startFaultProxy(mosquitto.port);
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.end({ force: true })));
      await proxy.close();
    });

    for (const protocolVersion of [4, 5] as const) {
      const v = protocolVersion === 4 ? '3.1.1' : '5.0';
      // A persistent session on both ends: what exactly-once needs across a reconnect.
      const session = (clientId: string) => ({
        clientId,
        clean: false,
        protocolVersion,
        reconnectPeriod: 20,
        reconnectJitter: 0,
        logger: false as const,
        ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
      });

      /** Reads from `messages` until `done(received)` holds. */
      async function collect(messages: AsyncIterator<Message>, into: string[], done: (r: string[]) => boolean): Promise<void> {
        while (!done(into)) {
          const r = await messages.next();
          if (r.done) throw new Error('subscription ended early');
          into.push(r.value.payload.toString());
        }
      }

      async function publisherCut(qos: 1 | 2, rules: CutRule[], tag: string): Promise<{ received: string[]; sent: string[] }> {
        const subscriber = await connect(mosquitto.url, { ...session(`sub-${tag}-${v}`) });
        clients.push(subscriber);
        const topic = `fault/${tag}/${v}`;
        const sub = (await subscriber.subscribe(topic, { qos }))[Symbol.asyncIterator]();
        const publisher = await connect(proxy.url, { ...session(`pub-${tag}-${v}`) });
        clients.push(publisher);
        const cuts = rules.map((r) => proxy.cutOn(r));
        const sent = Array.from({ length: 10 }, (_, i) => `${tag}-${i}`);
        // Sequential publishes: each cut lands mid-handshake of one message.
        for (const payload of sent) await publisher.publish(topic, payload, { qos });
        await Promise.all(cuts);
        const received: string[] = [];
        // A last message after the cuts: whatever duplicate a cut could cause arrives before it.
        await publisher.publish(topic, 'end', { qos });
        await collect(sub, received, (r) => r.includes('end'));
        return { received, sent };
      }

      it(`MQTT ${v}: a cut before PUBACK loses nothing (QoS 1 resent with DUP)`, async () => {
        const { received, sent } = await publisherCut(1, [{ direction: 'to-client', packet: 'puback', nth: 3 }], 'q1');
        // At least once: every message arrives; the one whose PUBACK was cut may arrive twice.
        expect(new Set(received)).to.deep.equal(new Set([...sent, 'end']));
        expect(proxy.accepted).to.be.greaterThan(1);
      });

      it(`MQTT ${v}: cuts before PUBREC and before PUBCOMP: QoS 2 delivered exactly once, in order`, async () => {
        const { received, sent } = await publisherCut(
          2,
          [
            { direction: 'to-client', packet: 'pubrec', nth: 2 },
            { direction: 'to-server', packet: 'pubrel', nth: 5 },
            { direction: 'to-client', packet: 'pubcomp', nth: 8 },
          ],
          'q2',
        );
        expect(received).to.deep.equal([...sent, 'end']);
        expect(proxy.accepted).to.be.greaterThan(3);
      });

      it(`MQTT ${v}: a subscriber cut before its PUBREC and its PUBCOMP reach the broker gets each QoS 2 message once`, async () => {
        const topic = `fault/sub/${v}`;
        const subscriber = await connect(proxy.url, { ...session(`subcut-${v}`) });
        clients.push(subscriber);
        const sub = (await subscriber.subscribe(topic, { qos: 2 }))[Symbol.asyncIterator]();
        const publisher = await connect(mosquitto.url, { ...session(`pubcut-${v}`) });
        clients.push(publisher);
        const cuts = [proxy.cutOn({ direction: 'to-server', packet: 'pubrec', nth: 2 }), proxy.cutOn({ direction: 'to-server', packet: 'pubcomp', nth: 4 })];
        const sent = Array.from({ length: 8 }, (_, i) => `s-${i}`);
        const received: string[] = [];
        const collecting = collect(sub, received, (r) => r.includes('end'));
        for (const payload of sent) await publisher.publish(topic, payload, { qos: 2 });
        await Promise.all(cuts);
        await publisher.publish(topic, 'end', { qos: 2 });
        await collecting;
        expect(received).to.deep.equal([...sent, 'end']);
        expect(proxy.accepted).to.be.greaterThan(2);
      });
    }
  });
});
