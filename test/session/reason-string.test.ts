import { expect } from 'chai';
import type { Packet } from 'mqtt-packet';
import { encodePacket } from '../../src/protocol/encoder.js';
import { withReasonString, type PacketWithReasonString } from '../../src/session/core/reason-string.js';

/** One of each packet the server may put a Reason String on. */
const PACKETS: PacketWithReasonString[] = [
  { cmd: 'connack', sessionPresent: false, reasonCode: 0x80 },
  { cmd: 'puback', messageId: 1, reasonCode: 0x10 },
  { cmd: 'pubrec', messageId: 1, reasonCode: 0x10 },
  { cmd: 'pubrel', messageId: 1, reasonCode: 0x92 },
  { cmd: 'pubcomp', messageId: 1, reasonCode: 0x92 },
  { cmd: 'suback', messageId: 1, granted: [0x80] },
  { cmd: 'unsuback', messageId: 1, granted: [0x11] },
  { cmd: 'disconnect', reasonCode: 0x82 },
  { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'TOKEN' } },
];

const REASON = 'a reason for diagnostics';

describe('session core: Reason String limits (reason-string.ts)', () => {
  it('adds the Reason String when the client asked for problem information and it fits', () => {
    for (const packet of PACKETS) {
      const out = withReasonString(packet, REASON, { requestProblemInformation: true, clientMaxPacketSize: undefined });
      expect(out.properties?.reasonString, packet.cmd).to.equal(REASON);
      // Properties already there stay (AUTH keeps its method).
      expect(out.properties, packet.cmd).to.deep.include(packet.properties ?? {});
    }
  });

  it('sends no Reason String on any packet when Request Problem Information is 0 [MQTT-3.1.2-29]', () => {
    for (const packet of PACKETS) {
      expect(withReasonString(packet, REASON, { requestProblemInformation: false, clientMaxPacketSize: undefined }), packet.cmd).to.equal(packet);
    }
  });

  it("drops the Reason String when it would take the packet beyond the client's Maximum Packet Size, and keeps it at exactly the limit [MQTT-3.2.2-19, MQTT-3.4.2-2, MQTT-3.5.2-2, MQTT-3.6.2-2, MQTT-3.7.2-2, MQTT-3.9.2-1, MQTT-3.11.2-1, MQTT-3.14.2-3, MQTT-3.15.2-2]", () => {
    for (const packet of PACKETS) {
      const full = withReasonString(packet, REASON, { requestProblemInformation: true, clientMaxPacketSize: undefined });
      const size = encodePacket(full as Packet, 5).length;
      expect(withReasonString(packet, REASON, { requestProblemInformation: true, clientMaxPacketSize: size }), packet.cmd).to.deep.equal(full);
      const dropped = withReasonString(packet, REASON, { requestProblemInformation: true, clientMaxPacketSize: size - 1 });
      expect(dropped, packet.cmd).to.equal(packet);
      expect(encodePacket(dropped as Packet, 5).length, packet.cmd).to.be.at.most(size - 1);
    }
  });
});
