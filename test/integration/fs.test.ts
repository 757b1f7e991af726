// Filesystem commands through the CLI: cp (both directions, tar on stdin/stdout, docker's
// trailing-slash rules, ownership, and CVE-2018-15664 symlink races), diff, commit, export,
// and a committed image running in podman. Real runc/crun, conmon and overlayfs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BERTH_BIN, Berth, hasCommand } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { waitFor } from '../helpers/wait.js';

const work = mkdtempSync(join(tmpdir(), 'berth-fs-it-'));
const b = new Berth();
const IMG = 'local/bb-fs:test';
const IMAGE_PASSWD = 'root:x:0:0:container-root:/root:/bin/sh\n';

before(async () => {
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  mkdirSync(join(bundle.rootfs, 'data', 'sub'), { recursive: true });
  writeFileSync(join(bundle.rootfs, 'data', 'from-image'), 'image content\n');
  writeFileSync(join(bundle.rootfs, 'data', 'sub', 'deep'), 'deep\n');
  mkdirSync(join(bundle.rootfs, 'opq'));
  writeFileSync(join(bundle.rootfs, 'opq', 'a'), 'a\n');
  writeFileSync(join(bundle.rootfs, 'opq', 'b'), 'b\n');
  mkdirSync(join(bundle.rootfs, 'etc'), { recursive: true });
  writeFileSync(join(bundle.rootfs, 'etc', 'passwd'), IMAGE_PASSWD);
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG);
});

after(async () => {
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  // conmon's exit command (`berth container cleanup`) of a just-killed container would recreate
  // the root if it ran after the removal: wait until no process names our root any more
  await waitFor(() => processesUsing(b.root) === 0, {
    intervalMs: 100,
    what: 'no process to name the test root',
  });
  await waitFor(
    () => {
      b.cleanup();
      return true;
    },
    { timeoutMs: 5_000, intervalMs: 100, what: 'the test root to be removable' },
  );
  rmSync(work, { recursive: true, force: true });
});

/** How many processes have `path` in their command line (conmon and its exit command do). */
function processesUsing(path: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(path)) n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

/** A fresh host dir under the test's work dir. */
function hostDir(name: string): string {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** A created (never started) container; cp mounts its rootfs on demand. */
async function created(name: string): Promise<string> {
  await b.ok(['create', '--name', name, IMG, 'sleep', '1000']);
  return name;
}

/** Numeric `tar -tv` lines of `container:path` streamed through `cp ... -`. */
function tarListing(container: string, path: string): string {
  const r = spawnSync(
    'sh',
    [
      '-c',
      `"$0" "$@" | tar --numeric-owner -tvf -`,
      process.execPath,
      ...berthArgs(['cp', `${container}:${path}`, '-']),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function berthArgs(args: string[]): string[] {
  return [BERTH_BIN, '--root', b.root, '--runroot', b.runroot, ...args];
}

describe('cp', () => {
  test('a file and a directory in both directions, with docker trailing-slash rules', async () => {
    const c = await created('cp-basic');
    const h = hostDir('basic');
    writeFileSync(join(h, 'hello.txt'), 'hello\n');
    mkdirSync(join(h, 'tree', 'inner'), { recursive: true });
    writeFileSync(join(h, 'tree', 'inner', 'f'), 'in tree\n');

    // file → missing path: created under that name; → existing dir: lands inside it
    await b.ok(['cp', join(h, 'hello.txt'), `${c}:/renamed.txt`]);
    await b.ok(['cp', join(h, 'hello.txt'), `${c}:/data`]);
    // file → missing dir with a trailing slash: docker refuses
    const missingDir = await b.run(['cp', join(h, 'hello.txt'), `${c}:/nope/`]);
    assert.notEqual(missingDir.code, 0);
    // dir → missing path: becomes that dir; → existing dir: copied inside; dir/. → contents
    await b.ok(['cp', join(h, 'tree'), `${c}:/newtree`]);
    await b.ok(['cp', join(h, 'tree'), `${c}:/data`]);
    await b.ok(['cp', `${join(h, 'tree')}/.`, `${c}:/data/sub`]);
    // a dir onto a file: refused
    const dirOnFile = await b.run(['cp', join(h, 'tree'), `${c}:/renamed.txt`]);
    assert.notEqual(dirOnFile.code, 0);
    assert.match(dirOnFile.stderr, /cannot copy a directory to a file/);

    const out = hostDir('basic-out');
    await b.ok(['cp', `${c}:/renamed.txt`, join(out, 'r.txt')]);
    assert.equal(readFileSync(join(out, 'r.txt'), 'utf8'), 'hello\n');
    await b.ok(['cp', `${c}:/data`, out]);
    assert.equal(readFileSync(join(out, 'data', 'from-image'), 'utf8'), 'image content\n');
    assert.equal(readFileSync(join(out, 'data', 'hello.txt'), 'utf8'), 'hello\n');
    assert.equal(readFileSync(join(out, 'data', 'tree', 'inner', 'f'), 'utf8'), 'in tree\n');
    assert.equal(readFileSync(join(out, 'data', 'sub', 'inner', 'f'), 'utf8'), 'in tree\n');
    assert.equal(readFileSync(join(out, 'data', 'sub', 'deep'), 'utf8'), 'deep\n');
    await b.ok(['cp', `${c}:/newtree`, join(out, 'copied-tree')]);
    assert.equal(readFileSync(join(out, 'copied-tree', 'inner', 'f'), 'utf8'), 'in tree\n');
    const contents = hostDir('basic-contents');
    await b.ok(['cp', `${c}:/data/sub/.`, contents]);
    assert.equal(readFileSync(join(contents, 'deep'), 'utf8'), 'deep\n');
    assert.equal(existsSync(join(contents, 'sub')), false);
    // the whole rootfs as a tar, and a symlink to a dir named with a trailing slash
    assert.match(tarListing(c, '/'), / bin\/busybox\n/);
    await b.ok(['cp', join(h, 'hello.txt'), `${c}:/data/sub/`]);
    execFileSync('ln', ['-s', '/data/sub', join(h, 'sublink')]);
    await b.ok(['cp', join(h, 'sublink'), `${c}:/sublink`]);
    const viaLink = hostDir('basic-vialink');
    await b.ok(['cp', `${c}:/sublink/`, join(viaLink, 'x')]);
    assert.equal(readFileSync(join(viaLink, 'x', 'deep'), 'utf8'), 'deep\n');
    await b.ok(['cp', `${c}:/sublink`, join(viaLink, 'y')]);
    assert.equal(readlinkSync(join(viaLink, 'y')), '/data/sub');
    // a file path with a trailing slash is not a directory
    assert.notEqual((await b.run(['cp', `${c}:/renamed.txt/`, out])).code, 0);
    assert.notEqual((await b.run(['cp', `${c}:/no-such-file`, out])).code, 0);
  });

  test('works on a running container too', async () => {
    await b.ok(['run', '-d', '--name', 'cp-running', IMG, 'sh', '-c', 'echo live > /live; sleep 1000']);
    const out = hostDir('running-out');
    await waitFor(
      async () =>
        (await b.run(['cp', 'cp-running:/live', out])).code === 0 &&
        readFileSync(join(out, 'live'), 'utf8') === 'live\n',
      { what: 'the container to write /live' },
    );
    assert.equal(readFileSync(join(out, 'live'), 'utf8'), 'live\n');
    writeFileSync(join(out, 'in'), 'into running\n');
    await b.ok(['cp', join(out, 'in'), 'cp-running:/in']);
    const r = await b.ok(['cp', 'cp-running:/in', join(out, 'in-back')]);
    assert.equal(r, '');
    assert.equal(readFileSync(join(out, 'in-back'), 'utf8'), 'into running\n');
  });

  test('a tar to stdout and from stdin; symlinks inside a tree stay symlinks', async () => {
    const c = await created('cp-tar');
    const src = hostDir('tar-src');
    mkdirSync(join(src, 'pkg'));
    writeFileSync(join(src, 'pkg', 'a'), 'A\n');
    execFileSync('ln', ['-s', '/etc/passwd', join(src, 'pkg', 'link')]);
    const tarball = join(work, 'in.tar');
    execFileSync('tar', ['-C', src, '-cf', tarball, 'pkg']);
    await b.ok(['cp', '-', `${c}:/data`], { input: readFileSync(tarball) });
    const listing = tarListing(c, '/data');
    assert.match(listing, / data\/pkg\/a\n/);
    assert.match(listing, / data\/pkg\/link -> \/etc\/passwd\n/);
    assert.match(listing, / data\/from-image\n/);
    const out = hostDir('tar-out');
    await b.ok(['cp', `${c}:/data/pkg`, out]);
    assert.equal(readlinkSync(join(out, 'pkg', 'link')), '/etc/passwd', 'copied as a link, not followed');
    // -L follows a symlink given as the source
    const followed = hostDir('tar-follow');
    await b.ok(['cp', '-L', `${c}:/data/pkg/link`, join(followed, 'pw')]);
    assert.equal(readFileSync(join(followed, 'pw'), 'utf8'), IMAGE_PASSWD);
    assert.equal(lstatSync(join(followed, 'pw')).isFile(), true);
    // a hostile tar cannot climb out of the destination
    execFileSync('tar', [
      '--absolute-names',
      '-cf',
      join(work, 'evil.tar'),
      '-C',
      src,
      '--transform',
      's,^pkg/a$,../../../evil-escape,',
      'pkg/a',
    ]);
    const r = await b.run(['cp', '-', `${c}:/data`], { input: readFileSync(join(work, 'evil.tar')) });
    assert.notEqual(r.code, 0);
    assert.equal(existsSync('/evil-escape'), false);
  });

  test('ownership: root by default, the source ids with -a', async () => {
    const c = await created('cp-owner');
    const h = hostDir('owner');
    writeFileSync(join(h, 'owned'), 'x\n');
    chownSync(join(h, 'owned'), 1234, 5678);
    await b.ok(['cp', join(h, 'owned'), `${c}:/plain`]);
    await b.ok(['cp', '-a', join(h, 'owned'), `${c}:/kept`]);
    assert.match(tarListing(c, '/plain'), /^-rw-r--r-- 0\/0 /m);
    assert.match(tarListing(c, '/kept'), /^-rw-r--r-- 1234\/5678 /m);
    // out of the container: the caller owns the copy unless -a
    const out = hostDir('owner-out');
    await b.ok(['cp', `${c}:/kept`, join(out, 'plain')]);
    await b.ok(['cp', '-a', `${c}:/kept`, join(out, 'kept')]);
    assert.equal(statSync(join(out, 'plain')).uid, process.getuid?.());
    assert.equal(statSync(join(out, 'kept')).uid, 1234);
    assert.equal(statSync(join(out, 'kept')).gid, 5678);
  });
});

describe('cp CVE-2018-15664', () => {
  test('symlinks in the container resolve inside its rootfs, never on the host', async () => {
    const c = await created('cve-static');
    const links = hostDir('cve-links');
    execFileSync('ln', ['-s', '/etc', join(links, 'link')]);
    execFileSync('ln', ['-s', '/', join(links, 'rootlink')]);
    execFileSync('ln', ['-s', '../../../../../../../etc', join(links, 'dotdot')]);
    execFileSync('tar', ['-C', links, '-cf', join(work, 'links.tar'), 'link', 'rootlink', 'dotdot']);
    await b.ok(['cp', '-', `${c}:/`], { input: readFileSync(join(work, 'links.tar')) });
    const out = hostDir('cve-out');
    for (const via of ['/link/passwd', '/rootlink/etc/passwd', '/dotdot/passwd']) {
      const dest = join(out, via.replaceAll('/', '_'));
      await b.ok(['cp', `${c}:${via}`, dest]);
      assert.equal(readFileSync(dest, 'utf8'), IMAGE_PASSWD, `${via} is the container's passwd`);
    }
    const marker = `berth-cve-${process.pid}-${Date.now()}`;
    writeFileSync(join(out, 'payload'), 'payload\n');
    for (const via of ['/link', '/rootlink/etc', '/dotdot']) {
      await b.ok(['cp', join(out, 'payload'), `${c}:${via}/${marker}`]);
    }
    assert.equal(existsSync(`/etc/${marker}`), false, 'nothing written to the host /etc');
    await b.ok(['cp', `${c}:/etc/${marker}`, join(out, 'back')]);
    assert.equal(readFileSync(join(out, 'back'), 'utf8'), 'payload\n');
    // a tar through stdin into a path via the link stays inside too
    execFileSync('tar', ['-C', out, '-cf', join(work, 'payload.tar'), 'payload']);
    await b.ok(['cp', '-', `${c}:/rootlink/etc`], { input: readFileSync(join(work, 'payload.tar')) });
    assert.equal(existsSync('/etc/payload'), false);
  });

  test('a container swapping a directory for a symlink to a host dir in a loop', async () => {
    const secret = hostDir('host-secret');
    writeFileSync(join(secret, 'secret'), 'HOST SECRET\n');
    const script = [
      'mkdir -p /race/d',
      'echo container > /race/d/secret',
      'touch /ready',
      'while :; do',
      '  mv /race/d /race/x',
      `  ln -s ${secret} /race/d`,
      '  rm /race/d',
      '  mv /race/x /race/d',
      'done',
    ].join('\n');
    await b.ok(['run', '-d', '--name', 'cve-race', IMG, 'sh', '-c', script]);
    const out = hostDir('race-out');
    for (let i = 0; i < 50; i++) {
      if ((await b.run(['cp', 'cve-race:/ready', join(out, 'ready')])).code === 0) break;
    }
    writeFileSync(join(out, 'payload'), 'payload\n');
    let copied = 0;
    for (let i = 0; i < 40; i++) {
      const dest = join(out, `secret-${i}`);
      const r = await b.run(['cp', 'cve-race:/race/d/secret', dest]);
      if (r.code === 0) {
        copied++;
        assert.equal(readFileSync(dest, 'utf8'), 'container\n', 'never the host file');
      }
      // copying /race/d itself: a dir (with the container's file) or, mid-swap, the symlink as a
      // symlink (docker's behaviour); never the host dir's content
      const dirDest = join(out, `dir-${i}`);
      if ((await b.run(['cp', 'cve-race:/race/d', dirDest])).code === 0) {
        const st = lstatSync(dirDest);
        if (st.isSymbolicLink()) assert.equal(readlinkSync(dirDest), secret);
        else if (existsSync(join(dirDest, 'secret'))) {
          assert.equal(readFileSync(join(dirDest, 'secret'), 'utf8'), 'container\n');
        }
      }
      await b.run(['cp', join(out, 'payload'), `cve-race:/race/d/written-${i}`]);
      assert.equal(existsSync(join(secret, `written-${i}`)), false, 'never written to the host dir');
    }
    assert.equal(readFileSync(join(secret, 'secret'), 'utf8'), 'HOST SECRET\n');
    process.stdout.write(`# race: ${copied}/40 reads succeeded, none reached the host\n`);
    await b.run(['rm', '-f', 'cve-race']);
  });
});

describe('diff, commit, export', () => {
  const NEW_IMG = 'local/committed:fs';

  before(async () => {
    const script =
      'echo committed > /file; echo changed > /data/from-image; rm /data/sub/deep; mkdir /newdir; ' +
      'rm -rf /opq; mkdir /opq; echo c > /opq/c';
    await b.ok(['run', '--name', 'fs-changed', IMG, 'sh', '-c', script]);
  });

  test('diff lists added, changed and deleted paths, sorted', async () => {
    const out = await b.ok(['diff', 'fs-changed']);
    const lines = out.trim().split('\n');
    const paths = lines.map((l) => l.slice(2));
    assert.deepEqual([...paths].sort(), paths, 'sorted by path');
    for (const want of [
      'A /file',
      'C /data/from-image',
      'D /data/sub/deep',
      'A /newdir',
      'C /data',
      // a directory removed and made again is opaque: its old children are deleted
      'C /opq',
      'D /opq/a',
      'D /opq/b',
      'A /opq/c',
    ]) {
      assert.ok(lines.includes(want), `${want} in:\n${out}`);
    }
    assert.ok(!lines.some((l) => l === 'A /etc/hosts'), 'runtime mount points are not changes');
    assert.ok(!lines.includes('C /etc'), 'nor is the directory copied up only to hold them');
    const same = await b.ok(['container', 'diff', 'fs-changed']);
    assert.equal(same, out);
  });

  test('commit makes an image whose new layer holds the changes, with --change applied', async () => {
    const id = (
      await b.ok([
        'commit',
        '-m',
        'my change',
        '-a',
        'Tester',
        '-c',
        'CMD ["cat","/file"]',
        'fs-changed',
        NEW_IMG,
      ])
    ).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await b.ok(['run', '--rm', NEW_IMG]), 'committed\n');
    assert.equal(await b.ok(['run', '--rm', NEW_IMG, 'cat', '/data/from-image']), 'changed\n');
    assert.equal(
      await b.ok(['run', '--rm', NEW_IMG, 'ls', '/opq']),
      'c\n',
      'the opaque dir hides the old files',
    );
    const gone = await b.run(['run', '--rm', NEW_IMG, 'cat', '/data/sub/deep']);
    assert.notEqual(gone.code, 0, 'the deletion is a whiteout in the new layer');
    const history = await b.ok(['history', '--no-trunc', NEW_IMG]);
    assert.match(history, /my change/);
    const inspect = JSON.parse(await b.ok(['image', 'inspect', NEW_IMG])) as {
      Author?: string;
      Config: { Cmd: string[] };
      RootFS: { Layers: string[] };
    }[];
    assert.deepEqual(inspect[0]!.Config.Cmd, ['cat', '/file']);
    assert.equal(inspect[0]!.Author, 'Tester');
    assert.equal(inspect[0]!.RootFS.Layers.length, 2);
  });

  test('commit of a running container keeps it running', async () => {
    await b.ok(['run', '-d', '--name', 'fs-commit-running', IMG, 'sh', '-c', 'echo run > /r; sleep 1000']);
    await waitFor(async () => (await b.run(['cp', 'fs-commit-running:/r', join(work, 'r')])).code === 0, {
      what: 'the container to write /r',
    });
    await b.ok(['container', 'commit', 'fs-commit-running', 'local/committed:running']);
    assert.equal(await b.ok(['run', '--rm', 'local/committed:running', 'cat', '/r']), 'run\n');
    const state = JSON.parse(await b.ok(['container', 'inspect', 'fs-commit-running'])) as {
      State: { Status: string };
    }[];
    assert.equal(state[0]!.State.Status, 'running', 'unpaused after the commit');
  });

  test('export writes the merged filesystem as a tar', async () => {
    const file = join(work, 'export.tar');
    await b.ok(['export', '-o', file, 'fs-changed']);
    const names = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n');
    for (const want of ['file', 'data/from-image', 'bin/busybox', 'newdir/']) {
      assert.ok(names.includes(want), `${want} in the export`);
    }
    assert.ok(!names.includes('data/sub/deep'), 'deleted files are not exported');
    const r = spawnSync(
      'sh',
      [
        '-c',
        '"$0" "$@" | tar -xOf - file',
        process.execPath,
        ...berthArgs(['container', 'export', 'fs-changed']),
      ],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.stdout, 'committed\n');
  });

  test('interop: a committed image runs in podman', async (t) => {
    if (!hasCommand('podman')) {
      t.skip('podman is not installed');
      return;
    }
    const archive = join(work, 'committed.tar');
    await b.ok(['save', '-o', archive, NEW_IMG]);
    const proot = join(work, 'podman-root');
    const podman = (args: string[]) =>
      spawnSync(
        'podman',
        [
          '--root',
          proot,
          '--runroot',
          join(work, 'podman-run'),
          '--cgroup-manager',
          'cgroupfs',
          '--events-backend',
          'file',
          ...args,
        ],
        { encoding: 'utf8', timeout: 180_000 },
      );
    try {
      const load = podman(['load', '-i', archive]);
      assert.equal(load.status, 0, load.stderr);
      const name = /Loaded image(?:\(s\))?: (\S+)/.exec(load.stdout)?.[1];
      assert.ok(name, load.stdout);
      const run = podman(['run', '--rm', '--network', 'none', name, 'cat', '/file']);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout, 'committed\n');
      const dflt = podman(['run', '--rm', '--network', 'none', name]);
      assert.equal(dflt.stdout, 'committed\n', 'the committed CMD');
    } finally {
      podman(['system', 'reset', '--force']);
      rmSync(proot, { recursive: true, force: true });
    }
  });
});
