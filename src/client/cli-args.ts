/**
 * Flag parsing shared by `weft pub` and `weft sub`, spelled as mosquitto_pub / mosquitto_sub
 * spell them. Kept small and strict: an unknown flag or a bad value is a one-line error.
 */
import type { ClientOptions } from './options.js';

/** A usage error: the CLI prints its message and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** How each flag is read: `value` takes the next argument, `flag` takes none; `multi` may repeat. */
export interface FlagSpec {
  [flag: string]: { name: string; kind: 'value' | 'flag'; multi?: boolean };
}

/** Parses `argv` against `spec`; returns values by name (strings, booleans, or string arrays). */
export function parseFlags(argv: string[], spec: FlagSpec, command: string): Record<string, string | boolean | string[]> {
  const out: Record<string, string | boolean | string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const s = spec[arg];
    if (!s) throw new UsageError(`${command}: unknown option ${arg}`);
    if (s.kind === 'flag') {
      out[s.name] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${command}: option ${arg} needs a value`);
    if (s.multi) out[s.name] = [...((out[s.name] as string[] | undefined) ?? []), value];
    else out[s.name] = value;
  }
  return out;
}

/** The flags both commands share. */
export const COMMON_FLAGS: FlagSpec = {
  '-h': { name: 'host', kind: 'value' },
  '--host': { name: 'host', kind: 'value' },
  '-p': { name: 'port', kind: 'value' },
  '--port': { name: 'port', kind: 'value' },
  '-q': { name: 'qos', kind: 'value' },
  '--qos': { name: 'qos', kind: 'value' },
  '-V': { name: 'version', kind: 'value' },
  '--protocol-version': { name: 'version', kind: 'value' },
  '-i': { name: 'id', kind: 'value' },
  '--id': { name: 'id', kind: 'value' },
  '-u': { name: 'username', kind: 'value' },
  '--username': { name: 'username', kind: 'value' },
  '-P': { name: 'password', kind: 'value' },
  '--pw': { name: 'password', kind: 'value' },
  '-k': { name: 'keepalive', kind: 'value' },
  '--keepalive': { name: 'keepalive', kind: 'value' },
  '-d': { name: 'debug', kind: 'flag' },
  '--debug': { name: 'debug', kind: 'flag' },
  '--help': { name: 'help', kind: 'flag' },
};

/** Turns common flag values into a URL and client options. */
export function commonOptions(v: Record<string, string | boolean | string[]>, command: string): { url: string; options: ClientOptions; qos: 0 | 1 | 2 } {
  const host = (v.host as string | undefined) ?? 'localhost';
  const port = v.port === undefined ? 1883 : Number(v.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`${command}: -p: expected a port 1..65535, got ${String(v.port)}`);
  const qos = v.qos === undefined ? 0 : Number(v.qos);
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new UsageError(`${command}: -q: expected 0, 1 or 2, got ${String(v.qos)}`);
  const options: ClientOptions = { thread: false, reconnectPeriod: 0, logLevel: v.debug ? 'debug' : 'silent' };
  const version = v.version as string | undefined;
  if (version !== undefined) {
    if (version === '311' || version === 'mqttv311') options.protocolVersion = 4;
    else if (version === '5' || version === 'mqttv5') options.protocolVersion = 5;
    else throw new UsageError(`${command}: -V: expected 311 or 5, got ${version}`);
  }
  if (v.id !== undefined) options.clientId = v.id as string;
  if (v.username !== undefined) options.username = v.username as string;
  if (v.password !== undefined) options.password = v.password as string;
  if (v.keepalive !== undefined) {
    const k = Number(v.keepalive);
    if (!Number.isInteger(k) || k < 0 || k > 65535) throw new UsageError(`${command}: -k: expected 0..65535, got ${String(v.keepalive)}`);
    options.keepalive = k;
  }
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return { url: `mqtt://${bracketed}:${port}`, options, qos };
}

/** A one-line description of any error, for stderr. */
export function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}
