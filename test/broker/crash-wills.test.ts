/** The will of a dead session thread's connection, as main publishes it (`crash-wills.ts`). */
import { expect } from 'chai';
import type { IConnectPacket } from 'mqtt-packet';
import { willMessage } from '../../src/broker/crash-wills.js';
import { setUserPropertyOrder } from '../../src/protocol/user-property-order.js';
import { retainedCopy } from '../../src/session/core/message.js';

type ConnectWill = NonNullable<IConnectPacket['will']>;

describe('crash wills: the will as a routed message', () => {
  const will = (messageExpiryInterval?: number): ConnectWill => ({
    topic: 'w/t',
    payload: Buffer.from('gone'),
    qos: 1,
    retain: true,
    ...(messageExpiryInterval !== undefined ? { properties: { messageExpiryInterval } } : {}),
  });

  it('runs its Message Expiry Interval from when it is published [MQTT-3.3.2-5]', () => {
    expect(willMessage(will(5), 1_000)).to.include({ expiresAt: 6_000 });
    expect(willMessage(will(), 1_000)).to.not.have.property('expiresAt');
  });

  it('with Message Expiry Interval 0 has a zero lifetime, and as retained deletes the retained message instead of being stored [MQTT-3.3.1-5, MQTT-3.3.2-5]', () => {
    const message = willMessage(will(0), 1_000);
    expect(message).to.include({ zeroLifetime: true });
    expect(message).to.not.have.property('expiresAt');
    expect(retainedCopy(message)).to.equal(undefined);
    expect(retainedCopy(willMessage(will(5), 1_000))).to.include({ topic: 'w/t' });
  });

  it('keeps its User Properties in the order received, where the decoder gave one [MQTT-3.1.3-10]', () => {
    const properties = { userProperties: { a: ['1', '3'], b: '2' } };
    setUserPropertyOrder(properties, ['a', '1', 'b', '2', 'a', '3']);
    expect(willMessage({ ...will(), properties }, 1_000).properties).to.deep.equal({
      userProperties: { a: ['1', '3'], b: '2' },
      userPropertyOrder: ['a', '1', 'b', '2', 'a', '3'],
    });
  });
});
