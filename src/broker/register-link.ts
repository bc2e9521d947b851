/**
 * The one place the broker creates and attaches its subscription register, so the rest of the
 * runtime sees only the {@link SubscriptionRegister} interface.
 *
 * The main thread creates the register (owner 1) and posts its handle to every worker (piscina
 * `workerData`) with the owner table; each worker claims an owner id from that table
 * (owner-slots.ts) and attaches with it, so that main can recover the lock of a worker that died
 * holding it and then hand its owner id to a new thread.
 */
import { SharedRegister, type SharedRegisterHandle } from '../register/shared-register.js';
import type { SubscriptionRegister } from '../register/types.js';
import { MAIN_OWNER, OwnerSlots } from './owner-slots.js';

/** Most owners the register supports (its limit). */
const REGISTER_MAX_OWNERS = 4096;
/**
 * Owner ids beyond main + the pool's threads: a replacement worker may claim one before main has
 * recovered and released the id of the thread it replaces.
 */
const SPARE_OWNERS = 16;

/**
 * Owner ids for a pool of at most `maxThreads` workers. Kept small on purpose: every register
 * write scans one reader word per owner id.
 */
export function ownersFor(maxThreads: number): number {
  return Math.min(REGISTER_MAX_OWNERS, 1 + maxThreads + SPARE_OWNERS);
}

/** What a worker needs to attach (structured-cloneable). */
export interface RegisterLinkHandle {
  readonly register: SharedRegisterHandle;
  readonly owners: SharedArrayBuffer;
}

/** The main thread's view: its own attachment, the handle for workers, and recovery. */
export interface RegisterHost {
  readonly register: SubscriptionRegister;
  readonly handle: RegisterLinkHandle;
  /** The thread `threadId` died: release what it held (its lock, if any) and its owner id. */
  recoverDeadThread(threadId: number): Promise<void>;
}

/** Main thread: creates the shared register and attaches to it as owner 1. */
export function createRegisterHost(options: { maxSubscriptions: number; maxThreads: number }): RegisterHost {
  const maxOwners = ownersFor(options.maxThreads);
  const owners = OwnerSlots.create(maxOwners);
  const register = SharedRegister.create({ maxSubscriptions: options.maxSubscriptions, maxOwners, owner: MAIN_OWNER });
  return {
    register,
    handle: { register: register.handle, owners: owners.buffer },
    async recoverDeadThread(threadId) {
      const owner = owners.ownerOf(threadId);
      if (owner === undefined) return;
      await register.recoverDeadOwner(owner);
      owners.release(owner);
    },
  };
}

/** A worker thread: claims an owner id and attaches to the register main created. */
export function attachRegister(handle: RegisterLinkHandle, threadId: number): SubscriptionRegister {
  const owner = new OwnerSlots(handle.owners).claim(threadId);
  return SharedRegister.attach(handle.register, { owner });
}
