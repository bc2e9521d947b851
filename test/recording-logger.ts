/**
 * A pino logger whose lines a test reads back: for tests of what the broker and the client log.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger at `level` whose records land in `records`; `until` resolves once `predicate` holds for them. */
export function recordingLogger(level = 'info'): { logger: Logger; records: LogRecord[]; until(predicate: (records: LogRecord[]) => boolean): Promise<void> } {
  const records: LogRecord[] = [];
  const waiting: Array<{ predicate: (r: LogRecord[]) => boolean; resolve: () => void }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) records.push(JSON.parse(line) as LogRecord);
      for (const w of [...waiting]) {
        if (w.predicate(records)) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve();
        }
      }
      done();
    },
  });
  return {
    logger: pino({ level }, stream),
    records,
    until: (predicate) =>
      predicate(records)
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiting.push({ predicate, resolve });
          }),
  };
}
