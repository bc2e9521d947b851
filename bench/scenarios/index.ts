/** Every scenario, in the order a run goes through them. */
import { connections } from './connections.js';
import { fanIn } from './fan-in.js';
import { fanOutMax, fanOutSteady } from './fan-out.js';
import { latency } from './latency.js';
import { qos1, qos2 } from './qos.js';
import type { Scenario } from './types.js';
import { wildcard } from './wildcard.js';

export const SCENARIOS: readonly Scenario[] = [fanIn, qos1, qos2, fanOutSteady, fanOutMax, latency, connections, wildcard];

export { fanIn };
