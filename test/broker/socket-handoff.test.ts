/**
 * Main hands each connection's socket to its session's thread after the CONNECT
 * (`broker/fd-handoff.ts`): a duplicate fd the thread opens, main's handle destroyed. These tests
 * check what that must keep true, end to end over TCP: no fd outlives its connection, no byte the
 * client sent around the hand-off is lost or reordered, a dead thread's sockets close, the
 * connection count follows handed-off connections, and the relayed path (socketHandoff: false)
 * still carries the same traffic.
 *
 * The tests that need the hand-off skip when the native addon is not loadable from the build
 * being run (`fdHandoff()` undefined): it is looked up relative to the compiled
 * `src/broker/fd-handoff.js` (`../../../native/fd-handoff/...`) or at `WEFT_FD_HANDOFF_ADDON`,
 * which a build into another outDir sets.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import type { IConnackPacket, IPublishPacket, Packet } from 'mqtt-packet';
import type { Broker } from '../../src/broker/index.js';
import type { BrokerOptions } from '../../src/broker/options.js';
import { fdHandoff } from '../../src/broker/fd-handoff.js';
import { crashSessionThread, sessionThreadOf, socketOwnerOf } from '../../src/broker/test-hooks.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { client, forceClose, nextMessages, RawClient, testBroker, until } from './helpers.js';

const NO_ADDON = 'the fd hand-off addon (native/fd-handoff) is not loadable from this build: fdHandoff() is undefined';

/**
 * Skips the running test unless sockets can be handed off here; in CI (where `npm ci` builds the
 * addon) a missing addon fails instead, so the hand-off is never silently untested.
 */
function requireHandoff(ctx: Mocha.Context): void {
  if (fdHandoff() === undefined) {
    if (process.env.CI) throw new Error(`${NO_ADDON} (CI builds it with npm ci: see tools/build-native.mjs)`);
    // In a beforeEach hook the test is `currentTest`; in the test itself, `test`.
    const test = ctx.currentTest ?? ctx.test;
    if (test !== undefined) test.title += ` (skipped: ${NO_ADDON})`;
    ctx.skip();
  }
}

/**
 * Whether `clientId`'s newest connection was handed to its thread (and not relayed, which main
 * falls back to when it cannot hand a socket off). Without this check a test meant for the
 * hand-off could pass on the relay.
 */
function handedOff(broker: Broker, clientId: string): boolean {
  return socketOwnerOf(broker, clientId) === 'session thread';
}

/** This process's open fds, as `n -> target` (the listing's own directory fd included, always once). */
function openFds(): string[] {
  return readdirSync('/proc/self/fd').map((fd) => {
    try {
      return `${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`;
    } catch {
      return `${fd} -> (closed while listing)`;
    }
  });
}

function connectBytes(clientId: string, extra: Record<string, unknown> = {}): Buffer {
  return encodePacket({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 0, ...extra } as Packet, 4);
}

function publishBytes(topic: string, qos: 0 | 1, messageId: number, payload: string): Buffer {
  return encodePacket({ cmd: 'publish', topic, qos, messageId, payload: Buffer.from(payload), retain: false, dup: false } as Packet, 4);
}

/** A payload that says which message it is, padded to `size` bytes. */
function payloadOf(i: number, size: number): string {
  return `m${i}:`.padEnd(size, 'x');
}

/** Reads `count` packets from `raw`, failing with what it got if the socket closes first. */
async function readPackets(raw: RawClient, count: number): Promise<Packet[]> {
  const got: Packet[] = [];
  while (got.length < count) {
    try {
      got.push(await raw.next());
    } catch (err) {
      throw new Error(`socket closed after ${got.length} of ${count} packets: ${(err as Error).message}`);
    }
  }
  return got;
}

/** Reads `count` QoS 1 deliveries from `raw`, acknowledging each (the session sends 32 at a time). */
async function readDeliveries(raw: RawClient, count: number): Promise<IPublishPacket[]> {
  const got: IPublishPacket[] = [];
  while (got.length < count) {
    let packet: Packet;
    try {
      packet = await raw.next();
    } catch (err) {
      throw new Error(`socket closed after ${got.length} of ${count} deliveries: ${(err as Error).message}`);
    }
    expect(packet.cmd).to.equal('publish');
    const publish = packet as IPublishPacket;
    got.push(publish);
    if (publish.qos > 0) raw.send({ cmd: 'puback', messageId: publish.messageId } as Packet);
  }
  return got;
}

/** A raw subscriber on `filter` at QoS 1. */
async function rawSubscriber(broker: Broker, clientId: string, filter: string): Promise<RawClient> {
  const sub = await RawClient.open(broker);
  expect(((await sub.connect(clientId)) as IConnackPacket).returnCode).to.equal(0);
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] } as Packet);
  expect((await sub.next()).cmd).to.equal('suback');
  return sub;
}

/** Disconnects raw clients politely and waits for their sockets to close. */
async function disconnectAll(...raws: RawClient[]): Promise<void> {
  for (const raw of raws) {
    if (!raw.closed) raw.send({ cmd: 'disconnect' } as Packet);
  }
  await Promise.all(raws.map((raw) => raw.waitClosed()));
}

/**
 * Publisher `clientId` sends its CONNECT and `count` QoS 1 PUBLISHes on `topic` without waiting
 * for anything, cut by `split` into the writes it makes (all in one write when undefined).
 * Checks the CONNACK, that every PUBACK arrives in order, and that `sub` receives every message
 * in order.
 */
async function burst(
  broker: Broker,
  sub: RawClient,
  clientId: string,
  topic: string,
  count: number,
  payloadSize: number,
  split?: (bytes: Buffer) => Buffer[],
): Promise<RawClient> {
  const pub = await RawClient.open(broker);
  pub.socket.setNoDelay(true);
  const parts = [connectBytes(clientId)];
  for (let i = 1; i <= count; i++) parts.push(publishBytes(topic, 1, i, payloadOf(i, payloadSize)));
  const all = Buffer.concat(parts);
  const delivered = readDeliveries(sub, count);
  if (split === undefined) {
    pub.sendBytes(all);
  } else {
    const writes = split(all);
    expect(Buffer.concat(writes).equals(all)).to.equal(true);
    // The first writes land in separate reads: a timer turn after each lets the broker's poll
    // phase read it (a setImmediate would not: client and broker share this event loop, and
    // everything written in one turn is read at once). The rest follow back to back.
    for (const [n, chunk] of writes.entries()) {
      pub.sendBytes(chunk);
      if (n < 12) await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  const answers = await readPackets(pub, 1 + count);
  expect(answers[0]!.cmd).to.equal('connack');
  expect((answers[0] as IConnackPacket).returnCode).to.equal(0);
  const acks = answers.slice(1);
  expect(acks.map((p) => p.cmd)).to.deep.equal(new Array(count).fill('puback'));
  expect(acks.map((p) => p.messageId)).to.deep.equal(Array.from({ length: count }, (_, i) => i + 1));
  const messages = await delivered;
  const payloads = messages.map((m) => Buffer.from(m.payload).toString());
  const expected = Array.from({ length: count }, (_, i) => payloadOf(i + 1, payloadSize));
  // Compare the first difference, not a 200-element diff.
  const firstWrong = payloads.findIndex((p, i) => p !== expected[i]);
  expect(firstWrong, `message ${firstWrong + 1} is ${payloads[firstWrong]?.slice(0, 12)}`).to.equal(-1);
  return pub;
}

/**
 * Cuts `bytes` into writes of 1..maxSize bytes (a fixed pseudo-random sequence), the first 12
 * of them at most `firstMaxSize` bytes (so a CONNECT is cut too).
 */
function cut(maxSize: number, firstMaxSize = maxSize): (bytes: Buffer) => Buffer[] {
  return (bytes) => {
    const out: Buffer[] = [];
    let seed = 12345;
    for (let at = 0; at < bytes.length; ) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const size = 1 + (seed % (out.length < 12 ? firstMaxSize : maxSize));
      out.push(bytes.subarray(at, at + size));
      at += size;
    }
    return out;
  };
}

describe('broker: socket hand-off to session threads', function () {
  this.timeout(20000);
  let broker: Broker | undefined;

  async function start(options: BrokerOptions = {}): Promise<Broker> {
    broker = await testBroker({ threads: 2, ...options });
    return broker;
  }

  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  describe('no fd leak', () => {
    /** Connections ended every way there is, `total` of them; each awaited until its client socket closed. */
    async function churn(b: Broker, total: number): Promise<{ handed: number }> {
      let handed = 0;
      let opened = 0;
      /** A connected raw client, counted when its socket went to its thread. */
      const connected = async (id: string): Promise<RawClient> => {
        const raw = await RawClient.open(b);
        await raw.connect(id);
        if (handedOff(b, id)) handed++;
        return raw;
      };
      for (let i = 0; opened < total; i++) {
        const id = `churn-${i}`;
        switch (i % 6) {
          case 0: {
            // The client disconnects.
            const raw = await connected(id);
            await disconnectAll(raw);
            opened += 1;
            break;
          }
          case 1: {
            // The client drops its socket.
            const raw = await connected(id);
            raw.destroy();
            await raw.waitClosed();
            opened += 1;
            break;
          }
          case 2: {
            // The broker closes the first connection: a second one with the same client id takes over.
            const first = await RawClient.open(b);
            await first.connect(id);
            const second = await RawClient.open(b);
            await second.connect(id);
            await first.waitClosed();
            if (handedOff(b, id)) handed++;
            await disconnectAll(second);
            opened += 2;
            break;
          }
          case 3: {
            // The broker closes the connection: a malformed packet after the CONNECT (bad remaining length).
            const raw = await connected(id);
            raw.sendBytes([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
            await raw.waitClosed();
            opened += 1;
            break;
          }
          case 4: {
            // A malformed packet (PUBLISH QoS 3) in the CONNECT's own write: it reaches the thread with the hand-off.
            const raw = await RawClient.open(b);
            raw.sendBytes(Buffer.concat([connectBytes(id), Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])]));
            await raw.waitClosed();
            opened += 1;
            break;
          }
          case 5: {
            // The client goes away mid-session with a pending subscription and a QoS 1 delivery to itself.
            const raw = await connected(id);
            raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `churn/${i}`, qos: 1 }] } as Packet);
            expect((await raw.next()).cmd).to.equal('suback');
            raw.sendBytes(publishBytes(`churn/${i}`, 1, 2, 'x'));
            await readPackets(raw, 2); // PUBACK and the delivery, in either order
            raw.destroy();
            await raw.waitClosed();
            opened += 1;
            break;
          }
        }
      }
      return { handed };
    }

    /**
     * Connects sessions on every thread at once, then ends them. Each thread's event loop opens
     * one fd (/dev/null, libuv's) the first time it handles a socket: a thread that never had
     * one, like a crashed thread's replacement, is one fd short until then.
     */
    async function useEveryThread(b: Broker): Promise<void> {
      const raws: RawClient[] = [];
      for (let i = 0; i < 4; i++) {
        const raw = await RawClient.open(b);
        await raw.connect(`every-${i}`);
        raws.push(raw);
      }
      const threads = new Set(raws.map((_, i) => sessionThreadOf(b, `every-${i}`)));
      expect(threads.size, 'threads hosting the sessions').to.equal(b.stats().threads);
      await disconnectAll(...raws);
      await until(() => b.stats().connections === 0 && b.stats().sessions === 0, 'the sessions to end');
    }

    /**
     * Waits for the fd count to come back to `baseline` (a thread closes a socket just after
     * telling main), then compares exactly; on failure, lists the new fds.
     */
    async function expectFdsBackTo(baseline: string[]): Promise<void> {
      try {
        await until(() => openFds().length <= baseline.length, 'the fd count to return to its baseline');
      } catch {
        const now = openFds();
        expect.fail(`${now.length} fds open, baseline ${baseline.length}; new: ${now.filter((fd) => !baseline.includes(fd)).join(', ')}`);
      }
      expect(openFds().length).to.equal(baseline.length);
    }

    /**
     * A broker whose threads have each hosted a session and run their whole path once, so what
     * a thread opens once (its loop's fds) is in the baseline; skips off Linux or without the addon.
     */
    async function warmedUp(ctx: Mocha.Context): Promise<{ b: Broker; baseline: string[] }> {
      if (process.platform !== 'linux') ctx.skip();
      requireHandoff(ctx);
      const b = await start();
      await churn(b, 6);
      await useEveryThread(b);
      return { b, baseline: openFds() };
    }

    it('opening and closing 50 handed-off connections (every way of closing) leaves the fd count where it was', async function () {
      const { b, baseline } = await warmedUp(this);

      const { handed } = await churn(b, 50);
      // Precondition: these were handed-off connections, not relayed ones.
      expect(handed, 'connections handed off').to.be.greaterThan(30);
      await until(() => b.stats().connections === 0, () => `connections to drop to 0 (${b.stats().connections})`);
      await until(() => b.stats().sessions === 0, () => `sessions to end (${b.stats().sessions})`);
      await expectFdsBackTo(baseline);
    });

    it('a thread that dies, with a socket handed to it and one in transit, leaks no fd', async function () {
      const { b, baseline } = await warmedUp(this);

      for (let round = 0; round < 3; round++) {
        const victim = await RawClient.open(b);
        await victim.connect('victim', { clean: false });
        expect(handedOff(b, 'victim')).to.equal(true);
        // A second connection for the victim's session: connected now, its CONNECT sent in the
        // same tick as the crash, so main may hand it to the thread as it dies (in transit).
        const late = await RawClient.open(b);
        crashSessionThread(b, 'victim');
        late.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'victim', clean: true, keepalive: 0 } as Packet);
        await victim.waitClosed();
        // `late` is either closed with the dead thread, or served by a new session.
        const first = await late.next().catch(() => undefined);
        if (first !== undefined) expect(first.cmd).to.equal('connack');
        late.destroy();
        await late.waitClosed();
        await until(() => b.stats().threads === 2, 'a replacement thread');
        await until(() => b.stats().connections === 0 && b.stats().sessions === 0, () => `the sessions to end (${JSON.stringify(b.stats())})`);
      }
      expect(b.stats().counters.workerCrashes).to.equal(3);
      await useEveryThread(b);
      await expectFdsBackTo(baseline);
    });
  });

  for (const mode of [
    { name: 'handed off', options: {}, handoff: true },
    { name: 'relayed (socketHandoff: false)', options: { socketHandoff: false }, handoff: false },
  ]) {
    describe(`bytes around the CONNECT, ${mode.name}`, () => {
      beforeEach(function () {
        if (mode.handoff) requireHandoff(this);
      });

      const cases: { title: string; topic: string; count: number; size: number; split?: (bytes: Buffer) => Buffer[] }[] = [
        { title: '200 QoS 1 PUBLISHes in the CONNECT\'s own write', topic: 'burst/a', count: 200, size: 20 },
        // 600 × ~512 B: more than one socket read, so main's first read ends inside a PUBLISH and
        // the thread reads the rest from the socket itself.
        { title: 'a 300 KB burst in the CONNECT\'s write (main reads only part of it)', topic: 'burst/b', count: 600, size: 500 },
        { title: 'the same bytes split across many writes right after the CONNECT (cut anywhere, the CONNECT too)', topic: 'burst/c', count: 200, size: 20, split: cut(37, 6) },
        {
          title: 'a CONNECT alone, then PUBLISHes in separate writes before the CONNACK is read',
          topic: 'burst/d',
          count: 200,
          size: 20,
          split: (bytes) => {
            const connectLength = connectBytes('pub').length;
            return [bytes.subarray(0, connectLength), ...cut(200)(bytes.subarray(connectLength))];
          },
        },
      ];
      for (const c of cases) {
        it(`${c.title}: every PUBACK and delivery arrives, in order`, async () => {
          const b = await start(mode.options);
          const sub = await rawSubscriber(b, 'sub', 'burst/#');
          const pub = await burst(b, sub, 'pub', c.topic, c.count, c.size, c.split);
          expect(handedOff(b, 'pub')).to.equal(mode.handoff);
          await disconnectAll(pub, sub);
        });
      }
    });
  }

  describe('a session thread dies', () => {
    it('its handed-off sockets see the close, the connection count drops, other threads\' sessions keep working', async function () {
      requireHandoff(this);
      const b = await start();
      const watcher = await client(b, { clientId: 'watcher' });
      const victim = await RawClient.open(b);
      try {
        expect(((await victim.connect('victim')) as IConnackPacket).returnCode).to.equal(0);
        await watcher.subscribeAsync('alive/#', { qos: 1 });
        // Preconditions: handed off, on two different threads.
        expect(handedOff(b, 'victim')).to.equal(true);
        expect(handedOff(b, 'watcher')).to.equal(true);
        expect(sessionThreadOf(b, 'victim')).to.not.equal(sessionThreadOf(b, 'watcher'));
        expect(b.stats().connections).to.equal(2);
        const ended = Promise.race([once(victim.socket, 'end').then(() => 'end'), once(victim.socket, 'close').then(() => 'close')]);

        crashSessionThread(b, 'victim');

        expect(await ended).to.be.oneOf(['end', 'close']);
        await victim.waitClosed();
        await until(() => b.stats().connections === 1, () => `connections to drop to 1 (${b.stats().connections})`);
        expect(b.stats().counters.workerCrashes).to.equal(1);
        // The watcher, on the other thread, still publishes and receives.
        const got = nextMessages(watcher, 1);
        await watcher.publishAsync('alive/watcher', 'still here', { qos: 1 });
        expect((await got)[0]!.payload).to.equal('still here');
        // A new session (on the replacement thread or the watcher's) works and is counted.
        await until(() => b.stats().threads === 2, 'a replacement thread');
        const fresh = await RawClient.open(b);
        await fresh.connect('fresh');
        expect(handedOff(b, 'fresh')).to.equal(true);
        expect(b.stats().connections).to.equal(2);
        const toWatcher = nextMessages(watcher, 1);
        fresh.sendBytes(publishBytes('alive/fresh', 1, 1, 'hello'));
        expect((await fresh.next()).cmd).to.equal('puback');
        expect((await toWatcher)[0]!.payload).to.equal('hello');
        await disconnectAll(fresh);
        await until(() => b.stats().connections === 1, 'the fresh connection to be uncounted');
      } finally {
        victim.destroy();
        await forceClose(watcher);
      }
    });
  });

  describe('stats().connections', () => {
    it('counts handed-off connections and drops as each closes (client DISCONNECT, client drop, takeover, malformed packet)', async function () {
      requireHandoff(this);
      const b = await start();
      const names = ['a', 'b', 'c', 'd'];
      const raws: RawClient[] = [];
      for (const [n, name] of names.entries()) {
        const raw = await RawClient.open(b);
        await raw.connect(name);
        raws.push(raw);
        expect(handedOff(b, name)).to.equal(true);
        expect(b.stats().connections).to.equal(n + 1);
      }
      const [a, bee, c, d] = raws as [RawClient, RawClient, RawClient, RawClient];
      // Client-initiated: DISCONNECT.
      await disconnectAll(a);
      await until(() => b.stats().connections === 3, () => `3 connections after a DISCONNECT (${b.stats().connections})`);
      // Client-initiated: the socket dropped.
      bee.destroy();
      await until(() => b.stats().connections === 2, () => `2 connections after a drop (${b.stats().connections})`);
      // Broker-initiated: a takeover closes the old connection, the new one counts.
      const c2 = await RawClient.open(b);
      await c2.connect('c');
      await c.waitClosed();
      await until(() => b.stats().connections === 2, () => `2 connections after a takeover (${b.stats().connections})`);
      // Broker-initiated: a malformed packet.
      d.sendBytes([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
      await d.waitClosed();
      await until(() => b.stats().connections === 1, () => `1 connection after a malformed packet (${b.stats().connections})`);
      await disconnectAll(c2);
      await until(() => b.stats().connections === 0, () => `no connection (${b.stats().connections})`);
      await until(() => b.stats().sessions === 0, 'the sessions to end');
    });

    it('a closed handed-off connection frees its place under maxConnections', async function () {
      requireHandoff(this);
      const b = await start({ maxConnections: 2 });
      const one = await RawClient.open(b);
      await one.connect('one');
      const two = await RawClient.open(b);
      await two.connect('two');
      const three = await RawClient.open(b);
      // Precondition: the limit is reached.
      expect(((await three.connect('three')) as IConnackPacket).returnCode).to.equal(3);
      await three.waitClosed();
      one.destroy();
      await until(() => b.stats().connections === 1, 'the dropped connection to be uncounted');
      const four = await RawClient.open(b);
      expect(((await four.connect('four')) as IConnackPacket).returnCode).to.equal(0);
      expect(handedOff(b, 'four')).to.equal(true);
      await disconnectAll(two, four);
      await until(() => b.stats().connections === 0, 'no connection');
    });

    it('broker.close() closes handed-off client sockets', async function () {
      requireHandoff(this);
      const b = await start();
      const raw = await RawClient.open(b);
      await raw.connect('stays');
      expect(handedOff(b, 'stays')).to.equal(true);
      await b.close();
      broker = undefined;
      await raw.waitClosed();
    });
  });

  describe('relayed path (socketHandoff: false)', () => {
    it('pub/sub at QoS 0, 1 and 2 works, nothing is handed off, and connections are counted', async () => {
      const b = await start({ socketHandoff: false });
      const sub = await client(b, { clientId: 'sub' });
      const pub = await client(b, { clientId: 'pub' });
      try {
        expect(handedOff(b, 'sub')).to.equal(false);
        expect(handedOff(b, 'pub')).to.equal(false);
        expect(b.stats().connections).to.equal(2);
        await sub.subscribeAsync('relay/#', { qos: 2 });
        const got = nextMessages(sub, 3);
        await pub.publishAsync('relay/0', 'zero', { qos: 0 });
        await pub.publishAsync('relay/1', 'one', { qos: 1 });
        await pub.publishAsync('relay/2', 'two', { qos: 2 });
        const messages = await got;
        expect(messages.map((m) => [m.topic, m.payload, m.qos])).to.deep.equal([
          ['relay/0', 'zero', 0],
          ['relay/1', 'one', 1],
          ['relay/2', 'two', 2],
        ]);
        await pub.endAsync();
        await until(() => b.stats().connections === 1, () => `1 connection after a DISCONNECT (${b.stats().connections})`);
      } finally {
        await forceClose(sub, pub);
      }
    });
  });
});
