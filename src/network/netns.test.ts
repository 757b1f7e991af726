import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { missing, requireOrSkip } from '../../test/helpers/prereq.js';
import { createNetns, deleteNetns, execInNetns, isNetnsMounted } from './_netns.js';

const lacks = missing({ root: true, commands: ['unshare', 'nsenter', 'ip'] });

test('a named netns is bind-mounted at our path, holds only lo, and is deleted cleanly', async (t) => {
  if (!requireOrSkip(t, lacks ?? '', lacks === undefined)) return;
  const dir = mkdtempSync(join(tmpdir(), 'berth-netns-'));
  let path = '';
  t.after(() => {
    if (path) deleteNetns(path);
    rmSync(dir, { recursive: true, force: true });
  });
  const ownBefore = readlinkSync('/proc/thread-self/ns/net');
  path = await createNetns(join(dir, 'ns'), 'one');
  assert.equal(path, join(dir, 'ns', 'one'));
  // made in-process: this thread went into the new namespace and must be back in its own
  assert.equal(readlinkSync('/proc/thread-self/ns/net'), ownBefore);
  assert.notEqual(`net:[${statSync(path).ino}]`, ownBefore);
  const lo = await execInNetns(path, ['ip', '-o', 'link', 'show', 'lo']);
  assert.match(lo.stdout, /<LOOPBACK,UP,LOWER_UP>/, 'the runtime joins it as it is: lo must be up');
  assert.ok(isNetnsMounted(path));
  const links = await execInNetns(path, ['ip', '-o', 'link']);
  assert.equal(links.status, 0, links.stderr);
  assert.deepEqual(
    links.stdout
      .split('\n')
      .filter((l) => l)
      .map((l) => l.split(':')[1]!.trim()),
    ['lo'],
  );
  await assert.rejects(createNetns(join(dir, 'ns'), 'one'), /already exists/);
  await assert.rejects(createNetns(join(dir, 'ns'), '../evil'), /invalid network namespace name/);
  deleteNetns(path);
  assert.equal(isNetnsMounted(path), false);
  assert.equal(existsSync(path), false);
  deleteNetns(path);
});
