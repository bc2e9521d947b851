/** Helpers for the MQTT 5 end-to-end tests: v5 clients that keep their CONNACK, raw v5 sockets, packet waits. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IConnackPacket, IDisconnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
import type { Broker } from '../../src/broker/index.js';
import type { BrokerOptions } from '../../src/broker/options.js';
import { packetsUntilClosed, RawClient, testBroker } from './helpers.js';

export { packetsUntilClosed };

/** An MQTT.js client at protocol level 5 together with the CONNACK it received. */
export interface V5Client {
  c: MqttClient;
  connack: IConnackPacket;
}

/** MQTT.js at `protocolVersion: 5` (no reconnects); resolves with the client and its CONNACK. */
export function v5(broker: Broker, options: IClientOptions = {}): Promise<V5Client> {
  const c = mqtt.connect(broker.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      c.end(true);
      reject(err);
    };
    c.once('error', onError);
    c.once('connect', (connack) => {
      c.off('error', onError);
      resolve({ c, connack });
    });
  });
}

/**
 * Connects and starts collecting the next `count` PUBLISH packets before any can arrive (for a
 * resumed session, whose queued messages follow the CONNACK at once).
 */
export async function v5Collecting(broker: Broker, options: IClientOptions, count: number): Promise<V5Client & { got: Promise<IPublishPacket[]> }> {
  const c = mqtt.connect(broker.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  const got = publishes(c, count);
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    c.once('error', reject);
    c.once('connect', resolve);
  });
  return { c, connack, got };
}

/** Resolves with the next `count` PUBLISH packets a client receives (topic aliases resolved by MQTT.js). */
export function publishes(c: MqttClient, count: number): Promise<IPublishPacket[]> {
  return new Promise((resolve) => {
    const got: IPublishPacket[] = [];
    const onMessage = (_topic: string, _payload: Buffer, packet: IPublishPacket): void => {
      got.push(packet);
      if (got.length === count) {
        c.off('message', onMessage);
        resolve(got);
      }
    };
    c.on('message', onMessage);
  });
}

/** Resolves with the DISCONNECT the broker sends to an MQTT.js client. */
export function serverDisconnect(c: MqttClient): Promise<IDisconnectPacket> {
  return new Promise((resolve) => c.once('disconnect', resolve));
}

/** Resolves when an MQTT.js client's connection has closed. */
export function closed(c: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!c.connected && c.stream?.destroyed) return resolve();
    c.once('close', () => resolve());
  });
}

/** A raw socket client at protocol level 5, connected; the CONNACK is checked by the caller. */
export async function rawV5(broker: Broker, clientId: string, extra: Record<string, unknown> = {}): Promise<{ raw: RawClient; connack: IConnackPacket }> {
  const raw = await RawClient.open(broker, 5);
  const connack = (await raw.connect(clientId, extra)) as IConnackPacket;
  return { raw, connack };
}

/** The next packet of a raw client, which must be a `cmd`. */
export async function expectNext<T extends Packet>(raw: RawClient, cmd: T['cmd']): Promise<T> {
  const packet = await raw.next();
  if (packet.cmd !== cmd) throw new Error(`expected ${cmd}, got ${packet.cmd} ${JSON.stringify(packet)}`);
  return packet as T;
}

/** Raw SUBSCRIBE → the SUBACK's reason codes. */
export async function rawSubscribe(raw: RawClient, messageId: number, subscriptions: Record<string, unknown>[], properties?: Record<string, unknown>): Promise<number[]> {
  raw.send({ cmd: 'subscribe', messageId, subscriptions, ...(properties ? { properties } : {}) } as unknown as Packet);
  const suback = await expectNext<Packet & { granted: number[] }>(raw, 'suback');
  return suback.granted;
}

/**
 * Brokers for a `describe` block: one shared broker for the block (started in `before`), and
 * `restart(options)` for a test that needs its own: a fresh broker with extra options, which
 * `broker()` returns until that test ends. Tests on the shared broker use their own client ids
 * and topics, and look at their own sessions rather than at broker-wide totals.
 */
export function brokerPerTest(placementOptions: BrokerOptions, base: BrokerOptions = {}): { broker: () => Broker; restart: (extra: BrokerOptions) => Promise<Broker> } {
  let shared: Broker | undefined;
  let own: Broker | undefined;
  before(async () => {
    shared = await testBroker({ ...placementOptions, ...base });
  });
  after(async () => {
    await shared?.close();
    shared = undefined;
  });
  afterEach(async () => {
    await own?.close();
    own = undefined;
  });
  return {
    broker: () => own ?? shared!,
    restart: async (extra) => {
      await own?.close();
      own = await testBroker({ ...placementOptions, ...base, ...extra });
      return own;
    },
  };
}

/** True while `broker` has a session for `clientId`. */
export function hasSession(broker: Broker, clientId: string): boolean {
  return broker.sessions().some((s) => s.clientId === clientId);
}

/** The reason string of a packet's properties, if any. */
export function reasonString(packet: Packet): string | undefined {
  return (packet as { properties?: { reasonString?: string } }).properties?.reasonString;
}
