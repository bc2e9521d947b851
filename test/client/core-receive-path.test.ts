/**
 * haka-mqtt's receive paths (QoS 0, 1, 1 with pre-ack disconnect, 2) and its
 * subscribe/unsubscribe paths.
 */
import { expect } from 'chai';
import { ClientState, type ClientEvent } from '../../src/client/core/types.js';
import { ConnectionLostError } from '../../src/client/errors.js';
import { CoreHarness, testConfig } from './core-harness.js';

function messages(events: ClientEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'message' ? [`${e.message.topic}=${e.message.payload.toString()}`] : []));
}

describe('client core: receive path', () => {
  it('QoS 0: delivered, nothing written back', () => {
    const h = new CoreHarness();
    h.connect();
    h.takeWritten();
    h.takeEvents();
    h.feed({ cmd: 'publish', topic: 't', payload: Buffer.from('v'), qos: 0, dup: false, retain: false });
    expect(messages(h.takeEvents())).to.deep.equal(['t=v']);
    expect(h.wire()).to.deep.equal([]);
  });

  it('QoS 1: delivered and acknowledged with PUBACK [MQTT-4.3.2-4]', () => {
    const h = new CoreHarness();
    h.connect();
    h.takeWritten();
    h.takeEvents();
    h.feed({ cmd: 'publish', topic: 't', payload: Buffer.from('v'), qos: 1, messageId: 7, dup: false, retain: false });
    expect(messages(h.takeEvents())).to.deep.equal(['t=v']);
    expect(h.wire()).to.deep.equal(['puback:7']);
  });

  it('QoS 1 with pre-ack disconnect: the resent message is delivered again (at least once) and acknowledged', () => {
    const h = new CoreHarness();
    h.connect();
    h.feed({ cmd: 'publish', topic: 't', payload: Buffer.from('v'), qos: 1, messageId: 7, dup: false, retain: false });
    h.takeEvents();
    h.reconnect({ sessionPresent: true });
    h.takeWritten();
    h.takeEvents();
    h.feed({ cmd: 'publish', topic: 't', payload: Buffer.from('v'), qos: 1, messageId: 7, dup: true, retain: false });
    expect(messages(h.takeEvents())).to.deep.equal(['t=v']);
    expect(h.wire()).to.deep.equal(['puback:7']);
  });

  it('QoS 2: delivered once, PUBREC; a resent PUBLISH is not delivered again; PUBREL gets PUBCOMP [MQTT-4.3.3-10]', () => {
    const h = new CoreHarness();
    h.connect();
    h.takeWritten();
    h.takeEvents();
    const publish = { cmd: 'publish' as const, topic: 't', payload: Buffer.from('v'), qos: 2 as const, messageId: 9, dup: false, retain: false };
    h.feed(publish);
    expect(messages(h.takeEvents())).to.deep.equal(['t=v']);
    expect(h.wire()).to.deep.equal(['pubrec:9']);
    h.feed({ ...publish, dup: true });
    expect(messages(h.takeEvents())).to.deep.equal([]);
    expect(h.wire()).to.deep.equal(['pubrec:9']);
    h.feed({ cmd: 'pubrel', messageId: 9 });
    expect(h.wire()).to.deep.equal(['pubcomp:9']);
    expect(h.core.stats.inboundQos2).to.equal(0);
    // After PUBREL the id is free: the same id now carries a new message.
    h.feed(publish);
    expect(messages(h.takeEvents())).to.deep.equal(['t=v']);
  });

  it('QoS 2: the packet id is held across a reconnect that resumes the session, so a resend is not redelivered', () => {
    const h = new CoreHarness();
    h.connect();
    const publish = { cmd: 'publish' as const, topic: 't', payload: Buffer.from('v'), qos: 2 as const, messageId: 9, dup: false, retain: false };
    h.feed(publish);
    h.reconnect({ sessionPresent: true });
    h.takeEvents();
    h.takeWritten();
    h.feed({ ...publish, dup: true });
    expect(messages(h.takeEvents())).to.deep.equal([]);
    expect(h.wire()).to.deep.equal(['pubrec:9']);
  });

  it('QoS 2: held packet ids are dropped when the server has no session', () => {
    const h = new CoreHarness();
    h.connect();
    h.feed({ cmd: 'publish', topic: 't', payload: Buffer.from('v'), qos: 2, messageId: 9, dup: false, retain: false });
    h.reconnect({ sessionPresent: false });
    expect(h.core.stats.inboundQos2).to.equal(0);
  });

  it('a PUBREL for an unknown id is still completed with PUBCOMP', () => {
    const h = new CoreHarness();
    h.connect();
    h.takeWritten();
    h.feed({ cmd: 'pubrel', messageId: 4 });
    expect(h.wire()).to.deep.equal(['pubcomp:4']);
  });
});

describe('client core: subscribe and unsubscribe paths', () => {
  it('SUBSCRIBE is written; a PUBLISH arriving before the SUBACK is delivered; SUBACK completes it', () => {
    const h = new CoreHarness();
    h.connect();
    h.takeWritten();
    h.takeEvents();
    const t = h.subscribe('a/#', 1);
    expect(h.wire()).to.deep.equal(['subscribe:1']);
    h.feed({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('early'), qos: 0, dup: false, retain: false });
    h.feed({ cmd: 'suback', messageId: 1, granted: [1] });
    const events = h.takeEvents();
    expect(messages(events)).to.deep.equal(['a/b=early']);
    expect(events.map((e) => e.type)).to.deep.equal(['message', 'subscribe-done']);
    expect((events[1] as { token: number }).token).to.equal(t);
    expect(h.core.packetIdsInUse).to.equal(0);
  });

  it('UNSUBSCRIBE is written and UNSUBACK completes it', () => {
    const h = new CoreHarness();
    h.connect();
    h.takeWritten();
    h.takeEvents();
    const t = h.unsubscribe('a/#');
    expect(h.wire()).to.deep.equal(['unsubscribe:1']);
    h.feed({ cmd: 'unsuback', messageId: 1, granted: [] } as never);
    expect(h.eventNames()).to.deep.equal([`unsubscribe-done:${t}`]);
  });

  it('an unacknowledged SUBSCRIBE is sent again after a reconnect', () => {
    const h = new CoreHarness();
    h.connect();
    h.subscribe('a', 0);
    h.takeWritten();
    h.reconnect({ sessionPresent: true });
    expect(h.wire()).to.deep.equal(['connect', 'subscribe:1']);
  });

  it('resubscribes every granted filter when the server has no session, and not when it has one', () => {
    const h = new CoreHarness();
    h.connect();
    h.subscribe('a', 1);
    h.feed({ cmd: 'suback', messageId: 1, granted: [1] });
    h.subscribe('b', 0);
    h.feed({ cmd: 'suback', messageId: 2, granted: [0x80] });
    h.unsubscribe('zzz');
    h.feed({ cmd: 'unsuback', messageId: 3, granted: [] } as never);
    h.takeWritten();
    h.reconnect({ sessionPresent: true });
    expect(h.wire()).to.deep.equal(['connect']);
    h.reconnect({ sessionPresent: false });
    const written = h.takeWritten();
    expect(written.map((p) => p.cmd)).to.deep.equal(['connect', 'subscribe']);
    expect((written[1] as { subscriptions: unknown[] }).subscriptions).to.deep.equal([{ topic: 'a', qos: 1, nl: false, rap: false, rh: 0 }].map(({ topic, qos }) => ({ topic, qos })));
    h.takeEvents();
    h.feed({ cmd: 'suback', messageId: (written[1] as { messageId: number }).messageId, granted: [1] });
    expect(h.eventNames()).to.deep.equal([]); // internal: no event for the application
  });

  it('an invalid filter is refused without touching the network [MQTT-4.7.1-1]', () => {
    const h = new CoreHarness();
    h.connect();
    h.takeWritten();
    h.takeEvents();
    h.subscribe('a/#/b', 0);
    const e = h.takeEvents();
    expect(e[0]?.type).to.equal('operation-failed');
    expect(h.wire()).to.deep.equal([]);
  });
});

describe('client core: a server string that is not well-formed UTF-8', () => {
  /** A QoS 0 PUBLISH whose Topic Name is 'a' and U+D800 encoded (ED A0 80): ill-formed [MQTT-1.5.3-1, MQTT-1.5.4-1]. */
  const publishBytes = (version: 4 | 5): Buffer => Buffer.from([0x30, version === 5 ? 8 : 7, 0x00, 0x04, 0x61, 0xed, 0xa0, 0x80, ...(version === 5 ? [0x00] : []), 0x78]);

  for (const version of [4, 5] as const) {
    const rule = version === 5 ? 'MQTT-1.5.4-1' : 'MQTT-1.5.3-1';
    it(`MQTT ${version === 5 ? '5.0' : '3.1.1'}: a PUBLISH Topic Name with an encoded surrogate closes the connection as a malformed packet, nothing delivered [${rule}]`, () => {
      const h = new CoreHarness(testConfig({ protocolVersion: version }));
      h.connect();
      h.takeWritten();
      h.takeEvents();
      h.takeActions();
      h.feedBytes(publishBytes(version));
      const events = h.takeEvents();
      expect(messages(events)).to.deep.equal([]);
      const err = events.find((e) => e.type === 'error') as { error?: Error & { kind?: string; reasonCode?: number } } | undefined;
      expect(err?.error).to.be.instanceOf(ConnectionLostError);
      expect(err!.error).to.include({ kind: 'protocol', reasonCode: 0x81 });
      expect(err!.error!.message).to.include(rule);
      // 5.0: DISCONNECT 0x81 Malformed Packet; 3.1.1 has no DISCONNECT from a client for this.
      const written = h.takeWritten().map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]);
      expect(written).to.deep.equal(version === 5 ? [['disconnect', 0x81]] : []);
      expect(h.takeActions()).to.deep.equal([{ type: 'close', graceful: false }]);
      expect(h.core.state).to.equal(ClientState.Backoff);
    });
  }
});
