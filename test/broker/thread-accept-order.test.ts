/**
 * Orders of events across threads that the session threads' accepting can meet, forced with the
 * test gate (`startBrokerWith(..., { hold })`, broker/thread-gate.ts: an item a thread sends main
 * is held, with that thread's later items, until the test lets it go) and `acceptOnly` (which
 * thread accepts the next connection). No sleeps: each step awaits the item or packet it needs.
 * Thread 0 is "A", thread 1 is "B" (start order); sessions are made on B first (B alone
 * accepts), then A accepts the connection that has to be released to B.
 * The native hand-off addon must be built (WEFT_FD_HANDOFF_ADDON, as for thread-accept.test.ts).
 */
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { expect } from 'chai';
import type { IConnackPacket, Packet } from 'mqtt-packet';
import type { Broker, BrokerOptions } from '../../src/broker/index.js';
import { fdHandoff } from '../../src/broker/fd-handoff.js';
import type { ReleasedMessage } from '../../src/broker/thread-messages.js';
import {
  acceptOnly,
  dropAccepted,
  sessionThreadOf,
  sessionThreads,
  startBrokerWith,
  type HoldItem,
  type ThreadItem,
} from '../../src/broker/test-hooks.js';
import { packetsUntilClosed, RawClient, until } from './helpers.js';

const A = 0;
const B = 1;

interface Rule {
  ordinal: number;
  match: (item: ThreadItem) => boolean;
  /** Runs as the item arrives, before main handles it. */
  then: ((item: ThreadItem) => void) | undefined;
  resolve: (item: ThreadItem) => void;
  /** Holds the item (and its thread's later ones) until it settles. */
  until: Promise<void> | undefined;
}

/** The test's side of the gate: waits for items, and holds the ones it is asked to. */
class Gate {
  private readonly rules: Rule[] = [];

  readonly hold: HoldItem = (ordinal, item) => {
    let held: Promise<void> | undefined;
    for (const rule of [...this.rules]) {
      if (rule.ordinal !== ordinal || !rule.match(item)) continue;
      this.rules.splice(this.rules.indexOf(rule), 1);
      rule.then?.(item);
      rule.resolve(item);
      held ??= rule.until;
    }
    return held;
  };

  /** The next item of thread `ordinal` that `match` accepts; `then` runs before main handles it. */
  next(ordinal: number, match: (item: ThreadItem) => boolean, then?: (item: ThreadItem) => void): Promise<ThreadItem> {
    return new Promise((resolve) => this.rules.push({ ordinal, match, then, resolve, until: undefined }));
  }

  /** Holds the next item of thread `ordinal` that `match` accepts, until `release()`. */
  holdNext(ordinal: number, match: (item: ThreadItem) => boolean): { item: Promise<ThreadItem>; release: () => void } {
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    const item = new Promise<ThreadItem>((resolve) => this.rules.push({ ordinal, match, then: undefined, resolve, until }));
    return { item, release };
  }
}

/** A connection's `released` (not acceptOnly's release of nothing, connection 0). */
const isRelease = (item: ThreadItem): boolean => item.t === 'released' && item.connection !== 0;
const isAccepted = (item: ThreadItem): boolean => item.t === 'accepted';

/** Two session threads, B alone accepting at first, items passing `gate`. */
function gatedBroker(gate: Gate, options: BrokerOptions = {}): Promise<Broker> {
  return startBrokerWith({ port: 0, logLevel: 'silent', threads: 2, ...options }, { listensOn: (ordinal) => ordinal === B, hold: gate.hold });
}

function connectPacket(clientId: string): Packet {
  return { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 0 } as Packet;
}

/** A raw 3.1.1 client connected as `clientId` (CONNACK 0 checked). */
async function connected(broker: Broker, clientId: string, opened: RawClient[]): Promise<RawClient> {
  const raw = await RawClient.open(broker);
  opened.push(raw);
  const connack = (await raw.connect(clientId)) as IConnackPacket;
  expect([connack.cmd, connack.returnCode]).to.deep.equal(['connack', 0]);
  return raw;
}

/**
 * A CONNECT for `clientId` accepted by A and released by it for B (the session's thread), its
 * `released` held (and with it everything A sends after): the connection's fd is on its way.
 * As main reads A's `accepted`, A is told to stop accepting (before the release, so its
 * `released` says it stopped) and B to accept, so the test's next connection goes to B.
 */
async function releasedOnTheWay(gate: Gate, broker: Broker, clientId: string, opened: RawClient[]): Promise<{ c1: RawClient; released: { item: Promise<ThreadItem>; release: () => void } }> {
  await acceptOnly(broker, A);
  let bAccepts: Promise<void> | undefined;
  void gate.next(A, isAccepted, () => (bAccepts = acceptOnly(broker, B)));
  const released = gate.holdNext(A, isRelease);
  const c1 = await RawClient.open(broker);
  opened.push(c1);
  c1.send(connectPacket(clientId));
  await released.item;
  await bAccepts;
  return { c1, released };
}

/** The inodes of this process's open sockets, from /proc/self/fd (Linux). */
function openSocketInodes(): Set<number> {
  const inodes = new Set<number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (target) inodes.add(Number(target[1]));
    } catch {
      // Closed between the listing and the read (the directory's own fd, for one).
    }
  }
  return inodes;
}

describe('broker: session threads accepting, orders of events across threads', function () {
  this.timeout(20000);

  before(function () {
    if (fdHandoff() === undefined) this.skip();
  });

  it('a released connection older than the one its session already has is closed, not attached after it [MQTT-3.1.4-2] (3.1.1; [MQTT-3.1.4-3] in 5.0)', async () => {
    const gate = new Gate();
    const broker = await gatedBroker(gate);
    const opened: RawClient[] = [];
    try {
      await connected(broker, 'x', opened);
      expect(sessionThreadOf(broker, 'x')).to.equal(sessionThreads(broker)[B]!.threadId);
      // C1 for 'x', accepted by A: main asks A to release it to B; its fd is held on the way.
      const { c1, released } = await releasedOnTheWay(gate, broker, 'x', opened);
      // C2 for 'x', accepted by B, the session's own thread: attached at once while C1's fd is
      // still on its way. C2 was decided later, so it is the one that takes over [MQTT-3.1.4-2].
      const c2 = await connected(broker, 'x', opened);
      const firstClosed = Promise.race([c1.closedPromise.then(() => 'C1'), c2.closedPromise.then(() => 'C2')]);
      released.release();
      expect(await firstClosed).to.equal('C1');
      // C1 never connected: no CONNACK, closed.
      expect(await packetsUntilClosed(c1)).to.deep.equal([]);
      c2.send({ cmd: 'pingreq' } as Packet);
      expect((await c2.next()).cmd).to.equal('pingresp');
      await until(() => broker.stats().connections === 1, () => JSON.stringify(broker.stats()));
    } finally {
      for (const raw of opened) raw.destroy();
      await broker.close();
    }
  });

  it('a release answered while the broker closes: main closes its fd (no fd left open), and the client is closed', async function () {
    if (!existsSync('/proc/self/fd')) this.skip();
    const gate = new Gate();
    const broker = await gatedBroker(gate);
    const opened: RawClient[] = [];
    let handed: { fd: number; ino: number } | undefined;
    try {
      await connected(broker, 'y', opened);
      // A hosts no session: nothing of A's comes after its `released` to let main go on (with
      // one, its `ended` would follow the `released` on A's link, and main would read both).
      await acceptOnly(broker, A);
      const released = gate.holdNext(A, isRelease);
      const c1 = await RawClient.open(broker);
      opened.push(c1);
      c1.send(connectPacket('y'));
      const item = (await released.item) as ReleasedMessage;
      expect(item.fd).to.be.a('number');
      handed = { fd: item.fd!, ino: item.ino! };
      expect(openSocketInodes().has(handed.ino), 'the released fd is open while on its way').to.equal(true);
      // close() while A's answer is on its way: B's session ends; main must not close the links
      // (and drop the answer with its fd) before the answer came.
      const ended = gate.next(B, (i) => i.t === 'ended');
      const closing = broker.close();
      await ended;
      // One turn: what main does on the last session's end (microtasks only) is done by then.
      await new Promise((resolve) => setImmediate(resolve));
      released.release();
      await closing;
      expect(openSocketInodes().has(handed.ino), 'the released fd is still open after close()').to.equal(false);
      await c1.waitClosed();
    } finally {
      // Only if the test failed: an fd left open would outlive the test.
      if (handed !== undefined) fdHandoff()!.closeOrphan(handed);
      for (const raw of opened) raw.destroy();
      await broker.close();
    }
  });

  it('a released connection whose session ended on the way, refused at maxConnections, gets 0x03 from main on the duplicate fd', async () => {
    const gate = new Gate();
    const broker = await gatedBroker(gate, { maxConnections: 2 });
    const opened: RawClient[] = [];
    try {
      const z0 = await connected(broker, 'z', opened);
      const w0 = await connected(broker, 'w', opened);
      // 'z' on B (B accepted it, both threads empty); 'w' on A, the less loaded one.
      expect(sessionThreadOf(broker, 'z')).to.equal(sessionThreads(broker)[B]!.threadId);
      expect(sessionThreadOf(broker, 'w')).to.equal(sessionThreads(broker)[A]!.threadId);
      // C1 for 'z', accepted by A: a takeover of Z0 (admitted past maxConnections, 3 counted),
      // released by A for B. Its `released` is held, and with it everything A sends after.
      const { c1, released } = await releasedOnTheWay(gate, broker, 'z', opened);
      // Z0 leaves: its clean session ends while C1's fd is on its way (2 counted: W0, C1).
      const zEnded = gate.next(B, (i) => i.t === 'ended');
      z0.send({ cmd: 'disconnect' } as Packet);
      await zEnded;
      // W1 takes over W0 (admitted as a takeover, 3 counted): A closes W0, but A's word of it
      // comes after its `released` of C1, so W0 still counts when main reads that.
      const w1 = await connected(broker, 'w', opened);
      await w0.waitClosed();
      expect(broker.stats().connections).to.equal(3);
      released.release();
      // C1's session is gone: decided again as a new arrival, refused at maxConnections (W0 and W1
      // count). Main answers on the duplicate fd: 0x03 Server unavailable, Session Present 0
      // [MQTT-3.2.2-4], then closes [MQTT-3.2.2-5].
      const connack = (await c1.next()) as IConnackPacket;
      expect([connack.cmd, connack.returnCode, connack.sessionPresent]).to.deep.equal(['connack', 3, false]);
      await c1.waitClosed();
      expect(broker.stats().counters.refusedConnections).to.equal(1);
      await until(() => broker.stats().connections === 1, () => JSON.stringify(broker.stats()));
      w1.send({ cmd: 'pingreq' } as Packet);
      expect((await w1.next()).cmd).to.equal('pingresp');
    } finally {
      for (const raw of opened) raw.destroy();
      await broker.close();
    }
  });

  it('an attach for an accepted socket that is already gone reports the connection lost (no socketless link), and the session started for it ends', async () => {
    // Not reachable while main answers each `accepted` once: the thread is made to close the
    // socket first (dropAccepted, before main's answer), then main attaches it to a new session.
    const gate = new Gate();
    const broker = await startBrokerWith({ port: 0, logLevel: 'silent', threads: 1 }, { hold: gate.hold });
    const raw = await RawClient.open(broker);
    try {
      void gate.next(0, isAccepted, (item) => dropAccepted(broker, 0, (item as { local: number }).local));
      raw.send(connectPacket('d'));
      expect(await packetsUntilClosed(raw)).to.deep.equal([]);
      // The session's thread reported the connection closed: main counts it no more.
      await until(() => broker.stats().connections === 0, () => JSON.stringify(broker.stats()));
      // The clean session main started for it had no other connection: it does not stay behind.
      await until(() => broker.stats().sessions === 0, () => JSON.stringify(broker.stats()));
    } finally {
      raw.destroy();
      await broker.close();
    }
  });

  it('a thread told to stop listening closes the sockets still reading their first packet and gives their places back', async () => {
    const gate = new Gate();
    const broker = await gatedBroker(gate);
    const silent: RawClient[] = [];
    try {
      await acceptOnly(broker, A);
      for (let i = 0; i < 3; i++) silent.push(await RawClient.open(broker));
      await until(() => broker.stats().pendingConnections === 3, () => `3 pending, saw ${broker.stats().pendingConnections}`);
      // A stops accepting ('unlisten'): what it accepted and main knows nothing of is closed.
      await acceptOnly(broker, B);
      await Promise.all(silent.map((raw) => raw.waitClosed()));
      await until(() => broker.stats().pendingConnections === 0, () => `0 pending, saw ${broker.stats().pendingConnections}`);
      // B accepts, and the places are free for it.
      await connected(broker, 'after', silent);
    } finally {
      for (const raw of silent) raw.destroy();
      await broker.close();
    }
  });
});
