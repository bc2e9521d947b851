/**
 * Every state change the client core can make, as data: tests check each observed change
 * against it and docs/client.md draws it. `on` names what causes the change.
 */
import { ClientState as S } from './types.js';

export interface Transition {
  from: S;
  to: S;
  on: string;
}

export const TRANSITIONS: readonly Transition[] = [
  { from: S.Idle, to: S.Connecting, on: 'start' },
  { from: S.Idle, to: S.Paused, on: 'pause' },
  { from: S.Idle, to: S.Ended, on: 'end' },
  { from: S.Connecting, to: S.AwaitingConnack, on: 'transport open (CONNECT written)' },
  { from: S.Connecting, to: S.Backoff, on: 'transport failed or connect timeout' },
  { from: S.Connecting, to: S.Ended, on: 'first connect failed, or end' },
  { from: S.Connecting, to: S.Connecting, on: 'reconnect(changes)' },
  { from: S.Connecting, to: S.Paused, on: 'pause' },
  { from: S.AwaitingConnack, to: S.Connected, on: 'CONNACK accepted' },
  { from: S.AwaitingConnack, to: S.Backoff, on: 'refused, closed, timeout or protocol violation' },
  { from: S.AwaitingConnack, to: S.Ended, on: 'first connect failed, a refusal not worth retrying, or end' },
  { from: S.AwaitingConnack, to: S.Connecting, on: 'reconnect(changes)' },
  { from: S.AwaitingConnack, to: S.Paused, on: 'pause' },
  { from: S.Connected, to: S.Backoff, on: 'connection lost, keepalive failure, server DISCONNECT, protocol violation' },
  { from: S.Connected, to: S.Ended, on: 'lost with reconnectPeriod 0, server DISCONNECT 0x8E (session taken over), end({ force }), or end with nothing in flight' },
  { from: S.Connected, to: S.Draining, on: 'end' },
  { from: S.Connected, to: S.Connecting, on: 'reconnect(changes)' },
  { from: S.Connected, to: S.Paused, on: 'pause' },
  { from: S.Backoff, to: S.Connecting, on: 'backoff deadline, or reconnect(changes)' },
  { from: S.Backoff, to: S.Paused, on: 'pause' },
  { from: S.Backoff, to: S.Ended, on: 'end' },
  { from: S.Paused, to: S.Connecting, on: 'resume' },
  { from: S.Paused, to: S.Ended, on: 'end' },
  { from: S.Draining, to: S.Ended, on: 'all acknowledged, endTimeout, connection lost, or end({ force })' },
];

/** True when the core may go from `from` to `to`. */
export function isTransition(from: S, to: S): boolean {
  return from === to || TRANSITIONS.some((t) => t.from === from && t.to === to);
}
