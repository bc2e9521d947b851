/**
 * The client core gives and takes MQTT 5 User Properties in order (`user-property-list.ts`):
 * a `userPropertyList` is written in exactly its order, where mqtt-packet's object form would
 * group interleaved names (a=1, b=2, a=3 → a=[1,3], b=2) and put array-index names first; what
 * arrives is handed on in the order received. The Server keeps that order when forwarding
 * [MQTT-3.3.2-18] and when publishing a will [MQTT-3.1.3-10]. Packets in, bytes out, no I/O.
 */
import { expect } from 'chai';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { InvalidArgumentError } from '../../src/client/errors.js';
import { resolveCoreConfig } from '../../src/client/options.js';
import type { ClientEvent, CoreOutput, OutgoingPacket } from '../../src/client/core/types.js';
import { encodeOutgoing, receivedUserPropertyList, type UserPropertyList } from '../../src/client/core/user-property-list.js';
import { encodePlainFirst } from '../../src/protocol/encoder.js';
import { setUserPropertyOrder } from '../../src/protocol/user-property-order.js';
import { CoreHarness, testConfig } from './core-harness.js';

/** A harness that keeps the bytes the core wrote. */
class BytesHarness extends CoreHarness {
  raw: OutgoingPacket[] = [];

  override apply(out: CoreOutput): CoreOutput {
    this.raw.push(...out.writes);
    return super.apply(out);
  }

  /** The bytes of the last packet written of `cmd`. */
  lastBytes(cmd: Packet['cmd']): Buffer {
    const found = this.raw.filter((w) => w.packet.cmd === cmd).at(-1);
    if (found === undefined) throw new Error(`no ${cmd} written`);
    return found.bytes;
  }
}

const INTERLEAVED: UserPropertyList = [
  ['a', '1'],
  ['b', '2'],
  ['a', '3'],
];
/** JavaScript puts the index name '0' before 'x' in an object. */
const INDEX_AFTER: UserPropertyList = [
  ['x', 'first'],
  ['0', 'second'],
];

/** The User Property bytes of `list`, one after another: identifier 0x26, name, value [MQTT-1.5.7-1]. */
function wireBytes(list: UserPropertyList): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of list) {
    const n = Buffer.from(name);
    const v = Buffer.from(value);
    parts.push(Buffer.from([0x26, n.length >> 8, n.length & 0xff]), n, Buffer.from([v.length >> 8, v.length & 0xff]), v);
  }
  return Buffer.concat(parts);
}

/** Asserts `bytes` hold the User Properties of `list` in its order, adjacent, and only once. */
function expectInOrder(bytes: Buffer, list: UserPropertyList): void {
  const at = bytes.indexOf(wireBytes(list));
  expect(at, `User Properties ${JSON.stringify(list)} in order in ${bytes.toString('hex')}`).to.be.greaterThan(0);
  expect(bytes.indexOf(wireBytes(list), at + 1)).to.equal(-1);
}

/** A v5 harness, connected. */
function connected(overrides: Parameters<typeof testConfig>[0] = {}): BytesHarness {
  const h = new BytesHarness(testConfig({ protocolVersion: 5, ...overrides }));
  h.connect();
  return h;
}

/** Bytes of a server packet whose property list carries `list` in order (the broker's plain encoder writes it so). */
function serverBytes(packet: Packet & { properties?: object }, list: UserPropertyList): Buffer {
  const properties = { ...(packet.properties ?? {}), userProperties: Object.fromEntries(list.map(([n]) => [n, list.filter(([m]) => m === n).map(([, v]) => v)])) };
  setUserPropertyOrder(properties, list.flat());
  const bytes = encodePlainFirst({ ...packet, properties } as Packet, 5);
  expectInOrder(bytes, list);
  return bytes;
}

function failure(events: ClientEvent[]): Error {
  const failed = events.find((e) => e.type === 'operation-failed');
  if (failed?.type !== 'operation-failed') throw new Error(`no operation-failed in ${JSON.stringify(events.map((e) => e.type))}`);
  return failed.error;
}

describe('client core: User Properties in order (userPropertyList)', () => {
  describe('outgoing: written in the order given', () => {
    for (const list of [INTERLEAVED, INDEX_AFTER]) {
      it(`PUBLISH: ${JSON.stringify(list)} in that order, with the object form beside it`, () => {
        const h = connected();
        h.publish('t', 'x', 1, { userPropertyList: list });
        expectInOrder(h.lastBytes('publish'), list);
        expect(h.takeEvents().map((e) => e.type)).to.not.include('operation-failed');
      });
    }

    it('PUBLISH: a QoS 1 message resent after a reconnect (DUP) keeps the order', () => {
      const h = connected({ clean: false });
      h.publish('t', 'x', 1, { userPropertyList: INTERLEAVED });
      h.raw = [];
      h.reconnect({ sessionPresent: true });
      const resent = h.raw.find((w) => w.packet.cmd === 'publish')!;
      expect((resent.packet as IPublishPacket).dup).to.equal(true);
      expectInOrder(resent.bytes, INTERLEAVED);
    });

    it('PUBLISH: other properties go along, and an empty list is no User Property', () => {
      const h = connected();
      h.publish('t', 'x', 0, { userPropertyList: INTERLEAVED, properties: { contentType: 'text/plain' } });
      const packet = h.takeWritten().find((p) => p.cmd === 'publish') as IPublishPacket;
      expect(packet.properties).to.deep.include({ contentType: 'text/plain' });
      expect({ ...packet.properties!.userProperties }).to.deep.equal({ a: ['1', '3'], b: '2' });
      expectInOrder(h.lastBytes('publish'), INTERLEAVED);
      h.publish('t', 'y', 0, { userPropertyList: [] });
      expect(h.lastBytes('publish').includes(0x26)).to.equal(false);
    });

    it('CONNECT: the will\'s list and the CONNECT\'s own list, each in its order', () => {
      const h = new BytesHarness(
        testConfig({ protocolVersion: 5, userPropertyList: INDEX_AFTER, will: { topic: 'w', payload: 'gone', properties: { contentType: 'c' }, userPropertyList: INTERLEAVED } }),
      );
      h.connect();
      const connect = h.lastBytes('connect');
      expectInOrder(connect, INDEX_AFTER);
      expectInOrder(connect, INTERLEAVED);
      // The will's User Properties come after its Content Type, inside the will's property list.
      expect(connect.indexOf(wireBytes(INTERLEAVED))).to.be.greaterThan(connect.indexOf(Buffer.from([0x03, 0x00, 0x01, 0x63])));
      expect(connect.indexOf(wireBytes(INDEX_AFTER))).to.be.lessThan(connect.indexOf(wireBytes(INTERLEAVED)));
    });

    it('SUBSCRIBE and UNSUBSCRIBE: in the order given', () => {
      const h = connected();
      h.apply(h.core.subscribe(1, [{ topic: 's/#', qos: 1 }], { subscriptionIdentifier: 7 }, h.now, INTERLEAVED));
      expectInOrder(h.lastBytes('subscribe'), INTERLEAVED);
      h.apply(h.core.unsubscribe(2, ['s/#'], undefined, h.now, INDEX_AFTER));
      expectInOrder(h.lastBytes('unsubscribe'), INDEX_AFTER);
    });

    it('DISCONNECT from end(): in the order given, with the Reason String; after draining too', () => {
      const h = connected();
      h.apply(h.core.end(h.now, true, { reasonString: 'bye', userPropertyList: INTERLEAVED }));
      const bytes = h.lastBytes('disconnect');
      expectInOrder(bytes, INTERLEAVED);
      expect(bytes.includes(Buffer.from('bye'))).to.equal(true);

      const draining = connected();
      draining.publish('t', 'x', 1);
      draining.apply(draining.core.end(draining.now, false, { userPropertyList: INDEX_AFTER }));
      expect(draining.raw.some((w) => w.packet.cmd === 'disconnect')).to.equal(false);
      draining.feed({ cmd: 'puback', messageId: 1, reasonCode: 0 });
      expectInOrder(draining.lastBytes('disconnect'), INDEX_AFTER);
    });

    it('MQTT 3.1.1: the list is left out, as properties are', () => {
      const h = new BytesHarness(testConfig({ protocolVersion: 4 }));
      h.connect();
      h.publish('t', 'x', 0, { userPropertyList: INTERLEAVED });
      expect(h.lastBytes('publish')).to.deep.equal(Buffer.concat([Buffer.from([0x30, 4, 0, 1]), Buffer.from('tx')]));
    });
  });

  describe('outgoing: refused', () => {
    it('both userPropertyList and properties.userProperties: an InvalidArgumentError naming both, nothing written', () => {
      const h = connected();
      h.takeWritten();
      h.publish('t', 'x', 1, { userPropertyList: INTERLEAVED, properties: { userProperties: { a: '1' } } });
      const error = failure(h.takeEvents());
      expect(error).to.be.instanceOf(InvalidArgumentError);
      expect(error.message).to.include('publish: userPropertyList').and.include('properties.userProperties');
      h.apply(h.core.subscribe(9, [{ topic: 's', qos: 0 }], { userProperties: { a: '1' } }, h.now, INTERLEAVED));
      expect(failure(h.takeEvents()).message).to.include('subscribe: userPropertyList');
      expect(h.takeWritten()).to.deep.equal([]);
    });

    it('a list that is not [name, value] string pairs: an InvalidArgumentError naming the option', () => {
      const h = connected();
      for (const bad of ['a=1', [['a']], [['a', 1]], [['a', '1', 'b']]]) {
        h.publish('t', 'x', 0, { userPropertyList: bad });
        const error = failure(h.takeEvents());
        expect(error, JSON.stringify(bad)).to.be.instanceOf(InvalidArgumentError);
        expect(error.message).to.match(/^publish: userPropertyList: /);
      }
    });

    it('an invalid list given to end() is reported and left out: the DISCONNECT still goes', () => {
      const h = connected();
      h.apply(h.core.end(h.now, true, { userProperties: { a: '1' }, userPropertyList: INTERLEAVED }));
      expect(h.takeEvents().some((e) => e.type === 'error' && e.error.message.includes('end: userPropertyList'))).to.equal(true);
      expect(h.lastBytes('disconnect').includes(0x26)).to.equal(false);
    });

    it('DISCONNECT properties that cannot be written are reported and left out: the DISCONNECT 0x00 still goes', () => {
      const h = connected();
      h.apply(h.core.end(h.now, true, { reasonString: 'x'.repeat(70_000), userPropertyList: INTERLEAVED }));
      expect(h.takeEvents().some((e) => e.type === 'error' && e.error.message.startsWith("end: the DISCONNECT's properties cannot be written"))).to.equal(true);
      expect(h.lastBytes('disconnect')).to.deep.equal(Buffer.from([0xe0, 2, 0, 0]));
    });

    it('encodeOutgoing: a packet with an order the plain encoders do not take is refused, not written in the object\'s order', () => {
      const properties = { userProperties: { a: ['1', '3'], b: '2' } };
      setUserPropertyOrder(properties, INTERLEAVED.flat());
      // Bridge mode: only mqtt-packet writes it, and it would group the names.
      const packet = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'c', clean: true, keepalive: 0, bridgeMode: true, properties } as unknown as Packet;
      expect(() => encodeOutgoing(packet, 5)).to.throw(TypeError, /order given/);
      delete (packet as { properties?: object }).properties;
      expect(encodeOutgoing(packet, 5).length).to.be.greaterThan(0);
    });
  });

  describe('connect options', () => {
    it('will.userPropertyList and userPropertyList are kept; with the object form too, or not pairs, they throw naming the option', () => {
      const config = resolveCoreConfig({ protocolVersion: 5, userPropertyList: INDEX_AFTER, will: { topic: 'w', payload: '', userPropertyList: INTERLEAVED } });
      expect(config.userPropertyList).to.deep.equal(INDEX_AFTER);
      expect(config.will!.userPropertyList).to.deep.equal(INTERLEAVED);
      expect(() => resolveCoreConfig({ protocolVersion: 5, will: { topic: 'w', payload: '', properties: { userProperties: { a: '1' } }, userPropertyList: INTERLEAVED } })).to.throw(
        InvalidArgumentError,
        /^will\.userPropertyList and will\.properties\.userProperties are both given/,
      );
      expect(() => resolveCoreConfig({ protocolVersion: 5, properties: { userProperties: { a: '1' } }, userPropertyList: INTERLEAVED })).to.throw(InvalidArgumentError, /^userPropertyList and properties\.userProperties/);
      expect(() => resolveCoreConfig({ protocolVersion: 5, userPropertyList: [['a']] as never })).to.throw(InvalidArgumentError, /^userPropertyList: element 0/);
      expect(() => resolveCoreConfig({ protocolVersion: 4, userPropertyList: INTERLEAVED })).to.throw(InvalidArgumentError, /^userPropertyList: .*protocolVersion 5/);
    });
  });

  describe('incoming: in the order received', () => {
    it('PUBLISH: interleaved names and an index name after another arrive as a list in the order received', () => {
      for (const list of [INTERLEAVED, INDEX_AFTER]) {
        const h = connected();
        h.takeEvents();
        h.feedBytes(serverBytes({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, list));
        const message = h.takeEvents().find((e) => e.type === 'message');
        expect(message?.type === 'message' && message.message.userPropertyList, JSON.stringify(list)).to.deep.equal(list);
      }
    });

    it('PUBLISH: User Properties the object form keeps in order are read from it; none, no list', () => {
      const h = connected();
      h.takeEvents();
      h.feed({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { userProperties: { a: ['1', '2'], b: '3' } } });
      h.feed({ cmd: 'publish', topic: 't', payload: Buffer.from('y'), qos: 0, retain: false, dup: false, properties: { contentType: 'c' } });
      const messages = h.takeEvents().flatMap((e) => (e.type === 'message' ? [e.message] : []));
      expect(messages[0]!.userPropertyList).to.deep.equal([
        ['a', '1'],
        ['a', '2'],
        ['b', '3'],
      ]);
      expect(messages[1]).to.not.have.property('userPropertyList');
    });

    it('CONNACK, SUBACK, UNSUBACK, PUBACK and a server DISCONNECT carry their list in the order received', () => {
      const h = new BytesHarness(testConfig({ protocolVersion: 5 }));
      h.apply(h.core.start(h.now));
      h.openTransport();
      h.feedBytes(serverBytes({ cmd: 'connack', sessionPresent: false, reasonCode: 0 }, INTERLEAVED));
      const connect = h.takeEvents().find((e) => e.type === 'connect');
      expect(connect?.type === 'connect' && connect.connack.userPropertyList).to.deep.equal(INTERLEAVED);

      const sub = h.subscribe('s', 1);
      h.feedBytes(serverBytes({ cmd: 'suback', messageId: 1, granted: [1] }, INDEX_AFTER));
      const unsub = h.unsubscribe('s');
      h.feedBytes(serverBytes({ cmd: 'unsuback', messageId: 2, granted: [0] }, INTERLEAVED));
      const pub = h.publish('t', 'x', 1);
      h.feedBytes(serverBytes({ cmd: 'puback', messageId: 3, reasonCode: 0x10 }, INDEX_AFTER));
      const events = h.takeEvents();
      const byToken = (token: number) => events.find((e) => 'token' in e && e.token === token)!;
      const suback = byToken(sub);
      expect(suback.type === 'subscribe-done' && suback.suback.userPropertyList).to.deep.equal(INDEX_AFTER);
      const unsuback = byToken(unsub);
      expect(unsuback.type === 'unsubscribe-done' && unsuback.unsuback.userPropertyList).to.deep.equal(INTERLEAVED);
      const puback = byToken(pub);
      expect(puback.type === 'publish-done' && puback.userPropertyList).to.deep.equal(INDEX_AFTER);

      h.feedBytes(serverBytes({ cmd: 'disconnect', reasonCode: 0x8b }, INTERLEAVED));
      const disconnect = h.takeEvents().find((e) => e.type === 'disconnect');
      expect(disconnect?.type === 'disconnect' && disconnect.packet.userPropertyList).to.deep.equal(INTERLEAVED);
    });

    it('receivedUserPropertyList: none for a list without User Properties', () => {
      expect(receivedUserPropertyList(undefined)).to.equal(undefined);
      expect(receivedUserPropertyList({})).to.equal(undefined);
      expect(receivedUserPropertyList({ userProperties: {} })).to.equal(undefined);
    });
  });
});
