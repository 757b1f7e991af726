import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { layerDiffId, putLayer } from '../../test/helpers/store-fixtures.js';
import { hasCode } from '../errors/index.js';
import { Store } from './index.js';

const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function freshStore(): Promise<Store> {
  const root = await mkdtemp(join(tmpdir(), 'berth-build-dirs-'));
  roots.push(root);
  return Store.open(root);
}

/** A child process that registers a build in `root`, prints its id, and waits to be killed. */
async function buildInChild(root: string): Promise<{ id: string; kill: () => Promise<void> }> {
  const storeUrl = new URL('./index.js', import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { Store } = await import(${JSON.stringify(storeUrl)});
       const r = Store.open(${JSON.stringify(root)}).registerBuild();
       process.stdout.write(r.id + '\\n');
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const id = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('close', (code) => reject(new Error(`child exited ${code} before registering`)));
  });
  return {
    id,
    kill: async () => {
      child.kill('SIGKILL');
      await closed;
    },
  };
}

describe('store build dirs', () => {
  test('paths under the root: build.lock and cache-mount locks', async () => {
    const store = await freshStore();
    assert.equal(store.buildLockPath(), join(store.root, 'build.lock'));
    const lock = store.cacheMountLockPath('/root/.cache');
    assert.match(lock, new RegExp(`^${store.root}/build-cache-mounts/[a-f0-9]{64}\\.lock$`));
    assert.throws(
      () => store.cacheMountLockPath(''),
      (e) => hasCode(e, 'INVALID_ARGUMENT'),
    );
  });

  test('a running build cannot be claimed for sweeping; a killed one can, once', async () => {
    const store = await freshStore();
    const mine = store.registerBuild();
    assert.deepEqual(store.registeredBuilds(), [mine.id]);
    assert.equal(store.claimDeadBuild(mine.id), undefined);

    const other = await buildInChild(store.root);
    assert.equal(store.claimDeadBuild(other.id), undefined, 'a build alive in another process');
    await other.kill();
    const claim = store.claimDeadBuild(other.id);
    assert.ok(claim, 'a killed build is claimable');
    assert.equal(store.claimDeadBuild(other.id), undefined, 'one sweeper at a time');
    claim.unlinkAndRelease();
    assert.deepEqual(store.registeredBuilds(), [mine.id]);

    mine.release();
    assert.deepEqual(store.registeredBuilds(), []);
    assert.throws(
      () => store.claimDeadBuild('../x'),
      (e) => hasCode(e, 'INVALID_ARGUMENT'),
    );
  });

  test('a cache-mount dir is made once, with its owner and mode, leaving nothing in tmp/', async () => {
    const store = await freshStore();
    const lock = await store.lockCacheMount('pip', { shared: false, timeoutMs: 1000 });
    const dir = store.cacheMountDir('pip', { mode: 0o750, uid: 1000, gid: 1001 });
    const st = statSync(dir);
    assert.equal(st.mode & 0o7777, 0o750);
    assert.equal(st.uid, 1000);
    assert.equal(st.gid, 1001);
    writeFileSync(join(dir, 'kept'), 'x');
    assert.equal(store.cacheMountDir('pip'), dir);
    assert.ok(existsSync(join(dir, 'kept')));
    assert.deepEqual(readdirSync(join(store.root, 'tmp')), []);
    lock.release();
  });

  test('locked mounts exclude each other, shared ones do not; prune skips what a build holds', async () => {
    const store = await freshStore();
    const held = await store.lockCacheMount('held', { shared: false, timeoutMs: 1000 });
    await assert.rejects(store.lockCacheMount('held', { shared: true, timeoutMs: 0 }), (e) =>
      hasCode(e, 'LOCKED'),
    );
    writeFileSync(join(store.cacheMountDir('held'), 'f'), Buffer.alloc(1000));
    const s1 = await store.lockCacheMount('shared', { shared: true, timeoutMs: 1000 });
    const s2 = await store.lockCacheMount('shared', { shared: true, timeoutMs: 0 });
    writeFileSync(join(store.cacheMountDir('shared'), 'f'), Buffer.alloc(300));
    s1.release();
    s2.release();
    const free = await store.lockCacheMount('free', { shared: false, timeoutMs: 1000 });
    writeFileSync(join(store.cacheMountDir('free'), 'f'), Buffer.alloc(200));
    free.release();

    assert.deepEqual(store.cacheMountsUsage(), { count: 3, size: 1500, active: 1 });
    assert.deepEqual(await store.pruneCacheMounts(), { count: 2, bytes: 500 });
    assert.deepEqual(store.cacheMountsUsage(), { count: 1, size: 1000, active: 1 });
    held.release();
    assert.deepEqual(await store.pruneCacheMounts(), { count: 1, bytes: 1000 });
    assert.deepEqual(readdirSync(join(store.root, 'build-cache-mounts')), []);
  });

  test('an abort stops waiting for a cache mount', async () => {
    const store = await freshStore();
    const held = await store.lockCacheMount('m', { shared: false, timeoutMs: 1000 });
    const ac = new AbortController();
    const waiting = store.lockCacheMount('m', { shared: false, timeoutMs: 60_000, signal: ac.signal });
    ac.abort(new Error('cancelled'));
    await assert.rejects(waiting, /cancelled/);
    held.release();
  });

  test('the build cache usage counts cached layers and cache mounts', async () => {
    const store = await freshStore();
    assert.deepEqual(store.buildCacheUsage(), { count: 0, size: 0, reclaimable: 0, active: 0 });
    const layer = await putLayer(store, 'cached');
    store.putBuildCache({
      key: `sha256:${'a'.repeat(64)}`,
      createdBy: 'RUN x',
      layer: {
        diffId: layerDiffId('cached'),
        blobDigest: layer.blobDigest!,
        mediaType: layer.mediaType!,
        compressedSize: layer.compressedSize!,
      },
    });
    store.putBuildCache({ key: `sha256:${'b'.repeat(64)}`, createdBy: 'ENV a=b' });
    const lock = await store.lockCacheMount('m', { shared: false, timeoutMs: 1000 });
    writeFileSync(join(store.cacheMountDir('m'), 'f'), Buffer.alloc(64));
    lock.release();
    assert.deepEqual(store.buildCacheUsage(), {
      count: 3,
      size: layer.size + 64,
      reclaimable: layer.size + 64,
      active: 0,
    });
    store.pruneBuildCache();
    await store.pruneCacheMounts();
    assert.equal(store.buildCacheUsage().size, 0);
  });
});
