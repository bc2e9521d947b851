#!/usr/bin/env node
/**
 * `weft` command line: `weft broker`, `weft pub`, `weft sub`.
 */
const [command, ...args] = process.argv.slice(2);

async function main(): Promise<number> {
  switch (command) {
    case 'broker': {
      const { runBroker } = await import('./broker.js');
      return runBroker(args);
    }
    case 'pub': {
      const { runPub } = await import('./pub.js');
      return runPub(args);
    }
    case 'sub': {
      const { runSub } = await import('./sub.js');
      return runSub(args);
    }
    default:
      process.stderr.write('usage: weft broker|pub|sub [options]\n');
      return 2;
  }
}

process.exitCode = await main();
