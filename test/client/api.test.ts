/**
 * The client API end to end against aedes (an independent broker), plus first-connect errors
 * and option validation.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { connect, ConnectError, InvalidArgumentError } from '../../src/client/index.js';
import { apiSuite } from './api-suite.js';
import { closedPort, startAedes, startAedesThread, startSilentServer } from './brokers.js';

describe('client API against aedes', () => {
  // aedes 1 speaks MQTT 3.1.1 only.
  apiSuite(() => startAedes(), { versions: [4], startOffThread: startAedesThread });
});

describe('client API: first-connect errors are typed (rumqtt: first connect error easily detectable)', () => {
  for (const thread of [true, false]) {
    const label = thread ? 'worker thread' : 'in-thread';

    it(`${label}: refused`, async () => {
      const port = await closedPort();
      const err = await connect(`mqtt://127.0.0.1:${port}`, { thread, logger: false }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ConnectError);
      expect((err as ConnectError).kind).to.equal('refused');
    });

    it(`${label}: DNS`, async () => {
      const err = await connect('mqtt://no-such-host.invalid:1883', { thread, logger: false }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ConnectError);
      expect((err as ConnectError).kind).to.equal('dns');
    });

    it(`${label}: timeout when no CONNACK comes`, async () => {
      const server = await startSilentServer();
      try {
        const err = await connect(server.url, { thread, connectTimeout: 200, logger: false }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(ConnectError);
        expect((err as ConnectError).kind).to.equal('timeout');
      } finally {
        await server.close();
      }
    });

    it(`${label}: TLS handshake failure`, async () => {
      const server = await startSilentServer('this is not TLS\n');
      try {
        const err = await connect(server.url.replace('mqtt:', 'mqtts:'), { thread, logger: false }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(ConnectError);
        expect((err as ConnectError).kind).to.equal('tls');
      } finally {
        await server.close();
      }
    });

    it(`${label}: CONNACK refusal with its reason code`, async () => {
      const broker = await startAedes({
        authenticate: (_c: unknown, _u: unknown, _p: unknown, done: (err: Error & { returnCode?: number }, ok: boolean) => void) => {
          const err = new Error('no') as Error & { returnCode?: number };
          err.returnCode = 5;
          done(err, false);
        },
      });
      try {
        const err = await connect(broker.url, { thread, logger: false }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(ConnectError);
        expect((err as ConnectError).kind).to.equal('connack');
        expect((err as ConnectError).reasonCode).to.equal(5);
      } finally {
        await broker.close();
      }
    });
  }

  it('retryFirstConnect keeps trying until the server appears', async () => {
    const port = await closedPort();
    const pending = connect(`mqtt://127.0.0.1:${port}`, { thread: false, retryFirstConnect: true, reconnectPeriod: 50, reconnectJitter: 0, logger: false });
    const broker = await startAedes();
    // Move the broker onto the port the client keeps trying.
    const server = net.createServer((s) => {
      const upstream = net.connect(Number(new URL(broker.url).port), '127.0.0.1');
      s.pipe(upstream).pipe(s);
      s.on('error', () => upstream.destroy());
      upstream.on('error', () => s.destroy());
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const c = await pending;
      expect(c.connected).to.equal(true);
      await c.end();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await broker.close();
    }
  });

  it('a bad option rejects connect() with a message naming it', async () => {
    const err = await connect('mqtt://127.0.0.1:1', { keepalive: -1 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(InvalidArgumentError);
    expect((err as Error).message).to.match(/^keepalive:/);
    const err2 = await connect('ws://127.0.0.1:1').catch((e: unknown) => e);
    expect((err2 as Error).message).to.match(/^url:/);
    const err3 = await connect('mqtt://127.0.0.1:1', { protocolVersion: 4, clientId: '', clean: false }).catch((e: unknown) => e);
    expect((err3 as Error).message).to.match(/^clientId: .*\[MQTT-3\.1\.3-7\]/);
  });

  it('the worker does not keep the process alive after end()', async () => {
    const broker = await startAedes();
    try {
      const entry = fileURLToPath(new URL('../../src/client/index.js', import.meta.url));
      const script = `import { connect } from ${JSON.stringify(entry)};
        const c = await connect(${JSON.stringify(broker.url)}, { logger: false });
        await c.publish('t', 'x', { qos: 1 });
        await c.end();`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).to.equal(0);
    } finally {
      await broker.close();
    }
  });
});
