// The container lifecycle through the CLI, with real runc/crun, conmon and overlayfs on a
// busybox image (plus the security probe) imported from a rootfs the test builds.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Berth, hasCommand } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { requireOrSkip } from '../helpers/prereq.js';
import { killWhen, processesNaming, waitFor, waitForText } from '../helpers/wait.js';

const work = mkdtempSync(join(tmpdir(), 'berth-ctr-it-'));
const b = new Berth();
const IMG = 'local/bb:test';

before(async () => {
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  mkdirSync(join(bundle.rootfs, 'data'), { recursive: true });
  writeFileSync(join(bundle.rootfs, 'data', 'from-image'), 'image content\n');
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG, ['CMD ["sh"]', 'ENV FROM_IMAGE=yes']);
});

after(async () => {
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('run', () => {
  test("output, and the container's own exit code", async () => {
    const r = await b.run(['run', '--rm', IMG, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  test('127 for a missing command, 126 for one that cannot be run, 125 for a bad flag value', async () => {
    const before = (await b.ok(['ps', '-aq'])).trim();
    const missing = await b.run(['run', '--rm', IMG, 'no-such-command']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /not found/);
    assert.equal((await b.ok(['ps', '-aq'])).trim(), before, '--rm removes a container that could not start');
    const notExec = await b.run(['run', '--rm', IMG, '/data']);
    assert.equal(notExec.code, 126);
    const bad = await b.run(['run', '--memory', 'lots', IMG, 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid --memory "lots"/);
    const low = await b.run(['run', '--memory', '1m', IMG, 'true']);
    assert.equal(low.code, 125);
    assert.match(low.stderr, /Minimum memory limit allowed is 6MB/);
    const unknown = await b.run(['run', 'no/such-image:1', 'true']);
    assert.equal(unknown.code, 125);
  });

  test('env, workdir, user, hostname, entrypoint and labels reach the container', async () => {
    const out = await b.ok([
      'run',
      '--rm',
      '-e',
      'A=1',
      '-w',
      '/srv/app',
      '-u',
      'nobody',
      '--hostname',
      'box1',
      '--label',
      'k=v',
      IMG,
      'sh',
      '-c',
      'echo $A $FROM_IMAGE; pwd; id -u; hostname',
    ]);
    assert.equal(out, '1 yes\n/srv/app\n65534\nbox1\n');
    const ep = await b.ok(['run', '--rm', '--entrypoint', 'echo', IMG, 'via', 'entrypoint']);
    assert.equal(ep, 'via entrypoint\n');
    const bad = await b.run(['run', '--rm', '-u', 'ghost', IMG, 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /unable to find user ghost/);
  });

  test('stdin with -i reaches the container', async () => {
    const out = await b.ok(['run', '--rm', '-i', IMG, 'sh', '-c', 'tr a-z A-Z'], { input: 'hello berth\n' });
    assert.equal(out, 'HELLO BERTH\n');
  });

  test('--rm removes the container; without it the exited container stays', async () => {
    await b.ok(['run', '--rm', '--name', 'gone', IMG, 'true']);
    assert.equal((await b.run(['inspect', '--type', 'container', 'gone'])).code, 1);
    await b.ok(['run', '--name', 'stays', IMG, 'true']);
    const [info] = JSON.parse(await b.ok(['inspect', 'stays']));
    assert.equal(info.State.Status, 'exited');
    assert.equal(info.State.ExitCode, 0);
    await b.ok(['rm', 'stays']);
  });
});

describe('detached lifecycle', () => {
  test('run -d, ps, logs (after berth exited), pause, stop, start, kill, wait, rename, rm', async () => {
    const id = (
      await b.ok([
        'run',
        '-d',
        '--name',
        'ticker',
        IMG,
        'sh',
        '-c',
        'trap "exit 0" TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done',
      ])
    ).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    await waitFor(async () => /^tick 1$/m.test(await b.ok(['logs', 'ticker'])), {
      what: 'the ticker to log two lines',
    });
    const ps = await b.ok(['ps']);
    assert.match(ps, /ticker/);
    assert.match(ps, /Up /);
    const logs = await b.ok(['logs', 'ticker']);
    assert.match(logs, /^tick 0$/m);
    const tail = await b.ok(['logs', '--tail', '1', 'ticker']);
    assert.equal(tail.trim().split('\n').length, 1);
    const ts = await b.ok(['logs', '-t', '--tail', '1', 'ticker']);
    assert.match(ts, /^\d{4}-\d\d-\d\dT\S+ tick \d+$/m);
    await b.ok(['pause', 'ticker']);
    assert.equal(JSON.parse(await b.ok(['inspect', 'ticker']))[0].State.Status, 'paused');
    await b.ok(['unpause', 'ticker']);
    await b.ok(['stop', '-t', '5', 'ticker']);
    const [stopped] = JSON.parse(await b.ok(['inspect', 'ticker']));
    assert.equal(stopped.State.Status, 'exited');
    assert.equal(stopped.State.ExitCode, 0, 'the TERM trap exited cleanly');
    await b.ok(['start', 'ticker']);
    await b.ok(['kill', '-s', 'KILL', 'ticker']);
    assert.equal((await b.ok(['wait', 'ticker'])).trim(), '137');
    await b.ok(['rename', 'ticker', 'ticker2']);
    assert.equal((await b.run(['rm', 'ticker'])).code, 1);
    await b.ok(['rm', 'ticker2']);
    assert.equal((await b.ok(['ps', '-aq', '--filter', 'name=ticker'])).trim(), '');
  });

  test('rm of a running container needs -f', async () => {
    await b.ok(['run', '-d', '--name', 'busy', IMG, 'sleep', '60']);
    const r = await b.run(['rm', 'busy']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /container is running/);
    await b.ok(['rm', '-f', 'busy']);
  });

  test('ps filters: status, name, label, ancestor', async () => {
    await b.ok(['create', '--name', 'f-created', '--label', 'team=a', IMG, 'true']);
    await b.ok(['run', '--name', 'f-exited', IMG, 'true']);
    const names = async (...f: string[]) =>
      (await b.ok(['ps', '-a', '--format', '{{.Names}}', ...f.flatMap((x) => ['--filter', x])]))
        .trim()
        .split('\n')
        .filter(Boolean)
        .sort();
    assert.deepEqual(await names('status=created', 'name=^f-'), ['f-created']);
    assert.deepEqual(await names('status=exited', 'name=^f-'), ['f-exited']);
    assert.deepEqual(await names('label=team=a'), ['f-created']);
    assert.deepEqual(await names(`ancestor=${IMG}`, 'name=^f-'), ['f-created', 'f-exited']);
    await b.ok(['rm', 'f-created', 'f-exited']);
  });
});

/** Poll `check` until it is true or `ms` pass; returns its last answer. */
async function until(check: () => Promise<boolean>, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

describe('the engine contract through the CLI', () => {
  test('a bad ps / images / volume ls filter fails even when there is nothing to list', async () => {
    const empty = new Berth();
    try {
      assert.match(await empty.ok(['ps', '-a']), /^CONTAINER ID +IMAGE .*NAMES\n$/);
      for (const [args, message] of [
        [
          ['ps', '--filter', 'bogus=1'],
          /invalid filter "bogus": supported are status, name, label, ancestor, id/,
        ],
        [['ps', '-a', '--filter', 'status=sleeping'], /invalid filter "status=sleeping"/],
        [['images', '--filter', 'dangling=maybe'], /invalid filter "dangling=maybe"/],
        [['volume', 'ls', '--filter', 'colour=red'], /invalid filter "colour"/],
      ] as const) {
        const r = await empty.run([...args]);
        assert.notEqual(r.code, 0, args.join(' '));
        assert.match(r.stderr, message);
      }
    } finally {
      empty.cleanup();
    }
  });

  test('restart starts an exited container again, and stops then starts a running one', async () => {
    await b.ok(['run', '--name', 'again', IMG, 'sh', '-c', 'echo run']);
    const [first] = JSON.parse(await b.ok(['inspect', 'again']));
    assert.equal(first.State.Status, 'exited');
    assert.equal(await b.ok(['restart', 'again']), 'again\n');
    assert.ok(
      await until(async () => (await b.ok(['logs', 'again'])) === 'run\nrun\n'),
      'the restarted container ran its command a second time',
    );
    const [second] = JSON.parse(await b.ok(['inspect', 'again']));
    assert.notEqual(second.State.StartedAt, first.State.StartedAt);

    // sleep as PID 1 ignores SIGTERM: -t 1 bounds the stop, then SIGKILL, then a new start
    await b.ok(['run', '-d', '--name', 'looping', IMG, 'sleep', '600']);
    const [before] = JSON.parse(await b.ok(['inspect', 'looping']));
    assert.equal(await b.ok(['restart', '-t', '1', 'looping']), 'looping\n');
    const [after] = JSON.parse(await b.ok(['inspect', 'looping']));
    assert.equal(after.State.Status, 'running');
    assert.notEqual(after.State.Pid, before.State.Pid);
    assert.equal((await b.run(['restart', 'no-such-container'])).code, 1);
    await b.ok(['rm', '-f', 'again', 'looping']);
  });

  test('volume prune: unused anonymous volumes only; named ones with -a; used ones never', async () => {
    await b.ok(['volume', 'create', 'keepme']);
    await b.ok(['run', '--name', 'holder', '-v', '/anon', IMG, 'true']);
    const anon = (await b.ok(['volume', 'ls', '-q']))
      .trim()
      .split('\n')
      .find((n) => n !== 'keepme');
    assert.ok(anon);
    // the exited container still uses its anonymous volume
    assert.doesNotMatch(await b.ok(['volume', 'prune', '-f']), /Deleted Volumes/);
    await b.ok(['rm', 'holder']);
    assert.match(
      await b.ok(['volume', 'prune', '-f']),
      new RegExp(`^Deleted Volumes:\n${anon}\n\nTotal reclaimed space: \\d`),
    );
    assert.equal((await b.ok(['volume', 'ls', '-q'])).trim(), 'keepme');
    assert.equal(
      (await b.ok(['volume', 'ls', '-q', '--filter', 'name=keep', '--filter', 'dangling=true'])).trim(),
      'keepme',
    );
    assert.match(await b.ok(['volume', 'prune', '-a', '-f']), /Deleted Volumes:\nkeepme\n/);
    assert.equal((await b.ok(['volume', 'ls', '-q'])).trim(), '');
  });
});

describe('restart policies without a daemon', () => {
  test('on-failure:2 restarts twice, then stays exited', async () => {
    await b.ok([
      'run',
      '-d',
      '--name',
      'flaky',
      '--restart',
      'on-failure:2',
      IMG,
      'sh',
      '-c',
      'echo run; exit 4',
    ]);
    const deadline = Date.now() + 30_000;
    let info: { State: { Status: string; ExitCode: number }; RestartCount: number } | undefined;
    while (Date.now() < deadline) {
      [info] = JSON.parse(await b.ok(['inspect', 'flaky']));
      if (info!.State.Status === 'exited' && info!.RestartCount === 2) break;
      await sleep(200);
    }
    assert.equal(info!.RestartCount, 2);
    assert.equal(info!.State.ExitCode, 4);
    assert.equal((await b.ok(['logs', 'flaky'])).trim().split('\n').length, 3);
    await b.ok(['rm', 'flaky']);
  });

  test('always restarts after the process exits, but not after stop', async () => {
    await b.ok([
      'run',
      '-d',
      '--name',
      'phoenix',
      '--restart',
      'always',
      IMG,
      'sh',
      '-c',
      'sleep 0.3; exit 1',
    ]);
    const deadline = Date.now() + 30_000;
    let count = 0;
    while (Date.now() < deadline && count < 2) {
      count = JSON.parse(await b.ok(['inspect', 'phoenix']))[0].RestartCount;
      await sleep(200);
    }
    try {
      assert.ok(count >= 2, `restarted ${count} times`);
      const id = JSON.parse(await b.ok(['inspect', 'phoenix']))[0].Id as string;
      await b.ok(['stop', '-t', '1', 'phoenix']);
      // conmon and its exit command name the container: once both are gone nothing can restart
      // it any more (a restart would start a new conmon, and this wait would time out)
      await waitFor(() => processesNaming(id) === 0, {
        what: 'conmon and the exit command of phoenix to end',
      });
      const [info] = JSON.parse(await b.ok(['inspect', 'phoenix']));
      assert.equal(info.State.Status, 'exited');
    } finally {
      await b.run(['rm', '-f', 'phoenix']);
    }
  });
});

describe('volumes and mounts', () => {
  test('a named volume persists across containers and is seeded by nothing but what we write', async () => {
    await b.ok(['run', '--rm', '-v', 'shared:/vol', IMG, 'sh', '-c', 'echo kept > /vol/f']);
    assert.equal(await b.ok(['run', '--rm', '-v', 'shared:/vol:ro', IMG, 'cat', '/vol/f']), 'kept\n');
    const ro = await b.run(['run', '--rm', '-v', 'shared:/vol:ro', IMG, 'sh', '-c', 'echo x > /vol/g']);
    assert.notEqual(ro.code, 0);
    assert.match(await b.ok(['volume', 'ls']), /shared/);
    const [v] = JSON.parse(await b.ok(['volume', 'inspect', 'shared']));
    assert.equal(readFileSync(join(v.Mountpoint, 'f'), 'utf8'), 'kept\n');
    await b.ok(['volume', 'rm', 'shared']);
  });

  test('bind mounts, tmpfs and --read-only', async () => {
    const host = join(work, 'bind');
    mkdirSync(host);
    writeFileSync(join(host, 'in'), 'from host\n');
    const out = await b.ok([
      'run',
      '--rm',
      '-v',
      `${host}:/mnt/h`,
      '--tmpfs',
      '/scratch:size=1m',
      '--read-only',
      IMG,
      'sh',
      '-c',
      'cat /mnt/h/in; echo back > /mnt/h/out; echo t > /scratch/t && cat /scratch/t; touch /nope 2>/dev/null || echo rootfs-ro',
    ]);
    assert.equal(out, 'from host\nt\nrootfs-ro\n');
    assert.equal(readFileSync(join(host, 'out'), 'utf8'), 'back\n');
    const bad = await b.run(['run', '--rm', '-v', '/a:relative', IMG, 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /must be absolute/);
  });

  test('an anonymous volume goes with rm -v', async () => {
    await b.ok(['run', '--name', 'anon', '-v', '/anon', IMG, 'true']);
    const before = (await b.ok(['volume', 'ls', '-q'])).trim().split('\n').filter(Boolean);
    assert.equal(before.length, 1);
    await b.ok(['rm', '-v', 'anon']);
    assert.equal((await b.ok(['volume', 'ls', '-q'])).trim(), '');
  });
});

describe('security defaults and limits', () => {
  const probes = (extra: string[]) =>
    b.ok([
      'run',
      '--rm',
      ...extra,
      IMG,
      'sh',
      '-c',
      'for p in capeff seccomp-mode mount unshare-user keyctl read-kcore write-proc-sys; do echo "$p $(/bin/probe $p 2>&1)"; done; ls /proc | grep -c "^[0-9]"',
    ]);

  test('a default container: 14 capabilities, seccomp filter, and the probes fail', async () => {
    const out = await probes([]);
    assert.match(out, /^capeff .*00000000a80425fb/m);
    assert.match(out, /^seccomp-mode .*2/m);
    for (const p of ['mount', 'unshare-user', 'keyctl', 'read-kcore', 'write-proc-sys']) {
      assert.match(out, new RegExp(`^${p} ERR`, 'm'), `${p} must fail:\n${out}`);
    }
    const pids = Number(out.trim().split('\n').at(-1));
    assert.ok(pids < 10, `only the container's processes are visible (${pids})`);
  });

  test('--privileged lifts them', async () => {
    const out = await probes(['--privileged']);
    assert.doesNotMatch(out, /^capeff .*00000000a80425fb/m);
    assert.match(out, /^seccomp-mode .*0/m);
    assert.match(out, /^mount OK/m);
    assert.match(out, /^write-proc-sys OK/m);
  });

  test('--cap-drop ALL and --security-opt seccomp=unconfined', async () => {
    const out = await b.ok([
      'run',
      '--rm',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'seccomp=unconfined',
      IMG,
      'sh',
      '-c',
      '/bin/probe capeff; /bin/probe seccomp-mode',
    ]);
    assert.match(out, /0000000000000000/);
    assert.match(out, /0/);
  });

  test('--security-opt seccomp=FILE keeps the profile read at create (not the cwd, not later edits)', async () => {
    const createDir = join(work, 'seccomp-create');
    const startDir = join(work, 'seccomp-start');
    mkdirSync(createDir, { recursive: true });
    mkdirSync(startDir, { recursive: true });
    const profile = join(createDir, 'deny-mkdir.json');
    writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      }),
    );
    const script = 'mkdir /tmp/made 2>/dev/null && echo made || echo denied';
    const id = (
      await b.ok(['create', '--security-opt', 'seccomp=deny-mkdir.json', IMG, 'sh', '-c', script], {
        cwd: createDir,
      })
    ).trim();
    try {
      // the file now allows everything: the container still has the profile it was created with
      writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW' }));
      assert.equal((await b.ok(['start', '-a', id], { cwd: startDir })).trim(), 'denied');
      const [info] = JSON.parse(await b.ok(['inspect', id]));
      const opt = (info.HostConfig.SecurityOpt as string[]).find((x) => x.startsWith('seccomp='));
      assert.deepEqual(JSON.parse(opt!.slice('seccomp='.length)).syscalls[0].names, ['mkdir', 'mkdirat']);
      rmSync(profile);
      // start -a shows this run's output only, not the first run's again (as docker start -a)
      const second = (await b.ok(['start', '-a', id], { cwd: startDir })).trim().split('\n');
      assert.deepEqual(second, ['denied']);
    } finally {
      await b.run(['rm', '-f', id]);
    }
    const missing = await b.run(['create', '--security-opt', 'seccomp=deny-mkdir.json', IMG, 'true'], {
      cwd: startDir,
    });
    assert.equal(missing.code, 125, missing.stderr);
    assert.match(missing.stderr, /cannot read seccomp profile "deny-mkdir.json"/);
  });

  // What Docker's containers show in /proc/mounts for its read-only /proc paths (runc keeps the
  // flags /proc was mounted with; crun 1.8 drops them when it remounts the binds read-only).
  const DOCKER_READONLY_PATH_OPTIONS = 'ro,nosuid,nodev,noexec,relatime';
  for (const runtime of ['runc', 'crun']) {
    test(`${runtime}: the read-only /proc paths carry ro,nosuid,nodev,noexec as in Docker`, async (t) => {
      if (!requireOrSkip(t, runtime, hasCommand(runtime))) return;
      const mounts = await b.ok(['run', '--rm', '--runtime', runtime, IMG, 'cat', '/proc/mounts']);
      const options = new Map<string, string>();
      for (const line of mounts.trim().split('\n')) {
        const [, target, , opts] = line.split(' ');
        if (target?.startsWith('/proc')) options.set(target, opts ?? '');
      }
      assert.equal(options.get('/proc'), 'rw,nosuid,nodev,noexec,relatime');
      const readonly = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'].filter(
        (p) => existsSync(p),
      );
      for (const p of readonly) {
        assert.equal(options.get(p), DOCKER_READONLY_PATH_OPTIONS, `${p} under ${runtime}:\n${mounts}`);
      }
      // the masked paths are there and read-only or /dev/null, as Docker's are
      for (const p of ['/proc/acpi', '/proc/scsi', '/proc/asound'].filter((d) => existsSync(d))) {
        assert.match(options.get(p) ?? '', /^ro,/, `${p} under ${runtime}`);
      }
    });
  }

  test('pids limit stops a fork bomb; a memory hog is OOM-killed with 137; limits are visible inside', async () => {
    const forks = await b.run(['run', '--rm', '--pids-limit', '20', IMG, '/bin/probe', 'forks', '100']);
    const n = Number(/(\d+)/.exec(forks.stdout)?.[1]);
    assert.ok(n < 25, `forks stopped at the limit (${forks.stdout.trim()})`);
    const hog = await b.run([
      'run',
      '--rm',
      '--memory',
      '32m',
      '--memory-swap',
      '32m',
      IMG,
      '/bin/probe',
      'hog',
      '200',
    ]);
    assert.equal(hog.code, 137);
    const limit = await b.ok([
      'run',
      '--rm',
      '--memory',
      '32m',
      IMG,
      'sh',
      '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
    ]);
    assert.equal(limit.trim(), '33554432');
  });

  test('ulimits above the host hard limit are refused; within it they apply', async () => {
    const bad = await b.run(['run', '--rm', '--ulimit', 'nofile=30000000', IMG, 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /hard limit/);
    assert.equal(
      (await b.ok(['run', '--rm', '--ulimit', 'nofile=512:1024', IMG, 'sh', '-c', 'ulimit -n'])).trim(),
      '512',
    );
  });
});

describe('many berth processes at once', () => {
  test('20 parallel run --rm with ps and rm in a loop leave nothing behind', async () => {
    const runs = Array.from({ length: 20 }, (_, i) =>
      b.run(['run', '--rm', '--name', `par${i}`, IMG, 'sh', '-c', `echo ${i}`]),
    );
    let looping = true;
    const loop = (async () => {
      while (looping) {
        await b.run(['ps', '-a']);
        await b.run(['rm', '-f', 'par3']);
      }
    })();
    const results = await Promise.all(runs);
    looping = false;
    await loop;
    for (const [i, r] of results.entries()) {
      if (i === 3) continue; // raced with rm -f on purpose
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${i}\n`);
    }
    // par3's exit command may still be cleaning up after the rm -f race
    await waitFor(async () => (await b.ok(['ps', '-aq', '--filter', 'name=^par'])).trim() === '', {
      what: 'every par container to be gone',
    });
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(join(b.root, 'containers')), 'no rootfs left mounted');
    // every container dir on disk belongs to a container berth still lists
    const ctrDir = join(b.root, 'containers');
    const known = (await b.ok(['ps', '-aq', '--no-trunc'])).trim().split('\n').filter(Boolean).sort();
    assert.deepEqual((existsSync(ctrDir) ? readdirSync(ctrDir) : []).sort(), known);
    // pgrep never matches itself; exit status 1 means no process matched
    const conmons = spawnSync('pgrep', ['-f', `conmon .*${b.runroot}/containers/`], { encoding: 'utf8' });
    assert.equal(conmons.status, 1, `no conmon left: ${conmons.stdout}`);
  });

  test('kill -9 of berth during start leaves nothing ps -a / rm cannot clean', async () => {
    // the rootfs is mounted before conmon and runc create and start the container: kill then
    const mounted = () => readFileSync('/proc/self/mountinfo', 'utf8').includes(join(b.root, 'containers'));
    const { landed } = await killWhen(
      b.start(['run', '-d', '--name', 'crashy', IMG, 'sleep', '30']),
      mounted,
      {
        what: 'the rootfs of crashy to be mounted',
      },
    );
    assert.ok(landed, 'berth run finished before the kill: the test proved nothing');
    await b.run(['ps', '-a']);
    await b.run(['rm', '-f', 'crashy']);
    assert.equal((await b.ok(['ps', '-aq', '--filter', 'name=crashy'])).trim(), '');
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(join(b.root, 'containers')));
  });
});

describe('more lifecycle guarantees', () => {
  test('an attached run forwards SIGINT to the container', async () => {
    const { child, closed } = b.start([
      'run',
      '--rm',
      IMG,
      'sh',
      '-c',
      'trap "echo got-int; exit 9" INT; echo ready; while :; do sleep 0.1; done',
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitForText(() => out, 'ready', { what: 'the container to print ready' });
    child.kill('SIGINT');
    const code = await closed;
    assert.match(out, /got-int/);
    assert.equal(code, 9);
  });

  test('a 64-layer image runs (short lowerdir names keep the mount options small)', async () => {
    const layout = join(work, 'deep');
    const blobs = join(layout, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const put = (buf: Buffer) => {
      const hex = createHash('sha256').update(buf).digest('hex');
      writeFileSync(join(blobs, hex), buf);
      return { digest: `sha256:${hex}`, size: buf.length };
    };
    const layers: { mediaType: string; digest: string; size: number }[] = [];
    const diffIds: string[] = [];
    const base = readFileSync(join(work, 'rootfs.tar'));
    for (let i = 0; i < 64; i++) {
      let tar = base;
      if (i > 0) {
        const dir = join(work, `deep-layer-${i}`);
        mkdirSync(join(dir, 'layers'), { recursive: true });
        writeFileSync(join(dir, 'layers', String(i)), `layer ${i}\n`);
        tar = execFileSync('tar', ['--numeric-owner', '-C', dir, '-cf', '-', 'layers']);
      }
      diffIds.push(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...put(tar) });
    }
    const config = put(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Cmd: ['sh'] },
          rootfs: { type: 'layers', diff_ids: diffIds },
        }),
      ),
    );
    const manifest = put(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers,
        }),
      ),
    );
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifest,
            annotations: { 'io.containerd.image.name': 'local/deep:64' },
          },
        ],
      }),
    );
    await b.ok(['load', '-i', layout]);
    const out = await b.ok([
      'run',
      '--rm',
      'local/deep:64',
      'sh',
      '-c',
      'ls /layers | wc -l; cat /layers/63',
    ]);
    assert.equal(out, '63\nlayer 63\n');
    await b.ok(['rmi', 'local/deep:64']);
  });

  test('kill -9 of berth in the middle of create or rm leaves nothing system prune cannot clean', async (t) => {
    // create: kill as soon as its container dir shows up inside the store's transaction; a
    // create can finish within that instant, so try a few times and demand one kill that landed
    const ctrDirs = join(b.root, 'containers');
    const before = new Set(existsSync(ctrDirs) ? readdirSync(ctrDirs) : []);
    const newDir = () => existsSync(ctrDirs) && readdirSync(ctrDirs).some((d) => !before.has(d));
    let landedCreates = 0;
    for (let attempt = 0; attempt < 6 && landedCreates < 2; attempt++) {
      const { landed } = await killWhen(b.start(['create', IMG, 'true']), newDir, {
        intervalMs: 1,
        what: 'the container dir of the create',
      });
      if (landed) landedCreates++;
      for (const d of existsSync(ctrDirs) ? readdirSync(ctrDirs) : []) before.add(d);
    }
    assert.ok(landedCreates > 0, 'every create finished before its kill: the test proved nothing');
    t.diagnostic(`${landedCreates} kill(s) landed inside create`);
    // rm -f: kill once the container's process is dead but berth is still tearing it down
    await b.ok(['run', '-d', '--name', 'victim', IMG, 'sleep', '60']);
    const victimPid = JSON.parse(await b.ok(['inspect', 'victim']))[0].State.Pid as number;
    assert.ok(victimPid > 0);
    const { landed: rmLanded } = await killWhen(
      b.start(['rm', '-f', 'victim']),
      () => !existsSync(`/proc/${victimPid}`),
      { what: 'rm -f to kill the victim' },
    );
    assert.ok(rmLanded, 'rm -f finished before the kill: the test proved nothing');
    await b.run(['rm', '-f', 'victim']);
    await b.ok(['system', 'prune', '-f']);
    assert.equal((await b.ok(['ps', '-aq'])).trim(), '');
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(join(b.root, 'containers')));
    const ctrDir = join(b.root, 'containers');
    assert.deepEqual(existsSync(ctrDir) ? readdirSync(ctrDir) : [], []);
  });

  test('system prune keeps running containers and the images they use', async () => {
    await b.ok(['run', '-d', '--name', 'keeper', IMG, 'sleep', '60']);
    await b.ok(['create', '--name', 'dropme', IMG, 'true']);
    const out = await b.ok(['system', 'prune', '-f', '-a']);
    assert.match(out, /Deleted Containers:/);
    assert.deepEqual((await b.ok(['ps', '-a', '--format', '{{.Names}}'])).trim().split('\n'), ['keeper']);
    assert.match(await b.ok(['images']), /local\/bb/);
    await b.ok(['rm', '-f', 'keeper']);
  });

  test('the default runtime comes from BERTH_RUNTIME / the config file', async () => {
    const r = await b.run(['run', '--rm', IMG, 'true'], { env: { BERTH_RUNTIME: 'no-such-runtime' } });
    assert.equal(r.code, 125);
    assert.match(r.stderr, /no-such-runtime/);
    const conf = join(work, 'berth.json');
    writeFileSync(conf, JSON.stringify({ runtime: 'runc' }));
    const ok = await b.ok(['run', '--rm', IMG, 'echo', 'via-config'], { env: { BERTH_CONFIG: conf } });
    assert.equal(ok, 'via-config\n');
  });
});
