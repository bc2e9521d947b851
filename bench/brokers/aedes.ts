/** aedes 1.x served over `net.createServer(aedes.handle)`, default options, in-memory persistence. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { Aedes } from 'aedes';
import { serveUntilStopped } from './child.js';

await serveUntilStopped(async () => {
  // aedes' exports map hides its package.json; read it next to the resolved entry point.
  const entry = createRequire(import.meta.url).resolve('aedes');
  const version = (JSON.parse(readFileSync(path.join(path.dirname(entry), 'package.json'), 'utf8')) as { version: string }).version;
  const aedes = await Aedes.createBroker();
  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    version: `aedes ${version}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close();
        aedes.close(() => resolve());
      }),
  };
});
