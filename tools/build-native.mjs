#!/usr/bin/env node
// Builds the optional native addon (native/fd-handoff: dup(2) for handing sockets to session
// threads) with the node-gyp that npm bundles. Runs from `npm install`/`npm ci` (the install script) and
// `npm run build:native`. A failed build is not an error: the broker then relays socket bytes
// through the main thread instead (docs/architecture.md, "Who owns a socket"), so it only warns.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'native', 'fd-handoff');

function nodeGypScript() {
  // npm sets this for lifecycle scripts; otherwise look beside npm itself.
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const npmCli = process.env.npm_execpath;
  const candidates = [];
  if (npmCli) candidates.push(join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  return candidates.find((file) => existsSync(file));
}

if (process.platform === 'win32') {
  console.warn('weft: native socket hand-off is not built on Windows; the broker relays socket bytes instead.');
  process.exit(0);
}
const gyp = nodeGypScript();
if (gyp === undefined) {
  console.warn('weft: node-gyp not found; native socket hand-off not built (the broker relays socket bytes instead).');
  process.exit(0);
}
const started = Date.now();
const result = spawnSync(process.execPath, [gyp, 'rebuild', '--loglevel=warn'], { cwd: addon, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (result.status !== 0) {
  console.warn(`weft: building native/fd-handoff failed (the broker relays socket bytes instead):\n${(result.stderr || result.stdout || String(result.error)).trim().split('\n').slice(-8).join('\n')}`);
  process.exit(0);
}
console.log(`weft: built native/fd-handoff in ${Date.now() - started} ms`);
