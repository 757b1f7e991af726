// COPY's writes into a build rootfs go through archive's TreeWriter: a hostile base image's
// symlinks resolve inside the rootfs, the destination itself is replaced rather than followed,
// and applying a layer dir (squash) cannot be led outside by links already in the rootfs.
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { lsetxattr, mknod, S_IFCHR } from '../util/index.js';
import { applyLayerDir, RootfsWriter } from './_fsops.js';

const isRoot = process.getuid?.() === 0;
let base: string;
let rootfs: string;
let outside: string;
let src: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'berth-fsops-test-'));
  rootfs = join(base, 'rootfs');
  outside = join(base, 'outside');
  mkdirSync(rootfs);
  mkdirSync(outside);
  writeFileSync(join(outside, 'victim'), 'original');
  src = join(base, 'payload');
  writeFileSync(src, 'payload');
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

function assertOutsideUntouched(): void {
  assert.deepEqual(readdirSync(outside), ['victim']);
  assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'original');
}

const opts = { owner: { uid: 0, gid: 0 }, mtime: 1_600_000_000 };

describe('COPY into a rootfs with hostile symlinks', () => {
  test('parent links (absolute, climbing, dangling) resolve inside the rootfs', () => {
    symlinkSync(outside, join(rootfs, 'abs'));
    symlinkSync(`../../../../../../../../..${outside}`, join(rootfs, 'up'));
    symlinkSync(`${outside}/made`, join(rootfs, 'dangling'));
    const w = new RootfsWriter(rootfs);
    const item = { hostPath: src, rel: '', type: 'file' as const, mode: 0o640 };
    w.copyItem(item, '/abs/one', opts);
    w.copyItem(item, '/up/two', opts);
    const host = w.ensureDir('/dangling/sub', opts);
    assert.equal(host, join(rootfs, outside, 'made/sub'));
    w.writeFile('/dangling/sub/three', 'heredoc', 0o600, { ...opts, chmod: 0o755 });
    const reRooted = join(rootfs, outside);
    assert.deepEqual(readdirSync(reRooted).sort(), ['made', 'one', 'two']);
    assert.equal(readFileSync(join(reRooted, 'one'), 'utf8'), 'payload');
    assert.equal(statSync(join(reRooted, 'one')).mode & 0o7777, 0o640);
    assert.equal(statSync(join(reRooted, 'one')).mtimeMs, opts.mtime * 1000);
    assert.equal(statSync(join(reRooted, 'made/sub/three')).mode & 0o7777, 0o755);
    assert.equal(w.isDir('/abs'), true);
    assert.equal(w.isDir('/abs/one'), false);
    assert.equal(w.isDir('/nothing/here'), false);
    w.close();
    assertOutsideUntouched();
  });

  test('the destination itself is replaced, never followed', () => {
    symlinkSync(join(outside, 'victim'), join(rootfs, 'target'));
    symlinkSync(outside, join(rootfs, 'dirlink'));
    const w = new RootfsWriter(rootfs);
    w.copyItem({ hostPath: src, rel: '', type: 'file', mode: 0o644 }, '/target', opts);
    assert.equal(lstatSync(join(rootfs, 'target')).isFile(), true);
    w.copyItem({ hostPath: src, rel: '', type: 'dir', mode: 0o755 }, '/dirlink', opts);
    assert.equal(lstatSync(join(rootfs, 'dirlink')).isDirectory(), true);
    w.copyItem({ hostPath: '', rel: '', type: 'symlink', mode: 0o777, linkTarget: '/x' }, '/dirlink/l', opts);
    assert.equal(readlinkSync(join(rootfs, 'dirlink/l')), '/x');
    w.close();
    assertOutsideUntouched();
  });
});

describe('applyLayerDir', () => {
  test('replaces links in the rootfs where the layer has directories; whiteouts and opaque dirs', (t) => {
    if (!isRoot) {
      t.skip('whiteouts (char devices) and trusted.* xattrs need root');
      return;
    }
    const layer = join(base, 'layer');
    mkdirSync(join(layer, 'etc'), { recursive: true });
    writeFileSync(join(layer, 'etc/conf'), 'new');
    mkdirSync(join(layer, 'opq'));
    writeFileSync(join(layer, 'opq/kept'), 'k');
    lsetxattr(join(layer, 'opq'), 'trusted.overlay.opaque', Buffer.from('y'));
    mknod(join(layer, 'gone'), S_IFCHR, 0, 0n);
    symlinkSync(outside, join(rootfs, 'etc'));
    mkdirSync(join(rootfs, 'opq'));
    writeFileSync(join(rootfs, 'opq/old'), 'o');
    writeFileSync(join(rootfs, 'gone'), 'g');
    applyLayerDir(layer, rootfs);
    assert.equal(lstatSync(join(rootfs, 'etc')).isDirectory(), true);
    assert.equal(readFileSync(join(rootfs, 'etc/conf'), 'utf8'), 'new');
    assert.deepEqual(readdirSync(join(rootfs, 'opq')), ['kept']);
    assert.equal(existsSync(join(rootfs, 'gone')), false);
    assertOutsideUntouched();
  });
});
