/**
 * Public API of the Weft MQTT client.
 *
 * @packageDocumentation
 */
export { connect, MqttClient, Subscription, type Message, type PublishOptions, type PublishResult, type SubscribeOptions, type EndOptions, type ConnectionStatus } from './client.js';
export type { ClientOptions } from './options.js';
export type { WillOptions, ConnectProperties, PublishProperties, UserPropertyList, WithUserPropertyList, DisconnectRequest } from './core/types.js';
export {
  MqttClientError,
  ConnectError,
  ConnectionLostError,
  SessionTakenOverError,
  PacketIdExhaustedError,
  QueueFullError,
  PacketTooLargeError,
  ReasonCodeError,
  ClientClosedError,
  InvalidArgumentError,
  type ConnectFailureKind,
} from './errors.js';
export { ClientCore } from './core/client-core.js';
export { ClientState, type CoreConfig, type CoreOutput, type ClientEvent } from './core/types.js';
