/**
 * MQTT 5 request/response through the broker, with Weft's client.
 *
 * A requester sends each request with two MQTT 5 PUBLISH properties: Response Topic (where to
 * answer) and Correlation Data (which request an answer belongs to). A responder answers on the
 * Response Topic and echoes the Correlation Data unchanged (MQTT 5.0, section 4.10 "Request / Response").
 * Several requests are in flight at once and answers are matched by correlation data alone.
 *
 *   requester ── PUBLISH svc/square  {responseTopic: reply/requester, correlationData: 'req-1'} ─▶ responder
 *   requester ◀─ PUBLISH reply/requester {correlationData: 'req-1'} ─────────────────────────────── responder
 *
 * Each client's network loop runs in its own client thread (the default, `thread: true`), and
 * the broker places the two sessions on its session threads: a request and its answer cross
 * threads both ways.
 *
 *   npm run build && node dist/examples/request-response.js
 *
 * In your own project import from 'weft' instead of '../src/index.js'.
 */
import { connect, startBroker, type MqttClient, type Subscription } from '../src/index.js';

const REQUESTS = 5;

/** Answers every request on `svc/square` with the square of its number. */
async function serve(responder: MqttClient, requests: Subscription): Promise<number> {
  let served = 0;
  for await (const request of requests) {
    const { responseTopic, correlationData } = request.properties ?? {};
    if (responseTopic === undefined) continue; // not a request: nobody to answer
    if (request.payload.toString() === 'stop') break;
    const n = Number(request.payload.toString());
    // Correlation Data goes back exactly as it came: it means something only to the requester.
    await responder.publish(responseTopic, String(n * n), {
      qos: 1,
      properties: { ...(correlationData ? { correlationData } : {}), contentType: 'text/plain' },
    });
    served++;
  }
  return served;
}

async function main(): Promise<void> {
  const broker = await startBroker({ port: 0, logLevel: 'warn' });
  const clientOptions = { protocolVersion: 5 as const, reconnectPeriod: 0, logLevel: 'warn' as const };
  let ok = false;
  let requester: MqttClient | undefined;
  let responder: MqttClient | undefined;
  try {
    responder = await connect(broker.url, { ...clientOptions, clientId: 'responder' });
    requester = await connect(broker.url, { ...clientOptions, clientId: 'requester' });
    const requests = await responder.subscribe('svc/square', { qos: 1 });
    const serving = serve(responder, requests);

    // The requester listens on its own response topic before asking anything.
    const responseTopic = 'reply/requester';
    const replies = await requester.subscribe(responseTopic, { qos: 1 });
    const waiting = new Map<string, (answer: string) => void>();
    const collecting = (async () => {
      for await (const reply of replies) {
        const id = reply.properties?.correlationData?.toString() ?? '';
        waiting.get(id)?.(reply.payload.toString());
        waiting.delete(id);
        if (waiting.size === 0) break;
      }
    })();

    const asked = Array.from({ length: REQUESTS }, (_, i) => {
      const id = `req-${i + 1}`;
      const n = i + 2;
      const answer = new Promise<string>((resolve) => waiting.set(id, resolve));
      const sent = requester!.publish('svc/square', String(n), {
        qos: 1,
        properties: { responseTopic, correlationData: Buffer.from(id) },
      });
      return { id, n, answer, sent };
    });
    // All requests go out before any answer is awaited: several are in flight at once.
    await Promise.all(asked.map((a) => a.sent));
    let matched = 0;
    for (const { id, n, answer } of asked) {
      const got = await answer;
      const right = got === String(n * n);
      if (right) matched++;
      console.log(`${id}: asked ${n}² on svc/square, answer "${got}" on ${responseTopic} with correlation ${id}  ${right ? 'ok' : 'WRONG'}`);
    }
    await collecting;

    await requester.publish('svc/square', 'stop', { qos: 1, properties: { responseTopic } });
    const served = await serving;
    console.log(`responder served ${served} requests; ${matched} of ${REQUESTS} answers matched their request`);
    ok = matched === REQUESTS && served === REQUESTS;
  } finally {
    await Promise.all([requester?.end(), responder?.end()]);
    await broker.close();
  }
  console.log(ok ? 'request-response: OK' : 'request-response: FAILED');
  process.exitCode = ok ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
