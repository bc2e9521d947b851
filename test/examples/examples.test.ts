/**
 * Runs every demo in examples/ as a user would (`node dist/examples/<name>.js`, and mocha on
 * the fixture example) and checks its exit code and the summary lines it prints, so a demo that
 * stops working fails CI. Each demo checks its own outcome and exits non-zero when it is wrong.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

/** The compiled examples, next to this compiled test: <outDir>/examples/. */
const examples = (file: string): string => fileURLToPath(new URL(`../../examples/${file}`, import.meta.url));
const mochaBin = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node ...args`; the child is killed after `timeoutMs`. */
function runNode(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Asserts a clean exit, showing the demo's output when it was not. */
function expectSuccess(run: Run): void {
  expect({ code: run.code, signal: run.signal }, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).to.deep.equal({ code: 0, signal: null });
}

describe('examples: every demo runs and reports success', function () {
  this.timeout(30_000);

  it('producer-consumer: every consumer gets every message once, in order, at QoS 1 and QoS 2', async () => {
    const run = await runNode([examples('producer-consumer.js'), '--messages', '2000', '--consumers', '3'], 25_000);
    expectSuccess(run);
    for (const qos of [1, 2]) {
      expect(run.stdout).to.match(new RegExp(`^QoS ${qos}: producer published 2000 numbered messages to 3 consumers$`, 'm'));
      expect(run.stdout).to.match(new RegExp(`^QoS ${qos}: OK: 6000 of 6000 deliveries, each exactly once and in order`, 'm'));
    }
    const consumerLines = run.stdout.split('\n').filter((line) => line.trimStart().startsWith('consumer '));
    expect(consumerLines).to.have.length(6);
    for (const line of consumerLines) expect(line).to.match(/received 2000, distinct 2000, missing 0, duplicates 0, out of order 0\s+ok$/);
    expect(run.stdout).to.include('producer-consumer: OK, nothing lost or duplicated');
  });

  it('thread-per-session: each session on its own worker thread; a persistent session stays on its thread', async () => {
    const run = await runNode([examples('thread-per-session.js')], 20_000);
    expectSuccess(run);
    expect(run.stdout).to.match(/^ {2}alice +session thread +\d+ +MQTT 5\.0$/m);
    expect(run.stdout).to.match(/^ {2}bob +session thread +\d+ +MQTT 3\.1\.1$/m);
    expect(run.stdout).to.include('3 sessions on 3 distinct worker threads');
    expect(run.stdout).to.include('bob got "hello from alice", carol got "hello from alice"');
    expect(run.stdout).to.match(/^ {2}dave +session thread +\d+ +offline$/m);
    expect(run.stdout).to.include('thread-per-session: OK');
  });

  it('request-response: every answer matches its request by correlation data', async () => {
    const run = await runNode([examples('request-response.js')], 20_000);
    expectSuccess(run);
    expect(run.stdout).to.match(/^req-5: asked 6² on svc\/square, answer "36" on reply\/requester with correlation req-5 +ok$/m);
    expect(run.stdout).to.include('responder served 5 requests; 5 of 5 answers matched their request');
    expect(run.stdout).to.include('request-response: OK');
  });

  it('lock-demo: the atomic and the locked counters are exact', async () => {
    const run = await runNode([examples('lock-demo.js'), '--workers', '4', '--iterations', '200000'], 20_000);
    expectSuccess(run);
    expect(run.stdout).to.match(/^plain : total +\d+, lost +\d+ /m);
    expect(run.stdout).to.match(/^atomic: total +800000, lost +0 /m);
    expect(run.stdout).to.match(/^lock {2}: total +800000, lost +0 .*waited for the lock \d+ times$/m);
    expect(run.stdout).to.include('lock-demo: OK');
  });

  it('mocha-fixture: the copyable fixture passes under mocha and mocha exits by itself', async () => {
    // No --exit: mocha ending on its own shows the fixture left nothing running.
    const run = await runNode([mochaBin, '--no-config', '--reporter', 'spec', examples('mocha-fixture.test.js')], 20_000);
    expectSuccess(run);
    expect(run.stdout).to.match(/2 passing/);
    expect(run.stdout).to.not.match(/failing/);
  });
});
