#!/usr/bin/env node
/**
 * `weft` command line: `weft broker`, `weft pub`, `weft sub`.
 */
const [command] = process.argv.slice(2);

switch (command) {
  case 'broker':
    process.stderr.write('weft: the broker is not built yet (see issue "Broker: all of MQTT 3.1.1").\n');
    process.exitCode = 1;
    break;
  default:
    process.stderr.write('usage: weft broker|pub|sub [options]\n');
    process.exitCode = 2;
}
