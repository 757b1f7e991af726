import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  imageBlobs,
  imageConfig,
  LAYER_MEDIA_TYPE,
  layerBlob,
  layerDiffId,
  putImage,
  putLayer,
  seededBytes,
  storeProblems,
} from '../../test/helpers/store-fixtures.js';
import { hasCode } from '../errors/index.js';
import { type Digest, digestHex, sha256Digest } from '../oci/index.js';
import { readAll } from '../util/index.js';
import { SCHEMA_VERSION, Store } from './index.js';

const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function freshStore(): Promise<Store> {
  const root = await mkdtemp(join(tmpdir(), 'berth-store-'));
  roots.push(root);
  return Store.open(join(root, 'store'));
}

function code(c: string) {
  return (err: unknown) => hasCode(err, c as never);
}

const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

describe('open', () => {
  test('creates the layout and migrates once', async () => {
    const store = await freshStore();
    for (const d of ['blobs/sha256', 'ingest', 'layers', 'l', 'tmp', 'berth.db'])
      assert.ok(existsSync(join(store.root, d)), d);
    store.close();
    const again = Store.open(store.root);
    const db = new Database(join(store.root, 'berth.db'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    again.close();
  });

  test('refuses a schema newer than it knows', async () => {
    const store = await freshStore();
    store.close();
    const db = new Database(join(store.root, 'berth.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(() => Store.open(store.root), code('UNSUPPORTED'));
  });

  test('read-only handles read but do not write', async () => {
    const store = await freshStore();
    await putImage(store, { seed: 'ro', layers: ['ro1'], names: ['docker.io/library/ro:latest'] });
    store.close();
    const ro = Store.open(store.root, { readOnly: true });
    assert.equal(ro.listImages().length, 1);
    await assert.rejects(ro.putBlob(Buffer.from('x')), code('UNSUPPORTED'));
    ro.close();
  });

  test('sweeps temporary entries of dead processes, keeps live ones', async () => {
    const store = await freshStore();
    const dead = deadPid();
    const deadStage = join(store.root, 'tmp', `stage-${dead}-abcdef`);
    mkdirSync(join(deadStage, 'usr'), { recursive: true });
    const deadBlobTmp = join(store.root, 'blobs', 'sha256', `.tmp-${dead}-0123`);
    writeFileSync(deadBlobTmp, 'x');
    const mine = await store.createStagingDir();
    store.close();
    Store.open(store.root).close();
    assert.ok(!existsSync(deadStage));
    assert.ok(!existsSync(deadBlobTmp));
    assert.ok(existsSync(mine));
  });
});

describe('blobs and ingest', () => {
  const data = seededBytes('ingest', 100_000);
  const digest = sha256Digest(data);

  test('write + commit verifies and stores the blob', async () => {
    const store = await freshStore();
    const ingest = await store.beginIngest({ digest, size: data.length });
    assert.equal(ingest.alreadyPresent, false);
    assert.equal(ingest.offset, 0);
    for (let i = 0; i < data.length; i += 7000) ingest.write(data.subarray(i, i + 7000));
    await ingest.commit();
    assert.ok(store.hasBlob(digest));
    assert.equal(store.blobSize(digest), data.length);
    assert.deepEqual(await store.readBlob(digest), data);
    assert.deepEqual(await readAll(store.openBlob(digest)), data);
    assert.deepEqual(
      readdirSync(join(store.root, 'ingest')).filter((n) => n.endsWith('.partial')),
      [],
    );
    const again = await store.beginIngest({ digest, size: data.length });
    assert.equal(again.alreadyPresent, true);
  });

  test('a digest mismatch throws and deletes the partial', async () => {
    const store = await freshStore();
    const wrong = sha256Digest('something else');
    const ingest = await store.beginIngest({ digest: wrong });
    ingest.write(data);
    await assert.rejects(ingest.commit(), (err: unknown) => {
      assert.ok(hasCode(err, 'DIGEST_MISMATCH'));
      assert.match(err.message, new RegExp(`expected ${wrong}, got ${digest}`));
      return true;
    });
    assert.ok(!store.hasBlob(wrong));
    assert.ok(!existsSync(join(store.root, 'ingest', `${digestHex(wrong)}.partial`)));
  });

  test('a truncated blob fails at commit, an oversize write fails at write', async () => {
    const store = await freshStore();
    const short = await store.beginIngest({ digest, size: data.length });
    short.write(data.subarray(0, 500));
    await assert.rejects(short.commit(), code('SIZE_LIMIT'));
    assert.ok(!store.hasBlob(digest));

    const small = Buffer.from('0123456789');
    const big = await store.beginIngest({ digest: sha256Digest(small), size: 10 });
    big.write(small.subarray(0, 6));
    assert.throws(() => big.write(Buffer.from('abcde')), code('SIZE_LIMIT'));
    big.write(small.subarray(6));
    await big.commit();
    assert.deepEqual(await store.readBlob(sha256Digest(small)), small);
  });

  test('abort({keep}) leaves a partial that the next ingest resumes', async () => {
    const store = await freshStore();
    const first = await store.beginIngest({ digest, size: data.length });
    first.write(data.subarray(0, 30_000));
    first.write(data.subarray(30_000, 41_234));
    first.abort({ keep: true });
    assert.ok(!store.hasBlob(digest));

    const second = await store.beginIngest({ digest, size: data.length });
    assert.equal(second.alreadyPresent, false);
    assert.equal(second.offset, 41_234);
    assert.deepEqual(await readAll(second.readPartial()), data.subarray(0, 41_234));
    second.write(data.subarray(41_234));
    await second.commit();
    assert.deepEqual(await store.readBlob(digest), data);
  });

  test('a complete partial left by a writer that died before the rename is committed on resume', async () => {
    const store = await freshStore();
    const partial = join(store.root, 'ingest', `${digestHex(digest)}.partial`);
    await writeFile(partial, data);
    const ingest = await store.beginIngest({ digest, size: data.length });
    assert.equal(ingest.alreadyPresent, true);
    assert.deepEqual(await store.readBlob(digest), data);
    assert.ok(!existsSync(partial));

    const other = seededBytes('other', 64);
    await writeFile(
      join(store.root, 'ingest', `${digestHex(sha256Digest(other))}.partial`),
      seededBytes('junk', 64),
    );
    const restart = await store.beginIngest({ digest: sha256Digest(other), size: 64 });
    assert.equal(restart.offset, 0);
    restart.write(other);
    await restart.commit();
    assert.ok(store.hasBlob(sha256Digest(other)));
  });

  test('abort() without keep deletes the partial', async () => {
    const store = await freshStore();
    const ingest = await store.beginIngest({ digest, size: data.length });
    ingest.write(data.subarray(0, 10));
    ingest.abort();
    const next = await store.beginIngest({ digest, size: data.length });
    assert.equal(next.offset, 0);
    next.abort();
  });

  test('a second ingest of the same digest waits, then sees it present', async () => {
    const store = await freshStore();
    const first = await store.beginIngest({ digest, size: data.length });
    let secondDone = false;
    const second = store.beginIngest({ digest, size: data.length }).then((i) => {
      secondDone = true;
      return i;
    });
    // Not synchronisation: a bounded negative check. While `first` holds the digest's lock the
    // second ingest must not finish; if it could, 50 ms is ample for it to, and this fails.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(secondDone, false);
    first.write(data);
    await first.commit();
    assert.equal((await second).alreadyPresent, true);
    await assert.rejects(
      (async () => {
        const held = await store.beginIngest({ digest: sha256Digest('held'), size: 4 });
        try {
          await store.beginIngest({ digest: sha256Digest('held'), size: 4 }, { timeoutMs: 50 });
        } finally {
          held.abort();
        }
      })(),
      code('LOCKED'),
    );
  });

  test('putBlob is idempotent and verifies; readBlob catches corruption and limits', async () => {
    const store = await freshStore();
    const doc = Buffer.from('{"hello":"world"}');
    const d = await store.putBlob(doc);
    assert.equal(d, sha256Digest(doc));
    assert.equal(await store.putBlob(doc, d), d);
    await assert.rejects(store.putBlob(Buffer.from('other'), d), code('DIGEST_MISMATCH'));
    assert.deepEqual(await store.readBlob(d), doc);
    await assert.rejects(store.readBlob(d, { limit: 4 }), code('SIZE_LIMIT'));
    await writeFile(store.blobPath(d), '{"hello":"w0rld"}');
    await assert.rejects(store.readBlob(d), code('DIGEST_MISMATCH'));
    await assert.rejects(store.readBlob(sha256Digest('absent')), code('NOT_FOUND'));
    assert.throws(() => store.openBlob(sha256Digest('absent')), code('NOT_FOUND'));
    assert.throws(() => store.blobPath('sha256:../../etc' as Digest), code('INVALID_ARGUMENT'));
  });

  test('adoptBlobFile moves or copies a verified file', async () => {
    const store = await freshStore();
    const src = join(store.root, 'tmp', 'stage-adopt');
    const bytes = seededBytes('adopt', 5000);
    await writeFile(src, bytes);
    await assert.rejects(
      store.adoptBlobFile(src, sha256Digest('nope'), { copy: true }),
      code('DIGEST_MISMATCH'),
    );
    assert.ok(existsSync(src));
    assert.equal(await store.adoptBlobFile(src, sha256Digest(bytes), { copy: true }), sha256Digest(bytes));
    assert.ok(existsSync(src));
    await rm(store.blobPath(sha256Digest(bytes)));
    await store.adoptBlobFile(src, sha256Digest(bytes));
    assert.ok(!existsSync(src));
    assert.deepEqual(await store.readBlob(sha256Digest(bytes)), bytes);
  });
});

describe('layers', () => {
  test('two commits of the same diffID race to one dir without error', async () => {
    const store = await freshStore();
    const diffId = layerDiffId('race');
    const stage = async (text: string) => {
      const dir = await store.createStagingDir();
      await writeFile(join(dir, 'f'), text);
      return dir;
    };
    const [s1, s2] = await Promise.all([stage('one'), stage('one')]);
    const info = { diffId, size: 3, tarSize: 1536 };
    const [a, b] = await Promise.all([store.commitLayer(s1, info), store.commitLayer(s2, info)]);
    assert.equal(a.path, b.path);
    assert.equal(a.path, store.layerDiffPath(diffId));
    assert.equal(await readFile(join(a.path, 'f'), 'utf8'), 'one');
    assert.deepEqual(readdirSync(join(store.root, 'tmp')), []);
    assert.deepEqual(readdirSync(join(store.root, 'layers')), [digestHex(diffId)]);
    const rec = store.getLayer(diffId)!;
    assert.equal(rec.refcount, 0);
    assert.equal(rec.tarSize, 1536);
    assert.equal(rec.shortLink, store.layerShortLink(diffId));
    assert.match(rec.shortLink, /^l\/[A-Z2-7]{26}$/);
    assert.equal(realpathSync(join(store.root, rec.shortLink)), realpathSync(rec.path));
    assert.ok(!readlinkSync(join(store.root, rec.shortLink)).startsWith('/'), 'short link is relative');
    assert.deepEqual(storeProblems(store.root, { idle: true }), []);
  });

  test('commitLayer only accepts this store’s staging dirs', async () => {
    const store = await freshStore();
    const outside = await mkdtemp(join(tmpdir(), 'berth-outside-'));
    roots.push(outside);
    await assert.rejects(
      store.commitLayer(outside, { diffId: layerDiffId('x'), size: 0, tarSize: 0 }),
      code('INVALID_ARGUMENT'),
    );
  });

  test('getLayer needs both the row and the dir', async () => {
    const store = await freshStore();
    const rec = await putLayer(store, 'gone');
    assert.ok(store.getLayer(rec.diffId));
    await rm(join(store.root, 'layers', digestHex(rec.diffId)), { recursive: true });
    assert.equal(store.getLayer(rec.diffId), undefined);
    // committing it again repairs it
    await putLayer(store, 'gone');
    assert.ok(store.getLayer(rec.diffId));
  });
});

describe('images', () => {
  const bbName = 'docker.io/library/bb:latest';

  test('commitImage → listImages / resolveImage by name, id, prefix, digests', async () => {
    const store = await freshStore();
    const repoDigest = 'docker.io/library/bb@sha256:' + 'a'.repeat(64);
    const img = await putImage(store, {
      seed: 'bb',
      layers: ['l1', 'l2', 'l1'],
      names: [bbName],
      repoDigests: [repoDigest],
    });
    assert.deepEqual(img.names, [bbName]);
    assert.deepEqual(img.repoDigests, [repoDigest]);
    assert.deepEqual(img.layers, [layerDiffId('l1'), layerDiffId('l2'), layerDiffId('l1')]);
    assert.equal(img.layerBlobs[1]!.blobDigest, sha256Digest(layerBlob('l2')));
    assert.equal(img.layerBlobs[1]!.mediaType, LAYER_MEDIA_TYPE);
    assert.equal(img.size, store.getLayer(layerDiffId('l1'))!.size + store.getLayer(layerDiffId('l2'))!.size);
    assert.deepEqual(img.platform, { os: 'linux', architecture: 'amd64' });
    assert.equal(img.created, '2024-01-01T00:00:00Z');
    assert.equal(store.getLayer(layerDiffId('l1'))!.refcount, 2);
    assert.equal(store.getLayer(layerDiffId('l2'))!.refcount, 1);

    const hex = digestHex(img.id);
    for (const key of [
      bbName,
      img.id,
      hex,
      hex.slice(0, 3),
      `sha256:${hex.slice(0, 12)}`,
      img.manifestDigest,
      repoDigest,
    ]) {
      assert.equal(store.resolveImage(key).id, img.id, key);
    }
    assert.deepEqual(
      store.listImages().map((i) => i.id),
      [img.id],
    );
    assert.throws(() => store.resolveImage('docker.io/library/nope:latest'), code('NOT_FOUND'));
    assert.throws(() => store.resolveImage('ab'), code('NOT_FOUND'));
    assert.equal(store.findImage('docker.io/library/nope:latest'), undefined);

    // re-committing the same image keeps one row and the same refcounts
    const again = await putImage(store, { seed: 'bb', layers: ['l1', 'l2', 'l1'], names: [bbName] });
    assert.equal(again.addedAt, img.addedAt);
    assert.equal(store.getLayer(layerDiffId('l1'))!.refcount, 2);
    assert.deepEqual(storeProblems(store.root, { idle: true }), []);
  });

  test('an ambiguous id prefix is a conflict', async () => {
    const store = await freshStore();
    const first = await putImage(store, { seed: 'amb-0', layers: ['x'] });
    const prefix = digestHex(first.id).slice(0, 3);
    let i = 1;
    while (digestHex(sha256Digest(imageConfig(`amb-${i}`, ['x']))).slice(0, 3) !== prefix) i++;
    await putImage(store, { seed: `amb-${i}`, layers: ['x'] });
    assert.throws(() => store.resolveImage(prefix), code('CONFLICT'));
    assert.equal(store.resolveImage(digestHex(first.id)).id, first.id);
  });

  test('commitImage refuses missing layers or blobs', async () => {
    const store = await freshStore();
    const { config, manifest } = imageBlobs('missing', ['m1']);
    const base = {
      id: sha256Digest(config),
      manifestDigest: sha256Digest(manifest),
      manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      layers: [
        {
          diffId: layerDiffId('m1'),
          blobDigest: sha256Digest(layerBlob('m1')),
          mediaType: LAYER_MEDIA_TYPE,
          compressedSize: 1,
        },
      ],
      names: [bbName],
      platform: { os: 'linux', architecture: 'amd64' },
    };
    assert.throws(() => store.commitImage(base), code('NOT_FOUND'));
    await store.putBlob(config);
    await store.putBlob(manifest);
    assert.throws(() => store.commitImage(base), /layer sha256:[0-9a-f]{64} is not in the store/);
    await putLayer(store, 'm1');
    assert.equal(store.commitImage(base).id, base.id);
    assert.deepEqual(storeProblems(store.root), []);
  });

  test('names move between images; the loser becomes dangling', async () => {
    const store = await freshStore();
    const a = await putImage(store, { seed: 'a', layers: ['s'], names: [bbName] });
    const b = await putImage(store, {
      seed: 'b',
      layers: ['s', 't'],
      names: [bbName, 'docker.io/library/b:1'],
    });
    assert.equal(store.resolveImage(bbName).id, b.id);
    assert.deepEqual(
      store.listImages({ dangling: true }).map((i) => i.id),
      [a.id],
    );
    assert.deepEqual(
      store.listImages({ dangling: false }).map((i) => i.id),
      [b.id],
    );
    store.tagImage(a.id, 'docker.io/library/a:old');
    assert.deepEqual(store.resolveImage(a.id).names, ['docker.io/library/a:old']);
    assert.equal(store.listImages({ dangling: true }).length, 0);
    assert.equal(store.untag('docker.io/library/a:old'), a.id);
    assert.throws(() => store.untag('docker.io/library/a:old'), code('NOT_FOUND'));
    assert.throws(() => store.tagImage(sha256Digest('nothing'), 'x'), code('NOT_FOUND'));
    assert.deepEqual(store.resolveImage(a.id).names, []);
  });

  test('removeImage follows docker rmi', async () => {
    const store = await freshStore();
    const rd = `docker.io/library/bb@sha256:${'b'.repeat(64)}`;
    const img = await putImage(store, {
      seed: 'rm',
      layers: ['r1', 'r2'],
      names: [bbName, 'docker.io/library/bb:1'],
      repoDigests: [rd],
    });
    assert.throws(
      () => store.removeImage(img.id),
      (err: unknown) => hasCode(err, 'CONFLICT') && /referenced by 2 names, use -f/.test(err.message),
    );
    assert.deepEqual(store.removeImage(bbName), { untagged: [bbName], deleted: [] });
    assert.equal(store.getLayer(layerDiffId('r1'))!.refcount, 1);
    assert.deepEqual(store.removeImage('docker.io/library/bb:1'), {
      untagged: ['docker.io/library/bb:1', rd],
      deleted: [img.id],
    });
    assert.equal(store.getLayer(layerDiffId('r1'))!.refcount, 0);
    assert.throws(() => store.removeImage(bbName), code('NOT_FOUND'));

    const again = await putImage(store, {
      seed: 'rm',
      layers: ['r1', 'r2'],
      names: [bbName, 'docker.io/library/bb:1'],
    });
    assert.deepEqual(store.removeImage(digestHex(again.id).slice(0, 6), { force: true }), {
      untagged: ['docker.io/library/bb:1', bbName],
      deleted: [again.id],
    });
    const single = await putImage(store, { seed: 'rm', layers: ['r1'], names: [bbName] });
    assert.deepEqual(store.removeImage(single.id).deleted, [single.id]);
    const dangling = await putImage(store, { seed: 'rm', layers: ['r1'] });
    assert.deepEqual(store.removeImage(dangling.id), { untagged: [], deleted: [dangling.id] });
    assert.equal(store.listImages().length, 0);
    assert.deepEqual(storeProblems(store.root, { idle: true }), []);
  });
});

describe('gc and disk usage', () => {
  test('frees what no image uses, keeps shared and leased layers', async () => {
    const store = await freshStore();
    const a = await putImage(store, {
      seed: 'a',
      layers: ['base', 'a1'],
      names: ['docker.io/library/a:latest'],
    });
    const b = await putImage(store, {
      seed: 'b',
      layers: ['base', 'b1'],
      names: ['docker.io/library/b:latest'],
    });
    assert.deepEqual(await store.gc({ graceMs: 0 }), { blobs: 0, layers: 0, bytes: 0 });

    store.removeImage('docker.io/library/a:latest');
    // the default grace period protects what was written a moment ago
    assert.equal((await store.gc()).layers, 0);
    const freed = await store.gc({ graceMs: 0 });
    assert.equal(freed.layers, 1);
    assert.equal(freed.blobs, 3); // a's config, manifest and a1's layer blob
    assert.ok(store.getLayer(layerDiffId('base')));
    assert.equal(store.getLayer(layerDiffId('a1')), undefined);
    assert.ok(!existsSync(join(store.root, store.layerShortLink(layerDiffId('a1')))));
    assert.ok(!store.hasBlob(a.id));
    assert.ok(!store.hasBlob(a.manifestDigest));
    assert.ok(store.hasBlob(sha256Digest(layerBlob('base'))));
    assert.ok(store.hasBlob(b.id));
    assert.deepEqual(storeProblems(store.root, { idle: true }), []);

    // a lease protects a layer nothing references yet; gc frees it once the lease ends
    await store.withLease(async (lease) => {
      lease.addLayer(layerDiffId('leased'));
      lease.addBlob(sha256Digest(layerBlob('leased')));
      await putLayer(store, 'leased');
      const during = await store.gc({ graceMs: 0 });
      assert.equal(during.layers, 0);
      assert.equal(during.blobs, 0);
      assert.ok(store.getLayer(layerDiffId('leased')));
    });
    const afterLease = await store.gc({ graceMs: 0 });
    assert.equal(afterLease.layers, 1);
    assert.equal(afterLease.blobs, 1);

    store.removeImage(b.id);
    await store.gc({ graceMs: 0 });
    assert.deepEqual(readdirSync(join(store.root, 'layers')), []);
    assert.deepEqual(readdirSync(join(store.root, 'l')), []);
    assert.deepEqual(readdirSync(join(store.root, 'blobs', 'sha256')), []);
    assert.deepEqual(storeProblems(store.root, { idle: true }), []);
  });

  test('ignores leases of dead processes and sweeps stale downloads', async () => {
    const store = await freshStore();
    await putLayer(store, 'orphan');
    // a lease row whose owner is gone: no process holds its lock file
    const db = new Database(join(store.root, 'berth.db'));
    db.prepare('INSERT INTO leases (id, pid, created_at) VALUES (?, ?, ?)').run(
      'deadbeef',
      deadPid(),
      Date.now(),
    );
    db.prepare('INSERT INTO lease_resources (lease_id, kind, key) VALUES (?, ?, ?)').run(
      'deadbeef',
      'layer',
      layerDiffId('orphan'),
    );
    db.close();
    writeFileSync(join(store.root, 'leases', 'deadbeef.lock'), '');

    const old = seededBytes('old', 100);
    const oldIngest = await store.beginIngest({ digest: sha256Digest(old) });
    oldIngest.write(old.subarray(0, 50));
    oldIngest.abort({ keep: true });
    const oldPartial = join(store.root, 'ingest', `${digestHex(sha256Digest(old))}.partial`);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(oldPartial, twoDaysAgo, twoDaysAgo);
    const fresh = seededBytes('fresh', 100);
    const freshIngest = await store.beginIngest({ digest: sha256Digest(fresh) });
    freshIngest.write(fresh.subarray(0, 50));
    freshIngest.abort({ keep: true });

    const res = await store.gc({ graceMs: 0 });
    assert.equal(res.layers, 1);
    assert.ok(!existsSync(oldPartial));
    assert.ok(existsSync(join(store.root, 'ingest', `${digestHex(sha256Digest(fresh))}.partial`)));
    assert.deepEqual(readdirSync(join(store.root, 'leases')), []);
    assert.equal((await store.beginIngest({ digest: sha256Digest(fresh) })).offset, 50);
  });

  test('diskUsage counts images, layers and blobs', async () => {
    const store = await freshStore();
    await putImage(store, { seed: 'a', layers: ['base', 'a1'], names: ['docker.io/library/a:latest'] });
    await putImage(store, { seed: 'b', layers: ['base', 'b1', 'b1'], names: ['docker.io/library/b:latest'] });
    await putLayer(store, 'loose');
    const size = (s: string) => store.getLayer(layerDiffId(s))!.size;
    const du = store.diskUsage();
    const imageBytes = size('base') + size('a1') + size('b1');
    assert.deepEqual(du.images, { count: 2, size: imageBytes, reclaimable: imageBytes });
    assert.deepEqual(du.layers, { count: 4, size: imageBytes + size('loose') });
    const { config: ca, manifest: ma } = imageBlobs('a', ['base', 'a1']);
    const { config: cb, manifest: mb } = imageBlobs('b', ['base', 'b1', 'b1']);
    assert.deepEqual(du.blobs, {
      count: 8,
      size: 4 * 4096 + ca.length + ma.length + cb.length + mb.length,
    });
  });
});
