// unpackLayer on a real filesystem (run as root): metadata, overlay whiteouts, later-wins
// replacement, and one test per hostile-tar attack. Each hostile test checks the error code
// and that nothing beside the staging directory was created or changed.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { checksLessWithout } from '../../test/helpers/prereq.js';
import { NetworkError } from '../errors/index.js';
import type { Digest } from '../oci/index.js';
import { lgetxattr } from '../util/index.js';
import {
  chunks,
  collect,
  dirEntry,
  fileEntry,
  linkEntry,
  once,
  padded,
  paxData,
  rawFile,
  rawHeader,
  rawTar,
  type Sandbox,
  sandbox,
  T0,
  tarBytes,
} from './_testing.js';
import { cleanName, compressStream, type TarEntryInput, type UnpackOptions, unpackLayer } from './index.js';

const isRoot = process.getuid?.() === 0;
let box: Sandbox;
beforeEach(() => {
  box = sandbox();
});
afterEach(() => box.cleanup());

async function unpackEntries(entries: TarEntryInput[], options: UnpackOptions = {}) {
  return unpackLayer(once(await tarBytes(entries)), box.dest, options);
}

/** The unpack must fail with `code`, and nothing beside dest may change. */
async function assertRefused(
  source: Buffer | TarEntryInput[],
  code: string,
  options: UnpackOptions = {},
  message?: RegExp,
) {
  const tar = Buffer.isBuffer(source) ? source : await tarBytes(source);
  await assert.rejects(unpackLayer(once(tar), box.dest, options), (err: Error & { code?: string }) => {
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    assert.match(err.message, /^cannot unpack layer: /);
    if (message) assert.match(err.message, message);
    return true;
  });
  box.assertOutsideUntouched();
}

function sha256(buf: Buffer): Digest {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}` as Digest;
}

const at = (p: string) => join(box.dest, p);

describe('unpackLayer writes the tree', () => {
  test('modes (setuid/setgid/sticky kept after chown), owners, mtimes, links, devices, xattrs', async (t) => {
    checksLessWithout(t, 'root (ownership, security.capability, device nodes)', isRoot);
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    const entries: TarEntryInput[] = [
      dirEntry('./', { mode: 0o751, mtime: T0 - 10 }),
      dirEntry('bin', { mtime: T0 - 1 }),
      fileEntry('bin/su', 'su', { mode: 0o4755, uid: 1000, gid: 1000, mtime: T0 - 2 }),
      fileEntry('bin/wall', 'wall', { mode: 0o2755, uid: 0, gid: 5 }),
      fileEntry('bin/ping', 'ping', {
        mode: 0o755,
        xattrs: { 'security.capability': cap, 'user.foo': Buffer.from('bar') },
      }),
      dirEntry('tmp', { mode: 0o1777, mtime: T0 - 3 }),
      dirEntry('shared', { mode: 0o2775, uid: 1000, gid: 1000 }),
      linkEntry('bin/sh', 'symlink', 'dash', { uid: 1000, gid: 1000, mtime: T0 - 4 }),
      linkEntry('bin/ping6', 'hardlink', 'bin/ping'),
      {
        header: {
          name: 'dev/null',
          type: 'char',
          mode: 0o666,
          uid: 0,
          gid: 0,
          size: 0,
          mtime: T0,
          devmajor: 1,
          devminor: 3,
        },
      },
      {
        header: {
          name: 'dev/sda',
          type: 'block',
          mode: 0o660,
          uid: 0,
          gid: 6,
          size: 0,
          mtime: T0,
          devmajor: 8,
          devminor: 1,
        },
      },
      { header: { name: 'run/initctl', type: 'fifo', mode: 0o600, uid: 0, gid: 0, size: 0, mtime: T0 } },
      fileEntry('deep/ly/nested/file', 'x'),
      fileEntry('/abs/olute', 'normalized like tar'),
    ];
    const tar = await tarBytes(entries);
    const r = await unpackLayer(once(tar), box.dest);
    assert.deepEqual(r, {
      diffId: sha256(tar),
      size: tar.length,
      entries: entries.length,
      unpackedBytes: 2 + 4 + 4 + 1 + 19,
    });

    const root = lstatSync(box.dest);
    assert.equal(root.mode & 0o7777, 0o751);
    assert.equal(root.mtimeMs, (T0 - 10) * 1000, 'root mtime set after its children');
    const su = lstatSync(at('bin/su'));
    assert.equal(su.mode & 0o7777, 0o4755, 'setuid survives chown');
    assert.equal(su.uid, isRoot ? 1000 : process.getuid!());
    assert.equal(su.mtimeMs, (T0 - 2) * 1000);
    assert.equal(lstatSync(at('bin/wall')).mode & 0o7777, 0o2755);
    assert.equal(lstatSync(at('tmp')).mode & 0o7777, 0o1777);
    assert.equal(lstatSync(at('tmp')).mtimeMs, (T0 - 3) * 1000);
    assert.equal(lstatSync(at('shared')).mode & 0o7777, 0o2775);
    assert.equal(lstatSync(at('bin')).mtimeMs, (T0 - 1) * 1000, 'dir mtime set after children were written');

    const sh = lstatSync(at('bin/sh'));
    assert.ok(sh.isSymbolicLink());
    assert.equal(readlinkSync(at('bin/sh')), 'dash');
    assert.equal(sh.mtimeMs, (T0 - 4) * 1000, 'symlink mtime (lutimes)');
    if (isRoot) assert.equal(sh.uid, 1000, 'lchown on the link');

    assert.equal(lstatSync(at('bin/ping6')).ino, lstatSync(at('bin/ping')).ino, 'hardlink shares the inode');
    assert.equal(lstatSync(at('bin/ping')).nlink, 2);
    assert.deepEqual(lgetxattr(at('bin/ping'), 'user.foo'), Buffer.from('bar'));
    if (isRoot) assert.deepEqual(lgetxattr(at('bin/ping'), 'security.capability'), cap);

    if (isRoot) {
      const dev = lstatSync(at('dev/null'));
      assert.ok(dev.isCharacterDevice());
      assert.equal(dev.rdev, (1 << 8) | 3);
      assert.equal(dev.mode & 0o7777, 0o666);
      assert.ok(lstatSync(at('dev/sda')).isBlockDevice());
    }
    assert.ok(lstatSync(at('run/initctl')).isFIFO());
    assert.equal(lstatSync(at('deep/ly')).mode & 0o7777, 0o755, 'implicit parents are 0755');
    assert.equal(readFileSync(at('abs/olute'), 'utf8'), 'normalized like tar');
  });

  test('fractional PAX mtimes are kept', async () => {
    const x = paxData({ mtime: '1600000000.5' });
    await unpackLayer(
      once(rawTar(rawHeader({ name: 'p', flag: 'x', size: x.length }), padded(x), rawFile('f', 'x'))),
      box.dest,
    );
    assert.equal(lstatSync(at('f')).mtimeMs, 1600000000500);
  });

  test('1-byte chunks of the tar and of its gzip give the same tree', async () => {
    const entries = [
      dirEntry('a'),
      fileEntry('a/one', 'x'.repeat(1500)),
      fileEntry(`a/${'long'.repeat(40)}`, 'pax'),
      linkEntry('a/l', 'symlink', 'one'),
      fileEntry('a/.wh.gone', ''),
    ];
    const tar = await tarBytes(entries);
    const r1 = await unpackLayer(chunks(tar, 1), box.dest, { compression: 'none' });
    const gz = gzipSync(tar);
    const other = sandbox();
    try {
      const r2 = await unpackLayer(chunks(gz, 1), other.dest);
      assert.deepEqual(r1, r2);
      assert.deepEqual(
        readdirSync(other.dest, { recursive: true }).sort(),
        readdirSync(box.dest, { recursive: true }).sort(),
      );
      assert.equal(readFileSync(join(other.dest, 'a/one'), 'utf8'), 'x'.repeat(1500));
    } finally {
      other.cleanup();
    }
  });

  test('gzip, zstd and none, given or sniffed, give the same diffID', async () => {
    const tar = await tarBytes([fileEntry('f', randomBytes(100_000)), dirEntry('d')]);
    const want = sha256(tar);
    const gz = await collect(Readable.from([tar]).pipe(compressStream('gzip')));
    const zst = await collect(Readable.from([tar]).pipe(compressStream('zstd')));
    for (const [data, compression] of [
      [tar, 'none'],
      [gz, 'gzip'],
      [zst, 'zstd'],
      [tar, 'auto'],
      [gz, 'auto'],
      [zst, 'auto'],
    ] as const) {
      const b = sandbox();
      try {
        const r = await unpackLayer(chunks(data, 4096), b.dest, { compression, expectedDiffId: want });
        assert.equal(r.diffId, want, compression);
        assert.equal(statSync(join(b.dest, 'f')).size, 100_000);
      } finally {
        b.cleanup();
      }
    }
  });

  test('an empty layer (just the end marker) unpacks to nothing', async () => {
    const r = await unpackEntries([]);
    assert.equal(r.entries, 0);
    assert.deepEqual(readdirSync(box.dest), []);
  });

  test('an error of the source passes through as it is; the source is closed on early failure', async () => {
    const boom = new NetworkError('connection reset by peer');
    async function* failing() {
      yield gzipSync(await tarBytes([fileEntry('f', 'x'.repeat(100_000))])).subarray(0, 100);
      throw boom;
    }
    await assert.rejects(unpackLayer(failing(), box.dest), (err) => err === boom);

    let closed = false;
    const tar = await tarBytes([fileEntry('../evil', 'x'), fileEntry('f', 'x'.repeat(100_000))]);
    async function* watched() {
      try {
        yield* chunks(tar, 512);
      } finally {
        closed = true;
      }
    }
    await assert.rejects(unpackLayer(watched(), box.dest), { code: 'UNSAFE_PATH' });
    assert.ok(closed);
  });

  test('abort signal stops the unpack', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(unpackEntries([fileEntry('f', 'x')], { signal: ac.signal }), {
      code: 'INTERRUPTED',
    });
  });
});

describe('unpackLayer: overlay whiteouts', () => {
  const isWhiteout = (p: string) => {
    const st = lstatSync(p);
    return st.isCharacterDevice() && st.rdev === 0;
  };
  const opaque = (p: string) => lgetxattr(p, 'trusted.overlay.opaque')?.toString();

  test('.wh.NAME becomes a 0/0 char device; .wh..wh..opq an opaque xattr, no marker file', async () => {
    await unpackEntries([
      dirEntry('etc'),
      fileEntry('etc/.wh.motd', ''),
      fileEntry('.wh.toplevel', ''),
      dirEntry('var/cache'),
      fileEntry('var/cache/.wh..wh..opq', ''),
      fileEntry('var/cache/kept', 'new'),
      fileEntry('implicit/.wh..wh..opq', ''),
      fileEntry('.wh..wh.plnk/123', ''),
    ]);
    assert.ok(isWhiteout(at('etc/motd')));
    assert.ok(isWhiteout(at('toplevel')));
    assert.equal(existsSync(at('etc/.wh.motd')), false);
    assert.equal(opaque(at('var/cache')), 'y');
    assert.deepEqual(readdirSync(at('var/cache')), ['kept']);
    assert.equal(opaque(at('implicit')), 'y');
    assert.equal(opaque(at('etc')), undefined);
  });

  test('a whiteout does not hide a file of the same layer (OCI: it applies to lower layers only)', async () => {
    await unpackEntries([
      fileEntry('before', 'kept'),
      fileEntry('.wh.before', ''),
      fileEntry('.wh.after', ''),
      fileEntry('after', 'kept'),
    ]);
    assert.equal(readFileSync(at('before'), 'utf8'), 'kept');
    assert.equal(readFileSync(at('after'), 'utf8'), 'kept');
  });

  test('whiteout + directory of the same name in one layer gives an opaque directory', async () => {
    await unpackEntries([
      fileEntry('.wh.d1', ''),
      dirEntry('d1'),
      fileEntry('d1/new', 'x'),
      dirEntry('d2'),
      fileEntry('d2/new', 'x'),
      fileEntry('.wh.d2', ''),
      fileEntry('.wh.d3', ''),
      fileEntry('d3/implicit-parent', 'x'),
    ]);
    for (const d of ['d1', 'd2', 'd3']) {
      assert.ok(lstatSync(at(d)).isDirectory(), d);
      assert.equal(opaque(at(d)), 'y', d);
      assert.equal(readdirSync(at(d)).length, 1, d);
    }
  });
});

describe('unpackLayer: later entries win', () => {
  test('file over file, dir over file, file over dir (recursively), dir over dir keeps children', async () => {
    await unpackEntries([
      fileEntry('f', 'old'),
      fileEntry('f', 'new', { mode: 0o600 }),
      fileEntry('was-file', 'x'),
      dirEntry('was-file'),
      dirEntry('was-dir'),
      fileEntry('was-dir/child', 'x'),
      fileEntry('was-dir', 'now a file'),
      dirEntry('kept'),
      fileEntry('kept/child', 'x'),
      dirEntry('kept', { mode: 0o700 }),
      linkEntry('was-link', 'symlink', '../outside'),
      fileEntry('was-link', 'a file, not the link target'),
    ]);
    assert.equal(readFileSync(at('f'), 'utf8'), 'new');
    assert.equal(lstatSync(at('f')).mode & 0o777, 0o600);
    assert.ok(lstatSync(at('was-file')).isDirectory());
    assert.equal(readFileSync(at('was-dir'), 'utf8'), 'now a file');
    assert.deepEqual(readdirSync(at('kept')), ['child']);
    assert.equal(lstatSync(at('kept')).mode & 0o777, 0o700);
    assert.ok(lstatSync(at('was-link')).isFile());
    box.assertOutsideUntouched();
  });
});

describe('unpackLayer: hostile layers', () => {
  test('rejects ../ traversal (tar-slip / Zip Slip class, CVE-2018-1002200)', async () => {
    for (const name of [
      '../sentinel',
      'a/../../sentinel',
      '/../outside/victim',
      './x/../../outside/victim',
      '..',
    ]) {
      await assertRefused([fileEntry(name, 'pwned')], 'UNSAFE_PATH', {}, /escapes the layer root/);
    }
  });

  test('absolute and dot-prefixed names stay inside dest (CVE-2021-32804 class, ////etc/passwd)', async () => {
    await unpackEntries([
      fileEntry('////outside/victim', 'inside'),
      fileEntry('././/x/./y', 'y'),
      fileEntry('a/../b', 'b'),
    ]);
    assert.equal(readFileSync(at('outside/victim'), 'utf8'), 'inside');
    assert.equal(readFileSync(at('x/y'), 'utf8'), 'y');
    assert.equal(readFileSync(at('b'), 'utf8'), 'b');
    box.assertOutsideUntouched();
  });

  test('symlink then write through it (relative, absolute, ../../.. targets)', async () => {
    const marker = `berth-pwned-${randomBytes(6).toString('hex')}`;
    await assertRefused(
      [linkEntry('link', 'symlink', '../outside'), fileEntry('link/victim', 'pwned')],
      'UNSAFE_PATH',
      {},
      /symlink "link"/,
    );
    await assertRefused(
      [linkEntry('etc', 'symlink', '/etc'), fileEntry(`etc/${marker}`, 'pwned')],
      'UNSAFE_PATH',
    );
    assert.equal(existsSync(`/etc/${marker}`), false);
    await assertRefused(
      [linkEntry('up', 'symlink', '../../..'), fileEntry(`up/tmp/${marker}`, 'pwned')],
      'UNSAFE_PATH',
    );
    assert.equal(existsSync(`/tmp/${marker}`), false);
  });

  test('symlink then a directory, hardlink, device, whiteout or opaque marker through it', async () => {
    const link = linkEntry('link', 'symlink', '../outside');
    for (const second of [
      dirEntry('link/newdir'),
      linkEntry('link/hard', 'hardlink', 'victim'),
      {
        header: { name: 'link/fifo', type: 'fifo', mode: 0o600, uid: 0, gid: 0, size: 0, mtime: T0 },
      } as TarEntryInput,
      fileEntry('link/.wh.victim', ''),
      fileEntry('link/.wh..wh..opq', ''),
      linkEntry('link/sym', 'symlink', '/etc/passwd'),
    ]) {
      const entries =
        second.header.type === 'hardlink' ? [fileEntry('victim', 'x'), link, second] : [link, second];
      await assertRefused(entries, 'UNSAFE_PATH', {}, /through the symlink "link"/);
    }
  });

  test('symlink replacing a directory, then writing into it (CVE-2021-32803 class, cache poisoning)', async () => {
    await assertRefused(
      [
        dirEntry('d'),
        fileEntry('d/ok', 'ok'),
        linkEntry('d', 'symlink', '../outside'),
        fileEntry('d/victim', 'pwned'),
      ],
      'UNSAFE_PATH',
    );
  });

  test('symlink chain (a -> b -> outside) then write through it', async () => {
    await assertRefused(
      [
        linkEntry('b', 'symlink', '../outside'),
        linkEntry('a', 'symlink', 'b'),
        fileEntry('a/victim', 'pwned'),
      ],
      'UNSAFE_PATH',
    );
  });

  test('a file entry over an earlier symlink replaces the link, not its target', async () => {
    await unpackEntries([linkEntry('s', 'symlink', '../outside/victim'), fileEntry('s', 'pwned?')]);
    assert.equal(readFileSync(at('s'), 'utf8'), 'pwned?');
    box.assertOutsideUntouched();
  });

  test('hardlink to outside', async () => {
    await assertRefused(
      [linkEntry('h', 'hardlink', '../outside/victim')],
      'UNSAFE_PATH',
      {},
      /escapes the layer root/,
    );
    await assertRefused([linkEntry('h', 'hardlink', 'a/../../sentinel')], 'UNSAFE_PATH');
  });

  test('absolute hardlink target', async () => {
    await assertRefused([linkEntry('h', 'hardlink', '/etc/passwd')], 'UNSAFE_PATH', {}, /absolute/);
  });

  test('hardlink to something not in the layer, or to a directory', async () => {
    await assertRefused(
      [linkEntry('h', 'hardlink', 'later'), fileEntry('later', 'x')],
      'UNSAFE_PATH',
      {},
      /not an earlier file/,
    );
    await assertRefused([dirEntry('d'), linkEntry('h', 'hardlink', 'd')], 'UNSAFE_PATH');
    // A target inside a directory that was since replaced by a symlink is gone too.
    await assertRefused(
      [
        dirEntry('d'),
        fileEntry('d/f', 'x'),
        linkEntry('d', 'symlink', '../outside'),
        linkEntry('h', 'hardlink', 'd/f'),
      ],
      'UNSAFE_PATH',
    );
  });

  test('hardlink to an earlier symlink links the symlink itself', async () => {
    await unpackEntries([linkEntry('s', 'symlink', '../outside/victim'), linkEntry('h', 'hardlink', 's')]);
    assert.ok(lstatSync(at('h')).isSymbolicLink());
    assert.equal(lstatSync(at('h')).ino, lstatSync(at('s')).ino);
    box.assertOutsideUntouched();
  });

  test('device node when not permitted', async () => {
    const dev: TarEntryInput = {
      header: {
        name: 'dev/sda',
        type: 'block',
        mode: 0o666,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: T0,
        devmajor: 8,
        devminor: 0,
      },
    };
    await assertRefused([dev], 'UNSAFE_PATH', { allowDevices: false }, /not permitted/);
    await assertRefused(
      [{ header: { ...dev.header, type: 'char', name: 'mem', devmajor: 1, devminor: 1 } }],
      'UNSAFE_PATH',
      {
        allowDevices: false,
      },
    );
    assert.equal(existsSync(at('dev/sda')), false);
    // fifos and whiteouts need no device permission
    await unpackEntries([{ header: { ...dev.header, type: 'fifo', name: 'fifo' } }, fileEntry('.wh.x', '')], {
      allowDevices: false,
    });
  });

  test('entries replacing the dest root itself', async () => {
    await assertRefused([fileEntry('./', 'x')], 'UNSAFE_PATH', {}, /layer root/);
    await assertRefused([linkEntry('.', 'symlink', '/')], 'UNSAFE_PATH', {}, /layer root/);
    await assertRefused(
      [fileEntry('x', 'x'), linkEntry('/', 'hardlink', 'x')],
      'UNSAFE_PATH',
      {},
      /layer root/,
    );
    await assertRefused([fileEntry('.wh...', '')], 'UNSAFE_PATH');
    assert.ok(lstatSync(box.dest).isDirectory());
  });

  test('diffID mismatch', async () => {
    const wrong = sha256(Buffer.from('something else'));
    await assertRefused(
      [fileEntry('f', 'x')],
      'DIGEST_MISMATCH',
      { expectedDiffId: wrong },
      /diffID mismatch/,
    );
  });

  test('truncated tar', async () => {
    const tar = await tarBytes([fileEntry('f', 'x'.repeat(5000))]);
    await assertRefused(tar.subarray(0, 3000), 'SIZE_LIMIT', {}, /truncated/);
    const gz = gzipSync(tar);
    await assert.rejects(unpackLayer(once(gz.subarray(0, gz.length - 10)), box.dest), {
      code: 'INVALID_ARGUMENT',
    });
    box.assertOutsideUntouched();
  });

  test('bad checksum', async () => {
    await assertRefused(rawTar(rawFile('f', 'x', { badChecksum: true })), 'INVALID_ARGUMENT', {}, /checksum/);
  });

  test('huge PAX record', async () => {
    const x = paxData({ comment: 'z'.repeat(2 * 1024 * 1024) });
    await assertRefused(
      rawTar(rawHeader({ name: 'p', flag: 'x', size: x.length }), padded(x), rawFile('f', 'x')),
      'SIZE_LIMIT',
      {},
      /PAX/,
    );
  });

  test('too many entries', async () => {
    const entries = Array.from({ length: 20 }, (_, i) => fileEntry(`f${i}`, ''));
    await assertRefused(entries, 'SIZE_LIMIT', { maxEntries: 10 }, /more than 10 entries/);
  });

  test('trusted.overlay.* xattrs in the tar are not applied (overlay redirect/metacopy injection)', async () => {
    const evil = {
      'trusted.overlay.redirect': Buffer.from('/etc'),
      'trusted.overlay.metacopy': Buffer.alloc(0),
    };
    await unpackEntries([
      dirEntry('d', { xattrs: evil }),
      fileEntry('f', 'x', { xattrs: { ...evil, 'user.ok': Buffer.from('1') } }),
    ]);
    assert.equal(lgetxattr(at('d'), 'trusted.overlay.redirect'), undefined);
    assert.equal(lgetxattr(at('f'), 'trusted.overlay.metacopy'), undefined);
    assert.deepEqual(lgetxattr(at('f'), 'user.ok'), Buffer.from('1'));
  });

  test('a file where a directory is needed', async () => {
    await assertRefused(
      [fileEntry('a', 'x'), fileEntry('a/b', 'y')],
      'INVALID_ARGUMENT',
      {},
      /not a directory/,
    );
  });
});

test('cleanName normalizes like tar and refuses escapes', () => {
  assert.equal(cleanName('./a/b/'), 'a/b');
  assert.equal(cleanName('/a//b/./c'), 'a/b/c');
  assert.equal(cleanName('a/../b'), 'b');
  assert.equal(cleanName('./'), '');
  assert.equal(cleanName('a/..b'), 'a/..b');
  assert.equal(cleanName('../a'), undefined);
  assert.equal(cleanName('a/../../b'), undefined);
});
