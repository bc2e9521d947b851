import { expect } from 'chai';
import mqttPacket, { type IConnectPacket, type Packet } from 'mqtt-packet';
import { encodePacket } from '../../src/protocol/encoder.js';
import { bodyStart, decodePlainConnect, decodePlainControl, decodePlainSubscribe } from '../../src/protocol/plain-control.js';

/** What mqtt-packet alone makes of one whole frame: its packet, or the error it reports. */
function reference(frame: Buffer, version: number): { packet?: Packet; error?: Error } {
  const parser = mqttPacket.parser({ protocolVersion: version as 4 | 5 });
  const result: { packet?: Packet; error?: Error } = {};
  parser.on('packet', (packet: Packet) => (result.packet ??= packet));
  parser.on('error', (error: Error) => (result.error ??= error));
  parser.parse(frame);
  return result;
}

/** Plain objects with Buffers copied out, so a view and a copy of the same bytes compare equal. */
function normal(packet: Packet | undefined): unknown {
  return JSON.parse(JSON.stringify(packet ?? null));
}

const connects: IConnectPacket[] = [];
for (const protocolVersion of [4, 5] as const) {
  for (const will of [undefined, { topic: 'last/ü', payload: Buffer.from('gone'), qos: 1 as const, retain: true }, { topic: 'w', payload: Buffer.alloc(0), qos: 2 as const, retain: false }]) {
    for (const credentials of [{}, { username: 'user' }, { username: 'user', password: Buffer.from('secret') }]) {
      for (const clientId of ['', 'client-1', 'ü'.repeat(100)]) {
        const packet: IConnectPacket = { cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId, clean: clientId !== 'client-1', keepalive: 60, ...credentials };
        if (will) packet.will = will;
        connects.push(packet);
      }
    }
  }
}

describe('protocol: plain control packets, decoded without mqtt-packet', () => {
  it('decodes every plain CONNECT (3.1.1 and 5.0; will, username, password, empty ids) field for field as mqtt-packet does', () => {
    for (const packet of connects) {
      const frame = encodePacket(packet, packet.protocolVersion!);
      const plain = decodePlainConnect(frame);
      expect(plain, JSON.stringify(packet)).to.not.equal(undefined);
      expect(normal(plain)).to.deep.equal(normal(reference(frame, 4).packet));
    }
  });

  it('leaves a CONNECT with properties, a will with properties, or protocol 3.1 to mqtt-packet', () => {
    const notPlain: IConnectPacket[] = [
      { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'c', clean: true, keepalive: 0, properties: { sessionExpiryInterval: 10 } },
      {
        cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'c', clean: true, keepalive: 0,
        will: { topic: 't', payload: Buffer.from('x'), qos: 0, retain: false, properties: { willDelayInterval: 5 } },
      },
      { cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'c', clean: true, keepalive: 0 },
    ];
    for (const packet of notPlain) expect(decodePlainConnect(encodePacket(packet, packet.protocolVersion!))).to.equal(undefined);
  });

  it('never decodes a damaged CONNECT differently from mqtt-packet: every byte flipped, every truncation, trailing bytes', () => {
    let plainCount = 0;
    for (const packet of connects.filter((_, i) => i % 5 === 0)) {
      const frame = encodePacket(packet, packet.protocolVersion!);
      const variants: Buffer[] = [Buffer.concat([frame, Buffer.from([0])])];
      // Bytes 1 .. bodyStart hold the remaining length, the framer's to check.
      for (let at = 0; at < frame.length; at++) {
        for (const flip of [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80]) {
          const damaged = Buffer.from(frame);
          damaged[at]! ^= flip;
          if (at === 0 || at >= bodyStart(frame)) variants.push(damaged);
        }
      }
      for (let cut = 2; cut < frame.length; cut++) {
        const truncated = Buffer.from(frame.subarray(0, cut));
        truncated[1] = cut - 2; // a consistent remaining length, short fields inside
        if (cut - 2 < 128) variants.push(truncated);
      }
      for (const variant of variants) {
        const plain = decodePlainConnect(variant);
        if (plain === undefined) continue;
        plainCount++;
        const theirs = reference(variant, 4);
        expect(theirs.error, `mqtt-packet refuses what was decoded plainly: ${variant.toString('hex')}`).to.equal(undefined);
        expect(normal(plain), variant.toString('hex')).to.deep.equal(normal(theirs.packet));
      }
    }
    expect(plainCount).to.be.greaterThan(100);
  });

  for (const version of [4, 5] as const) {
    it(`decodes a plain v${version} SUBSCRIBE as mqtt-packet does, and leaves every damaged one it would read differently to it`, () => {
      const subscriptions =
        version === 5
          ? [{ topic: 'a/+/c', qos: 1 as const, nl: true, rap: false, rh: 2 as const }, { topic: '#', qos: 0 as const, nl: false, rap: true, rh: 0 as const }]
          : [{ topic: 'a/+/ü', qos: 2 as const }, { topic: '#', qos: 0 as const }];
      const frame = encodePacket({ cmd: 'subscribe', messageId: 0xabcd, subscriptions }, version);
      expect(normal(decodePlainSubscribe(frame, version))).to.deep.equal(normal(reference(frame, version).packet));
      let plainCount = 0;
      for (let at = 0; at < frame.length; at++) {
        for (const flip of [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80]) {
          const damaged = Buffer.from(frame);
          damaged[at]! ^= flip;
          if (at > 0 && at < bodyStart(frame)) continue;
          const plain = decodePlainSubscribe(damaged, version);
          if (plain === undefined) continue;
          plainCount++;
          const theirs = reference(damaged, version);
          expect(theirs.error, damaged.toString('hex')).to.equal(undefined);
          expect(normal(plain), damaged.toString('hex')).to.deep.equal(normal(theirs.packet));
        }
      }
      expect(plainCount).to.be.greaterThan(10);
    });
  }

  it('leaves a SUBSCRIBE with no subscription [MQTT-3.8.3-3] or with properties to mqtt-packet', () => {
    expect(decodePlainSubscribe(Buffer.from([0x82, 2, 0, 1]), 4)).to.equal(undefined);
    const withProperties = encodePacket({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 0 }], properties: { subscriptionIdentifier: 4 } }, 5);
    expect(decodePlainSubscribe(withProperties, 5)).to.equal(undefined);
    expect(decodePlainControl(encodePacket({ cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['t'] }, 4), 4)).to.equal(undefined);
  });

  it('decodes an empty PINGREQ and DISCONNECT as mqtt-packet does, and leaves a 5.0 DISCONNECT with a reason code to it', () => {
    for (const version of [4, 5] as const) {
      for (const frame of [Buffer.from([0xc0, 0]), Buffer.from([0xe0, 0])]) {
        const plain = decodePlainControl(frame, version);
        expect(plain, `${frame.toString('hex')} v${version}`).to.not.equal(undefined);
        expect(normal(plain)).to.deep.equal(normal(reference(frame, version).packet));
      }
    }
    expect(decodePlainControl(encodePacket({ cmd: 'disconnect', reasonCode: 0x04 }, 5), 5)).to.equal(undefined);
  });
});
