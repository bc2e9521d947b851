/**
 * Every message that crosses the MessagePort between the caller's API and the client worker,
 * and the conversions that make events cloneable (errors serialized, payloads moved as
 * transferred ArrayBuffers rather than copied by structured clone).
 */
import type { MessagePort } from 'node:worker_threads';
import type { ClientEvent, PublishRequest } from '../core/types.js';
import type { LoopCommand } from '../driver/connection-loop.js';
import type { DriverConfig } from '../options.js';
import { deserializeError, serializeError, type SerializedError } from '../errors.js';

/** `workerData` of the client worker. */
export interface WorkerInit {
  config: DriverConfig;
  logLevel: string;
  /** Forward log lines to the caller (the caller injected a logger), else the worker logs to stderr itself. */
  forwardLogs: boolean;
  port: MessagePort;
}

/** Caller → worker. */
export type ToWorker = { type: 'command'; command: LoopCommand };

/** Worker → caller. */
export type FromWorker = { type: 'event'; event: WireEvent } | { type: 'log'; line: string };

/** A {@link ClientEvent} with its errors in cloneable form. */
export type WireEvent =
  | Exclude<ClientEvent, { error: Error }>
  | { type: 'offline'; error?: SerializedError }
  | { type: 'connect-failed'; error: SerializedError; final: boolean }
  | { type: 'error'; error: SerializedError }
  | { type: 'operation-failed'; token: number; error: SerializedError }
  | { type: 'ended'; error?: SerializedError };

/** Copies `bytes` into a fresh ArrayBuffer that can be transferred without touching the caller's buffer. */
export function ownedCopy(bytes: Uint8Array): ArrayBuffer {
  const ab = new ArrayBuffer(bytes.length);
  new Uint8Array(ab).set(bytes);
  return ab;
}

/** Converts an event for `postMessage`; returns the transfer list too. */
export function eventToWire(event: ClientEvent): { wire: WireEvent; transfer: ArrayBuffer[] } {
  switch (event.type) {
    case 'offline':
      return { wire: event.error ? { type: 'offline', error: serializeError(event.error) } : { type: 'offline' }, transfer: [] };
    case 'connect-failed':
      return { wire: { type: 'connect-failed', error: serializeError(event.error), final: event.final }, transfer: [] };
    case 'error':
      return { wire: { type: 'error', error: serializeError(event.error) }, transfer: [] };
    case 'operation-failed':
      return { wire: { type: 'operation-failed', token: event.token, error: serializeError(event.error) }, transfer: [] };
    case 'ended':
      return { wire: event.error ? { type: 'ended', error: serializeError(event.error) } : { type: 'ended' }, transfer: [] };
    case 'message': {
      const ab = ownedCopy(event.message.payload);
      const wire = { type: 'message' as const, message: { ...event.message, payload: ab as unknown as Buffer } };
      return { wire, transfer: [ab] };
    }
    default:
      return { wire: event, transfer: [] };
  }
}

/** Rebuilds a {@link ClientEvent} on the caller's side. */
export function eventFromWire(wire: WireEvent): ClientEvent {
  switch (wire.type) {
    case 'offline':
      return wire.error ? { type: 'offline', error: deserializeError(wire.error) } : { type: 'offline' };
    case 'connect-failed':
      return { type: 'connect-failed', error: deserializeError(wire.error), final: wire.final };
    case 'error':
      return { type: 'error', error: deserializeError(wire.error) };
    case 'operation-failed':
      return { type: 'operation-failed', token: wire.token, error: deserializeError(wire.error) };
    case 'ended':
      return wire.error ? { type: 'ended', error: deserializeError(wire.error) } : { type: 'ended' };
    case 'message': {
      const payload = wire.message.payload as unknown as ArrayBuffer | Uint8Array;
      const buf = payload instanceof ArrayBuffer ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      return { type: 'message', message: { ...wire.message, payload: buf, ...(wire.message.properties ? { properties: reviveBuffers(wire.message.properties) } : {}) } };
    }
    case 'auth':
      return { type: 'auth', packet: { ...wire.packet, ...(wire.packet.properties ? { properties: reviveBuffers(wire.packet.properties) } : {}) } };
    case 'connect':
      return { ...wire, connack: { ...wire.connack, ...(wire.connack.properties ? { properties: reviveBuffers(wire.connack.properties) } : {}) } };
    default:
      return wire as ClientEvent;
  }
}

const BUFFER_FIELDS = ['correlationData', 'authenticationData'];

/** Structured clone turns Buffers into Uint8Arrays; the codec wants Buffers back. */
export function reviveBuffers<T>(props: T): T {
  if (!props || typeof props !== 'object') return props;
  const out = { ...(props as Record<string, unknown>) };
  for (const key of BUFFER_FIELDS) {
    const v = out[key];
    if (v instanceof Uint8Array && !Buffer.isBuffer(v)) out[key] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
  return out as T;
}

/** Makes a publish request cloneable and transferable: the payload becomes an owned ArrayBuffer. */
export function publishToWire(request: PublishRequest): { request: PublishRequest; transfer: ArrayBuffer[] } {
  const ab = ownedCopy(request.payload);
  return { request: { ...request, payload: ab as unknown as Buffer }, transfer: [ab] };
}

/** Rebuilds a publish request in the worker. */
export function publishFromWire(request: PublishRequest): PublishRequest {
  const p = request.payload as unknown as ArrayBuffer | Uint8Array;
  const payload = p instanceof ArrayBuffer ? Buffer.from(p) : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  const out: PublishRequest = { ...request, payload };
  if (request.properties) out.properties = reviveBuffers(request.properties);
  return out;
}
