/**
 * The client API end to end against Weft's own broker.
 */
import { startBroker } from '../../src/broker/index.js';
import { apiSuite } from './api-suite.js';
import type { TestBroker } from './brokers.js';

async function startWeft(): Promise<TestBroker> {
  const broker = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent' });
  // Weft has no per-client connect hook; the checks that need one run against aedes.
  return {
    url: broker.url,
    close: () => broker.close(),
  };
}

describe('client API against the Weft broker', () => {
  apiSuite(startWeft, { versions: [4, 5] });
});
