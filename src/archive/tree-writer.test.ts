// TreeWriter: fd-relative writes that no symlink can lead out of the root, including one
// swapped in between two calls; and unpackLayer (one of its three users) under a swap made
// while the layer is still streaming. cp and COPY have their own swap/escape tests next to them
// (container/fs-tree.test.ts, builder/_fsops.test.ts).
import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { dirEntry, fileEntry, type Sandbox, sandbox, tarBytes } from './_testing.js';
import { isDirStat, isLinkStat, TreeWriter, unpackLayer } from './index.js';

const isRoot = process.getuid?.() === 0;
let box: Sandbox;
let w: TreeWriter;
beforeEach(() => {
  box = sandbox();
  w = TreeWriter.open(box.dest);
});
afterEach(() => {
  w.close();
  box.cleanup();
});

function writeFile(rel: string, text: string, mode = 0o644): void {
  const fd = w.createFile(rel, mode);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

describe('TreeWriter writes', () => {
  test('files, dirs, links, nodes; owners, modes and times; removal of a tree', (t) => {
    w.ensureDir('a/b', { mode: 0o750, mtime: 1_000 });
    assert.equal(statSync(join(box.dest, 'a')).mode & 0o777, 0o750);
    assert.equal(statSync(join(box.dest, 'a/b')).mtimeMs, 1_000_000);
    writeFile('a/b/f', 'hello', 0o600);
    assert.equal(readFileSync(join(box.dest, 'a/b/f'), 'utf8'), 'hello');
    assert.throws(() => w.createFile('a/b/f', 0o600), { code: 'EEXIST' });
    w.symlink('/etc/passwd', 'a/link');
    assert.equal(readlinkSync(join(box.dest, 'a/link')), '/etc/passwd');
    w.utimes('a/link', 5, 7.5);
    assert.equal(lstatSync(join(box.dest, 'a/link')).mtimeMs, 7500);
    w.link('a/b/f', 'a/hard');
    assert.equal(statSync(join(box.dest, 'a/hard')).ino, statSync(join(box.dest, 'a/b/f')).ino);
    w.chmod('a/b/f', 0o4755);
    assert.equal(statSync(join(box.dest, 'a/b/f')).mode & 0o7777, 0o4755);
    const st = w.lstat('a/link');
    assert.ok(st && isLinkStat(st));
    assert.ok(isDirStat(w.lstat('a')!));
    assert.equal(w.lstat('a/missing'), undefined);
    assert.deepEqual(w.list('a').sort(), ['b', 'hard', 'link']);
    if (isRoot) {
      w.chown('a/link', 1234, 5678);
      assert.equal(lstatSync(join(box.dest, 'a/link')).uid, 1234);
      assert.equal(statSync('/etc/passwd').uid, 0, 'the link target is not touched');
    } else {
      t.diagnostic('chown checks need root');
    }
    w.remove('a');
    assert.deepEqual(readdirSync(box.dest), []);
    w.remove('a'); // missing is fine
    box.assertOutsideUntouched();
  });

  test('a write through a symlinked parent is refused, whatever the link points at', () => {
    symlinkSync(box.outside, join(box.dest, 'abs'));
    symlinkSync('../outside', join(box.dest, 'rel'));
    writeFileSync(join(box.dest, 'file'), 'x');
    for (const rel of ['abs/x', 'rel/x', 'abs/sub/x']) {
      assert.throws(() => writeFile(rel, 'pwned'), { code: 'UNSAFE_PATH' });
      assert.throws(() => w.mkdir(rel, 0o755), { code: 'UNSAFE_PATH' });
      assert.throws(() => w.symlink('t', rel), { code: 'UNSAFE_PATH' });
    }
    assert.throws(() => w.ensureDir('abs/made', { mode: 0o755 }), { code: 'UNSAFE_PATH' });
    assert.throws(() => writeFile('file/x', 'pwned'), { code: 'UNSAFE_PATH' });
    // the last component is never followed either
    assert.throws(() => writeFile('abs', 'pwned'), { code: 'EEXIST' });
    w.remove('abs');
    assert.ok(existsSync(join(box.outside, 'victim')), 'removing a link leaves its target');
    box.assertOutsideUntouched();
  });

  test('a symlink swapped in for a directory between two calls cannot redirect a write', () => {
    w.ensureDir('d', { mode: 0o755 });
    writeFile('d/first', '1');
    // the attacker moves the directory away and puts a link to outside in its place
    renameSync(join(box.dest, 'd'), join(box.dest, 'moved'));
    symlinkSync(box.outside, join(box.dest, 'd'));
    writeFile('d/second', '2');
    w.mknod('d/fifo', 0o010000, 0o600, 0n);
    w.remove('d/first');
    // the writes went to the directory that was opened, wherever it now is in the tree
    assert.deepEqual(readdirSync(join(box.dest, 'moved')).sort(), ['fifo', 'second']);
    box.assertOutsideUntouched();
    // a fresh writer meets the link and refuses it
    const fresh = TreeWriter.open(box.dest);
    try {
      assert.throws(() => fresh.createFile('d/third', 0o644), { code: 'UNSAFE_PATH' });
    } finally {
      fresh.close();
    }
    box.assertOutsideUntouched();
  });

  test('removing a tree does not follow a link inside it', () => {
    w.ensureDir('t/u', { mode: 0o755 });
    symlinkSync(box.outside, join(box.dest, 't/u/out'));
    w.remove('t');
    assert.equal(existsSync(join(box.dest, 't')), false);
    box.assertOutsideUntouched();
  });
});

describe('TreeWriter.resolve follows links as if the root were /', () => {
  test('absolute targets restart at the root; .. stops at the root; loops end', () => {
    mkdirSync(join(box.dest, 'real/deep'), { recursive: true });
    symlinkSync('/real', join(box.dest, 'abs'));
    symlinkSync('../../../../../real', join(box.dest, 'climb'));
    symlinkSync('/', join(box.dest, 'root'));
    symlinkSync('loop2', join(box.dest, 'loop1'));
    symlinkSync('loop1', join(box.dest, 'loop2'));
    assert.equal(w.resolve('/abs/deep'), 'real/deep');
    assert.equal(w.resolve('climb/deep'), 'real/deep');
    assert.equal(w.resolve('/root/root/abs'), 'real');
    assert.equal(w.resolve('../../..'), '');
    assert.equal(w.resolve('/abs/..'), '');
    assert.equal(w.resolve('/abs', { followLast: false }), 'abs');
    assert.equal(w.resolve('/abs/new', { followLast: true }), 'real/new', 'a missing last part is kept');
    assert.throws(() => w.resolve('/missing/x'), { code: 'NOT_FOUND' });
    assert.throws(() => w.resolve('/loop1/x'), { code: 'UNSAFE_PATH' });
    // with create, missing directories (even a link's missing target) are made inside the root
    symlinkSync('/made/here', join(box.dest, 'dangling'));
    assert.equal(w.resolve('/dangling/x', { create: { mode: 0o755 } }), 'made/here/x');
    assert.ok(statSync(join(box.dest, 'made/here/x')).isDirectory());
    box.assertOutsideUntouched();
  });
});

describe('unpackLayer through the TreeWriter', () => {
  test('a directory swapped for a symlink while the layer streams gets no write outside', async () => {
    const head = await tarBytes([dirEntry('d/'), fileEntry('d/a', 'a')]);
    const whole = await tarBytes([dirEntry('d/'), fileEntry('d/a', 'a'), fileEntry('d/b', 'b')]);
    // `head` ends with the two zero blocks of the end marker; the rest starts where they were
    const cut = head.length - 1024;
    assert.deepEqual(whole.subarray(0, cut), head.subarray(0, cut));
    const dest = box.dest;
    const outside = box.outside;
    async function* source(): AsyncGenerator<Buffer> {
      yield whole.subarray(0, cut);
      // by now d/ and d/a are written: swap d for a link to outside, as a racing process would
      renameSync(join(dest, 'd'), join(dest, 'moved'));
      symlinkSync(outside, join(dest, 'd'));
      yield whole.subarray(cut);
    }
    await unpackLayer(source(), dest, { compression: 'none' });
    assert.equal(readFileSync(join(dest, 'moved/b'), 'utf8'), 'b', 'written into the directory it opened');
    box.assertOutsideUntouched();
  });
});
