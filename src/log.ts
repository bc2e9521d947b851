/**
 * The one place Weft gets its loggers from.
 *
 * Levels follow haka-mqtt's discipline: `warn` for faults of a peer (network failures, protocol
 * violations), `info` for lifecycle (start, stop, connect, disconnect), `debug` for packet
 * traces. The level comes from the caller's option, else `WEFT_LOG_LEVEL`, else `info`.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

/**
 * pino's logger, the type of every `logger` option and of {@link getLogger}'s result.
 *
 * @example
 * ```ts
 * const log: Logger = getLogger('app');
 * log.child({ request: 7 }).debug('handled');
 * ```
 */
export type { Logger } from 'pino';

/**
 * Log levels accepted by every `logLevel` option.
 *
 * @example
 * ```ts
 * const level = process.env.LEVEL ?? 'info';
 * if (!LOG_LEVELS.includes(level as LevelWithSilent)) throw new Error(`LEVEL: one of ${LOG_LEVELS.join(', ')}`);
 * ```
 */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Options accepted wherever Weft takes a logger.
 *
 * @example
 * ```ts
 * const broker = await startBroker({ port: 0, logLevel: 'warn' });
 * const client = await connect(broker.url, { logger: pino({ level: 'debug' }) });
 * ```
 */
export interface LogOptions {
  /** A ready pino logger to use as is (children are made from it). */
  logger?: Logger;
  /** Level for a logger Weft makes itself. Default: `WEFT_LOG_LEVEL` or `info`. */
  logLevel?: LevelWithSilent;
}

/**
 * Throws a clear error when `level` is not a pino level name.
 *
 * @example
 * ```ts
 * const level = checkLogLevel(process.env.MY_LOG_LEVEL ?? 'info', 'MY_LOG_LEVEL'); // throws naming MY_LOG_LEVEL
 * ```
 */
export function checkLogLevel(level: unknown, optionName = 'logLevel'): LevelWithSilent {
  if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new TypeError(`${optionName}: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  }
  return level as LevelWithSilent;
}

function defaultLevel(): LevelWithSilent {
  const fromEnv = process.env.WEFT_LOG_LEVEL;
  if (fromEnv !== undefined && fromEnv !== '') return checkLogLevel(fromEnv, 'WEFT_LOG_LEVEL');
  return 'info';
}

/**
 * Returns the logger for component `name` (`broker`, `session`, `client`, `register` ...).
 * With `options.logger` the result is a child of it; otherwise a new pino logger writing JSON
 * lines to stderr, so that stdout stays free for CLIs that print data (`weft sub`).
 *
 * @example
 * ```ts
 * const log = getLogger('demo', { logLevel: 'debug' });
 * log.info({ port: 1883 }, 'listening');   // a JSON line on stderr, component "demo"
 * ```
 */
export function getLogger(name: string, options: LogOptions = {}): Logger {
  if (options.logger) return options.logger.child({ component: name });
  const level = options.logLevel !== undefined ? checkLogLevel(options.logLevel) : defaultLevel();
  return pino({ name: 'weft', level, base: { component: name } }, pino.destination(2));
}

/**
 * A logger that drops everything; for `logger: false`-style options and tests.
 *
 * @example
 * ```ts
 * const client = await connect(url, { logger: silentLogger() });
 * ```
 */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
