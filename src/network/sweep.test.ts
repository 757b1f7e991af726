// The sweep after a berth was SIGKILLed in the middle of a network setup, against a fake CNI
// plugin: the plugin berth started outlives it (an orphan) and finishes its ADD later. The
// sweep must not DEL before that orphan is done, or what the orphan adds afterwards (a lease, a
// veth) is left for ever.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { missing, requireOrSkip } from '../../test/helpers/prereq.js';
import { killWhen, waitFor } from '../../test/helpers/wait.js';
import {
  deleteNetns,
  guardAlive,
  holdSetupGuard,
  releaseSetupGuard,
  sweepContainerNetworks,
} from './index.js';

const CHILD = fileURLToPath(new URL('../../test/helpers/attach-child.js', import.meta.url));
const lacks = missing({ root: true, commands: ['unshare', 'nsenter', 'ip'] });

test('the sweep waits for a plugin a killed berth left running before it DELs', async (t) => {
  if (!requireOrSkip(t, lacks ?? '', lacks === undefined)) return;
  const dir = mkdtempSync(join(tmpdir(), 'berth-sweep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, 'state');
  const plugins = join(dir, 'plugins');
  mkdirSync(state);
  mkdirSync(plugins);
  // ADD: says it started, takes a while (bounded: about 2 s), then takes a "lease"; DEL gives it back
  writeFileSync(
    join(plugins, 'orphan'),
    `#!/bin/sh
cat >/dev/null
case "$CNI_COMMAND" in
ADD)
  : > ${state}/add-started
  i=0; while [ $i -lt 100 ]; do sleep 0.02; i=$((i+1)); done
  : > ${state}/lease-$CNI_CONTAINERID
  printf '{"cniVersion":"1.0.0","ips":[{"address":"10.231.99.2/24"}]}' ;;
DEL) rm -f ${state}/lease-$CNI_CONTAINERID ;;
esac
exit 0
`,
  );
  chmodSync(join(plugins, 'orphan'), 0o755);
  const paths = { netnsDir: join(dir, 'netns'), cacheDir: join(dir, 'cache') };
  const id = randomBytes(32).toString('hex');
  const child = spawn(process.execPath, [CHILD, paths.netnsDir, paths.cacheDir, plugins, id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closed = new Promise<unknown>((resolve) => child.on('close', resolve));
  const outcome = await killWhen({ child, closed }, () => existsSync(join(state, 'add-started')));
  assert.ok(outcome.landed, 'the setup was killed while the plugin ran');

  const cleaned = await sweepContainerNetworks(paths, () => false, { pluginDirs: [plugins] });
  assert.deepEqual(cleaned, [id]);
  // the orphan is done by now, or finishes soon: then nothing of it may be left
  await waitFor(() => !processWithContainerId(id), { what: 'the orphaned plugin to finish' });
  assert.deepEqual(
    readdirSync(state).filter((f) => f.startsWith('lease-')),
    [],
    'no lease is left',
  );
  assert.deepEqual(readdirSync(paths.netnsDir), []);
  assert.deepEqual(readdirSync(paths.cacheDir), []);
});

test('a sweep stops undoing a container once a live start holds its guard again', async (t) => {
  if (!requireOrSkip(t, lacks ?? '', lacks === undefined)) return;
  const dir = mkdtempSync(join(tmpdir(), 'berth-sweep-'));
  const state = join(dir, 'state');
  const plugins = join(dir, 'plugins');
  mkdirSync(state);
  mkdirSync(plugins);
  // ADD answers at once; DEL waits (bounded, about 5 s) for the test to say go
  writeFileSync(
    join(plugins, 'orphan'),
    `#!/bin/sh
cat >/dev/null
case "$CNI_COMMAND" in
ADD) printf '{"cniVersion":"1.0.0","ips":[{"address":"10.231.99.2/24"}]}' ;;
DEL) : > ${state}/del-started
  i=0; while [ ! -e ${state}/go ] && [ $i -lt 250 ]; do sleep 0.02; i=$((i+1)); done ;;
esac
exit 0
`,
  );
  chmodSync(join(plugins, 'orphan'), 0o755);
  const paths = { netnsDir: join(dir, 'netns'), cacheDir: join(dir, 'cache') };
  const id = randomBytes(32).toString('hex');
  t.after(() => {
    deleteNetns(join(paths.netnsDir, id));
    rmSync(dir, { recursive: true, force: true });
  });
  // a setup whose process then exits: its namespace and record are leftovers, its guard dead
  const child = spawn(process.execPath, [CHILD, paths.netnsDir, paths.cacheDir, plugins, id], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const code = await new Promise<unknown>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  assert.equal(guardAlive(paths, id), false);

  const sweep = sweepContainerNetworks(paths, () => false, { pluginDirs: [plugins] });
  await waitFor(() => existsSync(join(state, 'del-started')), { what: 'the sweep to DEL' });
  // the container starts again now (as `berth start` does: guard first, then its namespace)
  holdSetupGuard(paths, id);
  writeFileSync(join(state, 'go'), '');
  await sweep;
  assert.ok(existsSync(join(paths.netnsDir, id)), 'the restarted container keeps its namespace');
  assert.equal(guardAlive(paths, id), true, 'and its setup guard');
  releaseSetupGuard(paths, id);
});

function processWithContainerId(id: string): boolean {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`CNI_CONTAINERID=${id}`)) return true;
    } catch {}
  }
  return false;
}
