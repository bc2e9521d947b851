/**
 * aedes on its own thread, for tests that block the test's main thread: a broker on the
 * blocked thread would stop answering too.
 */
import { parentPort } from 'node:worker_threads';
import { startAedes } from './brokers.js';

const broker = await startAedes();
const port = parentPort!;
let reported = 0;
const report = setInterval(() => {
  while (reported < broker.connected!.length) port.postMessage({ type: 'client', id: broker.connected![reported++] });
}, 10);
port.postMessage({ type: 'ready', url: broker.url });
port.on('message', async (m: { type: string }) => {
  if (m.type !== 'close') return;
  clearInterval(report);
  await broker.close();
  port.postMessage({ type: 'closed' });
  port.close();
});
