/**
 * A connection's peer address is read only when a line logs it: main reads it from its socket
 * for its own lines (and a relayed connection's attach), a session thread from the socket it was
 * handed, and at once where it logs at info (its lines name the peer after the socket closed).
 * The lines must still name the peer, `address:port` as the client's socket sees its own end.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { IConnackPacket } from 'mqtt-packet';
import { recordingLogger } from '../recording-logger.js';
import { client, forceClose, RawClient, testBroker } from './helpers.js';

const brokerModule = fileURLToPath(new URL('../../src/broker/index.js', import.meta.url));


describe('connection log lines', function () {
  this.timeout(15000);

  for (const socketHandoff of [true, false]) {
    it(`a capacity refusal names the peer's address and port (socketHandoff: ${socketHandoff})`, async () => {
      const { logger, records } = recordingLogger('warn');
      const broker = await testBroker({ logger, threads: 1, maxConnections: 1, socketHandoff });
      const first = await client(broker, { clientId: 'first' });
      try {
        const raw = await RawClient.open(broker, 4);
        const port = raw.socket.localPort;
        const refused = (await raw.connect('second')) as IConnackPacket;
        expect(refused.returnCode).to.equal(3);
        await raw.waitClosed();
        const line = records.find((r) => r.msg === 'connection refused: capacity');
        expect(line, 'the refusal is logged').to.not.equal(undefined);
        expect(line!.remote).to.equal(`127.0.0.1:${port}`);
        expect(line!.clientId).to.equal('second');
      } finally {
        await forceClose(first);
        await broker.close();
      }
    });
  }

  // Session threads log to stderr with their own logger, so this runs the broker in a child
  // process: one client connects, then closes its socket; the thread's "client connected" and
  // "client disconnected" (logged after the socket closed) must both name it.
  for (const socketHandoff of [true, false]) {
    it(`a session thread's connect and disconnect lines name the peer (socketHandoff: ${socketHandoff})`, async () => {
      const script = `
        import net from 'node:net';
        import { once } from 'node:events';
        const { startBroker } = await import(${JSON.stringify(brokerModule)});
        const broker = await startBroker({ port: 0, threads: 1, logLevel: 'info', socketHandoff: ${socketHandoff} });
        const socket = net.connect(broker.port, '127.0.0.1');
        await once(socket, 'connect');
        console.log('port=' + socket.localPort);
        // CONNECT, MQTT 3.1.1, clean session, keep-alive 0, client id "peer".
        socket.write(Buffer.from([0x10, 16, 0, 4, 77, 81, 84, 84, 4, 2, 0, 0, 0, 4, 112, 101, 101, 114]));
        await once(socket, 'data');
        socket.destroy();
        while (broker.stats().connections > 0) await new Promise((resolve) => setTimeout(resolve, 10));
        await broker.close();`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code, stderr).to.equal(0);
      const port = /port=(\d+)/.exec(stdout)?.[1];
      expect(port, stdout).to.not.equal(undefined);
      const lines = stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const connected = lines.find((l) => l.msg === 'client connected' && l.clientId === 'peer');
      const disconnected = lines.find((l) => l.msg === 'client disconnected' && l.clientId === 'peer');
      expect(connected?.remote, stderr).to.equal(`127.0.0.1:${port}`);
      expect(disconnected?.remote, stderr).to.equal(`127.0.0.1:${port}`);
    });
  }
});
