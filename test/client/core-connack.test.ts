/**
 * What the client does with a CONNACK beyond accepting it (MQTT 5.0 section 3.2), and with a
 * server DISCONNECT: Session Present against Clean Start, refusals that must not be retried
 * forever, CONNACK properties that are Protocol Errors, the Assigned Client Identifier, and
 * what a DISCONNECT's Reason String and Server Reference become.
 */
import { expect } from 'chai';
import type { IConnectPacket } from 'mqtt-packet';
import { ClientState, type ClientEvent } from '../../src/client/core/types.js';
import { ConnectError, ConnectionLostError, PacketTooLargeError } from '../../src/client/errors.js';
import { CoreHarness, testConfig } from './core-harness.js';

function errorOf(events: ClientEvent[], type: 'connect-failed' | 'error'): Error | undefined {
  const e = events.find((x) => x.type === type);
  return e && 'error' in e ? e.error : undefined;
}

/** Connects once, drops, waits out the backoff and writes CONNECT: the next CONNACK answers a reconnect. */
function reconnecting(h: CoreHarness): void {
  h.connect();
  h.drop();
  h.advanceToDeadline();
  h.openTransport();
  h.takeWritten();
  h.takeEvents();
  h.takeActions();
}

describe('client core: CONNACK Session Present', () => {
  it('[MQTT-3.2.2-4] MQTT 5: Session Present 1 answering Clean Start 1 is refused with DISCONNECT 0x82 and a close', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, clean: true, retryFirstConnect: true }));
    h.apply(h.core.start(h.now));
    h.openTransport();
    h.takeWritten();
    h.takeActions();
    h.connack({ sessionPresent: true });
    expect(h.takeWritten().map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).to.deep.equal([['disconnect', 0x82]]);
    expect(h.takeActions()).to.deep.include({ type: 'close', graceful: false });
    const events = h.takeEvents();
    expect(events.map((e) => e.type)).to.not.include('connect');
    expect(errorOf(events, 'connect-failed')?.message).to.match(/MQTT-3\.2\.2-4/);
    expect(h.core.state).to.equal(ClientState.Backoff);
  });

  it('MQTT 3.1.1: Session Present 1 answering Clean Session 1 (the server broke 3.1.1 [MQTT-3.2.2-1]) closes the connection', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 4, clean: true }));
    reconnecting(h);
    h.connack({ sessionPresent: true });
    expect(h.takeWritten()).to.deep.equal([]); // 3.1.1 has no client DISCONNECT with a reason
    expect(h.takeActions()).to.deep.include({ type: 'close', graceful: false });
    expect(h.core.state).to.equal(ClientState.Backoff);
  });

  it('Session Present 1 answering Clean Start 0 resumes the session', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, clean: false }));
    reconnecting(h);
    h.connack({ sessionPresent: true });
    expect(h.core.state).to.equal(ClientState.Connected);
  });
});

describe('client core: CONNACK refusals', () => {
  it('a refusal the same CONNECT would repeat (5.0 0x86 Bad User Name or Password) ends the client instead of retrying forever', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    reconnecting(h);
    const t = h.publish('a', 'x', 1);
    h.connack({ returnCode: 0x86 });
    const events = h.takeEvents();
    const err = errorOf(events, 'error');
    expect(err).to.be.instanceOf(ConnectError);
    expect(err).to.include({ kind: 'connack', reasonCode: 0x86 });
    expect(events.map((e) => ('token' in e ? `${e.type}:${e.token}` : e.type))).to.deep.equal(['error', `operation-failed:${t}`, 'ended']);
    expect(h.core.state).to.equal(ClientState.Ended);
  });

  it('with retryFirstConnect, a first attempt refused with 0x87 Not Authorized is final', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, retryFirstConnect: true }));
    h.apply(h.core.start(h.now));
    h.openTransport();
    h.connack({ returnCode: 0x87 });
    expect(h.takeEvents()[0]).to.include({ type: 'connect-failed', final: true });
    expect(h.core.state).to.equal(ClientState.Ended);
  });

  it('MQTT 3.1.1: return code 4 (bad user name or password) ends; 3 (server unavailable) is retried', () => {
    const refused = new CoreHarness(testConfig({ protocolVersion: 4 }));
    reconnecting(refused);
    refused.connack({ returnCode: 4 });
    expect(refused.core.state).to.equal(ClientState.Ended);

    const busy = new CoreHarness(testConfig({ protocolVersion: 4 }));
    reconnecting(busy);
    busy.connack({ returnCode: 3 });
    expect(busy.core.state).to.equal(ClientState.Backoff);
  });

  it('transient refusals (0x88 Server unavailable, 0x89 Server busy, 0x97 Quota exceeded, 0x9F Connection rate exceeded) are retried with backoff', () => {
    for (const code of [0x88, 0x89, 0x97, 0x9f]) {
      const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
      reconnecting(h);
      h.connack({ returnCode: code });
      expect(h.core.state, `0x${code.toString(16)}`).to.equal(ClientState.Backoff);
    }
  });

  it('the Reason String of a refusing CONNACK is in the error message', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.apply(h.core.start(h.now));
    h.openTransport();
    h.feed({ cmd: 'connack', sessionPresent: false, reasonCode: 0x87, properties: { reasonString: 'device 7 is disabled' } });
    expect(errorOf(h.takeEvents(), 'connect-failed')?.message).to.include('device 7 is disabled');
  });
});

describe('client core: CONNACK properties', () => {
  for (const [name, properties] of [
    ['Receive Maximum 0 (section 3.2.2.3.3)', { receiveMaximum: 0 }],
    ['Maximum QoS 2 (section 3.2.2.3.4)', { maximumQoS: 2 }],
    ['Maximum Packet Size 0 (section 3.2.2.3.6)', { maximumPacketSize: 0 }],
  ] as const) {
    it(`a CONNACK with ${name} is a Protocol Error: DISCONNECT 0x82`, () => {
      const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
      reconnecting(h);
      h.connack({ properties: properties as Record<string, unknown> });
      expect(h.takeWritten().map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).to.deep.equal([['disconnect', 0x82]]);
      expect(h.core.state).to.equal(ClientState.Backoff);
    });
  }

  it('the Assigned Client Identifier is used for every later CONNECT (MQTT 5.0 section 3.2.2.3.7)', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, clientId: '', clean: true }));
    h.connect({ properties: { assignedClientIdentifier: 'auto-42' } });
    h.takeWritten();
    h.drop();
    h.advanceToDeadline();
    h.openTransport();
    const [connect] = h.takeWritten() as IConnectPacket[];
    expect(connect).to.include({ cmd: 'connect', clientId: 'auto-42' });
  });
});

describe('client core: server DISCONNECT', () => {
  it('the Reason String and Server Reference are reported, and the Server Reference is not followed', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect();
    h.takeEvents();
    h.feed({ cmd: 'disconnect', reasonCode: 0x9c, properties: { reasonString: 'draining node', serverReference: 'mqtt2.example:1883' } });
    const events = h.takeEvents();
    expect(events[0]).to.have.nested.property('packet.properties.serverReference', 'mqtt2.example:1883');
    const err = errorOf(events, 'error') as ConnectionLostError;
    expect(err).to.be.instanceOf(ConnectionLostError);
    expect(err).to.include({ kind: 'server-disconnect', reasonCode: 0x9c });
    expect(err.message).to.include('draining node').and.include('mqtt2.example:1883');
    h.takeActions();
    h.advanceToDeadline();
    expect(h.takeActions()).to.deep.equal([{ type: 'open' }]); // the same endpoint: the driver knows no other
  });
});

describe('client core: AUTH the client sends', () => {
  it('no AUTH without an Authentication Method in CONNECT [MQTT-4.12.0-7]', () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5 }));
    h.connect();
    h.takeWritten();
    h.takeEvents();
    h.apply(h.core.auth(0x19, undefined, h.now));
    expect(h.wire()).to.deep.equal([]);
    expect(errorOf(h.takeEvents(), 'error')?.message).to.match(/MQTT-4\.12\.0-7/);
  });

  it("an AUTH over the server's Maximum Packet Size is not sent [MQTT-3.2.2-15]", () => {
    const h = new CoreHarness(testConfig({ protocolVersion: 5, properties: { authenticationMethod: 'SCRAM' } }));
    h.connect({ properties: { maximumPacketSize: 64, authenticationMethod: 'SCRAM' } });
    h.takeWritten();
    h.takeEvents();
    h.apply(h.core.auth(0x19, { authenticationMethod: 'SCRAM', authenticationData: Buffer.alloc(100) }, h.now));
    expect(h.wire()).to.deep.equal([]);
    expect(errorOf(h.takeEvents(), 'error')).to.be.instanceOf(PacketTooLargeError);
    h.apply(h.core.auth(0x19, { authenticationMethod: 'SCRAM' }, h.now));
    expect(h.wire()).to.deep.equal(['auth']);
  });
});
