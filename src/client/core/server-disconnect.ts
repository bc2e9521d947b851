/**
 * What a DISCONNECT from the server means for the client: whether to reconnect, and whether
 * the connection it ended counts as one that lived (which resets the backoff).
 *
 * MQTT 5.0 section 3.14.2.1 leaves the choice to the client ("The information can be used by
 * the Client to decide whether to retry the connection, and how long it should wait before
 * retrying the connection", non-normative comment). The policy here:
 *
 * - 0x8E Session taken over ends the client, unless `reconnectOnTakeover` is set. The server
 *   sends it because another connection with our client id has connected [MQTT-3.1.4-3]; the
 *   server will accept our next CONNECT just as well, and that CONNECT takes the session back
 *   from the other connection, whose client does the same: two clients with one id would throw
 *   each other off for ever. No CONNACK refusal stops that loop, so the client has to.
 * - Every other reason code reconnects with backoff. Those that say the server cannot take us
 *   now (0x89 Server busy, 0x8B Server shutting down, 0x97 Quota exceeded, 0x9F Connection rate
 *   exceeded, 0xA0 Maximum connect time, 0x98 Administrative action, 0x9C / 0x9D) can go away;
 *   those that blame something we sent (0x81, 0x82, 0x87, 0x8F, 0x90, 0x93 ... 0xA2) may be
 *   about one packet that will not be sent again. A server that no longer takes this client at
 *   all says so in the next CONNACK (0x87 Not authorized, 0x8A Banned, 0x9D Server moved ...),
 *   which ends the client (see `connack.ts`): the CONNACK is where a permanent refusal is
 *   decided, so a DISCONNECT does not have to guess.
 *
 * What keeps a permanent fault from hammering the server is the backoff: a connection the
 * server ends with DISCONNECT sooner than `maxReconnectPeriod` after its CONNACK does not reset
 * the attempt count, so a server that accepts us and then throws us out every time sees CONNECTs
 * 1, 2, 4 ... up to `maxReconnectPeriod` apart, never more often than a server refusing every
 * CONNECT would. A connection that lived longer than that resets it as usual: its reconnects
 * come at most once per `maxReconnectPeriod` anyway.
 *
 * 0x8A Banned and 0x8C Bad authentication method are CONNACK reason codes only: they are not in
 * Table 3-10, and a DISCONNECT carrying one breaks [MQTT-3.14.2-1]; the decoder refuses it as a
 * Malformed Packet, handled like any undecodable data.
 */
import { ReasonCode } from '../../protocol/reason-codes.js';

/** What the client does after a server DISCONNECT on an established MQTT 5 connection. */
export type ServerDisconnectAction = 'reconnect' | 'end';

/** The action for a server DISCONNECT with `reasonCode`. */
export function serverDisconnectAction(reasonCode: number, options: { reconnectOnTakeover: boolean }): ServerDisconnectAction {
  if (reasonCode === ReasonCode.SessionTakenOver && !options.reconnectOnTakeover) return 'end';
  return 'reconnect';
}

/**
 * True when a connection accepted at `connectedAt` and ended by a server DISCONNECT at `now`
 * lived long enough to reset the reconnect backoff (see above).
 */
export function livedLongEnough(connectedAt: number, now: number, maxReconnectPeriod: number): boolean {
  return now - connectedAt >= maxReconnectPeriod;
}
