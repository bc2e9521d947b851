/**
 * A session thread's batched socket writes (`session/worker/socket-writer.ts` and the addon's
 * `writeBatchShared`), over real TCP on 127.0.0.1: each connection's bytes leave in one native call
 * per turn while its stream is idle; what the kernel does not take (full buffer, reset peer)
 * goes through `socket.write` in order, so no byte is lost or reordered and errors are reported
 * as Node reports any failed write. The sockets are handed-off fds, as the broker gives them to
 * session threads.
 *
 * Skipped when the native addon (or its `writeBatchShared`) is not loadable from this build; in CI a
 * missing addon fails instead (see test/broker/socket-handoff.test.ts).
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { closeSync } from 'node:fs';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import type { Packet } from 'mqtt-packet';
import { fdHandoff, nativeWriteBatch, type WriteBatch } from '../../../src/broker/fd-handoff.js';
import { TurnBatch, type Flushable } from '../../../src/broker/turn-batch.js';
import { ConnectionLink, type SocketEvents } from '../../../src/session/worker/connection-link.js';
import { encodeOutgoing } from '../../../src/session/worker/publish-codec.js';
import { SocketWriter } from '../../../src/session/worker/socket-writer.js';

const NO_ADDON = 'the native addon (native/fd-handoff) with writeBatchShared is not loadable from this build';

function requireAddon(ctx: Mocha.Context): WriteBatch {
  const writeBatch = nativeWriteBatch();
  if (writeBatch === undefined || fdHandoff() === undefined) {
    if (process.env.CI) throw new Error(`${NO_ADDON} (CI builds it with npm ci: see tools/build-native.mjs)`);
    ctx.test!.title += ` (skipped: ${NO_ADDON})`;
    ctx.skip();
  }
  return writeBatch!;
}

/** A connected pair: `fd` is the accepted end, handed off (nobody owns it yet); `peer` the client. */
interface Pair {
  fd: number;
  peer: Socket;
}

describe('session thread: batched socket writes', function () {
  this.timeout(20000);
  let server: Server;
  const peers: Socket[] = [];
  /** fds no socket took over, closed after the test. */
  const rawFds: number[] = [];
  const links: ConnectionLink[] = [];

  beforeEach(async () => {
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  afterEach(async () => {
    for (const link of links.splice(0)) link.close();
    for (const fd of rawFds.splice(0)) closeSync(fd);
    for (const peer of peers.splice(0)) peer.destroy();
    server.close();
    await once(server, 'close');
  });

  async function pair(): Promise<Pair> {
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const peer = new Socket();
    peers.push(peer);
    peer.connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(peer, 'connect');
    const [socket] = await accepted;
    const handed = fdHandoff()!.handOff(socket)!;
    return { fd: handed.fd, peer };
  }

  /** Reads from `peer` until `bytes` have arrived or it ends: everything it got. */
  function readAll(peer: Socket, bytes: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const got: Buffer[] = [];
      let length = 0;
      const done = (): void => {
        peer.off('data', onData);
        peer.off('end', done);
        peer.off('error', reject);
        resolve(Buffer.concat(got));
      };
      const onData = (chunk: Buffer): void => {
        got.push(chunk);
        length += chunk.length;
        if (length >= bytes) done();
      };
      peer.on('data', onData);
      peer.once('end', done);
      peer.once('error', reject);
      peer.resume();
    });
  }

  /** What a link's socket reported, and the thread's write callback count. */
  interface Watched {
    closed: Promise<string>;
    written: number;
  }

  function linkOver(fd: number, batch: TurnBatch, writer: SocketWriter | undefined, watched: Watched): ConnectionLink {
    let closed!: (cause: string) => void;
    watched.closed = new Promise((resolve) => (closed = resolve));
    const events: SocketEvents = { data: () => undefined, closed: (_link, cause) => closed(cause), retired: () => undefined };
    const link = new ConnectionLink(1, 'test', { kind: 'socket', fd, events, heldBytesLimit: 1 << 30, written: () => watched.written++, remoteNow: false, writer }, batch, 1 << 28, 1024);
    links.push(link);
    return link;
  }

  /** A PUBLISH whose payload names it, `size` bytes. */
  function publish(i: number, size: number): Packet {
    return { cmd: 'publish', topic: 't', qos: 0, retain: false, dup: false, payload: Buffer.from(`m${i}:`.padEnd(size, 'x')) } as Packet;
  }

  /** Records each batch call: per entry, the bytes asked for and the result; the distinct chunks passed, per call. */
  function spying(writeBatch: WriteBatch, calls: { asked: number; result: number }[], distinct: number[] = []): WriteBatch {
    return (fds, counts, refs, chunks, n, results) => {
      writeBatch(fds, counts, refs, chunks, n, results);
      distinct.push(chunks.length);
      let next = 0;
      for (let i = 0; i < n; i++) {
        let asked = 0;
        for (let c = 0; c < counts[i]!; c++) asked += chunks[refs[next++]!]!.length;
        calls.push({ asked, result: results[i]! });
      }
    };
  }

  /** Entries of `counts[i]` refs each, in order: the refs `[0, 1, 2, ...]` of chunks each used once. */
  const inOrder = (total: number) => Int32Array.from({ length: total }, (_, i) => i);

  it('writeBatchShared sends each fd its own buffers in order, in one call, and reports the bytes taken', async function () {
    const writeBatch = requireAddon(this);
    const a = await pair();
    const b = await pair();
    rawFds.push(a.fd, b.fd);
    const chunks = [Buffer.from('first '), Buffer.alloc(0), Buffer.from('second'), Buffer.from('other fd')];
    const results = new Int32Array(2);
    writeBatch(Int32Array.of(a.fd, b.fd), Int32Array.of(3, 1), inOrder(4), chunks, 2, results);
    expect(Array.from(results)).to.deep.equal([12, 8]);
    expect((await readAll(a.peer, 12)).toString()).to.equal('first second');
    expect((await readAll(b.peer, 8)).toString()).to.equal('other fd');
  });

  it('writeBatchShared sends a buffer listed once to every entry whose refs name it, in each entry\'s order', async function () {
    const writeBatch = requireAddon(this);
    const a = await pair();
    const b = await pair();
    rawFds.push(a.fd, b.fd);
    const chunks = [Buffer.from('shared'), Buffer.from('<a>'), Buffer.from('<b>')];
    const results = new Int32Array(2);
    // a: shared <a> shared; b: <b> shared
    writeBatch(Int32Array.of(a.fd, b.fd), Int32Array.of(3, 2), Int32Array.of(0, 1, 0, 2, 0), chunks, 2, results);
    expect(Array.from(results)).to.deep.equal([15, 9]);
    expect((await readAll(a.peer, 15)).toString()).to.equal('shared<a>shared');
    expect((await readAll(b.peer, 9)).toString()).to.equal('<b>shared');
  });

  it('writeBatchShared fetches more distinct buffers than fit its stack table (a turn of many links)', async function () {
    const writeBatch = requireAddon(this);
    const a = await pair();
    rawFds.push(a.fd);
    // 300 distinct buffers (the addon keeps 128 on its stack, then allocates), refs in reverse.
    const chunks = Array.from({ length: 300 }, (_, i) => Buffer.from(`${i},`));
    const refs = Int32Array.from({ length: 300 }, (_, i) => 299 - i);
    const expected = Buffer.concat([...refs].map((r) => chunks[r]!));
    const results = new Int32Array(1);
    writeBatch(Int32Array.of(a.fd), Int32Array.of(300), refs, chunks, 1, results);
    expect(results[0]).to.equal(expected.length);
    expect((await readAll(a.peer, expected.length)).equals(expected)).to.equal(true);
  });

  it('writeBatchShared reports a failed send as -errno (a reset peer: ECONNRESET or EPIPE), never a signal', async function () {
    const writeBatch = requireAddon(this);
    const a = await pair();
    rawFds.push(a.fd);
    a.peer.resetAndDestroy();
    await once(a.peer, 'close');
    const results = new Int32Array(1);
    writeBatch(Int32Array.of(a.fd), Int32Array.of(1), Int32Array.of(0), [Buffer.from('lost')], 1, results);
    // Linux: 104 ECONNRESET for the first send after the RST, 32 EPIPE after.
    expect([-104, -32]).to.include(results[0]);
  });

  it('writeBatchShared refuses arguments that do not fit (counts past the refs, a ref outside the chunks, n past the arrays)', async function () {
    const writeBatch = requireAddon(this);
    const results = new Int32Array(1);
    const x = [Buffer.from('x')];
    // fd -1: were a check missing, the send would fail (EBADF) rather than write anywhere.
    expect(() => writeBatch(Int32Array.of(-1), Int32Array.of(2), Int32Array.of(0), x, 1, results)).to.throw(RangeError);
    expect(() => writeBatch(Int32Array.of(-1), Int32Array.of(1), Int32Array.of(1), x, 1, results)).to.throw(RangeError);
    expect(() => writeBatch(Int32Array.of(-1), Int32Array.of(1), Int32Array.of(-1), x, 1, results)).to.throw(RangeError);
    expect(() => writeBatch(Int32Array.of(-1), Int32Array.of(1), Int32Array.of(0), x, 2, results)).to.throw(RangeError);
    expect(() => writeBatch([-1] as unknown as Int32Array, Int32Array.of(1), Int32Array.of(0), x, 1, results)).to.throw(TypeError);
    expect(() => writeBatch(Int32Array.of(-1), Int32Array.of(1), Int32Array.of(0), ['x'] as unknown as Buffer[], 1, results)).to.throw(TypeError);
    writeBatch(Int32Array.of(-1), Int32Array.of(1), Int32Array.of(0), x, 1, results);
    expect(results[0]).to.equal(-9); // EBADF
  });

  it('writeBatchShared refused at an entry: the entries before it went out and report their bytes, that one and the rest report 0', async function () {
    const writeBatch = requireAddon(this);
    const a = await pair();
    const b = await pair();
    rawFds.push(a.fd, b.fd);
    const chunks = [Buffer.from('sent')];
    // Stale values from an earlier call must not survive: the caller reads every entry's result.
    const results = Int32Array.of(7, 7, 7);
    // Entry 0 is sent; entry 1 names a chunk that is not there; entry 2 is never reached.
    expect(() => writeBatch(Int32Array.of(a.fd, b.fd, b.fd), Int32Array.of(1, 1, 1), Int32Array.of(0, 1, 0), chunks, 3, results)).to.throw(RangeError);
    expect(Array.from(results)).to.deep.equal([4, 0, 0]);
    expect((await readAll(a.peer, 4)).toString()).to.equal('sent');
  });

  /**
   * Writes turns of PUBLISHes to a peer that does not read until the kernel stops taking them
   * whole, then more turns (which must queue behind in the stream), then reads everything.
   */
  async function stalledPeer(writer: (batch: TurnBatch) => SocketWriter | undefined, partial: () => boolean): Promise<{ expected: Buffer; got: Buffer; watched: Watched; turns: number }> {
    const a = await pair();
    a.peer.pause();
    const batch = new TurnBatch();
    const watched = { written: 0 } as Watched;
    const link = linkOver(a.fd, batch, writer(batch), watched);
    const expected: Buffer[] = [];
    let i = 0;
    let turns = 0;
    const turn = (): void => {
      const packets = [publish(i++, 20_000), publish(i++, 30_000)];
      for (const packet of packets) expected.push(encodeOutgoing(packet, 4));
      link.write(packets);
      batch.flushNow();
      turns++;
    };
    // Loopback buffers take a few MiB before the kernel refuses bytes.
    while (!partial() && turns < 2000) turn();
    expect(partial(), 'the kernel buffer to fill').to.equal(true);
    for (let k = 0; k < 5; k++) turn();
    const bytes = expected.reduce((sum, chunk) => sum + chunk.length, 0);
    const got = await readAll(a.peer, bytes);
    return { expected: Buffer.concat(expected), got, watched, turns };
  }

  it('a peer that stops reading: the kernel takes part, the rest queues in the socket stream, and every byte arrives once, in order', async function () {
    const writeBatch = requireAddon(this);
    const calls: { asked: number; result: number }[] = [];
    let writerCalls = 0;
    const { expected, got, watched } = await stalledPeer(
      (batch) => new SocketWriter(spying(writeBatch, calls), batch, () => writerCalls++),
      () => calls.some((call) => call.result < call.asked),
    );
    expect(got.length).to.equal(expected.length);
    expect(got.equals(expected), 'the bytes read are the bytes written, in order').to.equal(true);
    // Whole turns went natively while the socket kept up; the turns after the partial one found
    // the stream not idle and queued behind it (no more native calls).
    const first = calls.findIndex((call) => call.result < call.asked);
    expect(calls.slice(0, first).every((call) => call.result === call.asked)).to.equal(true);
    expect(calls).to.have.length(first + 1);
    expect(calls[first]!.result).to.be.at.least(0);
    // The whole native writes called the thread's callback; the stream writes (the remainder
    // and the turns queued behind it) the link's own, once each as they left.
    expect(writerCalls).to.be.greaterThan(0);
    expect(watched.written).to.equal(6);
  });

  it('a batch the addon refuses part-way: what it sent is not written again, what it did not goes through its stream', async function () {
    const writeBatch = requireAddon(this);
    const a = await pair();
    const b = await pair();
    const batch = new TurnBatch();
    // Once, the last entry's last ref is made to name no chunk: the addon sends the entries
    // before it, then throws (a programming error, but even then no byte may go out twice).
    let refuse = true;
    const refusing: WriteBatch = (fds, counts, refs, chunks, n, results) => {
      if (refuse) {
        refuse = false;
        let total = 0;
        for (let i = 0; i < n; i++) total += counts[i]!;
        refs[total - 1] = chunks.length;
      }
      writeBatch(fds, counts, refs, chunks, n, results);
    };
    const writer = new SocketWriter(refusing, batch, () => undefined);
    const linkA = linkOver(a.fd, batch, writer, { written: 0 } as Watched);
    const linkB = linkOver(b.fd, batch, writer, { written: 0 } as Watched);
    const [first, second, other] = [publish(0, 64), publish(1, 64), publish(2, 64)];
    // A's entry goes first and is sent; B's is the refused one.
    linkA.write([first]);
    linkB.write([other]);
    expect(() => batch.flushNow()).to.throw(RangeError);
    linkA.write([second]);
    batch.flushNow();
    const [firstBytes, secondBytes, otherBytes] = [first, second, other].map((p) => encodeOutgoing(p, 4));
    const gotA = await readAll(a.peer, firstBytes!.length + secondBytes!.length);
    expect(gotA.equals(Buffer.concat([firstBytes!, secondBytes!])), "A's peer reads its first PUBLISH once, then the second").to.equal(true);
    expect((await readAll(b.peer, otherBytes!.length)).equals(otherBytes!), "B's PUBLISH went through its stream").to.equal(true);
  });

  it('one PUBLISH to several links in a turn: its bytes are passed to the addon once, and every peer gets them', async function () {
    const writeBatch = requireAddon(this);
    const pairs = [await pair(), await pair(), await pair()];
    const batch = new TurnBatch();
    const calls: { asked: number; result: number }[] = [];
    const distinct: number[] = [];
    const writer = new SocketWriter(spying(writeBatch, calls, distinct), batch, () => undefined);
    const linked = pairs.map((p) => linkOver(p.fd, batch, writer, { written: 0 } as Watched));
    const shared = publish(0, 64);
    const own = publish(1, 64);
    for (const link of linked) link.write([shared]);
    linked[1]!.write([own]);
    batch.flushNow();
    const sharedBytes = encodeOutgoing(shared, 4);
    const ownBytes = encodeOutgoing(own, 4);
    // QoS 0, same topic and payload: the links share one encoded buffer (publish-codec), which
    // goes once in the call's chunks; the second link's own PUBLISH is the other.
    expect(distinct).to.deep.equal([2]);
    expect(calls.map((call) => call.result)).to.deep.equal([sharedBytes.length, sharedBytes.length + ownBytes.length, sharedBytes.length]);
    const got = await Promise.all(pairs.map((p, i) => readAll(p.peer, i === 1 ? sharedBytes.length + ownBytes.length : sharedBytes.length)));
    expect(got[0]!.equals(sharedBytes)).to.equal(true);
    expect(got[1]!.equals(Buffer.concat([sharedBytes, ownBytes]))).to.equal(true);
    expect(got[2]!.equals(sharedBytes)).to.equal(true);
  });

  it('the thread write callback runs on the next tick after a batch sent a link\'s bytes in full (no stream write made)', async function () {
    const writeBatch = requireAddon(this);
    const a = await pair();
    const batch = new TurnBatch();
    let writerCalls = 0;
    const watched = { written: 0 } as Watched;
    const writer = new SocketWriter(writeBatch, batch, () => writerCalls++);
    const link = linkOver(a.fd, batch, writer, watched);
    link.write([publish(0, 100)]);
    batch.flushNow();
    expect(writerCalls, 'not before the next tick, as for a socket.write callback').to.equal(0);
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(writerCalls).to.equal(1);
    expect(watched.written, 'no stream write was made').to.equal(0);
    expect(link.backlog).to.equal(0);
    await readAll(a.peer, encodeOutgoing(publish(0, 100), 4).length);
  });

  it('without the native writer (no addon) the same traffic goes through socket.write, in order', async function () {
    requireAddon(this); // for the hand-off of the test's socket
    const { expected, got, watched } = await stalledPeer(
      () => undefined,
      () => links[0] !== undefined && links[0].backlog > 0,
    );
    expect(got.equals(expected)).to.equal(true);
    expect(watched.written).to.be.greaterThan(0);
  });

  it('a reset peer: the failed native write hands its bytes to socket.write, and Node reports the error and closes the socket', async function () {
    const writeBatch = requireAddon(this);
    const a = await pair();
    a.peer.resetAndDestroy();
    await once(a.peer, 'close');
    const batch = new TurnBatch();
    const calls: { asked: number; result: number }[] = [];
    let writerCalls = 0;
    const watched = { written: 0 } as Watched;
    // The link opens the fd only now, so its socket has not read the reset yet: the write finds it.
    const link = linkOver(a.fd, batch, new SocketWriter(spying(writeBatch, calls), batch, () => writerCalls++), watched);
    link.write([publish(0, 100)]);
    batch.flushNow();
    expect(calls).to.have.length(1);
    expect(calls[0]!.result).to.be.below(0);
    expect(await watched.closed).to.equal('socket error');
    expect(writerCalls, 'nothing reached the kernel in full').to.equal(0);
  });

  it('a link flushed twice before the writer runs (as SessionHost.send does) is written once: no byte repeated', async function () {
    const writeBatch = requireAddon(this);
    const a = await pair();
    const batch = new TurnBatch();
    const calls: { asked: number; result: number }[] = [];
    const watched = { written: 0 } as Watched;
    const link = linkOver(a.fd, batch, new SocketWriter(spying(writeBatch, calls), batch, () => undefined), watched);
    const first = publish(0, 100);
    const second = publish(1, 100);
    link.write([first]);
    link.flush();
    link.write([second]);
    link.flush();
    batch.flushNow();
    const expected = Buffer.concat([encodeOutgoing(first, 4), encodeOutgoing(second, 4)]);
    expect(calls).to.deep.equal([{ asked: expected.length, result: expected.length }]);
    link.close();
    const got = await readAll(a.peer, expected.length + 1);
    expect(got.equals(expected)).to.equal(true);
  });

  it('bytes waiting for the batch and a close in the same turn: every byte goes out before the FIN', async function () {
    const writeBatch = requireAddon(this);
    const a = await pair();
    const batch = new TurnBatch();
    const watched = { written: 0 } as Watched;
    const link = linkOver(a.fd, batch, new SocketWriter(writeBatch, batch, () => undefined), watched);
    const first = publish(0, 1000);
    const second = publish(1, 1000);
    // Flushed after the link in the same pass (the writer not yet run): writes more, then closes.
    const later: Flushable = {
      flush: () => {
        link.write([second]);
        link.close();
      },
    };
    link.write([first]);
    batch.mark(later);
    batch.flushNow();
    const expected = Buffer.concat([encodeOutgoing(first, 4), encodeOutgoing(second, 4)]);
    const got = await readAll(a.peer, expected.length + 1);
    expect(a.peer.readableEnded, 'the FIN came').to.equal(true);
    expect(got.equals(expected)).to.equal(true);
  });
});
