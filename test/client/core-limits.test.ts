/**
 * Packet ids, queue bounds and backpressure, MQTT 5 flow control, packet sizes, topic aliases.
 */
import { expect } from 'chai';
import { PacketIdAllocator, MAX_PACKET_ID } from '../../src/client/core/packet-ids.js';
import { ClientState, type ClientEvent } from '../../src/client/core/types.js';
import { PacketIdExhaustedError, PacketTooLargeError, QueueFullError, ReasonCodeError } from '../../src/client/errors.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { CoreHarness, testConfig } from './core-harness.js';

function failure(events: ClientEvent[]): Error | undefined {
  const e = events.find((x) => x.type === 'operation-failed');
  return e && 'error' in e ? e.error : undefined;
}

describe('client core: packet identifiers ([MQTT-2.3.1-1] 3.1.1, [MQTT-2.2.1-3] 5.0)', () => {
  it('start at 1, never 0, and skip ids still in use when they wrap', () => {
    const ids = new PacketIdAllocator();
    expect(ids.allocate()).to.equal(1);
    expect(ids.allocate()).to.equal(2);
    ids.release(1);
    for (let i = 3; i <= MAX_PACKET_ID; i++) expect(ids.allocate()).to.equal(i);
    // 1 is free, 2 is still in use: wrapping yields 1, never 0.
    expect(ids.allocate()).to.equal(1);
    expect(() => ids.allocate()).to.throw(PacketIdExhaustedError);
  });

  it('exhaustion is a typed error from publish, not a hang', () => {
    const h = new CoreHarness(testConfig({ maxInflight: 65535 }));
    h.connect();
    for (let i = 0; i < MAX_PACKET_ID; i++) h.publish('a', '', 1);
    h.takeEvents();
    expect(h.core.packetIdsInUse).to.equal(MAX_PACKET_ID);
    h.publish('a', '', 1);
    expect(failure(h.takeEvents())).to.be.instanceOf(PacketIdExhaustedError);
    // QoS 0 needs no id and still goes out.
    h.publish('a', '', 0);
    expect(h.takeEvents().map((e) => e.type)).to.deep.equal(['publish-done']);
    h.feed({ cmd: 'puback', messageId: 77 });
    h.takeEvents();
    h.publish('a', '', 1);
    expect(h.takeWritten().at(-1)).to.include({ cmd: 'publish', messageId: 77 });
  });
});

describe('client core: preflight queue bounds', () => {
  it("'reject': publish fails with QueueFullError once maxQueuedMessages are queued", () => {
    const h = new CoreHarness(testConfig({ maxQueuedMessages: 2, queueFullBehavior: 'reject' }));
    h.apply(h.core.start(h.now));
    h.publish('a', '1', 1);
    h.publish('a', '2', 1);
    expect(failure(h.takeEvents())).to.equal(undefined);
    h.publish('a', '3', 1);
    expect(failure(h.takeEvents())).to.be.instanceOf(QueueFullError);
    expect(h.core.stats.queued).to.equal(2);
  });

  it("'reject': the byte bound counts payload and topic", () => {
    const h = new CoreHarness(testConfig({ maxQueuedBytes: 10, queueFullBehavior: 'reject' }));
    h.apply(h.core.start(h.now));
    h.publish('t', '1234', 0); // 5 bytes
    h.publish('t', '1234', 0); // 10 bytes
    h.publish('t', '', 0); // 11 > 10
    expect(failure(h.takeEvents())).to.be.instanceOf(QueueFullError);
    expect(h.core.stats.queuedBytes).to.equal(10);
  });

  it("'wait': publish is held (backpressure) and admitted in order as the queue drains", () => {
    const h = new CoreHarness(testConfig({ maxQueuedMessages: 1, queueFullBehavior: 'wait', maxInflight: 1 }));
    h.apply(h.core.start(h.now));
    h.publish('a', '1', 1);
    h.publish('a', '2', 1);
    h.publish('a', '3', 1);
    expect(h.core.stats).to.include({ queued: 1, blocked: 2 });
    h.connect();
    // 1 is written (in flight), 2 moves into the queue, 3 still waits.
    expect(h.wire()).to.deep.equal(['connect', 'publish:1:q1']);
    expect(h.core.stats).to.include({ queued: 1, blocked: 1, inflight: 1 });
    h.feed({ cmd: 'puback', messageId: 1 });
    expect(h.wire()).to.deep.equal(['publish:2:q1']);
    h.feed({ cmd: 'puback', messageId: 2 });
    expect(h.wire()).to.deep.equal(['publish:3:q1']);
    expect(h.core.stats).to.include({ queued: 0, blocked: 0 });
  });

  it('a message larger than maxQueuedBytes is refused even in wait mode', () => {
    const h = new CoreHarness(testConfig({ maxQueuedBytes: 4, queueFullBehavior: 'wait' }));
    h.apply(h.core.start(h.now));
    h.publish('a', '12345', 0);
    expect(failure(h.takeEvents())).to.be.instanceOf(QueueFullError);
  });
});

describe('client core: MQTT 5 flow control and sizes', () => {
  it("honours the server's Receive Maximum [MQTT-3.3.4-7] [MQTT-4.9.0-2]", () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect({ properties: { receiveMaximum: 2 } });
    h.takeWritten();
    h.publish('a', '1', 1);
    h.publish('a', '2', 2);
    h.publish('a', '3', 1);
    expect(h.wire()).to.deep.equal(['publish:1:q1', 'publish:2:q2']);
    h.feed({ cmd: 'pubrec', messageId: 2 });
    expect(h.wire()).to.deep.equal(['pubrel:2']); // still counts until PUBCOMP
    h.feed({ cmd: 'pubcomp', messageId: 2 });
    expect(h.wire()).to.deep.equal(['publish:3:q1']);
  });

  it("refuses QoS above the server's Maximum QoS and RETAIN when Retain Available is 0 [MQTT-3.2.2-11] [MQTT-3.2.2-14]", () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect({ properties: { maximumQoS: 1, retainAvailable: false } });
    h.takeWritten();
    h.takeEvents();
    h.publish('a', 'x', 2);
    const e1 = failure(h.takeEvents());
    expect(e1).to.be.instanceOf(ReasonCodeError);
    expect((e1 as ReasonCodeError).reasonCode).to.equal(0x9b);
    h.publish('a', 'x', 1, { retain: true });
    expect((failure(h.takeEvents()) as ReasonCodeError).reasonCode).to.equal(0x9a);
    h.publish('a', 'x', 1);
    expect(h.wire()).to.deep.equal(['publish:3:q1']);
    expect(h.core.packetIdsInUse).to.equal(1);
  });

  it('a full send window does not delay SUBSCRIBE or UNSUBSCRIBE [MQTT-3.3.4-8]', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect({ properties: { receiveMaximum: 1 } });
    h.takeWritten();
    h.publish('a', '1', 1);
    h.publish('a', '2', 1); // waits for the window
    h.subscribe('s', 0);
    h.unsubscribe('u');
    expect(h.wire()).to.deep.equal(['publish:1:q1', 'subscribe:3', 'unsubscribe:4']);
  });

  it("refuses a PUBLISH over the server's Maximum Packet Size with PacketTooLargeError [MQTT-3.2.2-15]", () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect({ properties: { maximumPacketSize: 64 } });
    h.takeWritten();
    h.takeEvents();
    h.publish('a', 'x'.repeat(100), 1);
    expect(failure(h.takeEvents())).to.be.instanceOf(PacketTooLargeError);
    expect(h.wire()).to.deep.equal([]);
    expect(h.core.packetIdsInUse).to.equal(0);
  });

  it('sends our maximum packet size in CONNECT [MQTT-3.1.2-27] and refuses a bigger packet with DISCONNECT 0x95', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, maxIncomingPacketSize: 100 }));
    h.apply(h.core.start(h.now));
    h.openTransport();
    expect(h.takeWritten()[0]).to.have.nested.property('properties.maximumPacketSize', 100);
    h.connack();
    h.takeEvents();
    h.feedBytes(encodePacket({ cmd: 'publish', topic: 't', payload: Buffer.alloc(200), qos: 0, dup: false, retain: false }, 5));
    const written = h.takeWritten();
    expect(written).to.have.length(1);
    expect(written[0]).to.include({ cmd: 'disconnect', reasonCode: 0x95 });
    expect(h.core.state).to.equal(ClientState.Backoff);
  });

  it('a packet from the server with a property included twice is a protocol error: DISCONNECT 0x82 (5.0 section 3.3.2.3)', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect();
    h.takeWritten();
    // PUBLISH 't', QoS 0, Message Expiry Interval 0 and then 10: mqtt-packet alone keeps the 10.
    h.feedBytes(Buffer.from([0x30, 15, 0, 1, 0x74, 10, 0x02, 0, 0, 0, 0, 0x02, 0, 0, 0, 10, 0x78]));
    const written = h.takeWritten();
    expect(written).to.have.length(1);
    expect(written[0]).to.include({ cmd: 'disconnect', reasonCode: 0x82 });
    expect(h.core.state).to.equal(ClientState.Backoff);
  });

  it('MQTT 3.1.1: a packet over maxIncomingPacketSize closes the connection before it is buffered', () => {
    const h = new CoreHarness(testConfig({ maxIncomingPacketSize: 100 }));
    h.connect();
    h.takeWritten();
    const big = encodePacket({ cmd: 'publish', topic: 't', payload: Buffer.alloc(1000), qos: 0, dup: false, retain: false }, 4);
    h.feedBytes(big.subarray(0, 10));
    expect(h.core.state).to.equal(ClientState.Backoff);
    expect(h.wire()).to.deep.equal([]);
  });

  it('a PUBACK with a failure reason code rejects the publish with ReasonCodeError', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect();
    h.takeEvents();
    h.publish('a', 'x', 1);
    h.feed({ cmd: 'puback', messageId: 1, reasonCode: 0x87 });
    const err = failure(h.takeEvents());
    expect(err).to.be.instanceOf(ReasonCodeError);
    expect((err as ReasonCodeError).reasonCode).to.equal(0x87);
  });

  it('a PUBREC with a failure reason code ends the exchange without PUBREL', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect();
    h.takeWritten();
    h.publish('a', 'x', 2);
    h.feed({ cmd: 'pubrec', messageId: 1, reasonCode: 0x97 });
    expect(h.wire()).to.deep.equal(['publish:1:q2']);
    expect(failure(h.takeEvents())).to.be.instanceOf(ReasonCodeError);
    expect(h.core.packetIdsInUse).to.equal(0);
  });

  it('a server DISCONNECT ends the connection and a reconnect follows', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect();
    h.takeEvents();
    h.feed({ cmd: 'disconnect', reasonCode: 0x8b });
    expect(h.takeEvents().map((e) => e.type)).to.deep.equal(['disconnect', 'offline', 'error']);
    expect(h.core.state).to.equal(ClientState.Backoff);
  });

  it('an AUTH packet from the server is handed to the application (enhanced authentication hook)', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, properties: { authenticationMethod: 'SCRAM' } }));
    h.apply(h.core.start(h.now));
    h.openTransport();
    expect(h.takeWritten()[0]).to.have.nested.property('properties.authenticationMethod', 'SCRAM');
    h.feed({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM', authenticationData: Buffer.from('challenge') } });
    const e = h.takeEvents()[0];
    expect(e?.type).to.equal('auth');
    h.apply(h.core.auth(0x18, { authenticationMethod: 'SCRAM', authenticationData: Buffer.from('answer') }, h.now));
    expect(h.takeWritten()[0]).to.include({ cmd: 'auth', reasonCode: 0x18 });
    h.connack();
    expect(h.core.state).to.equal(ClientState.Connected);
  });

  it('user properties and request/response fields go out on PUBLISH and come in on messages', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect();
    h.takeWritten();
    h.takeEvents();
    h.publish('req', 'x', 1, { properties: { responseTopic: 'resp', correlationData: Buffer.from('id-1'), userProperties: { k: 'v' } } });
    const [pub] = h.takeWritten();
    expect(pub).to.have.nested.property('properties.responseTopic', 'resp');
    expect(pub).to.have.deep.nested.property('properties.userProperties', { k: 'v' });
    h.feed({ cmd: 'publish', topic: 'resp', payload: Buffer.from('y'), qos: 0, dup: false, retain: false, properties: { correlationData: Buffer.from('id-1'), userProperties: { a: 'b' } } });
    const m = h.takeEvents().find((e) => e.type === 'message') as Extract<ClientEvent, { type: 'message' }>;
    expect(m.message.properties?.correlationData?.toString()).to.equal('id-1');
    expect(m.message.properties?.userProperties).to.deep.equal({ a: 'b' });
  });
});

describe('client core: MQTT 5 topic aliases', () => {
  it('outgoing: assigns an alias, then sends the empty topic; aliases reset on a new connection', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, autoAssignTopicAlias: true }));
    h.connect({ properties: { topicAliasMaximum: 1 } });
    h.takeWritten();
    h.publish('long/topic', '1', 0);
    h.publish('long/topic', '2', 0);
    h.publish('other', '3', 0); // no alias left
    const [a, b, c] = h.takeWritten() as Array<{ topic: string; properties?: { topicAlias?: number } }>;
    expect([a!.topic, a!.properties?.topicAlias]).to.deep.equal(['long/topic', 1]);
    expect([b!.topic, b!.properties?.topicAlias]).to.deep.equal(['', 1]);
    expect([c!.topic, c!.properties?.topicAlias]).to.deep.equal(['other', undefined]);
    h.reconnect({ properties: { topicAliasMaximum: 1 } });
    h.takeWritten();
    h.publish('long/topic', '4', 0);
    const [d] = h.takeWritten() as Array<{ topic: string; properties?: { topicAlias?: number } }>;
    expect([d!.topic, d!.properties?.topicAlias]).to.deep.equal(['long/topic', 1]);
  });

  it('outgoing: no alias when the server allows none', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, autoAssignTopicAlias: true }));
    h.connect();
    h.takeWritten();
    h.publish('t', '1', 0);
    expect(h.takeWritten()[0]).to.not.have.nested.property('properties.topicAlias');
  });

  it('incoming: an alias set with a topic resolves later empty topics (MQTT 5.0 section 3.3.2.3.4)', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, properties: { topicAliasMaximum: 5 } }));
    h.connect();
    h.takeEvents();
    h.feed({ cmd: 'publish', topic: 'x/y', payload: Buffer.from('1'), qos: 0, dup: false, retain: false, properties: { topicAlias: 3 } });
    h.feed({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, dup: false, retain: false, properties: { topicAlias: 3 } });
    const topics = h.takeEvents().flatMap((e) => (e.type === 'message' ? [e.message.topic] : []));
    expect(topics).to.deep.equal(['x/y', 'x/y']);
  });

  for (const alias of [0, 6]) {
    it(`incoming: topic alias ${alias}, outside 1..our Topic Alias Maximum, is DISCONNECT 0x94 (section 3.3.4) [MQTT-3.3.2-11]`, () => {
      const h = new CoreHarness(testConfig({ protocolVersion: 5, properties: { topicAliasMaximum: 5 } }));
      h.connect();
      h.takeWritten();
      h.feed({ cmd: 'publish', topic: 'x', payload: Buffer.from('2'), qos: 0, dup: false, retain: false, properties: { topicAlias: alias } });
      expect(h.takeWritten()[0]).to.include({ cmd: 'disconnect', reasonCode: 0x94 });
      expect(h.core.state).to.equal(ClientState.Backoff);
    });
  }

  it('incoming: an empty topic with an alias that has no mapping yet is a Protocol Error: DISCONNECT 0x82 (section 3.3.4)', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, properties: { topicAliasMaximum: 5 } }));
    h.connect();
    h.takeWritten();
    h.takeEvents();
    h.feed({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, dup: false, retain: false, properties: { topicAlias: 4 } });
    expect(h.takeWritten()[0]).to.include({ cmd: 'disconnect', reasonCode: 0x82 });
    expect(h.takeEvents().map((e) => e.type)).to.not.include('message');
    expect(h.core.state).to.equal(ClientState.Backoff);
  });

  it('incoming: mappings do not outlive the connection [MQTT-3.3.2-7]', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, properties: { topicAliasMaximum: 5 } }));
    h.connect();
    h.feed({ cmd: 'publish', topic: 'x/y', payload: Buffer.from('1'), qos: 0, dup: false, retain: false, properties: { topicAlias: 3 } });
    h.reconnect({ sessionPresent: true });
    h.takeWritten();
    h.feed({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, dup: false, retain: false, properties: { topicAlias: 3 } });
    expect(h.takeWritten()[0]).to.include({ cmd: 'disconnect', reasonCode: 0x82 });
  });
});

describe('client core: incoming topic names', () => {
  it('MQTT 5: an empty topic without a topic alias is a Protocol Error: DISCONNECT 0x82 (section 3.3.2.1)', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect();
    h.takeWritten();
    h.takeEvents();
    h.feed({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, dup: false, retain: false });
    expect(h.takeWritten()[0]).to.include({ cmd: 'disconnect', reasonCode: 0x82 });
    expect(h.takeEvents().map((e) => e.type)).to.not.include('message');
  });

  it('MQTT 3.1.1: an empty topic is not delivered; the connection is closed [MQTT-4.7.3-1]', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 4 }));
    h.connect();
    h.takeEvents();
    h.takeActions();
    h.feed({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, dup: false, retain: false });
    expect(h.takeEvents().map((e) => e.type)).to.not.include('message');
    expect(h.takeActions()).to.deep.include({ type: 'close', graceful: false });
    expect(h.core.state).to.equal(ClientState.Backoff);
  });

  it('a topic name with a wildcard is not delivered: DISCONNECT 0x90 [MQTT-3.3.2-2]', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect();
    h.takeWritten();
    h.takeEvents();
    h.feed({ cmd: 'publish', topic: 'a/+', payload: Buffer.from('x'), qos: 1, messageId: 3, dup: false, retain: false });
    expect(h.takeEvents().map((e) => e.type)).to.not.include('message');
    expect(h.takeWritten().map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).to.deep.equal([['disconnect', 0x90]]);
  });
});

describe('client core: what the server said it cannot take (CONNACK limits)', () => {
  it("refuses a SUBSCRIBE over the server's Maximum Packet Size with PacketTooLargeError [MQTT-3.2.2-15]", () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect({ properties: { maximumPacketSize: 64 } });
    h.takeWritten();
    h.takeEvents();
    h.subscribe(`a/${'x'.repeat(100)}`);
    expect(failure(h.takeEvents())).to.be.instanceOf(PacketTooLargeError);
    expect(h.wire()).to.deep.equal([]);
    expect(h.core.packetIdsInUse).to.equal(0);
    h.unsubscribe(`a/${'x'.repeat(100)}`);
    expect(failure(h.takeEvents())).to.be.instanceOf(PacketTooLargeError);
    expect(h.wire()).to.deep.equal([]);
  });

  for (const [flag, filter, code] of [
    ['wildcardSubscriptionAvailable', 'a/#', 0xa2],
    ['wildcardSubscriptionAvailable', '$share/g/a/+', 0xa2],
    ['sharedSubscriptionAvailable', '$share/g/a', 0x9e],
  ] as const) {
    it(`${flag} 0: SUBSCRIBE ${filter} fails with ReasonCodeError 0x${code.toString(16)} before it is sent (section 3.2.2.3)`, () => {
      const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
      h.connect({ properties: { [flag]: false } });
      h.takeWritten();
      h.takeEvents();
      h.subscribe(filter);
      const err = failure(h.takeEvents());
      expect(err).to.be.instanceOf(ReasonCodeError);
      expect((err as ReasonCodeError).reasonCode).to.equal(code);
      expect(h.wire()).to.deep.equal([]);
      expect(h.core.packetIdsInUse).to.equal(0);
      h.subscribe('a/b'); // a filter it can take still goes out
      expect(h.wire()).to.deep.equal(['subscribe:2']);
    });
  }

  it('subscriptionIdentifiersAvailable 0: a SUBSCRIBE with a Subscription Identifier fails with 0xA1 before it is sent (section 3.2.2.3.12)', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect({ properties: { subscriptionIdentifiersAvailable: false } });
    h.takeWritten();
    h.takeEvents();
    h.apply(h.core.subscribe(99, [{ topic: 'a', qos: 0 }], { subscriptionIdentifier: 7 }, h.now));
    expect((failure(h.takeEvents()) as ReasonCodeError).reasonCode).to.equal(0xa1);
    expect(h.wire()).to.deep.equal([]);
  });
});

describe('client core: limits we set, enforced on the server', () => {
  it('more unreleased QoS 2 PUBLISHes than our Receive Maximum: DISCONNECT 0x93, the extra one not delivered [MQTT-3.3.4-9]', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, properties: { receiveMaximum: 2 } }));
    h.connect();
    h.takeWritten();
    h.takeEvents();
    const publish = (messageId: number) => ({ cmd: 'publish' as const, topic: 't', payload: Buffer.from(String(messageId)), qos: 2 as const, messageId, dup: false, retain: false });
    h.feed(publish(1));
    h.feed(publish(2));
    h.feed({ cmd: 'pubrel', messageId: 1 }); // released: its slot is free again
    h.feed(publish(3));
    expect(h.wire()).to.deep.equal(['pubrec:1', 'pubrec:2', 'pubcomp:1', 'pubrec:3']);
    expect(h.takeEvents().filter((e) => e.type === 'message')).to.have.length(3);
    h.feed(publish(4));
    expect(h.takeWritten()[0]).to.include({ cmd: 'disconnect', reasonCode: 0x93 });
    expect(h.takeEvents().map((e) => e.type)).to.not.include('message');
  });
});

describe('client core: outgoing topic aliases across a reconnect', () => {
  it('an in-flight PUBLISH sent with an alias is resent with its full topic [MQTT-3.3.2-7]', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, autoAssignTopicAlias: true }));
    h.connect({ properties: { topicAliasMaximum: 5 } });
    h.publish('long/topic', '1', 1);
    h.publish('long/topic', '2', 1);
    const sent = h.takeWritten().filter((p) => p.cmd === 'publish') as Array<{ topic: string }>;
    expect(sent.map((p) => p.topic)).to.deep.equal(['long/topic', '']);
    h.reconnect({ sessionPresent: true }); // the server's new CONNACK allows no aliases at all
    const resent = h.takeWritten().filter((p) => p.cmd === 'publish') as Array<{ topic: string; dup: boolean; properties?: { topicAlias?: number } }>;
    expect(resent.map((p) => [p.topic, p.dup, p.properties?.topicAlias])).to.deep.equal([
      ['long/topic', true, undefined],
      ['long/topic', true, undefined],
    ]);
  });
});
