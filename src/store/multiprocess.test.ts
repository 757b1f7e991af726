import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { putImage, seededBytes, storeProblems } from '../../test/helpers/store-fixtures.js';
import { hasCode } from '../errors/index.js';
import { digestHex, sha256Digest } from '../oci/index.js';
import { readAll } from '../util/index.js';
import { Store } from './index.js';

const CHILD = fileURLToPath(new URL('../../test/helpers/store-child.js', import.meta.url));

const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

async function freshRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-store-mp-'));
  roots.push(dir);
  return join(dir, 'store');
}

function child(args: string[]): { proc: ChildProcess; stderr: () => string } {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  return { proc, stderr: () => err };
}

async function exitOf(proc: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (proc.exitCode !== null || proc.signalCode !== null)
    return { code: proc.exitCode, signal: proc.signalCode };
  const [code, signal] = (await once(proc, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal };
}

test('processes committing, removing and collecting the same images keep the store consistent', async () => {
  const root = await freshRoot();
  // all children open the fresh root at once: the migration race is part of the test
  const children = ['p1', 'p2', 'p3', 'p4'].map((seed) => child(['churn', root, seed, '60']));
  for (const c of children) {
    const { code } = await exitOf(c.proc);
    assert.equal(code, 0, c.stderr());
  }
  assert.deepEqual(storeProblems(root, { idle: true }), []);

  // and what is left can be pulled over, removed and collected down to nothing
  const store = Store.open(root);
  try {
    const img = await putImage(store, {
      seed: 'img-a',
      layers: ['base', 'a1', 'a2'],
      names: ['docker.io/library/a:latest'],
    });
    assert.equal(store.resolveImage('docker.io/library/a:latest').id, img.id);
    for (const i of store.listImages()) store.removeImage(i.id, { force: true });
    await store.gc({ graceMs: 0 });
    assert.deepEqual(readdirSync(join(root, 'layers')), []);
    assert.deepEqual(readdirSync(join(root, 'blobs', 'sha256')), []);
    assert.deepEqual(storeProblems(root, { idle: true }), []);
  } finally {
    store.close();
  }
});

test('a process killed mid-ingest leaves a resumable partial and no visible blob', async () => {
  const root = await freshRoot();
  const size = 256 * 1024;
  const written = 100_001;
  const bytes = seededBytes('killed', size);
  const digest = sha256Digest(bytes);
  Store.open(root).close();

  const c = child(['ingest-hang', root, 'killed', String(size), String(written)]);
  let out = '';
  for await (const chunk of c.proc.stdout!) {
    out += chunk.toString();
    if (out.includes('ready')) break;
  }
  assert.match(out, /ready/, c.stderr());

  const store = Store.open(root);
  try {
    // while the child lives it holds the ingest lock
    await assert.rejects(store.beginIngest({ digest, size }, { timeoutMs: 100 }), (err) =>
      hasCode(err, 'LOCKED'),
    );
    c.proc.kill('SIGKILL');
    assert.equal((await exitOf(c.proc)).signal, 'SIGKILL');

    assert.equal(store.hasBlob(digest), false);
    const ingest = await store.beginIngest({ digest, size });
    assert.equal(ingest.alreadyPresent, false);
    assert.equal(ingest.offset, written);
    assert.deepEqual(await readAll(ingest.readPartial()), bytes.subarray(0, written));
    ingest.write(bytes.subarray(written));
    await ingest.commit();
    assert.deepEqual(await store.readBlob(digest), bytes);
    assert.deepEqual(
      readdirSync(join(root, 'ingest')).filter(
        (n) => n.startsWith(digestHex(digest)) && n.endsWith('.partial'),
      ),
      [],
    );
  } finally {
    store.close();
  }
});

test('processes opening one new store at the same moment all succeed (WAL switch retried)', async () => {
  // three parallel first pulls once failed with "database is locked": the switch of a new
  // database to WAL answers SQLITE_BUSY without waiting. Several rounds, several processes.
  for (let round = 0; round < 4; round++) {
    const root = await freshRoot();
    const kids = Array.from({ length: 6 }, () => child(['open', root]));
    for (const k of kids) {
      const { code } = await exitOf(k.proc);
      assert.equal(code, 0, k.stderr());
    }
    const store = Store.open(root);
    store.close();
  }
});
