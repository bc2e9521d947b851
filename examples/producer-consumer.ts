/**
 * Producer/consumer over MQTT, every party on its own thread.
 *
 *   main thread ──── startBroker({ port: 0 })      (the broker adds its own session threads)
 *   ├── consumer worker 1 ─┐
 *   ├── consumer worker 2 ─┼── Weft clients, each subscribed to demo/numbers/qos<Q>
 *   ├── consumer worker 3 ─┘
 *   └── producer worker ────── Weft client publishing 0 .. N-1, then "end", at QoS Q
 *
 * Run once at QoS 1 and once at QoS 2. Every consumer counts each number it receives; the
 * summary shows that each consumer got every number exactly once and in order. The exit code is
 * 1 if anything was lost, duplicated or reordered.
 *
 *   npm run build && node dist/examples/producer-consumer.js [--messages 3000] [--consumers 3]
 *
 * In your own project import from 'weft' instead of '../src/index.js'.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { once } from 'node:events';
import { connect, startBroker } from '../src/index.js';
import { integerOptions } from './integer-options.js';

type QoS = 1 | 2;

interface ConsumerJob {
  role: 'consumer';
  url: string;
  topic: string;
  qos: QoS;
  messages: number;
  name: string;
}

interface ProducerJob {
  role: 'producer';
  url: string;
  topic: string;
  qos: QoS;
  messages: number;
  window: number;
}

/** What a consumer reports when it saw the end marker. */
interface ConsumerReport {
  name: string;
  received: number;
  distinct: number;
  duplicates: number;
  outOfOrder: number;
  wrongQos: number;
}

const END = 'end';

// ---------------------------------------------------------------------------------------------
// Worker side
// ---------------------------------------------------------------------------------------------

/** The client options every worker uses. */
function clientOptions(clientId: string) {
  return {
    clientId,
    // The worker already is a thread of its own, so the client's network loop runs on it
    // instead of starting one more thread (the default, `thread: true`, suits a busy main).
    thread: false,
    reconnectPeriod: 0,
    logLevel: 'warn' as const,
  };
}

async function consume(job: ConsumerJob): Promise<ConsumerReport> {
  const client = await connect(job.url, clientOptions(`consumer-${job.name}-qos${job.qos}`));
  const subscription = await client.subscribe(job.topic, { qos: job.qos });
  // Subscribed: from now on the broker routes every message on the topic to us.
  parentPort!.postMessage({ t: 'ready' });

  const seen = new Uint16Array(job.messages);
  const report: ConsumerReport = { name: job.name, received: 0, distinct: 0, duplicates: 0, outOfOrder: 0, wrongQos: 0 };
  let last = -1;
  // The iterator awaits each message: no polling, the thread sleeps in its event loop.
  for await (const message of subscription) {
    // One publisher, one topic, one QoS: the broker keeps the order [MQTT-4.6.0-6], so the
    // end marker arrives after every number.
    if (message.payload.toString() === END) break;
    const n = message.payload.readUInt32BE(0);
    report.received++;
    if (message.qos !== job.qos) report.wrongQos++;
    if (seen[n]!++ === 0) report.distinct++;
    else report.duplicates++;
    if (n !== last + 1) report.outOfOrder++;
    last = n;
  }
  await client.end();
  return report;
}

async function produce(job: ProducerJob): Promise<{ published: number }> {
  const client = await connect(job.url, clientOptions(`producer-qos${job.qos}`));
  let next = 0;
  // `window` lanes, each awaiting its publish before taking the next number: at most `window`
  // messages are unacknowledged at once. Numbers are taken in order and the client sends in
  // call order, so the stream leaves in order.
  const lane = async (): Promise<void> => {
    while (next < job.messages) {
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(next++);
      await client.publish(job.topic, payload, { qos: job.qos });
    }
  };
  await Promise.all(Array.from({ length: job.window }, lane));
  await client.publish(job.topic, END, { qos: job.qos });
  await client.end(); // waits for the last acknowledgement, then DISCONNECT
  return { published: next };
}

async function runWorker(job: ConsumerJob | ProducerJob): Promise<void> {
  const result = job.role === 'consumer' ? await consume(job) : await produce(job);
  parentPort!.postMessage({ t: 'done', result });
  // Nothing else to do: with the client ended the event loop is empty and the thread exits.
}

// ---------------------------------------------------------------------------------------------
// Main side
// ---------------------------------------------------------------------------------------------

/** Starts this file as a worker running `job`; resolves on its 'done' message. */
function startWorker<T>(job: ConsumerJob | ProducerJob): { worker: Worker; ready: Promise<void>; done: Promise<T> } {
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const done = new Promise<T>((resolve, reject) => {
    worker.on('message', (m: { t: string; result?: T }) => {
      if (m.t === 'ready') onReady();
      if (m.t === 'done') resolve(m.result as T);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`${job.role} worker exited (code ${code}) before reporting`)));
  });
  return { worker, ready, done };
}

async function round(url: string, qos: QoS, messages: number, consumers: number): Promise<boolean> {
  const topic = `demo/numbers/qos${qos}`;
  const started = performance.now();
  const consumerWorkers = Array.from({ length: consumers }, (_, i) =>
    startWorker<ConsumerReport>({ role: 'consumer', url, topic, qos, messages, name: String(i + 1) }),
  );
  // Producing before every consumer has subscribed would lose messages by design (MQTT keeps
  // no history for a subscription that does not exist yet), so wait for all of them.
  await Promise.all(consumerWorkers.map((c) => c.ready));
  const producer = startWorker<{ published: number }>({ role: 'producer', url, topic, qos, messages, window: 32 });

  const all = [producer.worker, ...consumerWorkers.map((c) => c.worker)];
  const exited = all.map((w) => once(w, 'exit'));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`QoS ${qos}: not finished within 20 s`)), 20_000);
  });
  let published: number;
  let reports: ConsumerReport[];
  try {
    [{ published }, reports] = await Promise.race([
      Promise.all([producer.done, Promise.all(consumerWorkers.map((c) => c.done))]),
      timeout,
    ]);
  } catch (err) {
    for (const w of all) void w.terminate();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  await Promise.all(exited);
  const ms = performance.now() - started;

  let ok = published === messages;
  console.log(`QoS ${qos}: producer published ${published} numbered messages to ${consumers} consumers`);
  for (const r of reports) {
    const missing = messages - r.distinct;
    const good = missing === 0 && r.duplicates === 0 && r.outOfOrder === 0 && r.wrongQos === 0;
    ok &&= good;
    console.log(
      `  consumer ${r.name}: received ${r.received}, distinct ${r.distinct}, missing ${missing}, ` +
        `duplicates ${r.duplicates}, out of order ${r.outOfOrder}${r.wrongQos ? `, wrong QoS ${r.wrongQos}` : ''}  ${good ? 'ok' : 'FAILED'}`,
    );
  }
  const total = reports.reduce((sum, r) => sum + r.distinct, 0);
  const outcome = ok ? 'each exactly once and in order' : 'with losses, duplicates or reordering (see above)';
  console.log(
    `QoS ${qos}: ${ok ? 'OK' : 'FAILED'}: ${total} of ${messages * consumers} deliveries, ${outcome} ` +
      `(${Math.round(ms)} ms, ${Math.round((total / ms) * 1000)} deliveries/s)`,
  );
  return ok;
}

async function main(): Promise<void> {
  const { messages, consumers } = integerOptions({
    messages: { default: 3000, min: 1, max: 65535 },
    consumers: { default: 3, min: 1, max: 16 },
  });

  const broker = await startBroker({ port: 0, logLevel: 'warn' });
  console.log(`broker on ${broker.url}, ${broker.stats().threads} session threads`);
  let ok = false;
  try {
    const qos1 = await round(broker.url, 1, messages, consumers);
    const qos2 = await round(broker.url, 2, messages, consumers);
    const { counters } = broker.stats();
    // What the broker's bounds shed; non-zero would explain a loss above.
    console.log(`broker counters: sessionDropped ${counters.sessionDropped}, relayDropped ${counters.relayDropped}`);
    ok = qos1 && qos2;
  } finally {
    await broker.close();
  }
  console.log(ok ? 'producer-consumer: OK, nothing lost or duplicated' : 'producer-consumer: FAILED');
  // No process.exit(): the process ends by itself, which proves nothing was left running.
  process.exitCode = ok ? 0 : 1;
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  // A failure here rejects this top-level await and reaches main as the worker's 'error' event.
  await runWorker(workerData as ConsumerJob | ProducerJob);
}
