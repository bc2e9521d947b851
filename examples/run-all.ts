/**
 * Runs every demo in this folder, one after another, with its output shown as it runs, and
 * exits non-zero if any of them failed.
 *
 *   npm run examples          (builds first, then runs this file)
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const mochaBin = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');

const demos: { name: string; args: string[] }[] = [
  { name: 'lock-demo', args: [here('lock-demo.js')] },
  { name: 'producer-consumer', args: [here('producer-consumer.js')] },
  { name: 'thread-per-session', args: [here('thread-per-session.js')] },
  { name: 'request-response', args: [here('request-response.js')] },
  { name: 'mocha-fixture', args: [mochaBin, '--no-config', '--reporter', 'spec', here('mocha-fixture.test.js')] },
];

function run(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const failed: string[] = [];
for (const demo of demos) {
  console.log(`\n=== ${demo.name} ===`);
  if ((await run(demo.args)) !== 0) failed.push(demo.name);
}
console.log(failed.length === 0 ? `\nall ${demos.length} demos passed` : `\nfailed: ${failed.join(', ')}`);
process.exitCode = failed.length === 0 ? 0 : 1;
