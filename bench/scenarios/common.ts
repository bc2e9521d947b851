/** Small pieces the scenarios share. */
import { GenClient } from '../lib/gen-client.js';
import type { ScenarioContext } from './types.js';

/** Hard bound on the messages one publisher may send in one run, whatever the duration. */
export const MAX_MESSAGES_PER_PUBLISHER = 100_000_000;

/** Connects one generator client to the scenario's broker. */
export function connect(ctx: ScenarioContext, clientId: string): Promise<GenClient> {
  return GenClient.connect({ host: ctx.broker.host, port: ctx.broker.port, clientId });
}

/** Closes every client (politely, bounded). */
export async function closeAll(clients: readonly GenClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
}

/** A short random suffix so runs never collide on client ids or topics. */
export function runTag(): string {
  return Math.random().toString(36).slice(2, 8);
}
