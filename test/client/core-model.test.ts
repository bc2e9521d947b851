/**
 * Random schedules of publishes, partial deliveries and connection cuts against a model
 * server (fast-check). Whatever the schedule:
 * - packet ids are 1..65535 and never name two messages at once [MQTT-2.3.1-1] [MQTT-2.2.1-3];
 * - a resent PUBLISH carries DUP [MQTT-3.3.1-1];
 * - a QoS 2 message the client saw PUBREC for is never published again (haka-send-path);
 * - once the network settles every publish completes exactly once, nothing QoS 1/2 is lost,
 *   and a server that keeps its session delivers each QoS 2 message exactly once.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { Packet } from 'mqtt-packet';
import { ClientState } from '../../src/client/core/types.js';
import { isTransition } from '../../src/client/core/transitions.js';
import { CoreHarness, testConfig } from './core-harness.js';

type Action = { kind: 'publish'; qos: 0 | 1 | 2 } | { kind: 'server-step' } | { kind: 'client-step' } | { kind: 'cut' };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('publish' as const), qos: fc.constantFrom(0 as const, 1 as const, 2 as const) }),
  fc.constant({ kind: 'server-step' as const }),
  fc.constant({ kind: 'server-step' as const }),
  fc.constant({ kind: 'client-step' as const }),
  fc.constant({ kind: 'client-step' as const }),
  fc.constant({ kind: 'cut' as const }),
);

class Model {
  readonly h: CoreHarness;
  toServer: Packet[] = [];
  toClient: Packet[] = [];
  /** Which message each packet id names on the wire, until the client got its final ack. */
  idOwner = new Map<number, string>();
  /** Ids the client has received PUBREC for and not yet PUBCOMP. */
  sawPubrec = new Set<number>();
  /** Payloads the model server has seen published, to tell a resend. */
  seen = new Set<string>();
  serverQos2 = new Map<number, string>();
  delivered: Record<0 | 1 | 2, string[]> = { 0: [], 1: [], 2: [] };
  published: Array<{ token: number; payload: string; qos: 0 | 1 | 2 }> = [];
  completions = new Map<number, number>();
  n = 0;

  constructor(maxInflight: number) {
    this.h = new CoreHarness(testConfig({ maxInflight, reconnectPeriod: 100, reconnectJitter: 0 }));
    this.h.connect({ sessionPresent: true });
    this.collect();
  }

  /** Moves what the core wrote onto the wire, checking the send-side invariants. */
  collect(): void {
    for (const p of this.h.takeWritten()) {
      if (p.cmd === 'publish' && p.qos > 0) {
        const id = p.messageId!;
        const payload = p.payload.toString();
        expect(id).to.be.within(1, 65535);
        const owner = this.idOwner.get(id);
        if (owner !== undefined) expect(owner, `id ${id} reused while in use`).to.equal(payload);
        this.idOwner.set(id, payload);
        expect(this.sawPubrec.has(id), `PUBLISH ${id} after PUBREC`).to.equal(false);
        if (this.seen.has(payload)) expect(p.dup, `resend of ${payload} without DUP`).to.equal(true);
      }
      if (p.cmd === 'publish') this.seen.add(p.payload.toString());
      this.toServer.push(p);
    }
    for (const e of this.h.takeEvents()) {
      if (e.type === 'publish-done' || e.type === 'operation-failed') this.completions.set(e.token, (this.completions.get(e.token) ?? 0) + 1);
    }
  }

  apply(a: Action): void {
    const h = this.h;
    const before = h.core.state;
    if (a.kind === 'publish') {
      const payload = `m${this.n++}`;
      const token = h.publish('t', payload, a.qos);
      this.published.push({ token, payload, qos: a.qos });
    } else if (a.kind === 'server-step') {
      const p = this.toServer.shift();
      if (p) this.serve(p);
    } else if (a.kind === 'client-step') {
      const p = this.toClient.shift();
      if (p && h.core.state === ClientState.Connected) {
        if (p.cmd === 'pubrec') this.sawPubrec.add(p.messageId!);
        if (p.cmd === 'puback' || p.cmd === 'pubcomp') {
          this.idOwner.delete(p.messageId!);
          this.sawPubrec.delete(p.messageId!);
        }
        h.feed(p);
      }
    } else {
      this.toServer = [];
      this.toClient = [];
      h.drop();
      h.advanceToDeadline();
      h.connect({ sessionPresent: true });
    }
    this.collect();
    // A cut passes through backoff and connecting, each step a listed transition.
    if (a.kind !== 'cut') expect(isTransition(before, h.core.state), `${before} → ${h.core.state}`).to.equal(true);
  }

  /** The model server: delivers, acknowledges, and keeps QoS 2 state across connections. */
  serve(p: Packet): void {
    if (p.cmd === 'publish') {
      const payload = p.payload.toString();
      if (p.qos === 0) this.delivered[0].push(payload);
      else if (p.qos === 1) {
        this.delivered[1].push(payload);
        this.toClient.push({ cmd: 'puback', messageId: p.messageId! });
      } else {
        if (!this.serverQos2.has(p.messageId!)) {
          this.serverQos2.set(p.messageId!, payload);
          this.delivered[2].push(payload);
        }
        this.toClient.push({ cmd: 'pubrec', messageId: p.messageId! });
      }
    } else if (p.cmd === 'pubrel') {
      this.serverQos2.delete(p.messageId!);
      this.toClient.push({ cmd: 'pubcomp', messageId: p.messageId! });
    }
  }

  /** Lets the network run without cuts until nothing moves. */
  settle(): void {
    for (let guard = 0; guard < 100_000 && (this.toServer.length > 0 || this.toClient.length > 0); guard++) {
      this.apply({ kind: this.toServer.length > 0 ? 'server-step' : 'client-step' });
    }
  }
}

describe('client core: random schedules against a model server (fast-check)', () => {
  it('keeps the packet-id, DUP and PUBREL rules, completes every publish once, and loses no QoS 1/2 message', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 120 }), fc.integer({ min: 1, max: 4 }), (actions, maxInflight) => {
        const m = new Model(maxInflight);
        for (const a of actions) m.apply(a);
        m.settle();
        for (const p of m.published) expect(m.completions.get(p.token), `completion of ${p.payload}`).to.equal(1);
        const want = (q: 0 | 1 | 2) => m.published.filter((p) => p.qos === q).map((p) => p.payload);
        expect(new Set(m.delivered[1])).to.deep.equal(new Set(want(1)));
        expect(m.delivered[2]).to.have.members(want(2));
        expect(m.delivered[2]).to.have.length(want(2).length);
        // QoS 0: at most once.
        expect(new Set(m.delivered[0]).size).to.equal(m.delivered[0].length);
        expect(m.h.core.packetIdsInUse).to.equal(0);
      }),
      { numRuns: 1000 },
    );
  });
});
