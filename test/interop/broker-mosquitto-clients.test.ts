/**
 * Weft serves the Eclipse Mosquitto command-line clients (Debian `mosquitto-clients`):
 * mosquitto_sub / mosquitto_pub for QoS 0, 1 and 2, retained messages, MQTT 3.1.1 and 5.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Broker } from '../../src/broker/index.js';
import { testBroker, until } from '../broker/helpers.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(command: string, args: string[], input?: string): { done: Promise<Run> } {
  const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (input !== undefined) child.stdin!.end(input);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { done: once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr })) };
}

describe('interop: mosquitto_pub / mosquitto_sub against Weft', function () {
  this.timeout(20000);
  let broker: Broker;
  const common = (): string[] => ['-h', '127.0.0.1', '-p', String(broker.port)];

  before(async () => {
    broker = await testBroker({ threads: 2 });
  });
  after(async () => {
    await broker.close();
  });

  for (const version of ['mqttv311', 'mqttv5'] as const) {
    for (const qos of [0, 1, 2]) {
      it(`delivers QoS ${qos} from mosquitto_pub to mosquitto_sub (-V ${version})`, async () => {
        const topic = `interop/${version}/${qos}`;
        // The previous test's clients have gone (clean sessions remove their subscriptions).
        await until(() => broker.stats().subscriptions === 0, 'earlier subscriptions to go', 10000);
        const sub = start('mosquitto_sub', [...common(), '-V', version, '-q', String(qos), '-t', topic, '-C', '2', '-W', '15']);
        await until(() => broker.stats().subscriptions === 1, 'mosquitto_sub to subscribe', 10000);
        // One publisher sending both lines (-l): MQTT orders messages per publisher [MQTT-4.6.0-6].
        const pub = await start('mosquitto_pub', [...common(), '-V', version, '-q', String(qos), '-t', topic, '-l'], 'msg 1\nmsg 2\n').done;
        expect(pub.code, pub.stderr).to.equal(0);
        const result = await sub.done;
        expect(result.code, result.stderr).to.equal(0);
        expect(result.stdout.trim().split('\n')).to.deep.equal(['msg 1', 'msg 2']);
      });
    }

    it(`keeps a retained message for a later mosquitto_sub (-V ${version})`, async () => {
      const topic = `interop/retained/${version}`;
      const pub = await start('mosquitto_pub', [...common(), '-V', version, '-q', '1', '-r', '-t', topic, '-m', 'kept']).done;
      expect(pub.code, pub.stderr).to.equal(0);
      const sub = await start('mosquitto_sub', [...common(), '-V', version, '-t', topic, '-C', '1', '-W', '10', '-v']).done;
      expect(sub.code, sub.stderr).to.equal(0);
      expect(sub.stdout.trim()).to.equal(`${topic} kept`);
      // An empty retained payload deletes it.
      const clear = await start('mosquitto_pub', [...common(), '-V', version, '-r', '-n', '-t', topic]).done;
      expect(clear.code, clear.stderr).to.equal(0);
    });
  }
});
