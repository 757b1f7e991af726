// save / load / import round trips, hostile archives, and interop with podman in both directions.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth, hasCommand, runProcess } from '../helpers/berth.js';
import { rawTar, writeLayoutWithConfig } from '../helpers/hostile.js';
import { makeBusyboxLayout } from '../helpers/images.js';
import { skopeoCopy, startRegistry, type TestRegistry } from '../helpers/registry.js';

const work = mkdtempSync(join(tmpdir(), 'berth-archive-it-'));
let reg: TestRegistry;
const b = new Berth();

/** A tar of a busybox rootfs made with the system tar (not berth's writer). */
function busyboxRootfsTar(dest: string, extra: Record<string, string> = {}): string {
  const root = join(work, `rootfs-${Math.random().toString(16).slice(2)}`);
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  execFileSync('chmod', ['755', join(root, 'bin', 'busybox')]);
  for (const app of ['sh', 'cat', 'echo', 'true', 'ls']) symlinkSync('busybox', join(root, 'bin', app));
  for (const [p, c] of Object.entries(extra)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), c);
  }
  execFileSync('tar', ['--numeric-owner', '-C', root, '-cf', dest, '.']);
  return dest;
}

before(async () => {
  reg = await startRegistry({ auth: 'none' });
  const bb = await makeBusyboxLayout(join(work, 'bb'), {
    tag: 'latest',
    extraFiles: { 'etc/motd': 'saved by berth\n' },
  });
  await skopeoCopy(`oci:${bb.layoutDir}:latest`, `docker://${reg.host}/bb:latest`);
  await b.ok(['pull', '-q', `${reg.host}/bb:latest`]);
});

after(async () => {
  await reg?.stop();
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('save and load round trips', () => {
  for (const format of ['docker-archive', 'oci-archive', 'oci-dir'] as const) {
    test(`${format}: save then load into a fresh store gives the same image`, async () => {
      const out = join(work, `save-${format}`);
      await b.ok(['save', '--format', format, '-o', out, `${reg.host}/bb:latest`]);
      const [orig] = JSON.parse(await b.ok(['image', 'inspect', `${reg.host}/bb:latest`]));
      const fresh = new Berth();
      try {
        const loaded = await fresh.ok(['load', '-i', out]);
        assert.match(loaded, new RegExp(`Loaded image: ${reg.host}/bb:latest`));
        const [copy] = JSON.parse(await fresh.ok(['image', 'inspect', `${reg.host}/bb:latest`]));
        assert.equal(copy.Id, orig.Id, 'same config digest');
        assert.deepEqual(copy.RootFS.Layers, orig.RootFS.Layers);
        assert.deepEqual(copy.Config.Cmd, orig.Config.Cmd);
        const layerDir = join(fresh.root, 'layers', readdirSync(join(fresh.root, 'layers'))[0]!, 'diff');
        assert.equal(readFileSync(join(layerDir, 'etc', 'motd'), 'utf8'), 'saved by berth\n');
      } finally {
        fresh.cleanup();
      }
    });
  }

  test('save streams a docker-archive to stdout and load reads it from stdin', async () => {
    const file = join(work, 'stdout.tar');
    const r = await runProcess('sh', [
      '-c',
      `node ${join(process.cwd(), 'dist', 'berth.mjs')} --root ${b.root} save ${reg.host}/bb:latest > ${file}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const listing = execFileSync('tar', ['-tf', file], { encoding: 'utf8' });
    assert.match(listing, /^manifest\.json$/m);
    assert.match(listing, /^[0-9a-f]{64}\/layer\.tar$/m);
    const fresh = new Berth();
    try {
      const out = await fresh.ok(['load'], { input: readFileSync(file) });
      assert.match(out, /Loaded image: /);
    } finally {
      fresh.cleanup();
    }
  });

  test('save refuses to write an archive to a terminal-less missing output for oci-dir', async () => {
    const r = await b.run(['save', '--format', 'oci-dir', `${reg.host}/bb:latest`]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /oci-dir needs --output/);
  });
});

describe('import', () => {
  test('a rootfs tarball becomes a one-layer image with --change applied', async () => {
    const tar = busyboxRootfsTar(join(work, 'rootfs.tar'), { 'etc/hello': 'imported\n' });
    const id = (
      await b.ok([
        'import',
        '--change',
        'CMD ["/bin/sh","-c","cat /etc/hello"]',
        '--change',
        'ENV A=1 B="two words"',
        '--change',
        'WORKDIR /srv',
        '--change',
        'USER nobody',
        '--change',
        'EXPOSE 8080',
        '--change',
        'LABEL org.example=yes',
        '--change',
        'ENTRYPOINT ["/bin/busybox"]',
        '-m',
        'from a tarball',
        tar,
        'imported/bb:1',
      ])
    ).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const [info] = JSON.parse(await b.ok(['image', 'inspect', 'imported/bb:1']));
    assert.equal(info.Id, id);
    assert.deepEqual(info.Config.Cmd, ['/bin/sh', '-c', 'cat /etc/hello']);
    assert.deepEqual(info.Config.Entrypoint, ['/bin/busybox']);
    assert.deepEqual(info.Config.Env, ['A=1', 'B=two words']);
    assert.equal(info.Config.WorkingDir, '/srv');
    assert.equal(info.Config.User, 'nobody');
    assert.deepEqual(info.Config.ExposedPorts, { '8080/tcp': {} });
    assert.deepEqual(info.Config.Labels, { 'org.example': 'yes' });
    assert.equal(info.Comment, 'from a tarball');
    assert.equal(info.RootFS.Layers.length, 1);
  });

  test('import reads gzip from stdin', async () => {
    const tar = busyboxRootfsTar(join(work, 'rootfs2.tar'));
    const gz = execFileSync('gzip', ['-c', tar]);
    const id = (await b.ok(['import', '-', 'stdin/bb:gz'], { input: gz })).trim();
    assert.match(id, /^sha256:/);
    const [info] = JSON.parse(await b.ok(['image', 'inspect', 'stdin/bb:gz']));
    assert.equal(info.Id, id);
  });

  test('a bad --change is refused before any input is read, and nothing is imported', async () => {
    const before = await b.ok(['images', '-q']);
    const r = await b.run(['import', '--change', 'RUN rm -rf /', '-', 'x/y:z'], {
      input: Buffer.alloc(1024),
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /RUN is not one of/);
    assert.equal(await b.ok(['images', '-q']), before);
  });
});

describe('hostile archives', () => {
  test('load of an archive with ../ entries is refused and changes nothing', async () => {
    const evil = join(work, 'evil.tar');
    writeFileSync(
      evil,
      rawTar([
        { name: 'manifest.json', body: '[]' },
        { name: '../../evil-load.txt', body: 'x' },
      ]),
    );
    const before = await b.ok(['images', '-q']);
    const r = await b.run(['load', '-i', evil]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /escape/i);
    assert.equal(await b.ok(['images', '-q']), before);
    assert.ok(!existsSync(join(b.root, '..', 'evil-load.txt')));
  });

  test('load of a docker-archive whose manifest points outside the archive is refused', async () => {
    const evil = join(work, 'evil2.tar');
    writeFileSync(
      evil,
      rawTar([
        {
          name: 'manifest.json',
          body: JSON.stringify([{ Config: '../../../etc/passwd', RepoTags: ['x:1'], Layers: [] }]),
        },
      ]),
    );
    const r = await b.run(['load', '-i', evil]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /escapes the archive/);
  });

  test('load of an OCI layout with a blob that does not match its digest is refused', async () => {
    const dir = join(work, 'badlayout');
    await makeBusyboxLayout(dir, { tag: 'latest' });
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const mpath = join(dir, 'blobs', 'sha256', index.manifests[0].digest.slice(7));
    const m = JSON.parse(readFileSync(mpath, 'utf8'));
    const cpath = join(dir, 'blobs', 'sha256', m.config.digest.slice(7));
    writeFileSync(cpath, readFileSync(cpath, 'utf8').replace('"linux"', '"linux" '));
    const before = await b.ok(['images', '-q']);
    const r = await b.run(['load', '-i', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /digest/);
    assert.equal(await b.ok(['images', '-q']), before);
  });

  /** What a refused load must leave untouched: blobs, layers and the image list. */
  async function storeState() {
    const list = (p: string) => (existsSync(p) ? readdirSync(p).sort() : []);
    return {
      blobs: list(join(b.root, 'blobs', 'sha256')),
      layers: list(join(b.root, 'layers')),
      images: await b.ok(['images', '-a', '-q', '--no-trunc']),
    };
  }

  /** A docker-archive tar with one image whose config's `config` field is `containerConfig`. */
  function dockerArchiveWithConfig(dest: string, containerConfig: unknown): string {
    const layer = rawTar([{ name: 'f', body: 'x' }]);
    const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
    const config = { architecture: 'amd64', os: 'linux', config: containerConfig };
    writeFileSync(
      dest,
      rawTar([
        {
          name: 'manifest.json',
          body: JSON.stringify([{ Config: 'c.json', RepoTags: ['badcfg:1'], Layers: ['l.tar'] }]),
        },
        {
          name: 'c.json',
          body: JSON.stringify({ ...config, rootfs: { type: 'layers', diff_ids: [diffId] } }),
        },
        { name: 'l.tar', body: layer },
      ]),
    );
    return dest;
  }

  test('load of an image config with a field of the wrong type stores nothing', async () => {
    const tar = dockerArchiveWithConfig(join(work, 'badcfg.tar'), { Cmd: 'sh' });
    // an OCI layout whose first image is fine and whose second has a bad config: all or nothing
    const dir = join(work, 'badcfg-layout');
    const bad = join(work, 'badcfg-layout-2');
    writeLayoutWithConfig(dir, { Cmd: ['sh'], Labels: { ok: 'yes' } });
    writeLayoutWithConfig(bad, { Cmd: ['sh'], Volumes: ['/data'] });
    for (const f of readdirSync(join(bad, 'blobs', 'sha256'))) {
      copyFileSync(join(bad, 'blobs', 'sha256', f), join(dir, 'blobs', 'sha256', f));
    }
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    index.manifests.push(JSON.parse(readFileSync(join(bad, 'index.json'), 'utf8')).manifests[0]);
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    const before = await storeState();
    for (const [input, field] of [
      [tar, 'Cmd must be an array of strings'],
      [dir, 'Volumes must be an object'],
    ] as const) {
      const r = await b.run(['load', '-i', input]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`image config: config\\.${field}`));
      assert.deepEqual(await storeState(), before);
    }
  });

  test('load does not follow a directory symlink planted in a docker-archive to host files', async () => {
    // a valid config and layer on the host, outside any archive
    const host = join(work, 'host-secrets');
    mkdirSync(host, { recursive: true });
    const hostTar = dockerArchiveWithConfig(join(work, 'host.tar'), { Cmd: ['sh'] });
    execFileSync('tar', ['-C', host, '-xf', hostTar]);
    const evil = join(work, 'evil-dirlink.tar');
    writeFileSync(
      evil,
      rawTar([
        { name: 'h', type: '2', linkname: host },
        {
          name: 'manifest.json',
          body: JSON.stringify([{ Config: 'h/c.json', RepoTags: ['stolen:1'], Layers: ['h/l.tar'] }]),
        },
      ]),
    );
    const before = await storeState();
    const r = await b.run(['load', '-i', evil]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /symlink/);
    assert.deepEqual(await storeState(), before);
  });

  test('load does not follow blob symlinks in an OCI layout, to files or directories', async () => {
    const hostLayout = join(work, 'host-layout');
    writeLayoutWithConfig(hostLayout, { Cmd: ['sh'], Env: ['SECRET=host'] });
    const index = readFileSync(join(hostLayout, 'index.json'), 'utf8');
    const layout = '{"imageLayoutVersion":"1.0.0"}';
    // blobs -> the host's blobs dir
    const dirLink = join(work, 'evil-blobs-dir.tar');
    writeFileSync(
      dirLink,
      rawTar([
        { name: 'oci-layout', body: layout },
        { name: 'index.json', body: index },
        { name: 'blobs', type: '2', linkname: join(hostLayout, 'blobs') },
      ]),
    );
    // blobs/sha256/<hex> -> a host file, one per blob
    const fileLinks = join(work, 'evil-blobs-files.tar');
    const blobs = readdirSync(join(hostLayout, 'blobs', 'sha256'));
    writeFileSync(
      fileLinks,
      rawTar([
        { name: 'oci-layout', body: layout },
        { name: 'index.json', body: index },
        { name: 'blobs/', type: '5', mode: 0o755 },
        { name: 'blobs/sha256/', type: '5', mode: 0o755 },
        ...blobs.map((f) => ({
          name: `blobs/sha256/${f}`,
          type: '2' as const,
          linkname: join(hostLayout, 'blobs', 'sha256', f),
        })),
      ]),
    );
    const before = await storeState();
    for (const evil of [dirLink, fileLinks]) {
      const r = await b.run(['load', '-i', evil]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /symlink|not a regular file/);
      assert.deepEqual(await storeState(), before);
    }
  });

  test('a non-archive is refused with a clear message', async () => {
    const junk = join(work, 'junk.tar');
    writeFileSync(junk, rawTar([{ name: 'hello.txt', body: 'hi' }]));
    const r = await b.run(['load', '-i', junk]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a docker-archive or OCI image layout/);
  });
});

describe('interop with podman', {
  skip: hasCommand('podman') ? false : 'podman is not installed (CI installs it)',
}, () => {
  const pdir = join(work, 'podman');
  const podman = (...args: string[]) =>
    execFileSync('podman', ['--root', join(pdir, 'root'), '--runroot', join(pdir, 'run'), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  after(() => {
    try {
      podman('system', 'reset', '-f');
    } catch {
      // best effort
    }
    rmSync(pdir, { recursive: true, force: true });
  });

  for (const format of ['docker-archive', 'oci-archive'] as const) {
    test(`an image saved by berth (${format}) loads and runs in podman`, async () => {
      const file = join(work, `to-podman-${format}.tar`);
      await b.ok(['save', '--format', format, '-o', file, `${reg.host}/bb:latest`]);
      const loaded = podman('load', '-i', file);
      assert.match(loaded, /Loaded image/);
      const name =
        format === 'docker-archive' ? `${reg.host}/bb:latest` : /Loaded image:\s*(\S+)/.exec(loaded)![1]!;
      const out = podman('run', '--rm', '--network', 'none', name, 'cat', '/etc/motd');
      assert.equal(out, 'saved by berth\n');
    });
  }

  for (const format of ['docker-archive', 'oci-archive'] as const) {
    test(`an image built and saved by podman (${format}) loads in berth`, async () => {
      const ctx = join(work, `podman-ctx-${format}`);
      mkdirSync(ctx, { recursive: true });
      copyFileSync('/bin/busybox', join(ctx, 'busybox'));
      writeFileSync(join(ctx, 'hello'), `made by podman ${format}\n`);
      writeFileSync(
        join(ctx, 'Containerfile'),
        'FROM scratch\nCOPY busybox /bin/busybox\nCOPY hello /etc/hello\nCMD ["/bin/busybox","cat","/etc/hello"]\n',
      );
      podman('build', '-q', '-t', `localhost/frompodman:${format}`, ctx);
      const file = join(work, `from-podman-${format}.tar`);
      podman('save', '--format', format, '-o', file, `localhost/frompodman:${format}`);
      const fresh = new Berth();
      try {
        const out = await fresh.ok(['load', '-i', file]);
        assert.match(out, /Loaded image/);
        const [info] = JSON.parse(await fresh.ok(['image', 'inspect', `localhost/frompodman:${format}`]));
        assert.deepEqual(info.Config.Cmd, ['/bin/busybox', 'cat', '/etc/hello']);
        const layers = readdirSync(join(fresh.root, 'layers'));
        const found = layers.some((l) => existsSync(join(fresh.root, 'layers', l, 'diff', 'etc', 'hello')));
        assert.ok(found, 'the COPY layer is unpacked');
      } finally {
        fresh.cleanup();
      }
    });
  }
});
