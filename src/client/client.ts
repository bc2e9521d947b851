/**
 * The public client API: `connect(url, options)` and {@link MqttClient}. Each call becomes a
 * command with a token; the driver (worker thread by default, or in-thread) reports the
 * outcome as an event carrying that token.
 */
import { EventEmitter } from 'node:events';
import type { QoS } from 'mqtt-packet';
import { getLogger, silentLogger, type Logger } from '../log.js';
import { parseSubscriptionFilter, topicMatches } from '../register/topic.js';
import type { Backend } from './backend.js';
import type { ClientEvent, DisconnectRequest, PublishProperties, ReceivedMessage } from './core/types.js';
import { userPropertyListFault, type UserPropertyList } from './core/user-property-list.js';
import { InThreadBackend } from './driver/in-thread-backend.js';
import { ClientClosedError, InvalidArgumentError } from './errors.js';
import { resolveCoreConfig, resolveDriverConfig, type ClientOptions, type DriverConfig } from './options.js';
import { ThreadBackend } from './thread/thread-backend.js';

/**
 * A message received on a subscription. MQTT 5: `userPropertyList` has its User Properties in
 * the order they arrived, as `[name, value]` pairs; `properties.userProperties` the same in
 * mqtt-packet's object form, which groups a repeated name's values.
 *
 * @example
 * ```ts
 * client.on('message', (topic: string, payload: Buffer, message: Message) => {
 *   console.log(topic, payload.toString(), message.qos, message.retain);
 *   for (const [name, value] of message.userPropertyList ?? []) console.log(name, value);
 * });
 * ```
 */
export type Message = ReceivedMessage;

/**
 * Options of {@link MqttClient.publish}.
 *
 * @example
 * ```ts
 * await client.publish('sensors/1/temp', '21.5', { qos: 1, retain: true });
 * ```
 */
export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5 PUBLISH properties (responseTopic, correlationData, userProperties, messageExpiryInterval ...). */
  properties?: PublishProperties;
  /**
   * MQTT 5: the User Properties as `[name, value]` pairs, written in this order (a name may
   * repeat, also between others: `[['a', '1'], ['b', '2'], ['a', '3']]`), which the Server keeps
   * when forwarding [MQTT-3.3.2-18]. Not with `properties.userProperties` (whose object form
   * cannot say that order): both rejects with an `InvalidArgumentError`. Ignored in MQTT 3.1.1,
   * as `properties` is.
   */
  userPropertyList?: UserPropertyList;
}

/**
 * What a completed publish reports (MQTT 5 reason code of PUBACK/PUBCOMP when there is one).
 *
 * @example
 * ```ts
 * const { reasonCode } = await client.publish('sensors/1/temp', '21.5', { qos: 1 });
 * if (reasonCode === 0x10) console.log('MQTT 5: no subscriber matched');
 * ```
 */
export interface PublishResult {
  reasonCode?: number;
  properties?: unknown;
  /** The PUBACK's / PUBCOMP's User Properties in the order received (MQTT 5), if it had any. */
  userPropertyList?: UserPropertyList;
}

/**
 * Options of {@link MqttClient.subscribe}.
 *
 * @example
 * ```ts
 * // MQTT 5: do not receive my own messages back (No Local).
 * const sub = await client.subscribe('chat/room1', { qos: 1, nl: true });
 * ```
 */
export interface SubscribeOptions {
  qos?: QoS;
  /** MQTT 5 No Local. */
  nl?: boolean;
  /** MQTT 5 Retain As Published. */
  rap?: boolean;
  /** MQTT 5 Retain Handling (0, 1, 2). */
  rh?: number;
  /** MQTT 5 SUBSCRIBE properties (subscriptionIdentifier, userProperties). */
  properties?: Record<string, unknown>;
  /** MQTT 5: the SUBSCRIBE's User Properties in this order (not with `properties.userProperties`). */
  userPropertyList?: UserPropertyList;
}

/**
 * Options of {@link MqttClient.end}.
 *
 * @example
 * ```ts
 * await client.end({ userPropertyList: [['why', 'shutdown'], ['host', 'a'], ['why', 'update']] });
 * ```
 */
export interface EndOptions {
  /** Disconnect at once; unfinished operations reject. */
  force?: boolean;
  /** MQTT 5 DISCONNECT properties: a Reason String, User Properties in the object form. */
  properties?: { reasonString?: string; userProperties?: Record<string, string | string[]> };
  /** MQTT 5: the DISCONNECT's User Properties in this order (not with `properties.userProperties`). */
  userPropertyList?: UserPropertyList;
}

/**
 * Client state as the API sees it.
 *
 * @example
 * ```ts
 * if (client.status !== 'connected') console.log('publishes are queued until the client reconnects');
 * ```
 */
export type ConnectionStatus = 'connecting' | 'connected' | 'offline' | 'paused' | 'ended';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * An active subscription: the SUBACK's outcome, and an async iterator of the messages that
 * match its filters. Messages buffer (at most `maxBufferedMessages`, oldest dropped first)
 * until read.
 *
 * @example
 * ```ts
 * const sub = await client.subscribe('sensors/+/temp', { qos: 1 });
 * console.log(sub.granted); // granted QoS per filter, e.g. [1] (a code >= 0x80 is a refusal)
 * for await (const message of sub) {
 *   console.log(message.topic, message.payload.toString());
 *   if (message.topic === 'sensors/9/temp') break; // ends the iteration; the subscription stays
 * }
 * await sub.unsubscribe();
 * ```
 */
export class Subscription implements AsyncIterable<Message> {
  /** The SUBACK's User Properties in the order received (MQTT 5), if it had any. */
  readonly userPropertyList?: UserPropertyList;
  private buffer: Message[] = [];
  private waiters: Array<{ resolve(r: IteratorResult<Message>): void; reject(error: Error): void }> = [];
  private closed = false;
  /** Why the client ended by itself, thrown once by the iterator after the buffered messages. */
  private failure: Error | undefined;
  private readonly matchers: string[];

  /** @internal */
  constructor(
    private readonly client: MqttClient,
    /** The filters subscribed to. */
    readonly filters: string[],
    /** Granted QoS or reason code per filter, from the SUBACK. */
    readonly granted: number[],
    private readonly maxBuffered: number,
    private readonly onOverflow: () => void,
  ) {
    this.matchers = filters.map((f) => parseSubscriptionFilter(f).filter);
  }

  /** @internal */
  matches(topic: string): boolean {
    return !this.closed && this.matchers.some((f) => topicMatches(f, topic));
  }

  /** @internal */
  push(message: Message): void {
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve({ value: message, done: false });
    if (this.buffer.length >= this.maxBuffered) {
      this.buffer.shift();
      this.onOverflow();
    }
    this.buffer.push(message);
  }

  /** Ends iteration without unsubscribing. */
  close(): void {
    this.finish(undefined);
  }

  /**
   * @internal Ends iteration; with `error` (the client ended by itself), the iterator throws it
   * once the buffered messages are read.
   */
  finish(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    // Waiters exist only while the buffer is empty, so they get the error at once.
    const waiters = this.waiters.splice(0);
    if (error && waiters.length === 0) this.failure = error;
    for (const w of waiters) {
      if (error) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
    this.client.forget(this);
  }

  /** Unsubscribes from the server and ends iteration. */
  async unsubscribe(): Promise<void> {
    this.close();
    await this.client.unsubscribe(this.filters);
  }

  /**
   * Iterates the messages that match this subscription, waiting for the next one;
   * ends when the subscription is closed or unsubscribed (`break` closes it), or when the
   * client ends. A client that ended by itself (e.g. `SessionTakenOverError`) makes the
   * iteration throw that error after the messages already received.
   *
   * @example
   * ```ts
   * for await (const message of sub) console.log(message.topic);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return {
      next: () => {
        const message = this.buffer.shift();
        if (message) return Promise.resolve({ value: message, done: false });
        const failure = this.failure;
        if (failure) {
          this.failure = undefined;
          return Promise.reject(failure);
        }
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/**
 * An MQTT client. Events: `'connect'` (connack), `'reconnect'`, `'offline'` (error?),
 * `'message'` (topic, payload, message), `'error'` (error; emitted only when a listener is
 * attached, so a network blip never crashes a process), `'disconnect'` (server DISCONNECT
 * packet), `'end'` (error?: why the client ended by itself, e.g. a `SessionTakenOverError`;
 * none after {@link MqttClient.end}).
 *
 * @example
 * ```ts
 * import { connect } from 'weft';
 *
 * const client = await connect('mqtt://127.0.0.1:1883', { clientId: 'demo' });
 * client.on('error', (err) => console.error(err));
 * const sub = await client.subscribe('greetings/#');
 * await client.publish('greetings/world', 'hello', { qos: 1 });
 * for await (const message of sub) {
 *   console.log(message.topic, message.payload.toString()); // greetings/world hello
 *   break;
 * }
 * await client.end();
 * ```
 */
export class MqttClient extends EventEmitter {
  private readonly backend: Backend;
  private readonly pending = new Map<number, Pending>();
  private nextToken = 1;
  private readonly subscriptions = new Set<Subscription>();
  private statusValue: ConnectionStatus = 'connecting';
  private readonly log: Logger;
  private endPromise: Promise<void> | undefined;
  private resolveEnded!: () => void;
  private readonly ended: Promise<void>;
  private firstConnect: Pending | undefined;
  private config: DriverConfig;
  private endError: Error | undefined;

  /** @internal use {@link connect}. */
  constructor(
    url: string,
    private readonly options: ClientOptions,
  ) {
    super();
    this.config = resolveDriverConfig(url, options);
    this.log = options.logger === false ? silentLogger() : getLogger('client', { ...(options.logger ? { logger: options.logger } : {}), ...(options.logLevel ? { logLevel: options.logLevel } : {}) });
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    const onEvent = (event: ClientEvent): void => this.onEvent(event);
    if (options.thread === false) {
      this.backend = new InThreadBackend(this.config, this.log, onEvent);
    } else {
      const level = options.logger === false ? 'silent' : (options.logLevel ?? (options.logger ? options.logger.level : (process.env.WEFT_LOG_LEVEL || 'info')));
      const forward = options.logger ? (line: string) => this.forwardLog(line) : undefined;
      this.backend = new ThreadBackend(this.config, level, forward, onEvent);
    }
  }

  /** @internal resolves on the first CONNACK, rejects on a final first-connect failure. */
  waitForConnect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.firstConnect = { resolve: () => resolve(), reject };
    });
  }

  /** @internal a closed subscription stops receiving messages. */
  forget(subscription: Subscription): void {
    this.subscriptions.delete(subscription);
  }

  /** `'connecting'`, `'connected'`, `'offline'`, `'paused'` or `'ended'`. */
  get status(): ConnectionStatus {
    return this.statusValue;
  }

  /** True while a CONNACK-accepted connection is up. */
  get connected(): boolean {
    return this.statusValue === 'connected';
  }

  /** The client identifier in use (the one the server assigned, if it did). */
  get clientId(): string {
    return this.config.core.clientId;
  }

  /**
   * Publishes; resolves when the QoS handshake completes (QoS 0: when written to the socket,
   * QoS 1: PUBACK, QoS 2: PUBCOMP). Rejects with a typed error (`QueueFullError`,
   * `PacketIdExhaustedError`, `PacketTooLargeError`, `ReasonCodeError`, `ClientClosedError`).
   */
  publish(topic: string, payload: string | Uint8Array, options: PublishOptions = {}): Promise<PublishResult> {
    const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const request = {
      topic,
      payload: body,
      qos: options.qos ?? 0,
      retain: options.retain ?? false,
      ...(options.properties ? { properties: options.properties } : {}),
      ...(options.userPropertyList !== undefined ? { userPropertyList: options.userPropertyList } : {}),
    };
    return this.operation((token) => ({ type: 'publish', token, request })) as Promise<PublishResult>;
  }

  /**
   * Subscribes to one or more filters; resolves with a {@link Subscription} once the SUBACK
   * arrives (its `granted` holds each filter's granted QoS or failure code).
   */
  async subscribe(filters: string | string[], options: SubscribeOptions = {}): Promise<Subscription> {
    const list = Array.isArray(filters) ? filters : [filters];
    const subscriptions = list.map((topic) => {
      const s: { topic: string; qos: QoS; nl?: boolean; rap?: boolean; rh?: number } = { topic, qos: options.qos ?? 0 };
      if (options.nl !== undefined) s.nl = options.nl;
      if (options.rap !== undefined) s.rap = options.rap;
      if (options.rh !== undefined) s.rh = options.rh;
      return s;
    });
    // Register before the SUBACK: a matching PUBLISH may arrive first (haka's subscribe path).
    const sub = new Subscription(this, list, [], this.options.maxBufferedMessages ?? 10_000, () => this.log.warn('subscription buffer full: dropped the oldest message'));
    this.subscriptions.add(sub);
    try {
      const suback = (await this.operation((token) => ({
        type: 'subscribe',
        token,
        subscriptions,
        ...(options.properties ? { properties: options.properties } : {}),
        ...(options.userPropertyList !== undefined ? { userPropertyList: options.userPropertyList } : {}),
      }))) as { granted: number[]; userPropertyList?: UserPropertyList };
      (sub as { granted: number[] }).granted = [...suback.granted];
      if (suback.userPropertyList !== undefined) (sub as { userPropertyList?: UserPropertyList }).userPropertyList = suback.userPropertyList;
      return sub;
    } catch (err) {
      sub.close();
      throw err;
    }
  }

  /**
   * Unsubscribes; resolves with the UNSUBACK's reason codes (MQTT 5) or an empty list.
   * `userPropertyList`: the UNSUBSCRIBE's User Properties in this order (MQTT 5; not with
   * `properties.userProperties`).
   */
  async unsubscribe(filters: string | string[], options: { properties?: Record<string, unknown>; userPropertyList?: UserPropertyList } = {}): Promise<number[]> {
    const topics = Array.isArray(filters) ? filters : [filters];
    for (const sub of [...this.subscriptions]) if (sub.filters.every((f) => topics.includes(f))) sub.close();
    const unsuback = (await this.operation((token) => ({
      type: 'unsubscribe',
      token,
      topics,
      ...(options.properties ? { properties: options.properties } : {}),
      ...(options.userPropertyList !== undefined ? { userPropertyList: options.userPropertyList } : {}),
    }))) as { granted?: number[] };
    return unsuback.granted ?? [];
  }

  /**
   * Sends DISCONNECT after in-flight work completes (at most `endTimeout` ms) and releases the
   * thread and socket. With `force`, disconnects at once; unfinished operations reject. MQTT 5:
   * the DISCONNECT carries `properties` and `userPropertyList` (see {@link EndOptions}); either
   * not valid rejects with an `InvalidArgumentError` before anything ends.
   */
  end(options: EndOptions = {}): Promise<void> {
    if (!this.endPromise) {
      let disconnect: DisconnectRequest | undefined;
      try {
        disconnect = disconnectRequest(options);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      this.backend.send({ type: 'end', force: options.force ?? false, ...(disconnect ? { disconnect } : {}) });
      this.endPromise = this.ended;
    } else if (options.force) this.backend.send({ type: 'end', force: true });
    return this.endPromise;
  }

  /** Reconnects now with changed options (only connection options change; driver options stay). */
  reconnect(newOptions: ClientOptions = {}): void {
    if (newOptions.thread !== undefined || newOptions.logger !== undefined) throw new InvalidArgumentError('reconnect: thread and logger cannot change');
    const core = resolveCoreConfig(newOptions, this.config.core);
    this.config = { ...this.config, core };
    this.backend.send({ type: 'reconnect', changes: core, ...(newOptions.tls ? { tls: newOptions.tls } : {}) });
  }

  /** Stops network activity (DISCONNECT if connected); publishes keep queueing. */
  pause(): void {
    this.backend.send({ type: 'pause' });
  }

  /** Restarts network activity after {@link pause}. */
  resume(): void {
    this.backend.send({ type: 'resume' });
  }

  /** Sends an AUTH packet (MQTT 5): 0x19 to re-authenticate, 0x18 to continue. */
  auth(reasonCode: number, properties?: Record<string, unknown>): void {
    this.backend.send({ type: 'auth', reasonCode, ...(properties ? { properties } : {}) });
  }

  private operation(build: (token: number) => Parameters<Backend['send']>[0]): Promise<unknown> {
    if (this.endError) return Promise.reject(this.endError);
    if (this.statusValue === 'ended' || this.endPromise) return Promise.reject(new ClientClosedError('client is ending or ended'));
    const token = this.nextToken++;
    return new Promise((resolve, reject) => {
      this.pending.set(token, { resolve, reject });
      this.backend.send(build(token));
    });
  }

  private settle(token: number, outcome: { value?: unknown; error?: Error }): void {
    const p = this.pending.get(token);
    if (!p) return;
    this.pending.delete(token);
    if (outcome.error) p.reject(outcome.error);
    else p.resolve(outcome.value);
  }

  private onEvent(event: ClientEvent): void {
    switch (event.type) {
      case 'connect': {
        const assigned = event.connack.properties?.assignedClientIdentifier;
        if (assigned) this.config = { ...this.config, core: { ...this.config.core, clientId: assigned } };
        this.statusValue = 'connected';
        this.firstConnect?.resolve(undefined);
        this.firstConnect = undefined;
        this.emit('connect', event.connack);
        return;
      }
      case 'connect-failed':
        if (event.final) {
          this.firstConnect?.reject(event.error);
          this.firstConnect = undefined;
        } else this.emitError(event.error);
        return;
      case 'reconnect':
        this.statusValue = 'connecting';
        this.emit('reconnect');
        return;
      case 'offline':
        this.statusValue = 'offline';
        this.emit('offline', event.error);
        return;
      case 'paused':
        this.statusValue = 'paused';
        return;
      case 'error':
        this.emitError(event.error);
        return;
      case 'message': {
        const m = event.message;
        for (const sub of this.subscriptions) if (sub.matches(m.topic)) sub.push(m);
        this.emit('message', m.topic, m.payload, m);
        return;
      }
      case 'publish-done':
        this.settle(event.token, {
          value: {
            ...(event.reasonCode !== undefined ? { reasonCode: event.reasonCode } : {}),
            ...(event.properties !== undefined ? { properties: event.properties } : {}),
            ...(event.userPropertyList !== undefined ? { userPropertyList: event.userPropertyList } : {}),
          },
        });
        return;
      case 'subscribe-done':
        this.settle(event.token, { value: event.suback });
        return;
      case 'unsubscribe-done':
        this.settle(event.token, { value: event.unsuback });
        return;
      case 'operation-failed':
        this.settle(event.token, { error: event.error });
        return;
      case 'auth':
        void this.onAuth(event.packet);
        return;
      case 'disconnect':
        this.emit('disconnect', event.packet);
        return;
      case 'ended':
        this.onEnded(event.error);
        return;
    }
  }

  private async onAuth(packet: { reasonCode: number; properties?: Record<string, unknown> }): Promise<void> {
    const handler = this.options.authHandler;
    if (!handler) return;
    try {
      const answer = await handler(packet);
      this.auth(answer.reasonCode ?? 0x18, answer.properties);
    } catch (err) {
      this.emitError(err as Error);
    }
  }

  /**
   * The client is done. `error`: it ended by itself (not by {@link end}), and everything still
   * waiting ends with that error: pending operations, subscription iterators, later operations,
   * and the `'end'` event's argument.
   */
  private onEnded(error: Error | undefined): void {
    if (this.statusValue === 'ended') return;
    this.statusValue = 'ended';
    this.endError = error;
    const closed = error ?? new ClientClosedError('client ended');
    for (const token of [...this.pending.keys()]) this.settle(token, { error: closed });
    for (const sub of [...this.subscriptions]) sub.finish(error);
    this.firstConnect?.reject(closed);
    this.firstConnect = undefined;
    this.backend.close();
    this.resolveEnded();
    if (error) this.emit('end', error);
    else this.emit('end');
  }

  private emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private forwardLog(line: string): void {
    let record: { level?: number; msg?: string; [k: string]: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      return;
    }
    const { level, msg, time: _t, pid: _p, hostname: _h, component: _c, ...rest } = record;
    const method = level === undefined ? 'info' : level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : level >= 20 ? 'debug' : 'trace';
    this.log[method](rest, msg ?? '');
  }
}

/** What {@link MqttClient.end}'s options ask the DISCONNECT to carry, or undefined; throws an `InvalidArgumentError` naming a bad option. */
function disconnectRequest(options: EndOptions): DisconnectRequest | undefined {
  const { properties, userPropertyList } = options;
  if (properties === undefined && userPropertyList === undefined) return undefined;
  const fault = userPropertyListFault('end: userPropertyList', userPropertyList, 'properties.userProperties', properties);
  if (fault) throw fault;
  const out: DisconnectRequest = {};
  if (properties?.reasonString !== undefined) out.reasonString = properties.reasonString;
  if (properties?.userProperties !== undefined) out.userProperties = properties.userProperties;
  if (userPropertyList !== undefined) out.userPropertyList = userPropertyList;
  return out;
}

/**
 * Connects to an MQTT 3.1.1 or 5.0 server: `await connect('mqtt://127.0.0.1:1883', options)`.
 * Resolves once the server accepts the connection; rejects with a `ConnectError` saying what
 * failed (`kind`: dns, refused, tls, timeout, network, connack with its `reasonCode`, protocol) on the
 * first failed attempt, unless `retryFirstConnect` asks to keep trying. Bad options reject with
 * an `InvalidArgumentError` naming the option.
 *
 * @example
 * ```ts
 * import { connect, ConnectError } from 'weft';
 *
 * try {
 *   const client = await connect('mqtt://127.0.0.1:1883', { protocolVersion: 5, keepalive: 30 });
 *   await client.publish('status', 'up');
 *   await client.end();
 * } catch (err) {
 *   if (err instanceof ConnectError) console.error(`cannot connect (${err.kind})`);
 *   else throw err;
 * }
 * ```
 */
export async function connect(url: string, options: ClientOptions = {}): Promise<MqttClient> {
  const client = new MqttClient(url, options);
  try {
    await client.waitForConnect();
  } catch (err) {
    await client.end({ force: true }).catch(() => undefined);
    throw err;
  }
  return client;
}
