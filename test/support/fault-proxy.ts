/**
 * A small TCP proxy for fault-injection tests: forwards whole MQTT packets between clients and
 * a broker and can cut a connection at a chosen packet — dropping that packet, as a network
 * failure between the two ends would — or cut every connection at once.
 *
 * Listens on 127.0.0.1, port 0. Stops everything it started on `close()`.
 */
import net from 'node:net';
import { PacketFramer } from '../../src/protocol/framer.js';

/** MQTT control packet types by name (fixed-header high nibble). */
export const PacketType = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const;

export type PacketName = keyof typeof PacketType;

/** Which way a packet travels through the proxy. */
export type Direction = 'to-server' | 'to-client';

/** A cut to make: at the `nth` (default 1st) matching packet from now on, dropped with its connection. */
export interface CutRule {
  direction: Direction;
  packet: PacketName;
  nth?: number;
}

interface PendingCut {
  rule: CutRule;
  remaining: number;
  resolve(): void;
}

export interface FaultProxy {
  /** `mqtt://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Arms a cut; resolves once it has happened. */
  cutOn(rule: CutRule): Promise<void>;
  /** Cuts every open connection now. */
  cutAll(): void;
  close(): Promise<void>;
}

/** Starts a proxy to `targetHost:targetPort`. */
export async function startFaultProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  const pairs = new Set<{ client: net.Socket; server: net.Socket }>();
  const cuts: PendingCut[] = [];
  let accepted = 0;

  function matchCut(direction: Direction, type: number): boolean {
    const i = cuts.findIndex((c) => c.rule.direction === direction && PacketType[c.rule.packet] === type);
    if (i < 0) return false;
    const cut = cuts[i]!;
    if (--cut.remaining > 0) return false;
    cuts.splice(i, 1);
    cut.resolve();
    return true;
  }

  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(targetPort, targetHost);
    const pair = { client, server: upstream };
    pairs.add(pair);
    let cut = false;
    const kill = (): void => {
      cut = true;
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    const relay = (from: net.Socket, to: net.Socket, direction: Direction): void => {
      const framer = new PacketFramer(268_435_460);
      from.on('data', (chunk: Buffer) => {
        if (cut) return;
        let frames: Buffer[];
        try {
          frames = framer.push(chunk);
        } catch {
          kill();
          return;
        }
        for (const frame of frames) {
          if (matchCut(direction, frame[0]! >> 4)) {
            kill();
            return;
          }
          to.write(frame);
        }
      });
      from.on('error', kill);
      from.on('close', kill);
    };
    relay(client, upstream, 'to-server');
    relay(upstream, client, 'to-client');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  const cutAll = (): void => {
    for (const p of [...pairs]) {
      p.client.destroy();
      p.server.destroy();
      pairs.delete(p);
    }
  };

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    cutOn(rule: CutRule): Promise<void> {
      return new Promise((resolve) => cuts.push({ rule, remaining: rule.nth ?? 1, resolve }));
    },
    cutAll,
    async close(): Promise<void> {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
