import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hasCode } from '../errors/index.js';
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
  T0,
  tarBytes,
} from './_testing.js';
import { readTar, type TarEntryInput, type TarHeader, TarParser, writeTar } from './index.js';

interface Read {
  header: TarHeader;
  body: Buffer;
}

async function readAllEntries(source: AsyncIterable<Buffer>): Promise<Read[]> {
  const out: Read[] = [];
  for await (const e of readTar(source)) out.push({ header: e.header, body: await collect(e.body) });
  return out;
}

/** Parse synchronously with TarParser, the unpack path's reader. */
function parseSync(buf: Buffer, chunkSize = buf.length): Read[] {
  const out: Read[] = [];
  let parts: Buffer[] = [];
  const p = new TarParser({
    entry: (header) => {
      parts = [];
      out.push({ header, body: Buffer.alloc(0) });
    },
    data: (c) => parts.push(Buffer.from(c)),
    entryEnd: () => {
      out[out.length - 1]!.body = Buffer.concat(parts);
    },
  });
  for (let i = 0; i < buf.length; i += chunkSize) p.push(buf.subarray(i, i + chunkSize));
  p.end();
  return out;
}

function rejectsWith(code: string, fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(hasCode(err, code as never), `expected code ${code}, got ${String(err)}`);
    if (pattern) assert.match((err as Error).message, pattern);
    return true;
  });
}

const longName = `${'d'.repeat(60)}/${'e'.repeat(70)}/${'f'.repeat(80)}.txt`;
const unsplittable = `${'x'.repeat(150)}.bin`;

const sample: TarEntryInput[] = [
  dirEntry('etc', { mode: 0o755 }),
  fileEntry('etc/hostname', 'berth\n', { uid: 1000, gid: 1000, mode: 0o640 }),
  fileEntry('usr/bin/sudo', Buffer.alloc(3000, 7), { mode: 0o4755 }),
  dirEntry('tmp', { mode: 0o1777 }),
  linkEntry('etc/localtime', 'symlink', '/usr/share/zoneinfo/Etc/UTC'),
  linkEntry('usr/bin/sudoedit', 'hardlink', 'usr/bin/sudo'),
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
      devminor: 0,
    },
  },
  { header: { name: 'run/fifo', type: 'fifo', mode: 0o600, uid: 0, gid: 0, size: 0, mtime: T0 } },
  fileEntry(longName, 'split into ustar prefix'),
  fileEntry(unsplittable, 'needs a PAX path'),
  fileEntry('ünïcødé/名前.txt', 'non-ASCII'),
  fileEntry('big-ids', 'x', { uid: 5_000_000, gid: 4_000_000_000 }),
  fileEntry('old', 'x', { mtime: -86400 }),
  linkEntry('long-link', 'symlink', `/${'t'.repeat(200)}`),
  fileEntry('bin/ping', 'ping', {
    xattrs: {
      'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex'),
      'user.note': Buffer.from('a\nb=c\0d'),
    },
  }),
  fileEntry('empty', ''),
];

describe('tar writer -> reader round trip', () => {
  test('every entry type and field survives', async () => {
    const tar = await tarBytes(sample);
    assert.equal(tar.length % 512, 0);
    const got = await readAllEntries(once(tar));
    assert.equal(got.length, sample.length);
    for (const [i, e] of sample.entries()) {
      const h = got[i]!.header;
      const want = e.header;
      assert.equal(h.name, want.type === 'dir' ? `${want.name}/` : want.name);
      assert.equal(h.type, want.type);
      assert.equal(h.mode, want.mode);
      assert.equal(h.uid, want.uid);
      assert.equal(h.gid, want.gid);
      assert.equal(h.size, want.size);
      assert.equal(h.mtime, want.mtime);
      assert.equal(h.linkname, want.linkname);
      if (want.type === 'char' || want.type === 'block') {
        assert.equal(h.devmajor, want.devmajor);
        assert.equal(h.devminor, want.devminor);
      }
      assert.deepEqual(h.xattrs, want.xattrs);
      assert.equal(h.uname, undefined, 'numeric owners only');
      assert.deepEqual(got[i]!.body, Buffer.isBuffer(e.body) ? e.body : Buffer.alloc(0));
    }
  });

  test('1-byte chunks parse exactly like one chunk (every boundary)', async () => {
    const tar = await tarBytes(sample);
    const whole = parseSync(tar);
    assert.deepEqual(parseSync(tar, 1), whole);
    assert.deepEqual(parseSync(tar, 511), whole);
    assert.deepEqual(parseSync(tar, 513), whole);
    assert.deepEqual(await readAllEntries(chunks(tar, 1)), whole);
  });

  test('the writer is deterministic and ignores uname/gname', async () => {
    const a = await tarBytes(sample);
    const b = await tarBytes(
      sample.map((e) => ({ ...e, header: { ...e.header, uname: 'root', gname: 'wheel' } })),
    );
    assert.deepEqual(a, b);
    // PAX records are sorted by key whatever the xattr insertion order.
    const x1 = await tarBytes([
      fileEntry('f', 'x', { xattrs: { 'user.b': Buffer.from('2'), 'user.a': Buffer.from('1') } }),
    ]);
    const x2 = await tarBytes([
      fileEntry('f', 'x', { xattrs: { 'user.a': Buffer.from('1'), 'user.b': Buffer.from('2') } }),
    ]);
    assert.deepEqual(x1, x2);
  });

  test('fractional mtimes are written as integers', async () => {
    const [e] = await readAllEntries(once(await tarBytes([fileEntry('f', 'x', { mtime: T0 + 0.75 })])));
    assert.equal(e!.header.mtime, T0);
  });

  test('a body of the wrong length is refused', async () => {
    const e = fileEntry('f', 'abc');
    await assert.rejects(collect(writeTar([{ ...e, header: { ...e.header, size: 4 } }])), {
      code: 'SIZE_LIMIT',
    });
    await assert.rejects(
      collect(writeTar([{ header: { ...e.header, size: 4 }, body: () => once(Buffer.from('abcde')) }])),
      { code: 'SIZE_LIMIT' },
    );
  });

  test('streamed bodies are written in place', async () => {
    const data = Buffer.alloc(200_000, 3);
    const tar = await tarBytes([{ header: fileEntry('big', data).header, body: () => chunks(data, 7000) }]);
    const [e] = await readAllEntries(once(tar));
    assert.deepEqual(e!.body, data);
  });

  test('readTar skips the bodies a consumer does not read', async () => {
    const tar = await tarBytes([fileEntry('a', 'A'.repeat(1000)), fileEntry('b', 'B')]);
    const names: string[] = [];
    for await (const e of readTar(chunks(tar, 100))) names.push(e.header.name);
    assert.deepEqual(names, ['a', 'b']);
  });
});

describe('tar reader formats', () => {
  test('GNU long names and long links (L/K), base-256 size, GNU magic has no prefix', () => {
    const name = `${'n'.repeat(300)}/file`;
    const link = `${'l'.repeat(200)}`;
    const tar = rawTar(
      rawHeader({ name: '././@LongLink', flag: 'L', size: name.length + 1, format: 'gnu' }),
      padded(`${name}\0`),
      rawHeader({ name: 'truncated', flag: '0', size: 5, format: 'gnu', base256Size: true }),
      padded('hello'),
      rawHeader({ name: '././@LongLink', flag: 'K', size: link.length, format: 'gnu' }),
      padded(link),
      rawHeader({ name: 'sym', flag: '2', linkname: 'short', format: 'gnu', prefix: 'ignored-in-gnu' }),
    );
    const got = parseSync(tar, 1);
    assert.equal(got[0]!.header.name, name);
    assert.equal(got[0]!.body.toString(), 'hello');
    assert.equal(got[1]!.header.name, 'sym');
    assert.equal(got[1]!.header.linkname, link);
  });

  test('ustar prefix field is joined to the name', () => {
    const got = parseSync(rawTar(rawFile('name.txt', 'x', { prefix: 'some/dir' })));
    assert.equal(got[0]!.header.name, 'some/dir/name.txt');
  });

  test('PAX x records override the header; g records apply to all later entries', () => {
    const xattrValue = Buffer.from([0, 1, 0x0a, 0x3d, 0xff]);
    const g = paxData({ uid: '4242', gname: 'staff', path: 'ignored-global-path', comment: 'git archive' });
    const x = paxData({
      path: 'ünïcødé/long/path',
      linkpath: 'target',
      uid: '3000000000',
      gid: '7',
      uname: 'alice',
      mtime: '1600000000.123456789',
      'SCHILY.xattr.security.capability': xattrValue,
      'LIBARCHIVE.xattr.user.with%3Dequals': Buffer.from('aGVsbG8=').toString(),
      atime: '1.5',
    });
    const tar = rawTar(
      rawHeader({ name: 'pax_global_header', flag: 'g', size: g.length }),
      padded(g),
      rawHeader({ name: 'PaxHeaders/x', flag: 'x', size: x.length }),
      padded(x),
      rawHeader({ name: 'short', flag: '2', linkname: 'short-target', uid: 1 }),
      rawFile('plain', 'data', { uid: 5 }),
    );
    const [first, second] = parseSync(tar, 1);
    const h = first!.header;
    assert.equal(h.name, 'ünïcødé/long/path');
    assert.equal(h.linkname, 'target');
    assert.equal(h.uid, 3_000_000_000);
    assert.equal(h.gid, 7);
    assert.equal(h.uname, 'alice');
    assert.equal(h.gname, 'staff');
    assert.equal(h.mtime, Number('1600000000.123456789'));
    assert.deepEqual(h.xattrs, {
      'security.capability': xattrValue,
      'user.with=equals': Buffer.from('hello'),
    });
    // Global uid applies; the local record list was for the first entry only.
    assert.equal(second!.header.name, 'plain');
    assert.equal(second!.header.uid, 4242);
    assert.equal(second!.header.linkname, undefined);
  });

  test('PAX size overrides the header size field', () => {
    const x = paxData({ size: '10' });
    const tar = rawTar(
      rawHeader({ name: 'p', flag: 'x', size: x.length }),
      padded(x),
      rawFile('f', '0123456789', { size: 0 }),
    );
    assert.equal(parseSync(tar)[0]!.body.toString(), '0123456789');
  });

  test('pre-POSIX (v7) headers; a trailing slash marks a directory', () => {
    const tar = rawTar(
      rawHeader({ name: 'olddir/', flag: '\0', format: 'v7' }),
      rawFile('olddir/f', 'v7', { format: 'v7', flag: '\0' }),
    );
    const got = parseSync(tar);
    assert.equal(got[0]!.header.type, 'dir');
    assert.equal(got[1]!.header.type, 'file');
    assert.equal(got[1]!.body.toString(), 'v7');
  });

  test('volume labels (V) are skipped', () => {
    const tar = rawTar(rawHeader({ name: 'LABEL', flag: 'V' }), rawFile('f', 'x'));
    assert.deepEqual(
      parseSync(tar).map((e) => e.header.name),
      ['f'],
    );
  });

  test('header-only types carry no data whatever their size field says', () => {
    const tar = rawTar(rawHeader({ name: 'd/', flag: '5', size: 1000 }), rawFile('f', 'x'));
    const got = parseSync(tar);
    assert.equal(got[0]!.header.size, 0);
    assert.equal(got[1]!.header.name, 'f');
  });

  test('a missing end-of-archive marker is accepted at an entry boundary', () => {
    const got = parseSync(Buffer.concat([rawFile('f', 'x')]));
    assert.equal(got.length, 1);
  });

  test('bytes after the end-of-archive marker are ignored', () => {
    const got = parseSync(
      Buffer.concat([rawTar(rawFile('f', 'x')), Buffer.alloc(8192), Buffer.from('junk')]),
    );
    assert.equal(got.length, 1);
  });
});

describe('tar reader refuses bad input', () => {
  test('bad checksum', () => {
    rejectsWith(
      'INVALID_ARGUMENT',
      () => parseSync(rawTar(rawFile('f', 'x', { badChecksum: true }))),
      /checksum/,
    );
  });

  test('truncated tar (inside data, inside a header, after an extension header)', () => {
    const tar = rawTar(rawFile('f', 'x'.repeat(2000)));
    rejectsWith('SIZE_LIMIT', () => parseSync(tar.subarray(0, 1000)), /truncated/);
    rejectsWith('SIZE_LIMIT', () => parseSync(tar.subarray(0, 100)), /truncated/);
    const x = paxData({ path: 'p' });
    rejectsWith('SIZE_LIMIT', () =>
      parseSync(Buffer.concat([rawHeader({ name: 'p', flag: 'x', size: x.length }), padded(x)])),
    );
  });

  test('a tar cut right after an entry data (no padding, no end marker) ends there, as Go reads it', () => {
    // the docker CLI's `build -f` outside the context sends such a tar
    const tar = rawTar(rawFile('a', 'x'.repeat(600)), rawFile('b', 'yz'));
    const cut = tar.subarray(0, 512 + 1024 + 512 + 2);
    const names = parseSync(cut).map((e) => e.header.name);
    assert.deepEqual(names, ['a', 'b']);
    // some of the padding read is still a cut tar
    rejectsWith('SIZE_LIMIT', () => parseSync(tar.subarray(0, 512 + 1024 + 512 + 3)), /truncated/);
  });

  test('huge PAX record is refused before it is buffered', () => {
    // Only the header is given: the size field alone must trigger the refusal.
    rejectsWith(
      'SIZE_LIMIT',
      () => parseSync(rawHeader({ name: 'p', flag: 'x', size: 2 * 1024 * 1024 })),
      /PAX/,
    );
    rejectsWith('SIZE_LIMIT', () =>
      parseSync(rawHeader({ name: 'p', flag: 'L', size: 100_000, format: 'gnu' })),
    );
  });

  test('paths longer than 4096 bytes are refused', () => {
    const x = paxData({ path: 'a/'.repeat(2100) });
    rejectsWith('SIZE_LIMIT', () =>
      parseSync(rawTar(rawHeader({ name: 'p', flag: 'x', size: x.length }), padded(x), rawFile('f', ''))),
    );
  });

  test('malformed PAX records', () => {
    for (const bad of ['5 a=b\n', '99 path=x\n', 'x path=y\n', '8 =abc\n\n']) {
      const data = Buffer.from(bad);
      rejectsWith('INVALID_ARGUMENT', () =>
        parseSync(
          rawTar(rawHeader({ name: 'p', flag: 'x', size: data.length }), padded(data), rawFile('f', '')),
        ),
      );
    }
    const x = paxData({ uid: '-1' });
    rejectsWith('INVALID_ARGUMENT', () =>
      parseSync(rawTar(rawHeader({ name: 'p', flag: 'x', size: x.length }), padded(x), rawFile('f', ''))),
    );
  });

  test('sparse and unknown entry types', () => {
    rejectsWith(
      'UNSUPPORTED',
      () => parseSync(rawTar(rawHeader({ name: 's', flag: 'S', format: 'gnu' }))),
      /sparse/,
    );
    const x = paxData({ 'GNU.sparse.major': '1' });
    rejectsWith('UNSUPPORTED', () =>
      parseSync(rawTar(rawHeader({ name: 'p', flag: 'x', size: x.length }), padded(x), rawFile('f', ''))),
    );
    rejectsWith('UNSUPPORTED', () => parseSync(rawTar(rawHeader({ name: 'z', flag: 'Z' }))));
  });

  test('a lone zero block followed by a header', () => {
    rejectsWith(
      'INVALID_ARGUMENT',
      () => parseSync(Buffer.concat([Buffer.alloc(512), rawFile('f', 'x')])),
      /zero block/,
    );
  });

  test('bad octal digits', () => {
    const h = rawHeader({ name: 'f', flag: '0' });
    h.write('9', 124, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const c of h) sum += c;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    rejectsWith('INVALID_ARGUMENT', () => parseSync(rawTar(h)), /octal/);
  });
});

describe('interop with GNU tar', () => {
  test('GNU tar lists what we write, and we read what GNU tar writes (gnu, pax, ustar)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-tar-interop-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const ours = join(dir, 'ours.tar');
    writeFileSync(ours, await tarBytes(sample));
    const listed = execFileSync('tar', ['-tf', ours], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(
      listed,
      sample.map((e) => (e.header.type === 'dir' ? `${e.header.name}/` : e.header.name)),
    );
    // And GNU tar verifies the xattrs we wrote.
    const verbose = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', ours], {
      encoding: 'utf8',
    });
    assert.match(verbose, /bin\/ping/);

    const tree = join(dir, 'tree');
    const deep = join(tree, 'a'.repeat(90), 'b'.repeat(90));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, `${'c'.repeat(120)}.txt`), 'deep');
    writeFileSync(join(tree, 'ünïcødé'), 'u');
    symlinkSync('b'.repeat(90).repeat(2), join(tree, 'longlink'));
    for (const format of ['gnu', 'pax', 'ustar', 'posix']) {
      if (format === 'ustar') continue; // the 120-char file name does not fit ustar
      const file = join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', file, '-C', tree, '.']);
      const fromGnu = (await readAllEntries(chunks(execFileSync('cat', [file]), 1000)))
        .map((e) => e.header.name)
        .sort();
      const expected = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n').sort();
      assert.deepEqual(fromGnu, expected, format);
    }
  });
});
