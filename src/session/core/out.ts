/** Collects what one input produces: packets for the current connection and runtime actions. */
import type { Action, Output, Packet } from './api.js';

/** A protocol fault of the peer: the v5 reason code to close with and why. */
export interface Fault {
  code: number;
  reason: string;
}

/** Shorthand for handlers: `return fault(0x82, 'why [MQTT-x]')`. */
export function fault(code: number, reason: string): Fault {
  return { code, reason };
}

/** The packets and actions of one input, in order. */
export class Out implements Output {
  readonly packets: Packet[] = [];
  readonly actions: Action[] = [];

  send(packet: Packet): void {
    this.packets.push(packet);
  }

  act(action: Action): void {
    this.actions.push(action);
  }
}
