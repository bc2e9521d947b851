/**
 * Prints the report of a saved run again: `node dist/bench/report.js bench/results/<file>.json`.
 * Useful after changing how the table is laid out, or to quote an older run.
 */
import { readFileSync } from 'node:fs';
import { summarize, type ResultsFile } from './lib/summary.js';

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: node dist/bench/report.js bench/results/<file>.json\n');
  process.exit(2);
}
process.stdout.write(`${summarize(JSON.parse(readFileSync(file, 'utf8')) as ResultsFile)}\n`);
