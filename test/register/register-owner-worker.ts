/**
 * Worker for the dead-owner tests. Modes:
 * - `hold`: takes the writer mutex (test hook), signals, then blocks until terminated;
 * - `halt`: starts a subscribe that stops half-way holding the mutex, signals, blocks;
 * - `read`: enters a read and never leaves it, signals, blocks;
 * - `carry`: an ordinary thread that subscribes and matches once, then reports.
 * The signal is control[0] = 1 with Atomics.notify; blocking is Atomics.wait on control[1].
 */
import { parentPort, workerData } from 'node:worker_threads';
import { WriteHaltedForTest } from '../../src/register/shared-arena.js';
import { SharedRegister, type SharedRegisterHandle } from '../../src/register/shared-register.js';

export interface OwnerJob {
  handle: SharedRegisterHandle;
  owner: number;
  mode: 'hold' | 'halt' | 'read' | 'carry';
  control: SharedArrayBuffer;
}

const job = workerData as OwnerJob;
const register = SharedRegister.attach(job.handle, { owner: job.owner });
const control = new Int32Array(job.control);

function signalAndBlock(): void {
  Atomics.store(control, 0, 1);
  Atomics.notify(control, 0);
  for (;;) Atomics.wait(control, 1, 0);
}

if (job.mode === 'hold') {
  await register.holdLockForTest();
  signalAndBlock();
} else if (job.mode === 'halt') {
  register.haltNextWriteForTest(6);
  try {
    await register.subscribe(99, 'half/done/write/x', { qos: 1 });
  } catch (e) {
    if (!(e instanceof WriteHaltedForTest)) throw e;
  }
  signalAndBlock();
} else if (job.mode === 'read') {
  register.holdReadForTest();
  signalAndBlock();
} else {
  await register.subscribe(77, 'carry/on', { qos: 2 });
  parentPort!.postMessage(await register.match('carry/on', 0));
}
