// conmon's attach socket and ctl fifo with real containers: needs root (skipped otherwise).
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { skipUnless } from '../../test/helpers/prereq.js';
import { waitFor } from '../../test/helpers/wait.js';
import { ConflictError, NotFoundError } from '../errors/index.js';
import { canRunContainers, Sandbox } from './_driver-testing.js';
import { selectRuntime } from './select.js';

const skip = skipUnless('root, runc, conmon and /bin/busybox', canRunContainers());

/** Resolves with everything read from `stream` once `done(text)` says so. */
function readUntil(stream: Readable, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (done(text)) {
        stream.off('data', onData);
        stream.pause();
        resolve(text);
      }
    };
    stream.on('data', onData);
    stream.resume();
    stream.once('error', reject);
    stream.once('end', () =>
      done(text) ? resolve(text) : reject(new Error(`stream ended: ${JSON.stringify(text)}`)),
    );
  });
}

describe('attach', { skip, concurrency: false, timeout: 120_000 }, () => {
  const runtime = skip ? undefined : selectRuntime('auto');
  const sb = runtime ? new Sandbox(runtime) : undefined;
  const box = () => sb as Sandbox;
  after(() => sb?.cleanup());

  test('stdin of a -i container reaches cat and comes back on stdout', async () => {
    const { driver } = box();
    const id = box().id('cat');
    const opts = box().container(id, { args: ['cat'] }, { stdin: true });
    await driver.create(id, opts);
    const streams = await driver.attach(opts.stateDir, id);
    await driver.start(id);
    const echoed = readUntil(streams.stdout, (t) => t.includes('hello\n'));
    streams.stdin.write('hello\n');
    assert.equal(await echoed, 'hello\n');
    // a big write crosses conmon's 32 KiB message size and must arrive whole
    const big = `${'x'.repeat(100_000)}\n`;
    const bigEcho = readUntil(streams.stdout, (t) => t.length >= big.length);
    streams.stdin.write(big);
    assert.equal(await bigEcho, big);
    // end of our stdin closes the container's: cat exits 0
    streams.stdin.end();
    assert.equal(await driver.waitExit(opts.stateDir, id), 0);
    await streams.done;
    await driver.delete(id);
  });

  test('detach leaves the container running; stderr is its own stream', async () => {
    const { driver } = box();
    const id = box().id('detach');
    const opts = box().container(
      id,
      {
        args: ['sh', '-c', 'while read line; do echo "out $line"; echo "err $line" >&2; done; exit 4'],
      },
      { stdin: true, leaveStdinOpen: true },
    );
    await driver.create(id, opts);
    await driver.start(id);
    const first = await driver.attach(opts.stateDir, id);
    const err = readUntil(first.stderr, (t) => t.includes('err one\n'));
    const out = readUntil(first.stdout, (t) => t.includes('out one\n'));
    first.stdin.write('one\n');
    assert.equal(await out, 'out one\n');
    assert.equal(await err, 'err one\n');
    first.detach();
    await first.done;
    assert.equal((await driver.state(id))?.status, 'running');

    const second = await driver.attach(opts.stateDir, id);
    const again = readUntil(second.stdout, (t) => t.includes('out two\n'));
    second.stdin.write('two\n');
    assert.equal(await again, 'out two\n');
    second.stdin.end(); // with leaveStdinOpen the container keeps its stdin
    await driver.kill(id, 'KILL');
    assert.equal(await driver.waitExit(opts.stateDir, id), 137);
    await second.done;
    await assert.rejects(
      driver.attach(opts.stateDir, id),
      (e: unknown) => e instanceof NotFoundError || e instanceof ConflictError,
    );
    await driver.delete(id);
  });

  test('a terminal container follows resize', async () => {
    const { driver } = box();
    const id = box().id('tty');
    const opts = box().container(
      id,
      { args: ['sh', '-c', 'while read line; do stty size; done'], terminal: true },
      { stdin: true },
    );
    await driver.create(id, opts);
    const streams = await driver.attach(opts.stateDir, id);
    await driver.start(id);
    driver.resize(opts.stateDir, id, { rows: 33, cols: 77 });
    let seen = '';
    streams.stdout.on('data', (c: Buffer) => {
      seen += c.toString('utf8');
    });
    // the resize travels ctl fifo → conmon → ioctl, apart from stdin: ask until it shows
    await waitFor(
      () => {
        if (seen.includes('33 77')) return true;
        streams.stdin.write('\n');
        return false;
      },
      { intervalMs: 50, timeoutMs: 20_000, what: 'the new size "33 77" inside the container' },
    );
    streams.detach();
    await streams.done;
    await driver.delete(id, { force: true });
    assert.equal(await driver.waitExit(opts.stateDir, id), 137);
    assert.throws(() => driver.resize(opts.stateDir, id, { rows: 1, cols: 1 }), ConflictError);
  });
});
