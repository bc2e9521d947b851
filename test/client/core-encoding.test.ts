/**
 * The client core encodes what it writes with the shared plain encoders (`encodePlainFirst`):
 * every packet of a whole session, both protocols, decodes with mqtt-packet's own parser to the
 * packet the core meant, in the bytes mqtt-packet would have written (but for a v5 success
 * acknowledgement, which takes the short form of MQTT 5.0 section 3.4.2.1).
 */
import { expect } from 'chai';
import type { Packet } from 'mqtt-packet';
import type { CoreOutput, OutgoingPacket } from '../../src/client/core/types.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { CoreHarness, testConfig } from './core-harness.js';
import { decodeOne, normal } from '../support/mqtt-packet-form.js';

/** A harness that also keeps the raw packets and bytes the core wrote. */
class RecordingHarness extends CoreHarness {
  raw: OutgoingPacket[] = [];

  override apply(out: CoreOutput): CoreOutput {
    this.raw.push(...out.writes);
    return super.apply(out);
  }
}



/** Asserts one write decodes to the packet the core meant, in mqtt-packet's bytes but for the v5 short-form ack. */
function expectFaithful(write: OutgoingPacket, version: 4 | 5): void {
  const { packet, bytes } = write;
  const label = `${packet.cmd} v${version}`;
  const decoded = normal(decodeOne(bytes, version)) as Record<string, unknown>;
  const meant = normal(packet) as Record<string, unknown>;
  if (typeof meant.payload === 'string') meant.payload = [...Buffer.from(meant.payload)];
  const will = meant.will as Record<string, unknown> | undefined;
  if (will && typeof will.payload === 'string') will.payload = [...Buffer.from(will.payload)];
  if (version === 4) delete meant.reasonCode;
  for (const key of Object.keys(meant)) {
    if (key === 'subscriptions' && version === 5) {
      expect(decoded[key], label).to.deep.equal((meant[key] as object[]).map((s) => ({ nl: false, rap: false, rh: 0, ...s })));
    } else expect(decoded[key], `${label}: ${key}`).to.deep.equal(meant[key]);
  }
  const ack = ['puback', 'pubrec', 'pubrel', 'pubcomp'].includes(packet.cmd);
  const shortForm = ack && version === 5 && (packet as { reasonCode?: number }).reasonCode === undefined && (packet as { properties?: object }).properties === undefined;
  expect(bytes, label).to.deep.equal(encodePacket(shortForm ? ({ ...packet, reasonCode: 0 } as Packet) : packet, version));
  if (shortForm) expect(bytes.length, label).to.equal(4);
}

describe('client core: outgoing bytes', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`v${protocolVersion}: every packet of a session decodes to the packet the core meant`, () => {
      const v5 = protocolVersion === 5;
      const h = new RecordingHarness(
        testConfig({
          protocolVersion,
          keepalive: 30,
          username: 'user',
          password: Buffer.from('secret'),
          will: { topic: 'status/ü', payload: 'gone', qos: 1, retain: true, ...(v5 ? { properties: { willDelayInterval: 5, contentType: 'text/plain' } } : {}) },
          ...(v5 ? { properties: { sessionExpiryInterval: 3600, receiveMaximum: 20, userProperties: { app: 'weft' } }, maxIncomingPacketSize: 1 << 16, autoAssignTopicAlias: true } : {}),
        }),
      );
      h.connect(v5 ? { properties: { topicAliasMaximum: 5 } } : {});
      h.apply(h.core.subscribe(1, [{ topic: 'in/+', qos: 2 }, { topic: 'other/#', qos: 0, ...(v5 ? { nl: true, rap: true, rh: 1 } : {}) }], v5 ? { userProperties: { k: 'v' } } : undefined, h.now));
      h.feed({ cmd: 'suback', messageId: 1, granted: [2, 0] });
      const props = v5 ? { messageExpiryInterval: 60, contentType: 'application/json', responseTopic: 'reply', correlationData: Buffer.from([1, 2]), userProperties: { a: ['1', '2'] } } : undefined;
      h.publish('out/1', 'q0', 0);
      h.publish('out/1', 'q1 again: an alias stands for the topic in v5', 1, props ? { properties: props } : {});
      h.publish('out/2', '', 2);
      h.publish('out/big', 'x'.repeat(20_000), 1);
      h.feed({ cmd: 'puback', messageId: 2 });
      h.feed({ cmd: 'pubrec', messageId: 3 });
      h.feed({ cmd: 'pubcomp', messageId: 3 });
      h.feed({ cmd: 'publish', topic: 'in/a', payload: Buffer.from('one'), qos: 1, messageId: 10, dup: false, retain: false });
      h.feed({ cmd: 'publish', topic: 'in/b', payload: Buffer.from('two'), qos: 2, messageId: 11, dup: false, retain: false });
      h.feed({ cmd: 'pubrel', messageId: 11 });
      h.apply(h.core.unsubscribe(5, ['in/+'], undefined, h.now));
      h.advance(30_000);
      h.apply(h.core.end(h.now, true));

      const cmds = h.raw.map((w) => w.packet.cmd);
      expect(new Set(cmds)).to.deep.equal(new Set(['connect', 'subscribe', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'unsubscribe', 'pingreq', 'disconnect']));
      if (v5) {
        const publishes = h.raw.filter((w) => w.packet.cmd === 'publish').map((w) => w.packet as Packet & { topic: string });
        expect(publishes.map((p) => p.topic), 'the second PUBLISH to out/1 goes by its alias').to.deep.equal(['out/1', '', 'out/2', 'out/big']);
      }
      for (const write of h.raw) expectFaithful(write, protocolVersion);
    });
  }
});
