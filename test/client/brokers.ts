/**
 * Brokers for end-to-end client tests: aedes in-process (an independent implementation) and
 * helpers for servers that misbehave on purpose.
 */
import net from 'node:net';
import { Aedes } from 'aedes';

/** A running broker as the client suites see it. */
export interface TestBroker {
  url: string;
  /** Client ids that connected, in order (when the broker can tell). */
  connected?: string[];
  close(): Promise<void>;
}

/** Starts aedes on 127.0.0.1, port 0. */
export async function startAedes(options: Record<string, unknown> = {}): Promise<TestBroker> {
  const aedes = await Aedes.createBroker(options as never);
  const connected: string[] = [];
  aedes.on('client', (client: { id: string }) => connected.push(client.id));
  const server = net.createServer((socket) => aedes.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    connected,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP server that accepts connections and never answers (for connect timeouts), or answers `greeting` only. */
export async function startSilentServer(greeting?: string): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    if (greeting !== undefined) s.write(greeting);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** aedes in a worker thread: it keeps answering while the test's own thread is blocked. */
export async function startAedesThread(): Promise<TestBroker> {
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(new URL('./aedes-thread.js', import.meta.url));
  const connected: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { type: string; url?: string; id?: string }) => {
      if (m.type === 'ready') resolve(m.url!);
      if (m.type === 'client') connected.push(m.id!);
    });
  });
  return {
    url,
    connected,
    close: async () => {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage({ type: 'close' });
      await exited;
    },
  };
}
