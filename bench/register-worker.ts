/** Benchmark worker: attaches to the register, then matches topics until told to stop. */
import { parentPort, workerData } from 'node:worker_threads';
import { SharedRegister, type SharedRegisterHandle } from '../src/register/shared-register.js';
import { makeTopics } from './register-workload.js';

interface Job {
  handle: SharedRegisterHandle;
  owner: number;
  /** Int32Array over a SAB: [0] start flag, [1] stop flag, [2] workers ready */
  control: SharedArrayBuffer;
  seed: number;
}

const job = workerData as Job;
const register = SharedRegister.attach(job.handle, { owner: job.owner, resultCacheSize: 0 });
// (delivery reuse at its default, as a broker thread would run)
const topics = makeTopics(10_000, job.seed);
const control = new Int32Array(job.control);
Atomics.add(control, 2, 1);
Atomics.notify(control, 2);
Atomics.wait(control, 0, 0);
let matches = 0;
let delivered = 0;
while (Atomics.load(control, 1) === 0) {
  for (let i = 0; i < 256; i++) {
    const d = register.tryMatch(topics[(matches + i) % topics.length]!, 0);
    if (d !== undefined) delivered += d.length;
  }
  matches += 256;
}
parentPort!.postMessage({ matches, delivered });
