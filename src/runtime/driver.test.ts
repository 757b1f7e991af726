// Real runc/crun + conmon, no mocks: needs root (skipped otherwise).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { skipUnless } from '../../test/helpers/prereq.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors/index.js';
import { canRunContainers, eventually, Sandbox } from './_driver-testing.js';
import { detectCgroups } from './cgroups.js';
import { CommandLaunchError, signalNumber } from './driver.js';
import { type LogEntry, logTimeMs, readLogs } from './logs.js';
import { crunCanWork, lookPath, type SelectedRuntime, selectRuntime } from './select.js';

const skip = skipUnless('root, runc, conmon and /bin/busybox', canRunContainers());

const runtimes: SelectedRuntime[] = [];
if (!skip) {
  runtimes.push({ name: 'runc', path: lookPath('runc') as string });
  const crun = lookPath('crun');
  // CI installs both runtimes; where crun is installed but cannot work, the test below runs.
  if (!skipUnless('crun', crun !== undefined) && crunCanWork(detectCgroups())) {
    runtimes.push({ name: 'crun', path: crun as string });
  }
}

async function collectLogs(path: string): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLogs(path)) out.push(e);
  return out;
}

/** A command that runs until /tmp/go appears in its rootfs, then exits with `code`. */
function gated(code: number, before = ''): string[] {
  return ['sh', '-c', `${before} while [ ! -e /tmp/go ]; do sleep 0.05; done; exit ${code}`];
}

/**
 * Ignores SIGTERM's pid-1 protection the way real images do: with a handler. It logs "trapped"
 * once the handler is set; a TERM sent before that is ignored (pid 1), so tests wait for it.
 */
const TERM_TRAP = ['sh', '-c', 'trap "exit 143" TERM; echo trapped; while :; do sleep 1 & wait $!; done'];

test('signalNumber accepts names and numbers', () => {
  assert.equal(signalNumber('TERM'), 15);
  assert.equal(signalNumber('SIGKILL'), 9);
  assert.equal(signalNumber('sighup'), 1);
  assert.equal(signalNumber(10), 10);
  assert.equal(signalNumber('2'), 2);
  assert.throws(() => signalNumber('NOPE'), InvalidArgumentError);
  assert.throws(() => signalNumber(0), InvalidArgumentError);
});

for (const runtime of runtimes.length ? runtimes : [{ name: 'runc', path: 'runc' }]) {
  describe(`RuntimeDriver with ${runtime.name}`, { skip, concurrency: false, timeout: 180_000 }, () => {
    const sb = skip ? undefined : new Sandbox(runtime);
    const box = () => sb as Sandbox;
    after(() => sb?.cleanup());

    test('create → created → start → running → logs → exit code → delete', async () => {
      const { driver } = box();
      const id = box().id('life');
      const opts = box().container(id, { args: gated(3, 'echo out; echo err >&2;') });
      const { pid, conmonPid } = await driver.create(id, opts);
      assert.ok(pid > 0);
      assert.equal(driver.conmonPid(opts.stateDir), conmonPid);
      assert.deepEqual(await driver.state(id), { status: 'created', pid });
      assert.equal(driver.exitCode(opts.stateDir, id), undefined);

      await driver.start(id);
      assert.deepEqual(await driver.state(id), { status: 'running', pid });
      const entries = await eventually(async () => {
        const all = await collectLogs(opts.logPath!);
        return all.length >= 2 ? all : undefined;
      }, 'two log lines');
      const byStream = Object.fromEntries(entries.map((e) => [e.stream, e]));
      assert.equal(byStream.stdout?.line.toString(), 'out');
      assert.equal(byStream.stderr?.line.toString(), 'err');
      assert.equal(byStream.stdout?.partial, false);
      const t = logTimeMs(byStream.stdout?.time ?? '');
      assert.ok(Math.abs(t - Date.now()) < 10 * 60_000, `log time ${byStream.stdout?.time}`);

      writeFileSync(join(opts.bundle, 'rootfs', 'tmp', 'go'), '');
      assert.equal(await driver.waitExit(opts.stateDir, id), 3);
      assert.equal(driver.exitCode(opts.stateDir, id), 3);
      assert.equal((await driver.state(id))?.status, 'stopped');
      await driver.delete(id);
      assert.equal(await driver.state(id), undefined);
      await driver.delete(id); // idempotent
      await eventually(
        () => (driver.conmonPid(opts.stateDir) === undefined ? true : undefined),
        'conmon to exit',
      );
    });

    test('kill with SIGTERM → 143, SIGKILL → 137', async () => {
      const { driver } = box();
      const term = box().id('term');
      const termOpts = box().container(term, { args: TERM_TRAP });
      await driver.create(term, termOpts);
      await driver.start(term);
      await eventually(
        async () =>
          (await collectLogs(termOpts.logPath!)).some((e) => e.line.toString() === 'trapped')
            ? true
            : undefined,
        'the TERM handler to be set',
      );
      await driver.kill(term, 'SIGTERM');
      assert.equal(await driver.waitExit(termOpts.stateDir, term), 143);

      const kill = box().id('kill');
      const killOpts = box().container(kill, { args: ['sleep', '1000'] });
      await driver.create(kill, killOpts);
      await driver.start(kill);
      await driver.kill(kill, 'KILL', { all: true });
      assert.equal(await driver.waitExit(killOpts.stateDir, kill), 137);
      await assert.rejects(driver.kill(kill, 'KILL'), ConflictError);
      await driver.delete(term);
      await driver.delete(kill);
    });

    test('pause and resume', async () => {
      const { driver } = box();
      const id = box().id('pause');
      const opts = box().container(id, { args: ['sleep', '1000'] });
      await driver.create(id, opts);
      await driver.start(id);
      await driver.pause(id);
      assert.equal((await driver.state(id))?.status, 'paused');
      await driver.resume(id);
      assert.equal((await driver.state(id))?.status, 'running');
      await assert.rejects(driver.delete(id), ConflictError);
      await driver.delete(id, { force: true });
      assert.equal(await driver.state(id), undefined);
      assert.equal(await driver.waitExit(opts.stateDir, id), 137);
    });

    test('exec attached and detached', async () => {
      const { driver } = box();
      const id = box().id('exec');
      const opts = box().container(id, { args: ['sleep', '1000'] });
      await driver.create(id, opts);
      await driver.start(id);
      const proc = (args: string[]) => ({ args, cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } });
      const session = (name: string) => box().track(join(opts.stateDir, 'exec', name));

      const hi = await driver.exec(id, proc(['echo', 'hi']), {
        detach: false,
        tty: false,
        stdin: false,
        stateDir: session('hi'),
      });
      assert.equal(hi.exitCode, 0);
      assert.equal(hi.stdout?.toString(), 'hi\n');
      assert.ok(hi.pid > 0);

      const five = await driver.exec(id, proc(['sh', '-c', 'echo oops >&2; exit 5']), {
        detach: false,
        tty: false,
        stdin: false,
        stateDir: session('five'),
      });
      assert.equal(five.exitCode, 5);
      assert.equal(five.stderr?.toString(), 'oops\n');

      const cat = await driver.exec(id, proc(['cat']), {
        detach: false,
        tty: false,
        stdin: true,
        stateDir: session('cat'),
        stdio: { stdin: Readable.from([Buffer.from('from stdin\n')]) },
      });
      assert.equal(cat.exitCode, 0);
      assert.equal(cat.stdout?.toString(), 'from stdin\n');

      const tty = await driver.exec(
        id,
        proc([
          'sh',
          '-c',
          // crun sizes an exec pty after the process may already run; conmon's resize follows
          // (an early stty can fail on the half-made pty: its complaint would reach the output)
          'while [ "$(stty size 2>/dev/null)" != "21 53" ]; do sleep 0.05; done; stty size',
        ]),
        {
          detach: false,
          tty: true,
          stdin: false,
          stateDir: session('tty'),
          size: { rows: 21, cols: 53 },
        },
      );
      assert.equal(tty.exitCode, 0);
      assert.match(tty.stdout?.toString() ?? '', /^21 53\r?\n/);

      const missing = driver.exec(id, proc(['/no/such/binary']), {
        detach: false,
        tty: false,
        stdin: false,
        stateDir: session('missing'),
      });
      await assert.rejects(missing, (err: unknown) => {
        assert.ok(err instanceof CommandLaunchError, String(err));
        assert.equal(err.exitCode, 127);
        assert.match(err.message, /no\/such\/binary/);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      });

      const bgDir = session('bg');
      const bg = await driver.exec(id, proc(['sh', '-c', 'echo bg > /tmp/detached; exit 4']), {
        detach: true,
        tty: false,
        stdin: false,
        stateDir: bgDir,
      });
      assert.ok(bg.pid > 0);
      assert.equal(bg.exitCode, undefined);
      assert.equal(await driver.waitExit(bgDir, id), 4);
      assert.equal(readFileSync(join(opts.bundle, 'rootfs', 'tmp', 'detached'), 'utf8'), 'bg\n');
      await driver.delete(id, { force: true });
    });

    test('a missing command fails create with 127 and a one-line message', async () => {
      const { driver } = box();
      const id = box().id('nocmd');
      const opts = box().container(id, { args: ['/no/such/cmd'] });
      const result = driver.create(id, opts).then(() => driver.start(id));
      await assert.rejects(result, (err: unknown) => {
        assert.ok(err instanceof CommandLaunchError, String(err));
        assert.equal(err.exitCode, 127);
        assert.match(
          err.message,
          new RegExp(`^cannot (create|start) container "${id}": ${runtime.name}: .*no/such/cmd`),
        );
        assert.doesNotMatch(err.message, /\n/);
        return true;
      });
      await driver.delete(id, { force: true });
    });

    test('unknown containers', async () => {
      const { driver } = box();
      assert.equal(await driver.state('never-created'), undefined);
      await assert.rejects(driver.start('never-created'), NotFoundError);
      await assert.rejects(driver.kill('never-created', 'TERM'), NotFoundError);
      await driver.delete('never-created');
      await assert.rejects(driver.start('../escape'), InvalidArgumentError);
      await assert.rejects(driver.state('-flag'), InvalidArgumentError);
    });
  });
}

const crunPath = skip ? undefined : lookPath('crun');
test('where crun cannot work, auto never picks it and crun fails with its own one-line message', {
  skip: skip || !crunPath || crunCanWork(detectCgroups()) ? 'crun works here (or is absent)' : false,
}, async () => {
  assert.equal(selectRuntime('auto').name, 'runc');
  const sb = new Sandbox({ name: 'crun', path: crunPath as string });
  try {
    const id = sb.id('refused');
    const opts = sb.container(id, { args: ['true'] });
    await assert.rejects(sb.driver.create(id, opts), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, new RegExp(`^cannot create container "${id}": crun: \\S`));
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  } finally {
    await sb.cleanup();
  }
});

describe('conmon outlives berth', { skip, concurrency: false, timeout: 120_000 }, () => {
  const runtime = skip ? undefined : selectRuntime('runc');
  const sb = runtime ? new Sandbox(runtime) : undefined;
  const box = () => sb as Sandbox;
  after(() => sb?.cleanup());

  test('runs the exit command when the container exits', async () => {
    const { driver } = box();
    const id = box().id('exitcmd');
    const marker = join(box().dir, 'exit-marker');
    const script = join(box().dir, 'on-exit.sh');
    writeFileSync(script, `#!/bin/sh\necho "$@" > ${marker}.tmp && mv ${marker}.tmp ${marker}\n`);
    chmodSync(script, 0o755);
    const opts = box().container(
      id,
      { args: ['sh', '-c', 'exit 7'] },
      { exitCommand: [script, 'cleanup', id] },
    );
    await driver.create(id, opts);
    await driver.start(id);
    assert.equal(await driver.waitExit(opts.stateDir, id), 7);
    const text = await eventually(
      () => (existsSync(marker) ? readFileSync(marker, 'utf8') : undefined),
      'the marker',
    );
    assert.equal(text, `cleanup ${id}\n`);
    await driver.delete(id);
  });

  test('logs and the exit code survive the process that created the container', async () => {
    const { driver } = box();
    const id = box().id('detached');
    const opts = box().container(id, {
      args: ['sh', '-c', 'echo started; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo finishing; exit 9'],
    });
    const child = join(fileURLToPath(new URL('.', import.meta.url)), '_driver-child.js');
    const input = JSON.stringify({ runtime: driver.runtime, runtimeRoot: driver.runtimeRoot, id, opts });
    const proc = spawn(process.execPath, [child], { stdio: ['pipe', 'pipe', 'inherit'] });
    proc.stdin.end(input);
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    assert.equal(code, 0);
    const { conmonPid } = JSON.parse(out) as { conmonPid: number };
    assert.equal(driver.conmonPid(opts.stateDir), conmonPid, 'conmon still runs');
    assert.equal((await driver.state(id))?.status, 'running');
    await eventually(
      async () => ((await collectLogs(opts.logPath!)).length ? true : undefined),
      'first log line',
    );
    writeFileSync(join(opts.bundle, 'rootfs', 'tmp', 'go'), '');
    assert.equal(await driver.waitExit(opts.stateDir, id), 9);
    const lines = (await collectLogs(opts.logPath!)).map((e) => e.line.toString());
    assert.deepEqual(lines, ['started', 'finishing']);
    await driver.delete(id);
  });
});
