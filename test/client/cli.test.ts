/**
 * `weft pub` / `weft sub` through `runPub` / `runSub`, against aedes over real TCP.
 */
import { expect } from 'chai';
import { runPub, type CliIo } from '../../src/cli/pub.js';
import { runSub } from '../../src/cli/sub.js';
import { closedPort, startAedes, type TestBroker } from './brokers.js';

function capture(signal?: AbortSignal): CliIo & { out: string; err: string; subscribed: Promise<void>; firstOutput: Promise<void> } {
  let onSubscribed!: () => void;
  const subscribed = new Promise<void>((resolve) => (onSubscribed = resolve));
  let onOutput!: () => void;
  const firstOutput = new Promise<void>((resolve) => (onOutput = resolve));
  const io = {
    out: '',
    err: '',
    firstOutput,
    stdout: {
      write: (s: string) => {
        io.out += s;
        onOutput();
      },
    },
    stderr: { write: (s: string) => (io.err += s) },
    onSubscribed,
    subscribed,
    ...(signal ? { signal } : {}),
  };
  return io;
}

describe('weft pub / weft sub', () => {
  let broker: TestBroker;
  let port: string;
  beforeEach(async () => {
    broker = await startAedes();
    port = new URL(broker.url).port;
  });
  afterEach(() => broker.close());

  it('sub -v -C 2 prints `topic payload` lines and exits 0 after two messages; pub exits 0', async () => {
    const subIo = capture();
    const sub = runSub(['-h', '127.0.0.1', '-p', port, '-t', 'cli/a', '-t', 'cli/b/#', '-q', '1', '-v', '-C', '2'], subIo);
    await subIo.subscribed;
    for (const [t, m] of [['cli/a', 'one'], ['cli/b/c', 'two']]) {
      const io = capture();
      expect(await runPub(['-h', '127.0.0.1', '-p', port, '-t', t!, '-m', m!, '-q', '1'], io)).to.equal(0);
      expect(io.err).to.equal('');
    }
    expect(await sub).to.equal(0);
    expect(subIo.out).to.equal('cli/a one\ncli/b/c two\n');
  });

  it('sub without -v prints payloads only and stops on its signal', async () => {
    const stop = new AbortController();
    const io = capture(stop.signal);
    const sub = runSub(['-h', '127.0.0.1', '-p', port, '-t', 'x', '-V', '311'], io);
    await io.subscribed;
    expect(await runPub(['-h', '127.0.0.1', '-p', port, '-t', 'x', '-m', 'hello', '-r'], capture())).to.equal(0);
    await io.firstOutput;
    stop.abort();
    expect(await sub).to.equal(0);
    expect(io.out).to.equal('hello\n');
  });

  it('a refused connection is one clear line on stderr and exit status 1', async () => {
    const closed = await closedPort();
    const io = capture();
    expect(await runPub(['-h', '127.0.0.1', '-p', String(closed), '-t', 't', '-m', 'x'], io)).to.equal(1);
    expect(io.err).to.match(/^weft pub: cannot connect to mqtt:\/\/127\.0\.0\.1:\d+: connection to .* refused\n$/);
    const subIo = capture();
    expect(await runSub(['-h', '127.0.0.1', '-p', String(closed), '-t', 't'], subIo)).to.equal(1);
    expect(subIo.err.split('\n')).to.have.length(2);
  });

  it('usage errors exit 2 and name the flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-t', 't'], /-m MESSAGE or -n is required/],
      [['-t', 't', '-m', 'x', '-q', '3'], /-q: expected 0, 1 or 2/],
      [['-t', 't', '-m', 'x', '-V', '4'], /-V: expected 311 or 5/],
      [['-t', 't', '-m', 'x', '--bogus'], /unknown option --bogus/],
      [['-t', 'a/+', '-m', 'x', '-p', port], /cannot connect|publish failed|wildcard/],
    ];
    for (const [argv, re] of cases.slice(0, 4)) {
      const io = capture();
      expect(await runPub(argv, io)).to.equal(2);
      expect(io.err).to.match(re);
    }
    const io = capture();
    expect(await runPub(['-h', '127.0.0.1', ...cases[4]![0]], io)).to.equal(1);
    expect(io.err).to.match(/^weft pub: publish failed: publish: /);
    const subIo = capture();
    expect(await runSub(['-C', '0', '-t', 'x'], subIo)).to.equal(2);
    expect(subIo.err).to.match(/-C: expected a positive integer/);
  });
});

