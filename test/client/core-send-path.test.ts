/**
 * Every sequence of haka-send-path.rst, plus ordering and DUP rules on resend.
 */
import { expect } from 'chai';
import { ClientState } from '../../src/client/core/types.js';
import { CoreHarness, testConfig } from './core-harness.js';

describe('client core: send path (haka-send-path.rst)', () => {
  it('QoS 0: enqueued while offline, written on connect, dequeued once written and reported done', () => {
    const h = new CoreHarness();
    h.apply(h.core.start(h.now));
    const t = h.publish('a/b', 'x', 0);
    expect(h.core.stats.queued).to.equal(1);
    expect(h.eventNames()).to.deep.equal([]);
    h.connect();
    expect(h.wire()).to.deep.equal(['connect', 'publish:q0']);
    expect(h.eventNames()).to.deep.equal(['connect', `publish-done:${t}`]);
    expect(h.core.stats).to.include({ queued: 0, inflight: 0 });
  });

  it('QoS 0: a message written before a disconnect is not sent again', () => {
    const h = new CoreHarness();
    h.connect();
    h.publish('a', 'x', 0);
    h.takeWritten();
    h.reconnect();
    expect(h.wire()).to.deep.equal(['connect']);
  });

  it('QoS 1: stays in flight after being written until PUBACK', () => {
    const h = new CoreHarness();
    h.connect();
    h.takeEvents();
    h.takeWritten();
    const t = h.publish('a', 'x', 1);
    expect(h.wire()).to.deep.equal(['publish:1:q1']);
    expect(h.core.stats.inflight).to.equal(1);
    expect(h.eventNames()).to.deep.equal([]);
    h.feed({ cmd: 'puback', messageId: 1 });
    expect(h.eventNames()).to.deep.equal([`publish-done:${t}`]);
    expect(h.core.stats.inflight).to.equal(0);
    expect(h.core.packetIdsInUse).to.equal(0);
  });

  it('QoS 1 w/Disconnect: resent with DUP and the same packet id after reconnect [MQTT-4.4.0-1] [MQTT-3.3.1-1]', () => {
    const h = new CoreHarness();
    h.connect();
    const t = h.publish('a', 'x', 1);
    expect(h.wire()).to.deep.equal(['connect', 'publish:1:q1']);
    h.reconnect({ sessionPresent: true });
    expect(h.wire()).to.deep.equal(['connect', 'publish:1:q1:dup']);
    h.takeEvents();
    h.feed({ cmd: 'puback', messageId: 1 });
    expect(h.eventNames()).to.deep.equal([`publish-done:${t}`]);
  });

  it('QoS 2: PUBREC is answered with PUBREL and the message completes on PUBCOMP', () => {
    const h = new CoreHarness();
    h.connect();
    h.takeEvents();
    const t = h.publish('a', 'x', 2);
    expect(h.wire()).to.deep.equal(['connect', 'publish:1:q2']);
    h.feed({ cmd: 'pubrec', messageId: 1 });
    expect(h.wire()).to.deep.equal(['pubrel:1']);
    expect(h.eventNames()).to.deep.equal([]);
    h.feed({ cmd: 'pubcomp', messageId: 1 });
    expect(h.eventNames()).to.deep.equal([`publish-done:${t}`]);
    expect(h.core.packetIdsInUse).to.equal(0);
  });

  it('QoS 2 w/Publish Disconnect: PUBLISH resent with DUP, then PUBREC, PUBREL, PUBCOMP', () => {
    const h = new CoreHarness();
    h.connect();
    const t = h.publish('a', 'x', 2);
    h.takeWritten();
    h.reconnect({ sessionPresent: true });
    expect(h.wire()).to.deep.equal(['connect', 'publish:1:q2:dup']);
    h.feed({ cmd: 'pubrec', messageId: 1 });
    expect(h.wire()).to.deep.equal(['pubrel:1']);
    h.takeEvents();
    h.feed({ cmd: 'pubcomp', messageId: 1 });
    expect(h.eventNames()).to.deep.equal([`publish-done:${t}`]);
  });

  it('QoS 2 w/Pubrel Disconnect: resumed with PUBREL, never published again [MQTT-4.3.3-6] [MQTT-4.4.0-1]', () => {
    const h = new CoreHarness();
    h.connect();
    const t = h.publish('a', 'x', 2);
    h.feed({ cmd: 'pubrec', messageId: 1 });
    expect(h.wire()).to.deep.equal(['connect', 'publish:1:q2', 'pubrel:1']);
    h.reconnect({ sessionPresent: true });
    expect(h.wire()).to.deep.equal(['connect', 'pubrel:1']);
    h.takeEvents();
    h.feed({ cmd: 'pubcomp', messageId: 1 });
    expect(h.eventNames()).to.deep.equal([`publish-done:${t}`]);
  });

  it('a server without our session: a QoS 2 message past PUBREC is complete, nothing is resent [MQTT-3.2.2-5] [MQTT-4.4.0-1]', () => {
    const h = new CoreHarness();
    h.connect();
    const t = h.publish('a', 'x', 2);
    h.feed({ cmd: 'pubrec', messageId: 1 });
    h.takeWritten();
    h.takeEvents();
    h.reconnect({ sessionPresent: false });
    expect(h.wire()).to.deep.equal(['connect']);
    expect(h.eventNames()).to.include(`publish-done:${t}`);
    expect(h.core.packetIdsInUse).to.equal(0);
  });

  it('a server without our session: an unacknowledged PUBLISH goes again as a new message, DUP 0 [MQTT-4.3.2-2] [MQTT-4.3.3-2]', () => {
    const h = new CoreHarness();
    h.connect();
    const t1 = h.publish('a', '1', 1);
    h.publish('a', '2', 2);
    h.takeWritten();
    h.reconnect({ sessionPresent: false });
    expect(h.wire()).to.deep.equal(['connect', 'publish:1:q1', 'publish:2:q2']);
    h.takeEvents();
    h.feed({ cmd: 'puback', messageId: 1 });
    expect(h.eventNames()).to.deep.equal([`publish-done:${t1}`]);
  });

  it('in-flight messages go back to the front of the queue in their original order, ahead of queued ones [MQTT-4.6.0-1]', () => {
    const h = new CoreHarness(testConfig({ maxInflight: 3 }));
    h.connect();
    h.publish('a', '1', 1);
    h.publish('a', '2', 2);
    h.publish('a', '3', 1);
    h.publish('a', '4', 1); // held back by the window
    h.feed({ cmd: 'pubrec', messageId: 2 });
    expect(h.wire()).to.deep.equal(['connect', 'publish:1:q1', 'publish:2:q2', 'publish:3:q1', 'pubrel:2']);
    h.reconnect({ sessionPresent: true });
    expect(h.wire()).to.deep.equal(['connect', 'publish:1:q1:dup', 'pubrel:2', 'publish:3:q1:dup']);
    h.feed({ cmd: 'puback', messageId: 1 });
    expect(h.wire()).to.deep.equal(['publish:4:q1']);
  });

  it('a QoS 0 message never carries DUP [MQTT-3.3.1-2]', () => {
    const h = new CoreHarness(testConfig({ maxInflight: 1 }));
    h.connect();
    h.publish('a', '1', 1);
    h.publish('a', '2', 0);
    h.reconnect({ sessionPresent: true });
    h.feed({ cmd: 'puback', messageId: 1 });
    const qos0 = h.takeWritten().filter((p) => p.cmd === 'publish' && p.qos === 0);
    expect(qos0).to.have.length(1);
    expect((qos0[0] as { dup: boolean }).dup).to.equal(false);
  });

  it('a PUBACK for an id not in flight is ignored and nothing else changes', () => {
    const h = new CoreHarness();
    h.connect();
    h.publish('a', 'x', 1);
    h.takeEvents();
    h.feed({ cmd: 'puback', messageId: 999 });
    expect(h.eventNames()).to.deep.equal([]);
    expect(h.core.stats.inflight).to.equal(1);
    expect(h.core.state).to.equal(ClientState.Connected);
  });

  it('a socket that reports full holds publishes back until it drains', () => {
    const h = new CoreHarness();
    h.connect();
    h.takeWritten();
    h.apply(h.core.setWritable(false, h.now));
    h.publish('a', 'x', 1);
    expect(h.wire()).to.deep.equal([]);
    h.apply(h.core.setWritable(true, h.now));
    expect(h.wire()).to.deep.equal(['publish:1:q1']);
  });
});
