/**
 * The MQTT 5 properties (MQTT 5.0 section 2.2.2.2): identifier, how the value is written, the
 * name the spec gives it, the key mqtt-packet uses for it, and whether it may be included more
 * than once. The plain encoders (`plain-properties.ts`) and the decoder's walk over a frame
 * (`frame-walk.ts`, which refuses a repeat before any packet reaches a session core) read this
 * one table: it is the only list of which properties may repeat.
 */

/** How a property's value is written. */
export type PropertyKind = 'boolean' | 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pairs';

export interface PropertyDefinition {
  /** The property identifier byte. */
  readonly id: number;
  readonly kind: PropertyKind;
  /** The spec's name, for messages. */
  readonly title: string;
  /**
   * Where the property may be included more than once: `anywhere` (User Property, MQTT 5.0
   * section 3.3.2.3.7 and the others), `publish` (Subscription Identifier: a Server's PUBLISH
   * carries one per matching subscription, section 3.3.2.3.8). Absent: nowhere. Each other
   * property's section says "It is a Protocol Error to include [it] more than once".
   */
  readonly repeatable?: 'anywhere' | 'publish';
}

/** Every MQTT 5 property, by mqtt-packet's key. */
export const PROPERTY_DEFINITIONS: Readonly<Record<string, PropertyDefinition>> = {
  payloadFormatIndicator: { id: 0x01, kind: 'boolean', title: 'Payload Format Indicator' },
  messageExpiryInterval: { id: 0x02, kind: 'u32', title: 'Message Expiry Interval' },
  contentType: { id: 0x03, kind: 'string', title: 'Content Type' },
  responseTopic: { id: 0x08, kind: 'string', title: 'Response Topic' },
  correlationData: { id: 0x09, kind: 'binary', title: 'Correlation Data' },
  subscriptionIdentifier: { id: 0x0b, kind: 'varint', title: 'Subscription Identifier', repeatable: 'publish' },
  sessionExpiryInterval: { id: 0x11, kind: 'u32', title: 'Session Expiry Interval' },
  assignedClientIdentifier: { id: 0x12, kind: 'string', title: 'Assigned Client Identifier' },
  serverKeepAlive: { id: 0x13, kind: 'u16', title: 'Server Keep Alive' },
  authenticationMethod: { id: 0x15, kind: 'string', title: 'Authentication Method' },
  authenticationData: { id: 0x16, kind: 'binary', title: 'Authentication Data' },
  requestProblemInformation: { id: 0x17, kind: 'boolean', title: 'Request Problem Information' },
  willDelayInterval: { id: 0x18, kind: 'u32', title: 'Will Delay Interval' },
  requestResponseInformation: { id: 0x19, kind: 'boolean', title: 'Request Response Information' },
  responseInformation: { id: 0x1a, kind: 'string', title: 'Response Information' },
  serverReference: { id: 0x1c, kind: 'string', title: 'Server Reference' },
  reasonString: { id: 0x1f, kind: 'string', title: 'Reason String' },
  receiveMaximum: { id: 0x21, kind: 'u16', title: 'Receive Maximum' },
  topicAliasMaximum: { id: 0x22, kind: 'u16', title: 'Topic Alias Maximum' },
  topicAlias: { id: 0x23, kind: 'u16', title: 'Topic Alias' },
  maximumQoS: { id: 0x24, kind: 'byte', title: 'Maximum QoS' },
  retainAvailable: { id: 0x25, kind: 'boolean', title: 'Retain Available' },
  userProperties: { id: 0x26, kind: 'pairs', title: 'User Property', repeatable: 'anywhere' },
  maximumPacketSize: { id: 0x27, kind: 'u32', title: 'Maximum Packet Size' },
  wildcardSubscriptionAvailable: { id: 0x28, kind: 'boolean', title: 'Wildcard Subscription Available' },
  subscriptionIdentifiersAvailable: { id: 0x29, kind: 'boolean', title: 'Subscription Identifier Available' },
  sharedSubscriptionAvailable: { id: 0x2a, kind: 'boolean', title: 'Shared Subscription Available' },
};

/** The same properties by identifier. */
export const PROPERTIES_BY_ID: ReadonlyMap<number, PropertyDefinition> = new Map(Object.values(PROPERTY_DEFINITIONS).map((p) => [p.id, p]));

/** True when `property` may be included more than once in a packet (`publish`: a PUBLISH). */
export function mayRepeat(property: PropertyDefinition, publish: boolean): boolean {
  return property.repeatable === 'anywhere' || (publish && property.repeatable === 'publish');
}
