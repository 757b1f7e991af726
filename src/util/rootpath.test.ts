import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveInRoot } from './rootpath.js';

const root = mkdtempSync(join(tmpdir(), 'berth-rootpath-'));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'etc'));
writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
symlinkSync('/etc', join(root, 'abs'));
symlinkSync('../../../../etc', join(root, 'rel'));
symlinkSync('loop2', join(root, 'loop1'));
symlinkSync('loop1', join(root, 'loop2'));

test('.. and absolute symlinks stay inside the root', () => {
  assert.equal(resolveInRoot(root, '/../../etc/passwd'), join(root, 'etc', 'passwd'));
  assert.equal(resolveInRoot(root, '/abs/passwd'), join(root, 'etc', 'passwd'));
  assert.equal(resolveInRoot(root, 'rel/passwd'), join(root, 'etc', 'passwd'));
  assert.equal(resolveInRoot(root, '/'), root);
  assert.equal(resolveInRoot(root, '/missing/x'), join(root, 'missing', 'x'));
});

test('symlink loops are an error, not a hang', () => {
  assert.throws(() => resolveInRoot(root, '/loop1/x'), /too many levels/);
});
