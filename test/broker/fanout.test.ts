/**
 * Fanout: routes keep each publisher's order even when the register is mid-write
 * [MQTT-4.6.0-6], and deliveries are grouped by the thread hosting each session.
 */
import { expect } from 'chai';
import { Fanout } from '../../src/broker/fanout.js';
import { SessionThreadTable } from '../../src/broker/session-threads.js';
import { SessionBacklog, backlogLimits } from '../../src/broker/session-backlog.js';
import type { Delivery, SubscriptionRegister } from '../../src/register/types.js';
import type { RoutedMessage } from '../../src/session/core/api.js';

/** A register whose writer "holds the lock" until `release()`: tryMatch says undefined meanwhile. */
class BusyRegister {
  busy = false;
  private waiters: (() => void)[] = [];
  constructor(private readonly deliveries: Delivery[]) {}
  tryMatch(): readonly Delivery[] | undefined {
    return this.busy ? undefined : this.deliveries;
  }
  async match(): Promise<readonly Delivery[]> {
    while (this.busy) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.deliveries;
  }
  release(): void {
    this.busy = false;
    for (const wake of this.waiters.splice(0)) wake();
  }
}

function message(n: number, qos: 0 | 1 = 0): RoutedMessage {
  return { topic: 't', payload: new Uint8Array([n]), qos, retain: false };
}

/** These tests route only to sessions of this thread: no mailbox is ever opened. */
const noMailbox = (): void => {
  throw new Error('no mailbox expected');
};

const backlog = (): SessionBacklog => SessionBacklog.create(16, backlogLimits(8, 1000));

const delivery = (session: number): Delivery => ({ session, qos: 1, retainAsPublished: false, subscriptionIds: [] });

describe('Fanout', () => {
  it('keeps the order of routes when one has to wait for a register write [MQTT-4.6.0-6]', async () => {
    const register = new BusyRegister([delivery(7)]);
    const table = SessionThreadTable.create(16);
    table.place(7, 1);
    const received: number[] = [];
    const matched: number[] = [];
    const fanout = new Fanout(register as unknown as SubscriptionRegister, table, backlog(), 1, (session, m) => {
      received.push(m.payload[0]!);
      return session === 7;
    }, noMailbox);
    fanout.route(message(1), 3, (n) => matched.push(n));
    register.busy = true;
    fanout.route(message(2), 3, (n) => matched.push(n));
    register.busy = false; // free again, but route 3 must still wait behind route 2
    fanout.route(message(3), 3, (n) => matched.push(n));
    expect(received).to.deep.equal([1]);
    register.busy = true;
    await Promise.resolve();
    register.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(received).to.deep.equal([1, 2, 3]);
    expect(matched).to.deep.equal([1, 1, 1]);
    fanout.close();
  });

  it('delivers to sessions of this thread directly and skips sessions no thread hosts', () => {
    const register = new BusyRegister([delivery(5), delivery(6)]);
    const table = SessionThreadTable.create(16);
    table.place(5, 1); // session 6 is not placed (gone, or not started)
    const local: number[] = [];
    const fanout = new Fanout(register as unknown as SubscriptionRegister, table, backlog(), 1, (session) => {
      local.push(session);
      return true;
    }, noMailbox);
    let matched = -1;
    fanout.route(message(1), 0, (n) => (matched = n));
    expect(local).to.deep.equal([5]);
    expect(matched).to.equal(2);
    expect(fanout.counters.unplaced).to.equal(1);
    fanout.close();
  });

  it('counts QoS 1/2 deliveries in the backlog and reports the first congested subscriber', () => {
    const register = new BusyRegister([delivery(5)]);
    const table = SessionThreadTable.create(16);
    table.place(5, 1);
    const counts = backlog(); // high water 4
    const fanout = new Fanout(register as unknown as SubscriptionRegister, table, counts, 1, () => true, noMailbox);
    expect(fanout.route(message(1, 0), 3)).to.equal(undefined);
    expect(counts.depth(5), 'QoS 0 is not counted').to.equal(0);
    for (let n = 1; n <= 3; n++) expect(fanout.route(message(n, 1), 3)).to.equal(undefined);
    const congestion = fanout.route(message(4, 1), 3);
    expect(counts.depth(5)).to.equal(4);
    expect(congestion?.session).to.equal(5);
    expect(congestion?.since).to.be.greaterThan(0);
    fanout.close();
  });
});
