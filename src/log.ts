/**
 * The one place Weft gets its loggers from.
 *
 * Levels follow haka-mqtt's discipline: `warn` for faults of a peer (network failures, protocol
 * violations), `info` for lifecycle (start, stop, connect, disconnect), `debug` for packet
 * traces. The level comes from the caller's option, else `WEFT_LOG_LEVEL`, else `info`
 * (`silent` under mocha unless `WEFT_LOG_LEVEL` says otherwise).
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Log levels accepted by every `logLevel` option. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Options accepted wherever Weft takes a logger. */
export interface LogOptions {
  /** A ready pino logger to use as is (children are made from it). */
  logger?: Logger;
  /** Level for a logger Weft makes itself. Default: `WEFT_LOG_LEVEL` or `info`. */
  logLevel?: LevelWithSilent;
}

/** Throws a clear error when `level` is not a pino level name. */
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
 */
export function getLogger(name: string, options: LogOptions = {}): Logger {
  if (options.logger) return options.logger.child({ component: name });
  const level = options.logLevel !== undefined ? checkLogLevel(options.logLevel) : defaultLevel();
  return pino({ name: 'weft', level, base: { component: name } }, pino.destination(2));
}

/** A logger that drops everything; for `logger: false`-style options and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
