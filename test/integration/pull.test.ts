// berth pull / images / inspect / history / rmi / prune / df against a real docker-registry,
// including hostile registries made by corrupting the real registry's storage.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../helpers/berth.js';
import { rawTar, writeLayoutWithConfig, writeLayoutWithLayer } from '../helpers/hostile.js';
import { makeBusyboxLayout, makeMultiArchLayout } from '../helpers/images.js';
import { skopeoCopy, startRegistry, type TestRegistry } from '../helpers/registry.js';

const work = mkdtempSync(join(tmpdir(), 'berth-pull-it-'));
let reg: TestRegistry;
let bbDigest: string;

function listDir(p: string): string[] {
  return existsSync(p) ? readdirSync(p) : [];
}

/** Everything a failed pull must not have changed. */
function storeSnapshot(b: Berth) {
  return {
    blobs: listDir(join(b.root, 'blobs', 'sha256')).sort(),
    layers: listDir(join(b.root, 'layers')).sort(),
  };
}

/** The registry's on-disk file for a blob (distribution's filesystem driver layout). */
function registryBlobFile(r: TestRegistry, digest: string): string {
  const hex = digest.replace('sha256:', '');
  const p = join(r.dataDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  assert.ok(existsSync(p), `registry blob file ${p} exists`);
  return p;
}

function manifestOf(layoutDir: string): {
  layers: { digest: string; size: number }[];
  config: { digest: string };
} {
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8'));
  const digest: string = index.manifests[0].digest;
  return JSON.parse(readFileSync(join(layoutDir, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
}

before(async () => {
  reg = await startRegistry({ auth: 'none' });
  const bb = await makeBusyboxLayout(join(work, 'bb'), {
    tag: 'latest',
    extraFiles: { 'etc/motd': 'hello from berth\n' },
  });
  bbDigest = bb.manifestDigest;
  await skopeoCopy(`oci:${bb.layoutDir}:latest`, `docker://${reg.host}/bb:latest`);
});

after(async () => {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('pull and the image commands', () => {
  const b = new Berth();
  after(() => b.cleanup());

  test('pull from a plain-HTTP loopback registry needs no flags and prints the reference', async () => {
    const out = await b.ok(['pull', `${reg.host}/bb:latest`]);
    assert.match(out, /Digest: sha256:[0-9a-f]{64}/);
    assert.ok(out.trim().endsWith(`${reg.host}/bb:latest`), out);
  });

  test('the unpacked layer keeps modes, symlinks and file contents', async () => {
    const layers = listDir(join(b.root, 'layers'));
    assert.equal(layers.length, 1);
    const diff = join(b.root, 'layers', layers[0]!, 'diff');
    assert.equal(readFileSync(join(diff, 'etc', 'motd'), 'utf8'), 'hello from berth\n');
    assert.ok(lstatSync(join(diff, 'bin', 'sh')).isSymbolicLink());
    assert.equal(statSync(join(diff, 'bin', 'busybox')).mode & 0o777, 0o755);
    assert.equal(statSync(join(diff, 'tmp')).mode & 0o7777, 0o1777);
  });

  test('images lists it; -q, --digests and --format json agree', async () => {
    const table = await b.ok(['images']);
    assert.match(table, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE/m);
    assert.match(table, new RegExp(`${reg.host}/bb\\s+latest\\s+[0-9a-f]{12}`));
    const ids = (await b.ok(['images', '-q'])).trim().split('\n');
    assert.equal(ids.length, 1);
    assert.match(ids[0]!, /^[0-9a-f]{12}$/);
    const digests = await b.ok(['images', '--digests']);
    assert.ok(digests.includes(bbDigest), digests);
    const json = (await b.ok(['images', '--format', 'json']))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(json.length, 1);
    assert.equal(json[0].Repository, `${reg.host}/bb`);
    assert.equal(json[0].Tag, 'latest');
    assert.ok(json[0].Size > 100_000, 'size counts the unpacked busybox');
  });

  test('image inspect is docker-shaped and history lists the layer', async () => {
    const [info] = JSON.parse(await b.ok(['image', 'inspect', `${reg.host}/bb`]));
    assert.match(info.Id, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(info.RepoTags, [`${reg.host}/bb:latest`]);
    assert.deepEqual(info.RepoDigests, [`${reg.host}/bb@${bbDigest}`]);
    assert.equal(info.Os, 'linux');
    assert.equal(info.RootFS.Type, 'layers');
    assert.equal(info.RootFS.Layers.length, 1);
    assert.deepEqual(info.Config.Cmd, ['sh']);
    const fmt = await b.ok(['inspect', '--format', '{{.Os}}/{{.Architecture}}', `${reg.host}/bb`]);
    assert.equal(fmt.trim(), `linux/${info.Architecture}`);
    const hist = await b.ok(['history', `${reg.host}/bb`]);
    assert.match(hist, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT/m);
    assert.ok(hist.includes(info.Id.slice(7, 19)), hist);
  });

  test('pull again says up to date and by digest resolves the same image', async () => {
    const again = await b.ok(['pull', `${reg.host}/bb:latest`]);
    assert.match(again, /Image is up to date|Already exists/);
    const byDigest = await b.ok(['pull', '-q', `${reg.host}/bb@${bbDigest}`]);
    assert.equal(byDigest.trim(), `${reg.host}/bb@${bbDigest}`);
    assert.equal((await b.ok(['images', '-q'])).trim().split('\n').length, 1);
  });

  test('tag, rmi of one name untags, rmi of the last name deletes and frees the layer', async () => {
    await b.ok(['tag', `${reg.host}/bb:latest`, 'mine/bb:v1']);
    const both = await b.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.deepEqual(both.trim().split('\n').sort(), [`${reg.host}/bb:latest`, 'mine/bb:v1'].sort());
    const untag = await b.ok(['rmi', 'mine/bb:v1']);
    assert.match(untag, /^Untagged: mine\/bb:v1$/m);
    assert.doesNotMatch(untag, /Deleted/);
    assert.equal(listDir(join(b.root, 'layers')).length, 1);
    const del = await b.ok(['rmi', `${reg.host}/bb:latest`]);
    assert.match(del, /^Deleted: sha256:/m);
    assert.equal((await b.ok(['images', '-q'])).trim(), '');
    assert.deepEqual(listDir(join(b.root, 'layers')), []);
    assert.deepEqual(listDir(join(b.root, 'blobs', 'sha256')), []);
  });

  test('rmi of an unknown image fails with a readable line and exit 1', async () => {
    const r = await b.run(['rmi', 'nope:1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no such image: nope:1/);
  });

  test('image prune removes dangling images; system df reports usage', async () => {
    await b.ok(['pull', '-q', `${reg.host}/bb:latest`]);
    await b.ok(['tag', `${reg.host}/bb:latest`, 'keep:1']);
    await b.ok(['rmi', `${reg.host}/bb:latest`]);
    const df = await b.ok(['system', 'df']);
    assert.match(df, /^Images\s+1\s+0\s+\S+/m);
    const pr = await b.ok(['image', 'prune', '-f']);
    assert.match(pr, /Total reclaimed space: 0B/);
    assert.equal((await b.ok(['images', '-q'])).trim().split('\n').length, 1, 'tagged image kept');
    await b.ok(['rmi', 'keep:1']);
  });
});

describe('platform selection from an index', () => {
  const b = new Berth();
  after(() => b.cleanup());
  test('default picks the host platform; --platform picks another', async () => {
    const layout = await makeMultiArchLayout(join(work, 'multi'), { tag: 'latest' });
    void layout;
    await skopeoCopy(`oci:${join(work, 'multi')}:latest`, `docker://${reg.host}/multi:latest`, { all: true });
    await b.ok(['pull', '-q', `${reg.host}/multi:latest`]);
    const [host] = JSON.parse(await b.ok(['image', 'inspect', `${reg.host}/multi`]));
    assert.equal(host.Architecture, 'amd64');
    await b.ok(['pull', '-q', '--platform', 'linux/arm64', `${reg.host}/multi:latest`]);
    const [arm] = JSON.parse(await b.ok(['image', 'inspect', `${reg.host}/multi`]));
    assert.equal(arm.Architecture, 'arm64');
    const r = await b.run(['pull', '--platform', 'linux/s390x', `${reg.host}/multi:latest`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no image for platform linux\/s390x/);
  });
});

describe('hostile input: a clear error, nothing written, the store unchanged', () => {
  const b = new Berth();
  after(() => b.cleanup());

  test('usage errors exit 125', async () => {
    const bad = await b.run(['pull', '::bad']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid reference format/);
    const flag = await b.run(['pull', '--bogus', 'x']);
    assert.equal(flag.code, 125);
    assert.match(flag.stderr, /unknown flag: --bogus/);
    const none = await b.run(['pull']);
    assert.equal(none.code, 125);
    assert.match(none.stderr, /requires exactly 1 argument/);
  });

  test('an unknown tag is one readable line from the registry error JSON', async () => {
    const r = await b.run(['pull', `${reg.host}/bb:nosuchtag`]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /manifest unknown/i);
  });

  test('a layer tar with ../ entries is refused and the store stays empty', async () => {
    const layout = join(work, 'evil-traversal');
    writeLayoutWithLayer(
      layout,
      rawTar([
        { name: 'ok.txt', body: 'fine' },
        { name: '../../escaped.txt', body: 'pwned' },
      ]),
    );
    await skopeoCopy(`oci:${layout}:latest`, `docker://${reg.host}/evil:traversal`);
    const snap = storeSnapshot(b);
    const r = await b.run(['pull', `${reg.host}/evil:traversal`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /escape/i);
    assert.deepEqual(storeSnapshot(b), snap);
    assert.equal((await b.ok(['images', '-q'])).trim(), '');
    assert.ok(!existsSync(join(b.root, 'escaped.txt')) && !existsSync(join(b.dir, 'escaped.txt')));
  });

  test('a symlink followed by a write through it is refused', async () => {
    const layout = join(work, 'evil-symlink');
    writeLayoutWithLayer(
      layout,
      rawTar([
        { name: 'link', type: '2', linkname: '/tmp' },
        { name: 'link/berth-pwned', body: 'pwned' },
      ]),
    );
    await skopeoCopy(`oci:${layout}:latest`, `docker://${reg.host}/evil:symlink`);
    const r = await b.run(['pull', `${reg.host}/evil:symlink`]);
    assert.equal(r.code, 1);
    assert.ok(!existsSync('/tmp/berth-pwned'), 'nothing written through the symlink');
    assert.equal((await b.ok(['images', '-q'])).trim(), '');
  });

  test('an image config with a field of the wrong type is refused by name and nothing is stored', async () => {
    const layout = join(work, 'evil-config');
    writeLayoutWithConfig(layout, { Env: 'PATH=/bin', Cmd: ['sh'] });
    await skopeoCopy(`oci:${layout}:latest`, `docker://${reg.host}/evil:config`);
    const snap = storeSnapshot(b);
    const images = await b.ok(['images', '-a', '-q', '--no-trunc']);
    const r = await b.run(['pull', `${reg.host}/evil:config`]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /image config: config\.Env must be an array of strings/);
    assert.deepEqual(storeSnapshot(b), snap);
    assert.equal(await b.ok(['images', '-a', '-q', '--no-trunc']), images);
  });

  test('a blob whose bytes do not match its digest is refused (registry storage corrupted)', async () => {
    const layoutDir = join(work, 'corrupt');
    await makeBusyboxLayout(layoutDir, { tag: 'latest', extraFiles: { 'etc/corrupt': 'x' } });
    await skopeoCopy(`oci:${layoutDir}:latest`, `docker://${reg.host}/corrupt:latest`);
    const layer = manifestOf(layoutDir).layers[0]!;
    const file = registryBlobFile(reg, layer.digest);
    const original = readFileSync(file);
    const flipped = Buffer.from(original);
    flipped[flipped.length - 10]! ^= 0xff;
    writeFileSync(file, flipped);
    try {
      const snap = storeSnapshot(b);
      const r = await b.run(['pull', `${reg.host}/corrupt:latest`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /digest|checksum|corrupt|invalid/i);
      assert.deepEqual(storeSnapshot(b), snap);
      // truncated: the registry serves fewer bytes than the manifest declares
      truncateSync(file, Math.floor(original.length / 2));
      const t = await b.run(['pull', `${reg.host}/corrupt:latest`]);
      assert.equal(t.code, 1);
      assert.deepEqual(storeSnapshot(b), snap);
    } finally {
      writeFileSync(file, original);
    }
    // with the registry healed, the same pull works
    await b.ok(['pull', '-q', `${reg.host}/corrupt:latest`]);
    await b.ok(['rmi', `${reg.host}/corrupt:latest`]);
  });

  test('a manifest whose bytes do not match the digest asked for is refused', async () => {
    const layoutDir = join(work, 'mdigest');
    const { manifestDigest } = await makeBusyboxLayout(layoutDir, {
      tag: 'latest',
      extraFiles: { 'etc/m': 'm' },
    });
    await skopeoCopy(`oci:${layoutDir}:latest`, `docker://${reg.host}/mdigest:latest`);
    const file = registryBlobFile(reg, manifestDigest);
    const original = readFileSync(file);
    const doc = JSON.parse(original.toString('utf8'));
    doc.annotations = { tampered: 'yes' };
    writeFileSync(file, JSON.stringify(doc));
    try {
      const r = await b.run(['pull', `${reg.host}/mdigest@${manifestDigest}`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /digest/i);
      assert.equal((await b.ok(['images', '-q'])).trim(), '');
    } finally {
      writeFileSync(file, original);
    }
    const sum = createHash('sha256').update(readFileSync(file)).digest('hex');
    assert.equal(`sha256:${sum}`, manifestDigest);
  });
});
