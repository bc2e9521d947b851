/**
 * The broker with `threadPerSession: true`: one worker thread per session, the teaching model
 * of a classic broker (a session thread per connection, one locked register).
 *
 * It connects a few clients, prints which thread serves which session (`broker.sessions()`),
 * sends one message across sessions and prints what crossed between which threads, then shows
 * that a persistent session stays on its thread while its client is away and back.
 *
 *   npm run build && node dist/examples/thread-per-session.js
 *
 * In your own project import from 'weft' instead of '../src/index.js'.
 */
import { threadId } from 'node:worker_threads';
import { connect, startBroker, type MqttClient } from '../src/index.js';

type Broker = Awaited<ReturnType<typeof startBroker>>;

function fail(why: string): never {
  throw new Error(why);
}

/** `clientId → threadId` of the broker's live sessions. */
function threadsBySession(broker: Broker): Map<string, number> {
  return new Map(broker.sessions().map((s) => [s.clientId, s.threadId]));
}

function printSessions(broker: Broker): void {
  for (const s of [...broker.sessions()].sort((a, b) => a.clientId.localeCompare(b.clientId))) {
    const version = s.protocolVersion === 5 ? 'MQTT 5.0' : s.protocolVersion === 4 ? 'MQTT 3.1.1' : 'offline';
    console.log(`  ${s.clientId.padEnd(6)} session thread ${String(s.threadId).padStart(3)}   ${version}`);
  }
}

async function main(): Promise<void> {
  const broker = await startBroker({
    port: 0,
    threadPerSession: true,
    threads: 1, // threads started up front; the others start as sessions arrive (~25 ms each)
    maxSessions: 8,
    maxConnections: 8,
    logLevel: 'warn',
  });
  // The clients run their network loop on this thread (`thread: false`), so every worker
  // thread in this process is one of the broker's.
  const options = { thread: false, reconnectPeriod: 0, logLevel: 'warn' as const };
  const clients: MqttClient[] = [];
  try {
    console.log(`broker on ${broker.url}; this process's main thread is thread ${threadId}`);
    console.log("main thread: owns the listener, reads each CONNECT, then hands the socket to the session's thread; hosts no session");

    const alice = await connect(broker.url, { ...options, clientId: 'alice', protocolVersion: 5 });
    const bob = await connect(broker.url, { ...options, clientId: 'bob', protocolVersion: 4 });
    const carol = await connect(broker.url, { ...options, clientId: 'carol', protocolVersion: 5 });
    clients.push(alice, bob, carol);

    console.log('\nsessions and the thread serving each (broker.sessions()):');
    printSessions(broker);
    const threads = threadsBySession(broker);
    const ids = [...threads.values()];
    if (ids.length !== 3) fail(`expected 3 sessions, got ${ids.length}`);
    if (ids.includes(threadId) || new Set(ids).size !== ids.length) fail('each session should have its own worker thread');
    console.log(`${ids.length} sessions on ${new Set(ids).size} distinct worker threads; broker threads now: ${broker.stats().threads}`);

    // Subscriptions are written into the shared register (one SharedArrayBuffer, under its lock).
    const bobInbox = await bob.subscribe('chat/#', { qos: 1 });
    const carolInbox = await carol.subscribe('chat/alice', { qos: 1 });
    console.log(`\nbob subscribed chat/#, carol chat/alice: ${broker.stats().subscriptions} subscriptions in the shared register`);

    const bobGets = bobInbox[Symbol.asyncIterator]().next();
    const carolGets = carolInbox[Symbol.asyncIterator]().next();
    await alice.publish('chat/alice', 'hello from alice', { qos: 1 });
    const [toBob, toCarol] = await Promise.all([bobGets, carolGets]);
    if (toBob.done || toCarol.done) fail('a subscriber got no message');
    const [a, b, c] = [threads.get('alice')!, threads.get('bob')!, threads.get('carol')!];
    console.log(`alice published "hello from alice"; bob got "${toBob.value.payload}", carol got "${toCarol.value.payload}"`);
    console.log('what crossed between threads (by thread id) for that one PUBLISH:');
    const hop = (from: string, what: string): void => console.log(`  ${from.padEnd(16)} ${what}`);
    // With the native hand-off addon (built by npm install) each session thread owns its
    // client's socket; without it main relays the bytes instead (docs/architecture.md).
    hop(`${a}`, "reads alice's PUBLISH from her socket (main handed it over after her CONNECT)");
    hop(`${a}`, 'decodes it and matches chat/alice in the shared register: a read of shared memory, no message');
    hop(`${a} -> ${b}, ${c}`, 'the message, in one mailbox batch per destination thread (a MessagePort; payload copied once)');
    hop(`${a}`, 'writes the PUBACK to alice\'s socket after routing');
    hop(`${b}, ${c}`, 'each writes the PUBLISH to its own client\'s socket');

    // A persistent session is state on one thread; it waits there while its client is away.
    const dave = await connect(broker.url, { ...options, clientId: 'dave', clean: false });
    const daveThread = threadsBySession(broker).get('dave')!;
    await dave.end();
    await until(() => broker.sessions().find((s) => s.clientId === 'dave')?.connected === false);
    console.log(`\ndave (clean: false) disconnected; his session waits offline on thread ${daveThread}:`);
    printSessions(broker);
    const daveAgain = await connect(broker.url, { ...options, clientId: 'dave', clean: false });
    clients.push(daveAgain);
    const backOn = threadsBySession(broker).get('dave');
    console.log(`dave reconnected: main handed his new connection to thread ${backOn} (no session state moved)`);
    if (backOn !== daveThread) fail(`dave's session moved from thread ${daveThread} to ${backOn}`);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
    await broker.close();
  }
  console.log('\nthread-per-session: OK');
}

/** Awaits a condition the broker reaches asynchronously (a session noticing its client left). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) fail('timed out waiting for the broker');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
