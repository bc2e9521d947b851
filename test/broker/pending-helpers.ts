/**
 * Helpers of the tests of the pending bounds (`maxPendingConnections`, `maxPendingConnectBytes`):
 * the two accept paths, the gauges, silent sockets, and a check that connected clients still work.
 */
import { expect } from 'chai';
import type { MqttClient } from 'mqtt';
import type { Broker, BrokerOptions } from '../../src/broker/index.js';
import { nextMessages, RawClient, until } from './helpers.js';

/** The two accept paths; the threads' needs the hand-off addon. */
export const PATHS: { name: string; options: BrokerOptions; needsAddon: boolean }[] = [
  { name: 'main accepts (acceptOnSessionThreads: false)', options: { acceptOnSessionThreads: false }, needsAddon: false },
  { name: 'the session threads accept', options: {}, needsAddon: true },
];

/** The pending-connections gauge. */
export const pending = (broker: Broker): number => broker.stats().pendingConnections;

/** The pending-bytes gauge. */
export const pendingBytes = (broker: Broker): number => broker.stats().pendingConnectBytes;

/** Opens `n` raw sockets that send nothing, and waits until the broker counts them pending. */
export async function silentSockets(broker: Broker, n: number): Promise<RawClient[]> {
  const before = pending(broker);
  const sockets: RawClient[] = [];
  for (let i = 0; i < n; i++) sockets.push(await RawClient.open(broker));
  await until(() => pending(broker) === before + n, () => `${before + n} pending, saw ${pending(broker)}`);
  return sockets;
}

/** A connected client still gets what it subscribed to. */
export async function stillWorks(c: MqttClient, topic: string): Promise<void> {
  await c.subscribeAsync(topic, { qos: 1 });
  const got = nextMessages(c, 1);
  await c.publishAsync(topic, 'still here', { qos: 1 });
  expect((await got)[0]!.payload).to.equal('still here');
}
