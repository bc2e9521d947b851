import { expect } from 'chai';
import type { IConnectPacket } from 'mqtt-packet';
import { SessionCore, SessionState, validateSessionConfig } from '../../src/session/core/index.js';
import { Harness, only, VERSIONS } from './harness.js';

describe('session core: CONNECT / CONNACK', () => {
  for (const v of VERSIONS) {
    describe(`MQTT ${v === 4 ? '3.1.1' : '5.0'}`, () => {
      it('accepts a CONNECT with code 0 and session present 0 for a new session [MQTT-3.2.2-2]', () => {
        const h = new Harness();
        const connack = h.connect(v, { clean: false });
        expect(connack).to.include({ sessionPresent: false });
        expect(v === 5 ? connack!.reasonCode : connack!.returnCode).to.equal(0);
        expect(h.core.state).to.equal(SessionState.Connected);
      });

      it('reports session present 1 when resuming with clean 0 [MQTT-3.2.2-3]', () => {
        const h = new Harness();
        h.connect(v, { clean: false, properties: v === 5 ? { sessionExpiryInterval: 60 } : undefined });
        h.drop();
        expect(h.core.state).to.equal(SessionState.Offline);
        expect(h.connect(v, { clean: false })!.sessionPresent).to.equal(true);
      });

      it('clean start discards an existing session and answers session present 0 [MQTT-3.2.2-1]', () => {
        const h = new Harness();
        h.connect(v, { clean: false, properties: v === 5 ? { sessionExpiryInterval: 60 } : undefined });
        h.drop();
        expect(h.connect(v, { clean: true })!.sessionPresent).to.equal(false);
        expect(h.actionsOf('resetSession')).to.have.length(1);
      });

      it('a second CONNECT is a protocol violation that closes the connection [MQTT-3.1.0-2]', () => {
        const h = new Harness();
        h.connect(v);
        const reply = h.send({ cmd: 'connect', clientId: 'client-1', protocolVersion: v, protocolId: 'MQTT' } as IConnectPacket);
        expect(h.closed).to.equal(true);
        if (v === 5) expect(only(reply, 'disconnect')[0]!.reasonCode).to.equal(0x82);
        else expect(reply).to.deep.equal([]);
      });

      it('refuses a zero-length client id without an assigned id [MQTT-3.1.3-8]', () => {
        const h = new Harness();
        const connack = h.connect(v, { clientId: '', clean: true });
        expect(v === 5 ? connack!.reasonCode : connack!.returnCode).to.equal(v === 5 ? 0x85 : 0x02);
        expect(h.closed).to.equal(true);
        expect(h.ended).to.equal(true);
      });

      it('a refused takeover leaves the live connection and session untouched [MQTT-3.1.4-2]', () => {
        const h = new Harness();
        h.connect(v);
        h.connect(v, { clientId: 'x'.repeat(2000) });
        expect(h.actionsOf('closePrevious')).to.have.length(0);
        expect(h.core.state).to.equal(SessionState.Connected);
        expect(h.ended).to.equal(false);
      });

      it('takeover closes the previous connection first (v5: DISCONNECT 0x8E) [MQTT-3.1.4-3]', () => {
        const h = new Harness();
        h.connect(v);
        const connack = h.connect(v);
        expect(h.actions.findIndex((a) => a.kind === 'closePrevious')).to.be.greaterThan(-1);
        const previous = h.actionsOf('closePrevious')[0]!;
        if (v === 5) expect(previous.packets).to.deep.include({ cmd: 'disconnect', reasonCode: 0x8e, properties: { reasonString: 'session taken over' } });
        else expect(previous.packets).to.deep.equal([]);
        expect(connack).to.not.equal(undefined);
        expect(h.core.state).to.equal(SessionState.Connected);
      });
    });
  }

  describe('MQTT 3.1.1 only', () => {
    it('accepts a zero-length client id with clean session 1 when the runtime assigns one [MQTT-3.1.3-6]', () => {
      const h = new Harness({ clientId: 'auto-1' });
      const connack = h.connect(4, { clientId: '', clean: true }, 'auto-1');
      expect(connack).to.deep.equal({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
    });

    it('refuses a zero-length client id with clean session 0 with return code 0x02 [MQTT-3.1.3-8]', () => {
      const h = new Harness({ clientId: 'auto-1' });
      expect(h.connect(4, { clientId: '', clean: false }, 'auto-1')!.returnCode).to.equal(0x02);
    });

    it('answers an unsupported protocol level with return code 0x01 and closes [MQTT-3.1.2-2]', () => {
      const h = new Harness();
      const connack = h.connect(3 as 4, { protocolId: 'MQIsdp' as 'MQTT' });
      expect(connack!.returnCode).to.equal(0x01);
      expect(h.closed).to.equal(true);
    });

    it('sends no CONNACK properties to a 3.1.1 client', () => {
      const h = new Harness({ config: { maxKeepAlive: 10 } });
      expect(h.connect(4, { keepalive: 100 })).to.deep.equal({ cmd: 'connack', sessionPresent: false, returnCode: 0 });
    });
  });

  describe('MQTT 5.0 only', () => {
    it('returns the assigned client identifier for an empty client id [MQTT-3.2.2-16]', () => {
      const h = new Harness({ clientId: 'auto-9' });
      const connack = h.connect(5, { clientId: '' }, 'auto-9');
      expect(connack!.reasonCode).to.equal(0);
      expect(connack!.properties!.assignedClientIdentifier).to.equal('auto-9');
    });

    it('advertises its limits in CONNACK properties', () => {
      const h = new Harness({
        config: { receiveMaximum: 5, maximumQoS: 1, retainAvailable: false, maxPacketSize: 4096, topicAliasMaximum: 3, wildcardSubscriptionAvailable: false, subscriptionIdentifiersAvailable: false, sharedSubscriptionAvailable: false },
      });
      const p = h.connect(5)!.properties!;
      expect(p).to.include({
        receiveMaximum: 5,
        maximumQoS: 1,
        retainAvailable: false,
        maximumPacketSize: 4096,
        topicAliasMaximum: 3,
        wildcardSubscriptionAvailable: false,
        subscriptionIdentifiersAvailable: false,
        sharedSubscriptionAvailable: false,
      });
    });

    it('caps the session expiry interval and says so in CONNACK', () => {
      const h = new Harness({ config: { maxSessionExpiryInterval: 100 } });
      expect(h.connect(5, { properties: { sessionExpiryInterval: 5000 } })!.properties!.sessionExpiryInterval).to.equal(100);
    });

    it('sends Server Keep Alive when maxKeepAlive caps the client or the client asked 0 [MQTT-3.2.2-21,22]', () => {
      const capped = new Harness({ config: { maxKeepAlive: 30 } });
      expect(capped.connect(5, { keepalive: 100 })!.properties!.serverKeepAlive).to.equal(30);
      const zero = new Harness({ config: { maxKeepAlive: 30 } });
      expect(zero.connect(5, { keepalive: 0 })!.properties!.serverKeepAlive).to.equal(30);
      const within = new Harness({ config: { maxKeepAlive: 30 } });
      expect(within.connect(5, { keepalive: 20 })!.properties!.serverKeepAlive).to.equal(undefined);
    });

    it('refuses an authentication method without a handler with 0x8C', () => {
      const h = new Harness();
      const connack = h.connect(5, { properties: { authenticationMethod: 'SCRAM-SHA-1' } });
      expect(connack!.reasonCode).to.equal(0x8c);
      expect(h.closed).to.equal(true);
    });

    it('refuses Receive Maximum 0 as a protocol error (CONNACK 0x82)', () => {
      const h = new Harness();
      expect(h.connect(5, { properties: { receiveMaximum: 0 } })!.reasonCode).to.equal(0x82);
    });

    it('refuses a will with RETAIN when retain is not available (0x9A) and a will QoS above maximum (0x9B) [MQTT-3.2.2-12,13]', () => {
      const noRetain = new Harness({ config: { retainAvailable: false } });
      expect(noRetain.connect(5, { will: { topic: 'w', payload: Buffer.from('x'), qos: 0, retain: true } })!.reasonCode).to.equal(0x9a);
      const qos1 = new Harness({ config: { maximumQoS: 1 } });
      expect(qos1.connect(5, { will: { topic: 'w', payload: Buffer.from('x'), qos: 2, retain: false } })!.reasonCode).to.equal(0x9b);
    });

    it('refuses a will topic with a wildcard with 0x90', () => {
      const h = new Harness();
      expect(h.connect(5, { will: { topic: 'a/+', payload: Buffer.from('x'), qos: 0, retain: false } })!.reasonCode).to.equal(0x90);
    });

    it('refuses a will whose Response Topic is no valid Topic Name: CONNACK 0x82 for a wildcard or empty one, 0x81 for U+0000, and no session (the will would break [MQTT-3.3.2-13,14])', () => {
      for (const [responseTopic, code] of [['reply/#', 0x82], ['+', 0x82], ['', 0x82], ['\u0000', 0x81]] as const) {
        const h = new Harness();
        const will = { topic: 'w', payload: Buffer.from('x'), qos: 0 as const, retain: false, properties: { responseTopic } };
        expect(h.connect(5, { will })!.reasonCode, JSON.stringify(responseTopic)).to.equal(code);
        expect(h.ended).to.equal(true);
      }
      const ok = new Harness();
      const will = { topic: 'w', payload: Buffer.from('x'), qos: 0 as const, retain: false, properties: { responseTopic: 'reply/w' } };
      expect(ok.connect(5, { will })!.reasonCode).to.equal(0);
    });

    it('includes a reason string on a refusing CONNACK unless Request Problem Information is 0 [MQTT-3.1.2-29]', () => {
      const asked = new Harness();
      expect(asked.connect(5, { properties: { receiveMaximum: 0 } })!.properties!.reasonString).to.be.a('string');
      const notAsked = new Harness();
      expect(notAsked.connect(5, { properties: { receiveMaximum: 0, requestProblemInformation: false } })!.properties).to.equal(undefined);
    });

    it('runs enhanced authentication through the auth hook (AUTH 0x18, then CONNACK with method)', () => {
      const steps: string[] = [];
      const h = new Harness({
        config: {
          auth: {
            methods: ['TOKEN'],
            start: (_m, data) => (steps.push(`start:${data}`), { kind: 'continue', data: Buffer.from('challenge') }),
            continue: (_m, data) => (steps.push(`continue:${data}`), String(data) === 'ok' ? { kind: 'success' } : { kind: 'fail' }),
          },
        },
      });
      h.connect(5, { properties: { authenticationMethod: 'TOKEN', authenticationData: Buffer.from('hi') } });
      expect(h.core.state).to.equal(SessionState.Authenticating);
      expect(only(h.out, 'auth')[0]!.reasonCode).to.equal(0x18);
      const reply = h.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'TOKEN', authenticationData: Buffer.from('ok') } });
      expect(only(reply, 'connack')[0]!.properties!.authenticationMethod).to.equal('TOKEN');
      expect(h.core.state).to.equal(SessionState.Connected);
      expect(steps).to.deep.equal(['start:hi', 'continue:ok']);
    });

    it('a 3.1.1 connection taking over a 5.0 one: the old one still gets DISCONNECT 0x8E in 5.0 [MQTT-3.1.4-3]', () => {
      const h = new Harness();
      h.connect(5);
      h.connect(4);
      const previous = h.actionsOf('closePrevious')[0]!;
      expect(previous.protocolVersion).to.equal(5);
      expect(previous.packets.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).to.deep.equal([['disconnect', 0x8e]]);
      expect(h.core.protocolVersion).to.equal(4);
    });

    it('re-authenticates on AUTH 0x19 and closes with the hook\'s code when it fails', () => {
      let allow = true;
      const h = new Harness({
        config: {
          auth: {
            methods: ['TOKEN'],
            start: () => (allow ? { kind: 'success', data: Buffer.from('welcome') } : { kind: 'fail', reasonCode: 0x87 }),
            continue: () => ({ kind: 'fail' }),
          },
        },
      });
      const connack = h.connect(5, { properties: { authenticationMethod: 'TOKEN' } });
      expect(connack!.properties).to.deep.include({ authenticationMethod: 'TOKEN', authenticationData: Buffer.from('welcome') });
      const ok = h.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'TOKEN' } });
      expect(ok).to.deep.equal([{ cmd: 'auth', reasonCode: 0x00, properties: { authenticationMethod: 'TOKEN', authenticationData: Buffer.from('welcome') } }]);
      allow = false;
      const denied = h.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'TOKEN' } });
      expect(only(denied, 'disconnect')[0]!.reasonCode).to.equal(0x87);
      expect(h.closed).to.equal(true);
    });

    it('refuses CONNECT with the hook\'s failure code and leaves no session', () => {
      const h = new Harness({ config: { auth: { methods: ['TOKEN'], start: () => ({ kind: 'fail', reasonCode: 0x86 }), continue: () => ({ kind: 'fail' }) } } });
      expect(h.connect(5, { properties: { authenticationMethod: 'TOKEN' } })!.reasonCode).to.equal(0x86);
      expect(h.ended).to.equal(true);
    });

    it('only AUTH or DISCONNECT may come before the CONNACK of an enhanced authentication; a fault then gets a refusing CONNACK [MQTT-3.1.2-30, MQTT-3.2.0-1]', () => {
      const h = new Harness({ config: { auth: { methods: ['TOKEN'], start: () => ({ kind: 'continue' }), continue: () => ({ kind: 'success' }) } } });
      h.connect(5, { properties: { authenticationMethod: 'TOKEN' } });
      const reply = h.send({ cmd: 'pingreq' });
      expect(reply.map((p) => p.cmd)).to.deep.equal(['connack']);
      expect(only(reply, 'connack')[0]!.reasonCode).to.equal(0x82);
      expect(h.ended).to.equal(true);
    });

    it('treats AUTH from a client that sent no Authentication Method as a protocol error (MQTT 5.0 section 4.12)', () => {
      const h = new Harness();
      h.connect(5);
      const reply = h.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'X' } });
      expect(only(reply, 'disconnect')[0]!.reasonCode).to.equal(0x82);
    });
  });

  describe('validateSessionConfig', () => {
    it('fills every default', () => {
      const c = validateSessionConfig({});
      expect(c).to.include({ maxInflight: 20, maxQueued: 1000, receiveMaximum: 100, maximumQoS: 2, retainAvailable: true });
    });

    it('throws a TypeError naming a bad option', () => {
      expect(() => validateSessionConfig({ maxInflight: 0 })).to.throw(TypeError, /maxInflight/);
      expect(() => validateSessionConfig({ maximumQoS: 3 as 2 })).to.throw(TypeError, /maximumQoS/);
      expect(() => validateSessionConfig({ retainAvailable: 'yes' as unknown as boolean })).to.throw(TypeError, /retainAvailable/);
      expect(() => validateSessionConfig({ nope: 1 } as never)).to.throw(TypeError, /nope/);
    });

    it('a core on a refused first CONNECT ends the session', () => {
      const core = new SessionCore(validateSessionConfig({}), { sessionId: 1, clientId: 'c' });
      const out = core.attach({ cmd: 'connect', clientId: 'c', protocolVersion: 6 as 5, protocolId: 'MQTT' }, 0);
      expect(out.actions.map((a) => a.kind)).to.deep.equal(['close', 'endSession']);
      expect(core.state).to.equal(SessionState.Ended);
    });
  });
});
