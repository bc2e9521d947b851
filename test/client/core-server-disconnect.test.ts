/**
 * What the client core does with a DISCONNECT from the server: MQTT 5.0 section 3.14.2.1 reason
 * codes (0x8E Session taken over ends the client unless `reconnectOnTakeover`; 0x04, which only a
 * Client may send, is a protocol violation; the others reconnect, with a backoff the server
 * cannot reset by accepting and dropping us at once), a DISCONNECT before CONNACK
 * [MQTT-3.14.0-1], and a DISCONNECT on an MQTT 3.1.1 connection, where only the client may send one.
 */
import { expect } from 'chai';
import { ClientState, type ClientEvent } from '../../src/client/core/types.js';
import { ClientClosedError, ConnectError, ConnectionLostError, SessionTakenOverError } from '../../src/client/errors.js';
import { CoreHarness, recordingLogger, testConfig } from './core-harness.js';

function errorOf(events: ClientEvent[], type: 'error' | 'operation-failed' | 'ended' | 'connect-failed'): Error | undefined {
  const e = events.find((x) => x.type === type);
  return e && 'error' in e ? e.error : undefined;
}

/** Every reason code Table 3-10 lets a server send, but 0x8E. */
const OTHER_SERVER_CODES = [
  0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
];

describe('client core: server DISCONNECT reason codes (MQTT 5.0 section 3.14.2.1)', () => {
  it('[MQTT-3.1.4-3] 0x8E Session taken over ends the client with SessionTakenOverError: no reconnect, pending work fails with it', () => {
    const { logger, records } = recordingLogger();
    const h = new CoreHarness(testConfig({ protocolVersion: 5, clientId: 'meter-7' }), () => 0, logger);
    h.connect();
    const token = h.publish('a', 'x', 1);
    h.takeWritten();
    h.takeEvents();
    h.takeActions();
    h.feed({ cmd: 'disconnect', reasonCode: 0x8e, properties: { reasonString: 'another connection' } });

    const events = h.takeEvents();
    expect(events.map((e) => e.type)).to.deep.equal(['disconnect', 'offline', 'error', 'operation-failed', 'ended']);
    const err = errorOf(events, 'error') as SessionTakenOverError;
    expect(err).to.be.instanceOf(SessionTakenOverError).and.instanceOf(ConnectionLostError);
    expect(err).to.include({ kind: 'server-disconnect', reasonCode: 0x8e });
    expect(err.message).to.include('"meter-7"').and.include('another connection').and.include('reconnectOnTakeover');
    expect(events.find((e) => e.type === 'operation-failed')).to.deep.include({ token, error: err });
    expect(errorOf(events, 'ended')).to.equal(err);
    expect(h.takeActions()).to.deep.equal([{ type: 'close', graceful: false }]);
    expect(h.wire()).to.deep.equal([]); // the server's DISCONNECT is the last packet; ours would be none of its business
    expect(h.core.state).to.equal(ClientState.Ended);
    expect(h.deadline).to.equal(undefined);
    expect(records.some((r) => r.level === 40 && /session taken over/.test(r.msg))).to.equal(true);

    h.advance(3_600_000);
    expect(h.takeActions()).to.deep.equal([]); // never opens again
    h.publish('a', 'late', 1);
    expect(errorOf(h.takeEvents(), 'operation-failed')).to.be.instanceOf(ClientClosedError);
  });

  it('reconnectOnTakeover: 0x8E reconnects, each takeover right after a CONNACK waiting twice as long (two clients alternate slowly, not in a tight loop)', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, reconnectOnTakeover: true, reconnectPeriod: 1000, maxReconnectPeriod: 8000 }));
    h.connect();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      h.advance(50);
      h.feed({ cmd: 'disconnect', reasonCode: 0x8e });
      expect(h.core.state).to.equal(ClientState.Backoff);
      expect(errorOf(h.takeEvents(), 'error')).to.be.instanceOf(ConnectionLostError).and.not.instanceOf(SessionTakenOverError);
      delays.push(h.deadline! - h.now);
      h.advanceToDeadline();
      h.connect();
    }
    expect(delays).to.deep.equal([1000, 2000, 4000, 8000, 8000]);
  });

  for (const code of OTHER_SERVER_CODES) {
    it(`0x${code.toString(16).padStart(2, '0')}: the connection closes and a reconnect follows after the backoff`, () => {
      const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
      h.connect();
      h.takeEvents();
      h.takeActions();
      h.feed({ cmd: 'disconnect', reasonCode: code });
      const events = h.takeEvents();
      expect(events.map((e) => e.type)).to.deep.equal(['disconnect', 'offline', 'error']);
      expect(errorOf(events, 'error')).to.be.instanceOf(ConnectionLostError).and.include({ kind: 'server-disconnect', reasonCode: code });
      expect(h.core.state).to.equal(ClientState.Backoff);
      expect(h.takeActions()).to.deep.equal([{ type: 'close', graceful: false }]);
      h.advanceToDeadline();
      expect(h.takeActions()).to.deep.equal([{ type: 'open' }]);
    });
  }

  it('a server that accepts and then throws us out at once is not reconnected to every reconnectPeriod: the backoff grows until a connection lives minConnectedTimeToResetBackoff (default maxReconnectPeriod), the rule for every lost connection', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, reconnectPeriod: 1000, maxReconnectPeriod: 8000 }));
    h.connect();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      h.advance(10);
      h.feed({ cmd: 'disconnect', reasonCode: 0x87 }); // e.g. a PUBLISH the server does not allow, resent on every connection
      delays.push(h.deadline! - h.now);
      h.advanceToDeadline();
      h.connect();
    }
    expect(delays).to.deep.equal([1000, 2000, 4000, 8000, 8000]);
    // A connection that lived maxReconnectPeriod (the default minimum) resets the backoff: its reconnects cannot come more often than that anyway.
    h.advance(8000);
    h.feed({ cmd: 'disconnect', reasonCode: 0x8b });
    expect(h.deadline! - h.now).to.equal(1000);
  });

  it('0x04 Disconnect with Will Message is sent by a Client only (Table 3-10): from the server it is a protocol violation, answered with DISCONNECT 0x82, no disconnect event, a warning, then a reconnect with backoff', () => {
    const { logger, records } = recordingLogger();
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }), () => 0, logger);
    h.connect();
    h.takeWritten();
    h.takeEvents();
    h.takeActions();
    h.feed({ cmd: 'disconnect', reasonCode: 0x04 });
    expect(h.takeWritten().map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).to.deep.equal([['disconnect', 0x82]]);
    const events = h.takeEvents();
    expect(events.map((e) => e.type)).to.deep.equal(['offline', 'error']);
    const err = errorOf(events, 'error');
    expect(err).to.be.instanceOf(ConnectionLostError).and.include({ kind: 'protocol', reasonCode: 0x82 });
    expect(err!.message).to.include('0x04').and.include('Table 3-10');
    expect(h.takeActions()).to.deep.equal([{ type: 'close', graceful: false }]);
    expect(h.core.state).to.equal(ClientState.Backoff);
    expect(h.deadline! - h.now).to.equal(1000);
    expect(records.some((r) => r.level === 40 && /only a Client may send/.test(r.msg))).to.equal(true);
    h.advanceToDeadline();
    expect(h.takeActions()).to.deep.equal([{ type: 'open' }]);
  });

  it('[MQTT-3.14.2-1] 0x8A Banned is not a DISCONNECT reason code (Table 3-10): the packet is malformed, answered with DISCONNECT 0x81, then a reconnect', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect();
    h.takeWritten();
    h.takeEvents();
    h.feedBytes(Buffer.from([0xe0, 0x01, 0x8a]));
    expect(h.takeWritten().map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).to.deep.equal([['disconnect', 0x81]]);
    const events = h.takeEvents();
    expect(events.map((e) => e.type)).to.not.include('disconnect');
    expect(errorOf(events, 'error')).to.include({ kind: 'protocol', reasonCode: 0x81 });
    expect(h.core.state).to.equal(ClientState.Backoff);
  });
});

describe('client core: an MQTT 5.0 DISCONNECT before CONNACK [MQTT-3.14.0-1]', () => {
  /** Starts a v5 core and writes CONNECT; the server's answer comes next. */
  function awaitingConnack(overrides: Parameters<typeof testConfig>[0] = {}, logger?: ReturnType<typeof recordingLogger>['logger']): CoreHarness {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, ...overrides }), () => 0, logger);
    h.apply(h.core.start(h.now));
    h.openTransport();
    h.takeWritten();
    h.takeEvents();
    h.takeActions();
    return h;
  }

  for (const code of [0x87, 0x8e]) {
    it(`0x${code.toString(16)} before CONNACK is a protocol violation by the server, whatever its code: the attempt fails with ConnectError kind protocol, DISCONNECT 0x82, a warning, no disconnect event, retried after the backoff`, () => {
      const { logger, records } = recordingLogger();
      const h = awaitingConnack({ retryFirstConnect: true }, logger);
      h.feed({ cmd: 'disconnect', reasonCode: code, properties: { reasonString: 'go away' } });
      expect(h.takeWritten().map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).to.deep.equal([['disconnect', 0x82]]);
      const events = h.takeEvents();
      expect(events.map((e) => e.type)).to.deep.equal(['connect-failed']);
      expect(events[0]).to.include({ final: false });
      const err = errorOf(events, 'connect-failed');
      expect(err).to.be.instanceOf(ConnectError).and.include({ kind: 'protocol', reasonCode: 0x82 });
      expect(err!.message).to.include('MQTT-3.14.0-1').and.include(`0x${code.toString(16)}`).and.include('go away');
      expect(h.takeActions()).to.deep.equal([{ type: 'close', graceful: false }]);
      expect(records.some((r) => r.level === 40 && /MQTT-3\.14\.0-1/.test(r.msg))).to.equal(true);
      expect(h.core.state).to.equal(ClientState.Backoff);
      expect(h.deadline! - h.now).to.equal(1000);
      h.advanceToDeadline();
      expect(h.takeActions()).to.deep.equal([{ type: 'open' }]);
      h.connect();
      expect(h.core.state).to.equal(ClientState.Connected);
    });
  }

  it('on the first attempt without retryFirstConnect it ends the client with that ConnectError (connect() rejects)', () => {
    const h = awaitingConnack();
    h.feed({ cmd: 'disconnect', reasonCode: 0x80 });
    const events = h.takeEvents();
    expect(events.map((e) => e.type)).to.deep.equal(['connect-failed', 'ended']);
    expect(events[0]).to.include({ final: true });
    expect(errorOf(events, 'ended')).to.equal(errorOf(events, 'connect-failed')).and.include({ kind: 'protocol' });
    expect(h.core.state).to.equal(ClientState.Ended);
  });

  it('on reconnect attempts each one is a failed attempt: the backoff grows (1, 2, 4 s)', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, reconnectPeriod: 1000, maxReconnectPeriod: 8000 }));
    h.connect();
    h.advance(60_000);
    h.drop(); // a connection that lived: the backoff starts at 1 s
    const delays = [h.deadline! - h.now];
    h.takeEvents();
    for (let i = 0; i < 2; i++) {
      h.advanceToDeadline();
      h.openTransport();
      h.feed({ cmd: 'disconnect', reasonCode: 0x89 });
      const events = h.takeEvents();
      expect(events.map((e) => e.type)).to.deep.equal(['reconnect', 'error']);
      expect(errorOf(events, 'error')).to.be.instanceOf(ConnectError).and.include({ kind: 'protocol' });
      delays.push(h.deadline! - h.now);
    }
    expect(delays).to.deep.equal([1000, 2000, 4000]);
  });
});

describe('client core: a DISCONNECT from an MQTT 3.1.1 server', () => {
  for (const [name, bytes] of [
    ['DISCONNECT', [0xe0, 0x00]],
    ['DISCONNECT carrying a 5.0-style 0x8E', [0xe0, 0x01, 0x8e]],
  ] as const) {
    it(`[MQTT-4.8.0-1] ${name} is a protocol violation (Table 2.1: Client to Server only): closed without a DISCONNECT of ours, logged as a warning, reconnected`, () => {
      const { logger, records } = recordingLogger();
      const h = new CoreHarness(testConfig({ protocolVersion: 4 }), () => 0, logger);
      h.connect();
      h.takeWritten();
      h.takeEvents();
      h.takeActions();
      h.feedBytes(Buffer.from(bytes));
      const events = h.takeEvents();
      expect(events.map((e) => e.type)).to.deep.equal(['offline', 'error']); // no 'disconnect': there is no 3.1.1 server DISCONNECT to report
      const err = errorOf(events, 'error');
      expect(err).to.be.instanceOf(ConnectionLostError).and.not.instanceOf(SessionTakenOverError);
      expect(err).to.include({ kind: 'protocol' });
      expect(err!.message).to.include('MQTT-4.8.0-1');
      expect(h.takeActions()).to.deep.equal([{ type: 'close', graceful: false }]);
      expect(h.wire()).to.deep.equal([]);
      expect(h.core.state).to.equal(ClientState.Backoff);
      expect(records.some((r) => r.level === 40 && /must not send DISCONNECT in MQTT 3\.1\.1/.test(r.msg))).to.equal(true);
      h.advanceToDeadline();
      expect(h.takeActions()).to.deep.equal([{ type: 'open' }]);
    });
  }

  it('[MQTT-4.8.0-1] before CONNACK it fails the attempt as a protocol violation, and the client retries', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 4, retryFirstConnect: true }));
    h.apply(h.core.start(h.now));
    h.openTransport();
    h.takeEvents();
    h.takeActions();
    h.feedBytes(Buffer.from([0xe0, 0x00]));
    const events = h.takeEvents();
    expect(events.map((e) => e.type)).to.deep.equal(['connect-failed']);
    const err = errorOf(events, 'connect-failed');
    expect(err).to.be.instanceOf(ConnectError).and.include({ kind: 'protocol' });
    expect(err!.message).to.include('MQTT-4.8.0-1');
    expect(h.core.state).to.equal(ClientState.Backoff);
  });
});
