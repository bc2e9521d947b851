/**
 * A scripted MQTT server on 127.0.0.1, port 0, for end-to-end tests of how the client meets a
 * server that misbehaves: `script` answers each packet a connection receives. Records every
 * packet (`cmd`, plus `:0x..` for a DISCONNECT's reason code) per connection, and lets a test
 * await a connection's close. A logger that records what the client logs comes with it.
 */
import net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { encodePacket } from '../../src/protocol/encoder.js';

export interface ScriptedConnection {
  /** Which connection this is, from 0. */
  index: number;
  socket: net.Socket;
  /** Writes `packet`, encoded for the server's protocol version. */
  send(packet: Packet): void;
}

export interface ScriptedServer {
  url: string;
  /** Packets each connection received, in order: `connect`, `publish`, `disconnect:0x82` ... */
  received: string[][];
  /** Resolves when connection `index` has closed. */
  closed(index: number): Promise<void>;
  close(): Promise<void>;
}

export async function startScriptedServer(protocolVersion: 4 | 5, script: (connection: ScriptedConnection, packet: Packet) => void): Promise<ScriptedServer> {
  const sockets = new Set<net.Socket>();
  const received: string[][] = [];
  const closes: Array<Promise<void>> = [];
  /** Called when a connection arrives. */
  const arrivals: Array<() => void> = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const index = received.push([]) - 1;
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    void closed.then(() => sockets.delete(socket));
    closes[index] = closed;
    arrivals.splice(0).forEach((arrived) => arrived());
    const connection: ScriptedConnection = { index, socket, send: (p) => void socket.write(encodePacket(p, protocolVersion)) };
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on('packet', (p: Packet) => {
      received[index]!.push(p.cmd === 'disconnect' && protocolVersion === 5 ? `disconnect:0x${(p.reasonCode ?? 0).toString(16).padStart(2, '0')}` : p.cmd);
      script(connection, p);
    });
    socket.on('data', (d: Buffer) => parser.parse(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    received,
    closed: async (index) => {
      while (closes[index] === undefined) await new Promise<void>((resolve) => arrivals.push(resolve));
      await closes[index];
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import { recordingLogger, type LogRecord } from '../recording-logger.js';
export { recordingLogger, type LogRecord };

/** The delays of the client's 'reconnect scheduled' log records, in order. */
export function scheduledDelays(records: LogRecord[]): number[] {
  return records.filter((r) => r.msg === 'reconnect scheduled').map((r) => r.delay as number);
}
