/**
 * The one rule for resetting the reconnect backoff (`backoff.ts`): a connection that did not
 * stay up `minConnectedTimeToResetBackoff` (default `maxReconnectPeriod`) after its CONNACK
 * does not reset it, however it was lost. Settable clock, no timers.
 */
import { expect } from 'chai';
import { ClientState, type CoreConfig } from '../../src/client/core/types.js';
import { resolveCoreConfig } from '../../src/client/options.js';
import { InvalidArgumentError } from '../../src/client/errors.js';
import { CoreHarness, testConfig } from './core-harness.js';

/** reconnectPeriod 1 s, maxReconnectPeriod 8 s, no jitter: delays 1000, 2000, 4000, 8000, 8000 ... */
const BACKOFF = { reconnectPeriod: 1000, maxReconnectPeriod: 8000, reconnectJitter: 0 } as const;

/** Keeps the connection alive `ms` (an unsolicited PINGRESP every 500 ms satisfies recvIdleAbortPeriod). */
function stayUp(h: CoreHarness, ms: number): void {
  for (let left = ms; left > 0; left -= 500) {
    h.advance(Math.min(500, left));
    h.feed({ cmd: 'pingresp' });
  }
  expect(h.core.state).to.equal(ClientState.Connected);
}

/** Ways a connection is lost soon after its CONNACK; each ends it at once or within 1 s. */
const LOSSES: Array<{ name: string; config: Partial<CoreConfig>; lose(h: CoreHarness): void }> = [
  {
    name: 'MQTT 3.1.1: the server closes the socket (how a 3.1.1 server ends a taken-over connection [MQTT-3.1.4-2], or an auth plugin, an ACL kick, an overloaded server)',
    config: { protocolVersion: 4 },
    lose: (h) => h.drop(),
  },
  { name: 'MQTT 5.0: the socket closes', config: { protocolVersion: 5 }, lose: (h) => h.drop() },
  {
    name: 'keepalive: nothing received for recvIdleAbortPeriod (1 s)',
    config: { protocolVersion: 4, recvIdleAbortPeriod: 1 },
    lose: (h) => h.advance(1000),
  },
  {
    name: 'MQTT 5.0: server DISCONNECT 0x8B Server shutting down',
    config: { protocolVersion: 5 },
    lose: (h) => h.feed({ cmd: 'disconnect', reasonCode: 0x8b }),
  },
  {
    name: 'a protocol violation by the server (a PUBLISH topic with a wildcard [MQTT-3.3.2-2])',
    config: { protocolVersion: 5 },
    lose: (h) => h.feed({ cmd: 'publish', topic: 'a/+', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }),
  },
];

describe('client core: a connection must stay up minConnectedTimeToResetBackoff to reset the backoff', () => {
  for (const loss of LOSSES) {
    it(`${loss.name}: soon after CONNACK it is one more failed attempt (1, 2, 4, 8, 8 s); after a connection that lived maxReconnectPeriod the backoff starts again`, () => {
      const h = new CoreHarness(testConfig({ ...BACKOFF, ...loss.config }));
      h.connect();
      const delays: number[] = [];
      for (let i = 0; i < 5; i++) {
        loss.lose(h);
        expect(h.core.state).to.equal(ClientState.Backoff);
        delays.push(h.deadline! - h.now);
        h.advanceToDeadline();
        h.connect();
        expect(h.core.state).to.equal(ClientState.Connected);
      }
      expect(delays).to.deep.equal([1000, 2000, 4000, 8000, 8000]);
      stayUp(h, 8000);
      loss.lose(h);
      expect(h.deadline! - h.now).to.equal(1000);
    });
  }

  it('the default minimum is maxReconnectPeriod: a connection lost 7999 ms after CONNACK does not reset the backoff, one lost at 8000 ms does', () => {
    const h = new CoreHarness(testConfig({ ...BACKOFF }));
    h.connect();
    h.drop();
    h.advanceToDeadline();
    h.connect();
    h.drop(); // two short connections: the next delay would be 4000
    h.advanceToDeadline();
    h.connect();
    stayUp(h, 7999);
    h.drop();
    expect(h.deadline! - h.now).to.equal(4000);
    h.advanceToDeadline();
    h.connect();
    stayUp(h, 8000);
    h.drop();
    expect(h.deadline! - h.now).to.equal(1000);
  });

  it('an explicit minConnectedTimeToResetBackoff replaces the default: 2000 ms up resets, 1999 ms does not', () => {
    const h = new CoreHarness(testConfig({ ...BACKOFF, minConnectedTimeToResetBackoff: 2000 }));
    h.connect();
    h.drop();
    h.advanceToDeadline();
    h.connect();
    stayUp(h, 1999);
    h.drop();
    expect(h.deadline! - h.now).to.equal(2000);
    h.advanceToDeadline();
    h.connect();
    stayUp(h, 2000);
    h.drop();
    expect(h.deadline! - h.now).to.equal(1000);
  });

  it('minConnectedTimeToResetBackoff 0: every CONNACK resets the backoff (the rule before this option)', () => {
    const h = new CoreHarness(testConfig({ ...BACKOFF, minConnectedTimeToResetBackoff: 0 }));
    h.connect();
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      h.drop();
      delays.push(h.deadline! - h.now);
      h.advanceToDeadline();
      h.connect();
    }
    expect(delays).to.deep.equal([1000, 1000, 1000]);
  });

  it('not resetting is not a penalty: the count carries on from before the CONNACK, so failed attempts and short connections add up', () => {
    const h = new CoreHarness(testConfig({ ...BACKOFF, retryFirstConnect: true }));
    h.apply(h.core.start(h.now));
    h.apply(h.core.transportFailed(new Error('ECONNREFUSED'), h.now)); // 1000
    h.advanceToDeadline();
    h.apply(h.core.transportFailed(new Error('ECONNREFUSED'), h.now)); // 2000
    h.advanceToDeadline();
    h.connect();
    h.drop(); // a short connection after two failed attempts: the third delay
    expect(h.deadline! - h.now).to.equal(4000);
  });

  it('the default follows maxReconnectPeriod when reconnect(changes) changes it', () => {
    const h = new CoreHarness(testConfig({ ...BACKOFF }));
    h.connect();
    h.apply(h.core.reconnect({ maxReconnectPeriod: 3000 }, h.now));
    const delays: number[] = [];
    for (const upFor of [0, 0, 2999, 3000]) {
      h.connect();
      stayUp(h, upFor);
      h.drop();
      delays.push(h.deadline! - h.now);
      h.advanceToDeadline();
    }
    // 2999 ms is short of the new maximum (3000), 3000 ms is not (the old 8000 would still grow it).
    expect(delays).to.deep.equal([1000, 2000, 3000, 1000]);
  });

  /**
   * Two MQTT 3.1.1 clients with one client id: the server closes the older connection when the
   * other connects [MQTT-3.1.4-2], without a DISCONNECT, so neither can tell a takeover from a
   * lost connection. Returns the times each CONNECTs during `window` ms after the second starts.
   */
  function twins(config: CoreConfig, window: number): { a: number[]; b: number[] } {
    const a = new CoreHarness(config);
    const b = new CoreHarness(config);
    const connects = new Map<CoreHarness, number[]>([
      [a, []],
      [b, []],
    ]);
    const connectThrowingOff = (who: CoreHarness, other: CoreHarness): void => {
      who.connect();
      connects.get(who)!.push(who.now);
      other.now = who.now;
      if (other.core.state === ClientState.Connected) other.drop();
    };
    connectThrowingOff(a, b);
    // The second starts an hour later: the first's connection has long been stable.
    const start = a.now + 3_600_000;
    a.now = start;
    b.now = start;
    connectThrowingOff(b, a);
    for (;;) {
      const waiting = a.core.state === ClientState.Backoff ? a : b;
      const other = waiting === a ? b : a;
      expect(waiting.core.state).to.equal(ClientState.Backoff);
      if (waiting.deadline! > start + window) break;
      waiting.advanceToDeadline();
      connectThrowingOff(waiting, other);
    }
    return { a: connects.get(a)!.slice(1), b: connects.get(b)! };
  }

  const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

  it('[MQTT-3.1.4-2] two 3.1.1 clients with one client id throw each other off ever more slowly: once warmed up, each CONNECTs at most once per maxReconnectPeriod', () => {
    const { a, b } = twins(testConfig({ protocolVersion: 4, ...BACKOFF }), 120_000);
    // A's connection had lived an hour: its first reconnect comes after reconnectPeriod; from then
    // on every connection of either is short, so each waits longer, up to maxReconnectPeriod.
    expect(gaps(a).slice(0, 3)).to.deep.equal([3000, 6000, 12000]);
    expect(gaps(b).slice(0, 3)).to.deep.equal([2000, 4000, 8000]);
    for (const g of gaps(a).slice(3)) expect(g).to.be.at.least(8000);
    for (const g of gaps(b).slice(3)) expect(g).to.be.at.least(8000);
    expect(a.length + b.length).to.be.at.most(30); // 120 in all (one a second) when every CONNACK resets the backoff
  });

  it('the same twins with every CONNACK resetting the backoff (minConnectedTimeToResetBackoff 0) kick each other off every reconnectPeriod for ever', () => {
    const { a, b } = twins(testConfig({ protocolVersion: 4, ...BACKOFF, minConnectedTimeToResetBackoff: 0 }), 120_000);
    expect(new Set(gaps(a))).to.deep.equal(new Set([2000]));
    expect(new Set(gaps(b))).to.deep.equal(new Set([2000]));
  });
});

describe('client options: minConnectedTimeToResetBackoff', () => {
  it('unset stays unset (the core then uses maxReconnectPeriod), a value is kept, and reconnect options inherit it', () => {
    expect(resolveCoreConfig({}).minConnectedTimeToResetBackoff).to.equal(undefined);
    const base = resolveCoreConfig({ minConnectedTimeToResetBackoff: 15_000 });
    expect(base.minConnectedTimeToResetBackoff).to.equal(15_000);
    expect(resolveCoreConfig({ keepalive: 5 }, base).minConnectedTimeToResetBackoff).to.equal(15_000);
    expect(resolveCoreConfig({ minConnectedTimeToResetBackoff: 0 }).minConnectedTimeToResetBackoff).to.equal(0);
  });

  it('a bad value is refused naming the option', () => {
    expect(() => resolveCoreConfig({ minConnectedTimeToResetBackoff: -1 })).to.throw(InvalidArgumentError, /^minConnectedTimeToResetBackoff: /);
  });
});
