/**
 * haka-mqtt's keepalive paths and rumqtt's half-open detection, on a settable clock.
 */
import { expect } from 'chai';
import { ConnectionLostError } from '../../src/client/errors.js';
import { ClientState } from '../../src/client/core/types.js';
import { resolveCoreConfig } from '../../src/client/options.js';
import { CoreHarness, testConfig } from './core-harness.js';

describe('client core: keepalive', () => {
  it('sends PINGREQ after keepalive seconds of send silence, not before ([MQTT-3.1.2-23] 3.1.1, [MQTT-3.1.2-22] 5.0)', () => {
    const h = new CoreHarness(testConfig({ keepalive: 60 }));
    h.connect();
    h.takeWritten();
    expect(h.deadline).to.equal(h.now + 60_000);
    h.advance(59_999);
    expect(h.wire()).to.deep.equal([]);
    h.advance(1);
    expect(h.wire()).to.deep.equal(['pingreq']);
  });

  it('any packet written postpones the send-idle PINGREQ', () => {
    const h = new CoreHarness(testConfig({ keepalive: 60 }));
    h.connect();
    h.advance(30_000);
    h.publish('a', 'x', 0);
    h.takeWritten();
    h.advance(59_999);
    expect(h.wire()).to.deep.equal([]);
    h.advance(1);
    expect(h.wire()).to.deep.equal(['pingreq']);
  });

  it('keeps at most one PINGREQ outstanding', () => {
    const h = new CoreHarness(testConfig({ keepalive: 10, pingTimeout: 1000 }));
    h.connect();
    h.takeWritten();
    h.advance(10_000);
    expect(h.wire()).to.deep.equal(['pingreq']);
    for (let i = 0; i < 5; i++) h.advance(10_000);
    expect(h.wire()).to.deep.equal([]);
    h.feed({ cmd: 'pingresp' });
    // The next ping was overdue while waiting: it goes out as soon as PINGRESP arrives (haka #34).
    expect(h.wire()).to.deep.equal(['pingreq']);
  });

  it('half-open: an unanswered PINGREQ ends the connection and schedules a reconnect (rumqtt)', () => {
    const h = new CoreHarness(testConfig({ keepalive: 10, pingTimeout: 5 }));
    h.connect();
    h.takeEvents();
    h.takeActions();
    h.takeWritten();
    h.advance(10_000);
    expect(h.wire()).to.deep.equal(['pingreq']);
    h.advance(4_999);
    expect(h.core.state).to.equal(ClientState.Connected);
    h.advance(1);
    expect(h.core.state).to.equal(ClientState.Backoff);
    expect(h.takeActions()).to.deep.equal([{ type: 'close', graceful: false }]);
    const events = h.takeEvents();
    expect(events.map((e) => e.type)).to.deep.equal(['offline', 'error']);
    const err = (events[0] as { error: Error }).error;
    expect(err).to.be.instanceOf(ConnectionLostError);
    expect((err as ConnectionLostError).kind).to.equal('keepalive');
    h.advanceToDeadline();
    expect(h.takeActions()).to.deep.equal([{ type: 'open' }]);
  });

  it('half-open: successful writes are no proof of life; receive silence past recvIdleAbortPeriod aborts', () => {
    const h = new CoreHarness(testConfig({ keepalive: 60, recvIdleAbortPeriod: 90 }));
    h.connect();
    // The application publishes QoS 0 every second: sends never go idle, the server never answers.
    for (let i = 0; i < 89; i++) {
      h.advance(1000);
      h.publish('a', 'x', 0);
    }
    expect(h.core.state).to.equal(ClientState.Connected);
    h.advance(1000);
    expect(h.core.state).to.equal(ClientState.Backoff);
  });

  it('recv-idle ping: PINGREQ after recvIdlePingPeriod without receiving, even while sending', () => {
    const h = new CoreHarness(testConfig({ keepalive: 60, recvIdlePingPeriod: 20 }));
    h.connect();
    h.takeWritten();
    for (let i = 0; i < 19; i++) {
      h.advance(1000);
      h.publish('a', 'x', 0);
    }
    expect(h.wire().filter((p) => p === 'pingreq')).to.deep.equal([]);
    h.advance(1000);
    expect(h.wire()).to.deep.equal(['pingreq']);
  });

  it('receiving anything postpones the recv-idle ping and abort', () => {
    const h = new CoreHarness(testConfig({ recvIdlePingPeriod: 20, recvIdleAbortPeriod: 30 }));
    h.connect();
    h.takeWritten();
    h.advance(15_000);
    h.feed({ cmd: 'publish', topic: 't', payload: Buffer.from(''), qos: 0, dup: false, retain: false });
    h.advance(19_999);
    expect(h.wire()).to.deep.equal([]);
    h.advance(1);
    expect(h.wire()).to.deep.equal(['pingreq']);
    h.feed({ cmd: 'pingresp' });
    h.advance(29_999);
    expect(h.core.state).to.equal(ClientState.Connected);
  });

  it('keepalive 0 and no recv periods: no deadline at all while connected', () => {
    const h = new CoreHarness(testConfig({ keepalive: 0 }));
    h.connect();
    expect(h.deadline).to.equal(undefined);
  });

  describe("periods we did not set follow the server's Keep Alive [MQTT-3.2.2-21]", () => {
    // What connect() resolves for `keepalive: 0` and nothing else: every period derived.
    const derived = (extra: Parameters<typeof resolveCoreConfig>[0] = {}) => {
      const c = resolveCoreConfig({ protocolVersion: 5, keepalive: 0, ...extra });
      return testConfig({ protocolVersion: 5, keepalive: 0, recvIdlePingPeriod: c.recvIdlePingPeriod, recvIdleAbortPeriod: c.recvIdleAbortPeriod, pingTimeout: c.pingTimeout, givenPeriods: c.givenPeriods! });
    };

    it('derived periods (a 1 s PINGRESP timeout for keepalive 0) are derived again from the server Keep Alive', () => {
      const h = new CoreHarness(derived());
      expect(h.core.currentConfig.pingTimeout).to.equal(1);
      h.connect({ properties: { serverKeepAlive: 30 } });
      h.takeWritten();
      h.advance(30_000);
      expect(h.wire()).to.deep.equal(['pingreq']);
      // Not the 1 s of keepalive 0: nothing received for 1.5 × 30 s is what ends it now.
      h.advance(14_999);
      expect(h.core.state).to.equal(ClientState.Connected);
      h.advance(1);
      expect(h.core.state).to.equal(ClientState.Backoff);
    });

    it('a PINGRESP timeout the caller set stays as set', () => {
      const h = new CoreHarness(derived({ pingTimeout: 2 }));
      h.connect({ properties: { serverKeepAlive: 30 } });
      h.takeWritten();
      h.advance(30_000);
      expect(h.wire()).to.deep.equal(['pingreq']);
      h.advance(1_999);
      expect(h.core.state).to.equal(ClientState.Connected);
      h.advance(1);
      expect(h.core.state).to.equal(ClientState.Backoff);
    });
  });

  it("the server's Keep Alive replaces ours [MQTT-3.2.2-21]", () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, keepalive: 60 }));
    h.connect({ properties: { serverKeepAlive: 5 } });
    h.takeWritten();
    h.advance(5000);
    expect(h.wire()).to.deep.equal(['pingreq']);
  });
});
