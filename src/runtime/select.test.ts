import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireOrSkip } from '../../test/helpers/prereq.js';
import { InvalidArgumentError, NotFoundError } from '../errors/index.js';
import type { CgroupInfo } from './cgroups.js';
import { detectCgroups } from './cgroups.js';
import { crunCanWork, lookPath, selectRuntime } from './select.js';

const V2: CgroupInfo = { mode: 'v2', v2Controllers: ['cpu', 'memory', 'pids'] };
const HYBRID_EMPTY: CgroupInfo = { mode: 'hybrid', v2Controllers: [] };
const HYBRID_BUSY: CgroupInfo = { mode: 'hybrid', v2Controllers: ['hugetlb'] };
const V1: CgroupInfo = { mode: 'v1', v2Controllers: [] };

const both = (name: string) => (name === 'runc' || name === 'crun' ? `/usr/bin/${name}` : undefined);
const only = (which: string) => (name: string) => (name === which ? `/usr/bin/${name}` : undefined);
const none = () => undefined;

test('auto picks crun on cgroup v2 and on hybrid with an empty cgroup2, else runc', () => {
  assert.equal(selectRuntime('auto', { cgroups: V2, lookPath: both }).name, 'crun');
  assert.equal(selectRuntime(undefined, { cgroups: HYBRID_EMPTY, lookPath: both }).name, 'crun');
  assert.equal(selectRuntime('auto', { cgroups: HYBRID_BUSY, lookPath: both }).name, 'runc');
  assert.equal(selectRuntime('auto', { cgroups: V1, lookPath: both }).name, 'runc');
  assert.deepEqual(selectRuntime('auto', { cgroups: V2, lookPath: only('runc') }), {
    name: 'runc',
    path: '/usr/bin/runc',
  });
});

test('auto never picks a runtime that is missing or cannot work', () => {
  assert.throws(
    () => selectRuntime('auto', { cgroups: HYBRID_BUSY, lookPath: only('crun') }),
    (err: unknown) =>
      err instanceof NotFoundError && /runc is not installed.*crun cannot run.*hugetlb/.test(err.message),
  );
  assert.throws(
    () => selectRuntime('auto', { cgroups: V2, lookPath: none }),
    (err: unknown) => err instanceof NotFoundError && /neither runc nor crun/.test(err.message),
  );
});

test('an explicit name or path wins', () => {
  assert.equal(selectRuntime('crun', { cgroups: HYBRID_BUSY, lookPath: both }).name, 'crun');
  assert.equal(selectRuntime('runc', { cgroups: V2, lookPath: both }).name, 'runc');
  assert.throws(
    () => selectRuntime('crun', { cgroups: V2, lookPath: only('runc') }),
    (err: unknown) => err instanceof NotFoundError && /"crun" is not installed/.test(err.message),
  );
  assert.throws(() => selectRuntime('kata', { lookPath: both }), InvalidArgumentError);
  assert.throws(() => selectRuntime('/nonexistent/runtime'), NotFoundError);
  const sh = lookPath('sh');
  if (sh) assert.deepEqual(selectRuntime(sh), { name: 'sh', path: sh });
});

test('crunCanWork', () => {
  assert.equal(crunCanWork(V2), true);
  assert.equal(crunCanWork(HYBRID_EMPTY), true);
  assert.equal(crunCanWork(HYBRID_BUSY), false);
  assert.equal(crunCanWork(V1), false);
});

test('on this host, auto follows the detected cgroup layout and picks an installed binary', (t) => {
  const cgroups = detectCgroups();
  const wantCrun = crunCanWork(cgroups) && lookPath('crun') !== undefined;
  if (!requireOrSkip(t, 'runc or crun', wantCrun || lookPath('runc') !== undefined)) return;
  const picked = selectRuntime('auto');
  assert.equal(picked.name, wantCrun ? 'crun' : 'runc');
  assert.equal(picked.path, lookPath(picked.name));
});
