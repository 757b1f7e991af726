// Fixtures for the store's container tests: images whose layers hold real files (so an overlay
// mount of them can be checked), container ids from seeds, and a checker of the container side
// of the store's invariants (rows ↔ dirs, no mounts left, nothing in tmp/).
import { mkdirSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';
import Database from 'better-sqlite3';
import { type Digest, digestHex, sha256Digest } from '../../src/oci/index.js';
import type { ImageRecord, Store } from '../../src/store/index.js';
import { MNT_DETACH, makedev, mknod, S_IFCHR, umount } from '../../src/util/index.js';
import { LAYER_MEDIA_TYPE } from './store-fixtures.js';

/** Layer content: path → file text, or WHITEOUT for an overlay whiteout (char device 0/0). */
export const WHITEOUT = Symbol('whiteout');
export type LayerFiles = Record<string, string | typeof WHITEOUT>;

export function containerIdFor(seed: string): string {
  return digestHex(sha256Digest(`container:${seed}`));
}

/** Commit one layer whose diff dir holds `files`; its diffID is derived from `seed`. */
export async function putFileLayer(store: Store, seed: string, files: LayerFiles): Promise<Digest> {
  const diffId = sha256Digest(`files-layer:${seed}`);
  if (store.getLayer(diffId)) return diffId;
  const staging = await store.createStagingDir();
  let size = 0;
  for (const [path, content] of Object.entries(files)) {
    const p = join(staging, path);
    mkdirSync(dirname(p), { recursive: true });
    if (content === WHITEOUT) {
      mknod(p, S_IFCHR, 0o644, makedev(0, 0));
    } else {
      await writeFile(p, content);
      size += Buffer.byteLength(content);
    }
  }
  await store.commitLayer(staging, { diffId, size, tarSize: 1024 });
  return diffId;
}

/** An image (config + manifest blobs, layers base first) made of file layers. */
export async function putFileImage(
  store: Store,
  spec: { seed: string; layers: LayerFiles[]; names?: string[] },
): Promise<ImageRecord> {
  const { seed, layers, names = [] } = spec;
  const diffIds: Digest[] = [];
  for (const [i, files] of layers.entries()) diffIds.push(await putFileLayer(store, `${seed}/${i}`, files));
  const config = Buffer.from(
    JSON.stringify({
      seed,
      os: 'linux',
      architecture: 'amd64',
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const configDigest = await store.putBlob(config);
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, config: { digest: configDigest, size: config.length }, seed }),
  );
  const manifestDigest = await store.putBlob(manifest);
  return store.commitImage({
    id: configDigest,
    manifestDigest,
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    layers: diffIds.map((diffId) => ({
      diffId,
      blobDigest: sha256Digest(`blob:${diffId}`),
      mediaType: LAYER_MEDIA_TYPE,
      compressedSize: 100,
    })),
    names,
    platform: { os: 'linux', architecture: 'amd64' },
  });
}

/**
 * A maker of fresh store roots (`<tmp>/<prefix>XXXXXX/store`); call it at the top of a test file.
 * After the file's tests, whatever is still mounted under them is detached (a failed test must
 * not make rm recurse into a mount) and they are deleted.
 */
export function freshRoots(prefix: string): () => Promise<string> {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) {
      for (const m of mountsUnder(d).reverse()) umount(m, MNT_DETACH);
      await rm(d, { recursive: true, force: true });
    }
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return join(dir, 'store');
  };
}

/** Mount points at or below `dir`. */
export function mountsUnder(dir: string): string[] {
  const real = realpathSync(dir);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === real || p.startsWith(`${real}/`));
}

/** Broken container invariants of the store at `root` (empty when consistent and idle). */
export function containerProblems(root: string): string[] {
  const problems: string[] = [];
  const db = new Database(join(root, 'berth.db'), { readonly: true });
  try {
    const fk = db.pragma('foreign_key_check') as unknown[];
    if (fk.length > 0) problems.push(`foreign_key_check: ${JSON.stringify(fk)}`);
    const ids = new Set(db.prepare('SELECT id FROM containers').pluck().all() as string[]);
    const dirs = new Set(readdirSync(join(root, 'containers')));
    for (const id of ids) if (!dirs.has(id)) problems.push(`container ${id} has no dir`);
    for (const d of dirs) if (!ids.has(d)) problems.push(`containers/${d} has no record`);
    const volumes = new Set(db.prepare('SELECT name FROM volumes').pluck().all() as string[]);
    for (const v of readdirSync(join(root, 'volumes'))) {
      if (!volumes.has(v)) problems.push(`volumes/${v} has no record`);
    }
    for (const m of mountsUnder(root)) problems.push(`${m} is still mounted`);
    for (const name of readdirSync(join(root, 'tmp'))) problems.push(`tmp/${name} left behind`);
  } finally {
    db.close();
  }
  return problems;
}

/**
 * Check rows against dirs and mounts while holding the database's write lock: every writer
 * changes a container's dirs and mounts only inside its transaction, so under that lock they
 * must agree exactly, at any moment, however many processes are busy.
 */
export function containerSnapshotProblems(root: string): string[] {
  const db = new Database(join(root, 'berth.db'));
  db.pragma('busy_timeout = 20000');
  try {
    return db
      .transaction(() => {
        const problems: string[] = [];
        const rows = db.prepare('SELECT id, name FROM containers').all() as { id: string; name: string }[];
        const names = new Set(rows.map((r) => r.name));
        if (names.size !== rows.length) problems.push(`duplicate names in ${JSON.stringify(rows)}`);
        const ids = new Set(rows.map((r) => r.id));
        const dirs = new Set(readdirSync(join(root, 'containers')));
        for (const id of ids) if (!dirs.has(id)) problems.push(`container ${id} has no dir`);
        for (const d of dirs) if (!ids.has(d)) problems.push(`containers/${d} has no record`);
        const containersDir = realpathSync(join(root, 'containers'));
        for (const m of mountsUnder(root)) {
          const id = m.startsWith(`${containersDir}/`)
            ? m.slice(containersDir.length + 1).split('/')[0]!
            : '';
          if (!ids.has(id) || m !== join(containersDir, id, 'merged')) problems.push(`stray mount ${m}`);
        }
        return problems;
      })
      .immediate();
  } finally {
    db.close();
  }
}
