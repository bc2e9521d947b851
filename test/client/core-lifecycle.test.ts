/**
 * Connecting, first-connect failures, backoff, pause/resume, reconnect with new options, end.
 */
import { expect } from 'chai';
import { reconnectDelay } from '../../src/client/core/backoff.js';
import { ClientState } from '../../src/client/core/types.js';
import { TRANSITIONS, isTransition } from '../../src/client/core/transitions.js';
import { ClientClosedError, ConnectError } from '../../src/client/errors.js';
import { CoreHarness, testConfig } from './core-harness.js';

describe('client core: connect and first-connect errors', () => {
  it('writes CONNECT with the configured fields once the transport is open', () => {
    const h = new CoreHarness(testConfig({ clientId: 'c1', keepalive: 30, clean: false, username: 'u', password: Buffer.from('p') }));
    h.apply(h.core.start(h.now));
    expect(h.takeActions()).to.deep.equal([{ type: 'open' }]);
    h.openTransport();
    const [connect] = h.takeWritten();
    expect(connect).to.include({ cmd: 'connect', clientId: 'c1', keepalive: 30, clean: false, username: 'u', protocolVersion: 4 });
    expect(h.core.state).to.equal(ClientState.AwaitingConnack);
  });

  it('a first-connect failure is final by default: connect-failed, then ended, queued work fails', () => {
    const h = new CoreHarness();
    h.apply(h.core.start(h.now));
    const t = h.publish('a', 'x', 1);
    h.apply(h.core.transportFailed(new ConnectError('refused', 'refused'), h.now));
    const events = h.takeEvents();
    expect(events.map((e) => e.type)).to.deep.equal(['connect-failed', 'operation-failed', 'ended']);
    expect(events[0]).to.include({ final: true });
    expect((events[1] as { token: number }).token).to.equal(t);
    expect(h.core.state).to.equal(ClientState.Ended);
  });

  it('CONNACK refusal reports its return code', () => {
    const h = new CoreHarness();
    h.apply(h.core.start(h.now));
    h.openTransport();
    h.connack({ returnCode: 5 });
    const e = h.takeEvents()[0] as { type: string; error: ConnectError };
    expect(e.type).to.equal('connect-failed');
    expect(e.error).to.be.instanceOf(ConnectError);
    expect(e.error.kind).to.equal('connack');
    expect(e.error.reasonCode).to.equal(5);
  });

  it('MQTT 5 CONNACK refusal reports its reason code', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.apply(h.core.start(h.now));
    h.openTransport();
    h.connack({ returnCode: 0x86 });
    const e = h.takeEvents()[0] as unknown as { error: ConnectError };
    expect(e.error.reasonCode).to.equal(0x86);
    expect(e.error.message).to.match(/BadUserNameOrPassword/);
  });

  it('no CONNACK within connectTimeout: a timeout ConnectError', () => {
    const h = new CoreHarness(testConfig({ connectTimeout: 3000 }));
    h.apply(h.core.start(h.now));
    h.openTransport();
    h.advance(2999);
    expect(h.core.state).to.equal(ClientState.AwaitingConnack);
    h.advance(1);
    const e = h.takeEvents()[0] as unknown as { error: ConnectError };
    expect(e.error.kind).to.equal('timeout');
    expect(h.takeActions()).to.deep.include({ type: 'close', graceful: false });
  });

  it('retryFirstConnect keeps trying with backoff', () => {
    const h = new CoreHarness(testConfig({ retryFirstConnect: true }));
    h.apply(h.core.start(h.now));
    h.apply(h.core.transportFailed(new ConnectError('refused', 'refused'), h.now));
    expect(h.takeEvents()[0]).to.include({ type: 'connect-failed', final: false });
    expect(h.core.state).to.equal(ClientState.Backoff);
    h.advanceToDeadline();
    h.connect();
    expect(h.core.state).to.equal(ClientState.Connected);
  });

  it('nothing but AUTH may come before CONNACK [MQTT-3.2.0-1]', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.apply(h.core.start(h.now));
    h.openTransport();
    h.takeWritten();
    h.feed({ cmd: 'pingresp' });
    expect(h.wire()).to.deep.equal(['disconnect']);
    expect(h.core.state).to.equal(ClientState.Ended);
  });
});

describe('client core: reconnect backoff', () => {
  it('doubles from reconnectPeriod up to maxReconnectPeriod', () => {
    const opts = { reconnectPeriod: 1000, maxReconnectPeriod: 10_000, reconnectJitter: 0 };
    expect([0, 1, 2, 3, 4, 5].map((a) => reconnectDelay(a, opts, () => 0.3))).to.deep.equal([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('jitter takes up to its fraction away, from the injected random source', () => {
    const opts = { reconnectPeriod: 1000, maxReconnectPeriod: 10_000, reconnectJitter: 0.5 };
    expect(reconnectDelay(1, opts, () => 0)).to.equal(2000);
    expect(reconnectDelay(1, opts, () => 1)).to.equal(1000);
    expect(reconnectDelay(1, opts, () => 0.5)).to.equal(1500);
  });

  it('the core waits the backoff between attempts; a connection that then stays up minConnectedTimeToResetBackoff (default maxReconnectPeriod) resets it, one lost sooner does not', () => {
    const h = new CoreHarness(testConfig({ reconnectPeriod: 1000, maxReconnectPeriod: 8000, reconnectJitter: 0.5 }), () => 0.5);
    h.connect();
    const delays: number[] = [];
    h.drop();
    for (let i = 0; i < 5; i++) {
      delays.push(h.deadline! - h.now);
      h.advanceToDeadline();
      expect(h.core.state).to.equal(ClientState.Connecting);
      h.apply(h.core.transportFailed(new ConnectError('refused', 'refused'), h.now));
    }
    expect(delays).to.deep.equal([750, 1500, 3000, 6000, 6000]);
    // A CONNACK alone no longer resets the backoff: lost at once, the connection is one more failure.
    h.advanceToDeadline();
    h.connect();
    h.drop();
    expect(h.deadline! - h.now).to.equal(6000);
    // A connection that stayed up maxReconnectPeriod does.
    h.advanceToDeadline();
    h.connect();
    h.advance(8000);
    h.drop();
    expect(h.deadline! - h.now).to.equal(750);
  });

  it('reconnectPeriod 0: a lost connection ends the client and fails pending work', () => {
    const h = new CoreHarness(testConfig({ reconnectPeriod: 0 }));
    h.connect();
    const t = h.publish('a', 'x', 1);
    h.takeEvents();
    h.drop();
    const events = h.takeEvents();
    expect(events.map((e) => e.type)).to.deep.equal(['offline', 'error', 'operation-failed', 'ended']);
    expect((events[2] as { token: number }).token).to.equal(t);
  });
});

describe('client core: pause, resume, reconnect with new options', () => {
  it('pause disconnects and keeps queued and in-flight messages; resume sends them', () => {
    const h = new CoreHarness();
    h.connect();
    h.publish('a', '1', 1);
    h.takeWritten();
    h.takeActions();
    h.apply(h.core.pause(h.now));
    expect(h.wire()).to.deep.equal(['disconnect']);
    expect(h.takeActions()).to.deep.equal([{ type: 'close', graceful: true }]);
    expect(h.core.state).to.equal(ClientState.Paused);
    h.publish('a', '2', 0);
    h.advance(3_600_000);
    expect(h.wire()).to.deep.equal([]);
    expect(h.deadline).to.equal(undefined);
    h.apply(h.core.resume(h.now));
    expect(h.takeActions()).to.deep.equal([{ type: 'open' }]);
    h.connect({ sessionPresent: true });
    expect(h.wire()).to.deep.equal(['connect', 'publish:1:q1:dup', 'publish:q0']);
  });

  it('reconnect(changes) disconnects, reconnects at once with the new options, and carries work over', () => {
    const h = new CoreHarness(testConfig({ clientId: 'old', keepalive: 60 }));
    h.connect();
    h.publish('a', '1', 1);
    h.takeWritten();
    h.takeActions();
    h.apply(h.core.reconnect({ clientId: 'new', keepalive: 5 }, h.now));
    expect(h.wire()).to.deep.equal(['disconnect']);
    expect(h.takeActions()).to.deep.equal([{ type: 'close', graceful: true }, { type: 'open' }]);
    h.connect({ sessionPresent: true });
    const written = h.takeWritten();
    expect(written[0]).to.include({ cmd: 'connect', clientId: 'new', keepalive: 5 });
    expect(written.slice(1).map((p) => `${p.cmd}:${String(p.messageId)}:${String((p as { dup?: boolean }).dup)}`)).to.deep.equal(['publish:1:true']);
  });
});

describe('client core: end', () => {
  it('end waits for in-flight acknowledgements, then DISCONNECT and close [MQTT-3.14.4-2]', () => {
    const h = new CoreHarness();
    h.connect();
    const t = h.publish('a', '1', 1);
    h.takeWritten();
    h.takeEvents();
    h.apply(h.core.end(h.now));
    expect(h.core.state).to.equal(ClientState.Draining);
    expect(h.wire()).to.deep.equal([]);
    h.feed({ cmd: 'puback', messageId: 1 });
    expect(h.wire()).to.deep.equal(['disconnect']);
    expect(h.eventNames()).to.deep.equal([`publish-done:${t}`, 'ended']);
    expect(h.core.state).to.equal(ClientState.Ended);
  });

  it('end gives up after endTimeout and fails what is still in flight', () => {
    const h = new CoreHarness(testConfig({ endTimeout: 2000 }));
    h.connect();
    const t = h.publish('a', '1', 1);
    h.takeEvents();
    h.apply(h.core.end(h.now));
    h.advance(2000);
    const events = h.takeEvents();
    expect(events.map((e) => e.type)).to.deep.equal(['operation-failed', 'ended']);
    expect((events[0] as { token: number; error: Error }).token).to.equal(t);
    expect((events[0] as { error: Error }).error).to.be.instanceOf(ClientClosedError);
  });

  it('operations after end are refused with ClientClosedError', () => {
    const h = new CoreHarness();
    h.connect();
    h.apply(h.core.end(h.now));
    h.takeEvents();
    h.publish('a', 'x', 0);
    const e = h.takeEvents()[0] as { error: Error };
    expect(e.error).to.be.instanceOf(ClientClosedError);
  });

  it('end while offline ends at once and fails queued work', () => {
    const h = new CoreHarness();
    h.connect();
    h.drop();
    h.publish('a', 'x', 1);
    h.takeEvents();
    h.apply(h.core.end(h.now));
    expect(h.eventNames()).to.deep.equal(['operation-failed:1', 'ended']);
  });
});

describe('client core: the transition table (src/client/core/transitions.ts)', () => {
  it('every state change of a tour through connect, loss, pause, reconnect and end is in the table', () => {
    const h = new CoreHarness(testConfig({ keepalive: 5, pingTimeout: 2 }));
    const seen: string[] = [];
    let prev = h.core.state;
    const note = (): void => {
      const now = h.core.state;
      expect(isTransition(prev, now), `${prev} → ${now}`).to.equal(true);
      if (now !== prev) seen.push(`${prev}>${now}`);
      prev = now;
    };
    const steps: Array<() => void> = [
      () => h.apply(h.core.start(h.now)),
      () => h.openTransport(),
      () => h.connack(),
      () => h.advance(5000), // PINGREQ
      () => h.advance(2000), // unanswered: lost
      () => h.advanceToDeadline(),
      () => h.apply(h.core.transportFailed(new ConnectError('refused', 'refused'), h.now)),
      () => h.advanceToDeadline(),
      () => h.openTransport(),
      () => h.connack(),
      () => h.apply(h.core.pause(h.now)),
      () => h.apply(h.core.resume(h.now)),
      () => h.openTransport(),
      () => h.connack(),
      () => h.apply(h.core.reconnect({ clientId: 'x' }, h.now)),
      () => h.openTransport(),
      () => h.connack(),
      () => h.publish('a', 'x', 1),
      () => h.apply(h.core.end(h.now)), // draining: a QoS 1 is in flight
      () => h.feed({ cmd: 'puback', messageId: 1 }),
    ];
    for (const step of steps) {
      step();
      note();
    }
    expect(h.core.state).to.equal(ClientState.Ended);
    expect(seen).to.include.members(['connected>draining', 'draining>ended', 'connected>backoff', 'backoff>connecting', 'connected>paused', 'paused>connecting', 'connected>connecting']);
    // The table names no state twice for the same pair.
    const keys = TRANSITIONS.map((t) => `${t.from}>${t.to}`);
    expect(new Set(keys).size).to.equal(keys.length);
  });
});
