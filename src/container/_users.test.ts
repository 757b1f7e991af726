import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveUser } from './_users.js';

const rootfs = mkdtempSync(join(tmpdir(), 'berth-users-'));
after(() => rmSync(rootfs, { recursive: true, force: true }));
mkdirSync(join(rootfs, 'etc'));
writeFileSync(
  join(rootfs, 'etc', 'passwd'),
  'root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\nnobody:x:65534:65534::/nonexistent:/bin/false\n',
);
writeFileSync(
  join(rootfs, 'etc', 'group'),
  'root:x:0:\nwww:x:33:\nadm:x:4:www\nvideo:x:44:www,other\nnogroup:x:65534:\n',
);

test('names and numbers, primary and supplementary groups', () => {
  assert.deepEqual(resolveUser(rootfs, undefined), {
    uid: 0,
    gid: 0,
    additionalGids: [],
    home: '/root',
    name: 'root',
  });
  assert.deepEqual(resolveUser(rootfs, 'www'), {
    uid: 33,
    gid: 33,
    additionalGids: [4, 44],
    home: '/var/www',
    name: 'www',
  });
  assert.deepEqual(resolveUser(rootfs, 'www:adm'), {
    uid: 33,
    gid: 4,
    additionalGids: [44],
    home: '/var/www',
    name: 'www',
  });
  assert.deepEqual(resolveUser(rootfs, '1234:5678'), { uid: 1234, gid: 5678, additionalGids: [], home: '/' });
  assert.equal(resolveUser(rootfs, '65534').name, 'nobody');
});

test('unknown names and malformed specs are clear errors', () => {
  assert.throws(() => resolveUser(rootfs, 'ghost'), /unable to find user ghost/);
  assert.throws(() => resolveUser(rootfs, 'www:ghosts'), /unable to find group ghosts/);
  assert.throws(() => resolveUser(rootfs, ':'), /expected USER/);
  assert.throws(() => resolveUser(rootfs, '99999999999'), /out of range/);
});

test('a passwd symlinked to the host is read inside the rootfs, never from the host', () => {
  const evil = mkdtempSync(join(tmpdir(), 'berth-users-evil-'));
  try {
    mkdirSync(join(evil, 'etc'));
    symlinkSync('/etc/shadow', join(evil, 'etc', 'passwd'));
    // /etc/shadow inside the rootfs does not exist → no users known, so a name fails
    assert.throws(() => resolveUser(evil, 'root'), /unable to find user root/);
    assert.equal(resolveUser(evil, '0').uid, 0);
  } finally {
    rmSync(evil, { recursive: true, force: true });
  }
});
