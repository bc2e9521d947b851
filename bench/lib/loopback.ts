/**
 * The generator sends load only to this machine: a benchmark pointed at another host would be
 * a load test of someone else's server. Every connection goes through {@link assertLoopback}.
 */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Throws unless `host` is 127.0.0.1, ::1 or localhost. */
export function assertLoopback(host: string): void {
  if (!LOOPBACK_HOSTS.has(host)) {
    throw new Error(`refusing to load host ${JSON.stringify(host)}: the benchmark only targets 127.0.0.1, ::1 or localhost`);
  }
}
