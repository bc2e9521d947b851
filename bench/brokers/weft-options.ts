/**
 * The options the bench runs Weft with, in one place: `bench/brokers/weft.ts` (the table's
 * broker) and `bench/memory-breakdown-broker.ts` (the memory tool) start the same broker.
 *
 * Weft's defaults admit 1,000 connections and 32 QoS 1/2 messages in flight per client; the
 * connections scenario needs 2,000, and the other brokers are run with a window of 100
 * (mosquitto's max_inflight_messages) or none (aedes), so these three are raised to match.
 * Logging as mosquitto is run (errors and warnings only): at the default level, info, Weft
 * writes a line per connection and per disconnection.
 */
export function benchWeftOptions(): Record<string, unknown> {
  return {
    port: 0,
    host: '127.0.0.1',
    maxConnections: 10_000,
    maxSessions: 10_000,
    maxInflight: 100,
    logLevel: 'warn',
  };
}
