/**
 * What a DISCONNECT from an MQTT 5 server means for the client: a protocol violation, the end
 * of the client, or a reconnect.
 *
 * MQTT 5.0 section 3.14.2.1 leaves the choice to the client ("The information can be used by
 * the Client to decide whether to retry the connection, and how long it should wait before
 * retrying the connection", non-normative comment). The policy here:
 *
 * - Before CONNACK there is no DISCONNECT to read: "A Server MUST NOT send a DISCONNECT until
 *   after it has sent a CONNACK with Reason Code of less than 0x80" [MQTT-3.14.0-1]. One is a
 *   protocol violation by the server, whatever its reason code (0x8E included): the attempt
 *   fails with a `ConnectError` of kind `protocol` and the client retries with backoff, as
 *   after any failed attempt. A server that means to refuse us says so in a CONNACK.
 * - A reason code Table 3-10 lists as sent by the Client only (0x04 Disconnect with Will
 *   Message: the Client asks the Server to publish its will) is a protocol violation by the
 *   server too, as the codes the table does not list at all are (0x8A Banned, 0x8C Bad
 *   authentication method are CONNACK codes; a DISCONNECT carrying one breaks [MQTT-3.14.2-1],
 *   and the decoder refuses it as a Malformed Packet before it gets here).
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
 * What keeps a permanent fault from hammering the server is the backoff, by the one rule that
 * holds for every lost connection (`backoff.ts`): a connection that did not stay up
 * `minConnectedTimeToResetBackoff` after its CONNACK does not reset it.
 */
import { ReasonCode } from '../../protocol/reason-codes.js';

/** What the client does after a server DISCONNECT on an MQTT 5 connection. */
export type ServerDisconnectAction = 'reconnect' | 'end' | 'violation';

/** Table 3-10 reason codes whose "Sent by" column says Client: a server may not send them. */
const CLIENT_ONLY = new Set<number>([ReasonCode.DisconnectWithWillMessage]);

/**
 * The action for a server DISCONNECT with `reasonCode`; `beforeConnack`: it came before the
 * CONNACK that accepts us [MQTT-3.14.0-1].
 */
export function serverDisconnectAction(reasonCode: number, beforeConnack: boolean, options: { reconnectOnTakeover: boolean }): ServerDisconnectAction {
  if (beforeConnack || CLIENT_ONLY.has(reasonCode)) return 'violation';
  if (reasonCode === ReasonCode.SessionTakenOver && !options.reconnectOnTakeover) return 'end';
  return 'reconnect';
}
