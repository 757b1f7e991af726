// exec, attach, top, stats and port through the CLI, with real runc/crun, conmon and overlayfs
// on a busybox image the test builds and imports.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { waitFor } from '../helpers/wait.js';

const work = mkdtempSync(join(tmpdir(), 'berth-exec-it-'));
const b = new Berth();
const IMG = 'local/bb:exec';

before(async () => {
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG, ['CMD ["sh"]', 'ENV FROM_IMAGE=yes']);
  await b.ok(['run', '-d', '--name', 'box', IMG, 'sleep', '600']);
});

after(async () => {
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  // conmon's exit command (`berth container cleanup`) may still be closing the store: retry
  await waitFor(
    () => {
      b.cleanup();
      return true;
    },
    { timeoutMs: 10_000, intervalMs: 100, what: 'the test root to be removable' },
  );
  rmSync(work, { recursive: true, force: true });
});

describe('exec', () => {
  test("output and the process's exit code; 127 for a missing binary", async () => {
    const hi = await b.run(['exec', 'box', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(hi.code, 0);
    assert.equal(hi.stdout, 'out\n');
    assert.equal(hi.stderr, 'err\n');
    const five = await b.run(['exec', 'box', 'sh', '-c', 'exit 5']);
    assert.equal(five.code, 5);
    const missing = await b.run(['exec', 'box', 'no-such-binary']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /no-such-binary/);
  });

  test('-e, -w and -u apply, on top of the container environment', async () => {
    const out = await b.ok([
      'exec',
      '-e',
      'A=1',
      '-w',
      '/tmp',
      '-u',
      'nobody',
      'box',
      'sh',
      '-c',
      'echo $A $FROM_IMAGE; pwd; id -u',
    ]);
    assert.equal(out, '1 yes\n/tmp\n65534\n');
    const bad = await b.run(['exec', '-u', 'ghost', 'box', 'true']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unable to find user ghost/);
    // docker: a working directory that does not exist means the command cannot be invoked
    const nowhere = await b.run(['exec', '-w', '/no/such/dir', 'box', 'true']);
    assert.equal(nowhere.code, 126);
    assert.match(nowhere.stderr, /no\/such\/dir/);
  });

  test('-i feeds stdin', async () => {
    const out = await b.ok(['exec', '-i', 'box', 'cat'], { input: 'through stdin\n' });
    assert.equal(out, 'through stdin\n');
  });

  test('-d returns at once and the process runs on', async () => {
    const r = await b.run(['exec', '-d', 'box', 'sh', '-c', 'sleep 0.3; echo done > /tmp/bg']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    await waitFor(async () => (await b.run(['exec', 'box', 'cat', '/tmp/bg'])).stdout === 'done\n', {
      intervalMs: 100,
      what: 'the detached exec to write /tmp/bg',
    });
  });

  test('exec into a stopped container fails with exit 1', async () => {
    await b.ok(['run', '--name', 'stopped', IMG, 'true']);
    const r = await b.run(['exec', 'stopped', 'true']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not running/);
    assert.equal((await b.run(['exec', 'no-such-container', 'true'])).code, 1);
  });
});

describe('attach', () => {
  test("prints the container's output and exits with its code", async () => {
    await b.ok(['run', '-d', '-i', '--name', 'att', IMG, 'sh', '-c', 'sleep 1; echo bye; exit 3']);
    const r = await b.run(['attach', 'att']);
    assert.equal(r.stdout, 'bye\n');
    assert.equal(r.code, 3);
    const again = await b.run(['attach', 'att']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not running/);
  });
});

describe('top, stats, port', () => {
  test("top lists the container's processes and no host ones", async () => {
    const out = await b.ok(['top', 'box']);
    const [header, ...rows] = out.trim().split('\n');
    assert.match(header ?? '', /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    assert.ok(
      rows.some((r) => /sleep 600$/.test(r)),
      out,
    );
    assert.ok(!rows.some((r) => /node|conmon|systemd|init$/.test(r)), out);
    const picked = await b.ok(['top', 'box', '-o', 'pid,comm']);
    assert.match(picked, /^PID\s+COMMAND\n\d+\s+sleep\n$/);
    const bad = await b.run(['top', 'box', '--bogus']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unsupported ps option/);
  });

  test('stats --no-stream --format json: memory in use, the limit, pids', async () => {
    await b.ok(['run', '-d', '--name', 'limited', '--memory', '64m', IMG, 'sleep', '600']);
    const out = await b.ok(['stats', '--no-stream', '--format', 'json', 'limited']);
    const s = JSON.parse(out) as Record<string, string>;
    assert.equal(s.Name, 'limited');
    const [usage, limit] = (s.MemUsage ?? '').split(' / ');
    assert.notEqual(usage, '0B', out);
    assert.match(usage ?? '', /^[\d.]+(B|KiB|MiB)$/);
    assert.equal(limit, '64MiB');
    assert.ok(Number(s.PIDs) >= 1, out);
    assert.match(s.CPUPerc ?? '', /^\d+\.\d\d%$/);
    assert.equal(s.NetIO, '0B / 0B');
    const table = await b.ok(['stats', '--no-stream']);
    assert.match(table, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT/);
    assert.match(table, /limited/);
    assert.match(table, /box/);
  });

  test('port prints nothing for a known container, fails for an unknown one', async () => {
    const r = await b.run(['port', 'box']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.equal((await b.run(['port', 'nope'])).code, 1);
  });
});
