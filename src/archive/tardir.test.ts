// tarDirectory: deterministic output, hardlinks, xattrs, overlay -> OCI whiteouts, and round
// trips through unpackLayer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { lgetxattr, lsetxattr, mknod, S_IFCHR } from '../util/index.js';
import { collect, once, T0 } from './_testing.js';
import { readTar, type TarHeader, tarDirectory, unpackLayer } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'berth-tardir-test-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const d = join(work, `t${n++}`);
  mkdirSync(d);
  return d;
};

async function headers(tar: Buffer): Promise<TarHeader[]> {
  const out: TarHeader[] = [];
  for await (const e of readTar(once(tar))) out.push(e.header);
  return out;
}

/** Build the same tree, creating names in the given order. */
function build(root: string, order: string[]): void {
  for (const name of order) {
    const p = join(root, name);
    if (name.endsWith('/')) mkdirSync(p, { recursive: true });
    else writeFileSync(p, `content of ${name}`);
  }
  for (const name of [...order].reverse()) utimesSync(join(root, name), T0, T0);
  utimesSync(root, T0, T0);
}

/** A comparable listing: path, type, mode, owner, size, mtime, link target, xattrs, content hash. */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const kind = st.isDirectory()
        ? 'd'
        : st.isSymbolicLink()
          ? 'l'
          : st.isCharacterDevice()
            ? 'c'
            : st.isFile()
              ? 'f'
              : '?';
      const extra = st.isSymbolicLink()
        ? readlinkSync(p)
        : st.isFile()
          ? readFileSync(p).toString('base64').slice(0, 40)
          : st.isCharacterDevice()
            ? String(st.rdev)
            : '';
      const opq = st.isDirectory() ? (lgetxattr(p, 'trusted.overlay.opaque')?.toString() ?? '') : '';
      out.push(
        `${rel}${name} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? '' : st.size} ${Math.floor(st.mtimeMs / 1000)} n${st.isDirectory() ? '' : st.nlink} ${extra} ${opq}`,
      );
      if (st.isDirectory()) walk(p, `${rel}${name}/`);
    }
  };
  walk(root, '');
  return out;
}

describe('tarDirectory', () => {
  test('byte-identical output regardless of creation/readdir order, atime and ctime', async () => {
    const names = ['b/', 'a/', 'a/z', 'a/y', 'c', 'B', 'a-b', 'a/sub/', 'a/sub/deep', 'é', 'e'];
    const one = fresh();
    const two = fresh();
    build(one, names);
    build(
      two,
      [...names]
        .sort()
        .reverse()
        .sort((x, y) => (x.endsWith('/') === y.endsWith('/') ? 0 : x.endsWith('/') ? -1 : 1)),
    );
    const t1 = await collect(tarDirectory(one));
    // Touch atime and ctime only: read every file, chmod back and forth.
    readFileSync(join(two, 'c'));
    chmodSync(join(two, 'c'), 0o600);
    chmodSync(join(two, 'c'), 0o644);
    utimesSync(two, T0, T0);
    const t2 = await collect(tarDirectory(two));
    assert.deepEqual(t1, t2);
    assert.deepEqual(
      (await headers(t1)).map((h) => h.name),
      ['B', 'a-b', 'a/', 'a/sub/', 'a/sub/deep', 'a/y', 'a/z', 'b/', 'c', 'e', 'é'],
      'children sorted bytewise, depth first',
    );
  });

  test('hardlinks become hardlink entries; symlinks are not followed; xattrs kept, trusted.overlay.* dropped', async () => {
    const d = fresh();
    writeFileSync(join(d, 'a'), 'shared');
    linkSync(join(d, 'a'), join(d, 'b'));
    symlinkSync('/etc', join(d, 'etc-link'));
    lsetxattr(join(d, 'a'), 'user.foo', Buffer.from('bar'));
    mkdirSync(join(d, 'dir'));
    lsetxattr(join(d, 'dir'), 'trusted.overlay.redirect', Buffer.from('/x'));
    const hs = await headers(await collect(tarDirectory(d)));
    const by = Object.fromEntries(hs.map((h) => [h.name, h]));
    assert.equal(by.a!.type, 'file');
    assert.deepEqual(by.a!.xattrs, { 'user.foo': Buffer.from('bar') });
    assert.equal(by.b!.type, 'hardlink');
    assert.equal(by.b!.linkname, 'a');
    assert.equal(by['etc-link']!.type, 'symlink');
    assert.equal(by['etc-link']!.linkname, '/etc');
    assert.equal(by['dir/']!.xattrs, undefined);
  });

  test('sourceDateEpoch clamps newer mtimes only', async () => {
    const d = fresh();
    writeFileSync(join(d, 'old'), 'x');
    writeFileSync(join(d, 'new'), 'y');
    utimesSync(join(d, 'old'), T0 - 100, T0 - 100);
    utimesSync(join(d, 'new'), T0 + 100, T0 + 100);
    const hs = await headers(await collect(tarDirectory(d, { sourceDateEpoch: T0 })));
    assert.deepEqual(
      hs.map((h) => [h.name, h.mtime]),
      [
        ['new', T0],
        ['old', T0 - 100],
      ],
    );
  });

  test('prefix puts the tree under a directory entry', async () => {
    const d = fresh();
    writeFileSync(join(d, 'f'), 'x');
    const hs = await headers(await collect(tarDirectory(d, { prefix: '/app/' })));
    assert.deepEqual(
      hs.map((h) => h.name),
      ['app/', 'app/f'],
    );
  });

  test('overlay whiteouts and opaque dirs become OCI .wh. entries, and unpack back to the same tree', async () => {
    const upper = fresh();
    mkdirSync(join(upper, 'etc'));
    writeFileSync(join(upper, 'etc/new'), 'n');
    mknod(join(upper, 'etc/removed'), S_IFCHR, 0, 0n);
    mkdirSync(join(upper, 'var/cache'), { recursive: true });
    lsetxattr(join(upper, 'var/cache'), 'trusted.overlay.opaque', Buffer.from('y'));
    writeFileSync(join(upper, 'var/cache/!first'), 'sorted before .wh.');
    for (const p of ['etc/new', 'etc/removed', 'var/cache/!first', 'var/cache', 'var', 'etc', '.']) {
      utimesSync(join(upper, p), T0, T0);
    }
    const tar = await collect(tarDirectory(upper, { whiteouts: 'overlay-to-oci' }));
    const hs = await headers(tar);
    assert.deepEqual(
      hs.map((h) => `${h.name} ${h.type}`),
      [
        'etc/ dir',
        'etc/.wh.removed file',
        'etc/new file',
        'var/ dir',
        'var/cache/ dir',
        'var/cache/.wh..wh..opq file',
        'var/cache/!first file',
      ],
    );
    const none = await headers(await collect(tarDirectory(upper)));
    assert.equal(none.find((h) => h.name === 'etc/removed')?.type, 'char');

    const dest = fresh();
    await unpackLayer(once(tar), dest);
    assert.deepEqual(listing(dest), listing(upper));
  });

  test('unpack -> tarDirectory -> unpack -> tarDirectory is a fixed point', async () => {
    const src = fresh();
    mkdirSync(join(src, 'usr/bin'), { recursive: true });
    writeFileSync(join(src, 'usr/bin/tool'), randomBytes(3 * 1024 * 1024)); // streamed, not inlined
    chmodSync(join(src, 'usr/bin/tool'), 0o4755);
    linkSync(join(src, 'usr/bin/tool'), join(src, 'usr/bin/tool2'));
    symlinkSync('tool', join(src, 'usr/bin/alias'));
    mkdirSync(join(src, 'tmp'));
    chmodSync(join(src, 'tmp'), 0o1777);
    writeFileSync(join(src, 'ünï'), '');
    const t1 = await collect(tarDirectory(src, { sourceDateEpoch: T0 }));
    const d1 = fresh();
    await unpackLayer(once(t1), d1);
    const t2 = await collect(tarDirectory(d1, { sourceDateEpoch: T0 }));
    assert.deepEqual(t2, t1);
    const d2 = fresh();
    await unpackLayer(once(t2), d2);
    assert.deepEqual(listing(d2), listing(d1));
  });
});
