// Fixtures for the store tests and their child processes: fake layers and images built from a
// seed (the store does not look inside layers, so a file per layer is enough), and a checker of
// the store's invariants that reads the database and the tree directly.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type Digest, digestHex, sha256Digest } from '../../src/oci/index.js';
import type { ImageRecord, LayerRecord, Store } from '../../src/store/index.js';

export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** Deterministic pseudo-random bytes. */
export function seededBytes(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let off = 0;
  for (let i = 0; off < length; i++) {
    off += createHash('sha256').update(`${seed}/${i}`).digest().copy(out, off);
  }
  return out;
}

export function layerDiffId(seed: string): Digest {
  return sha256Digest(`diff:${seed}`);
}

export function layerBlob(seed: string): Buffer {
  return seededBytes(`blob:${seed}`, 4096);
}

/** Ingest the layer's blob and commit an unpacked dir for it (unless already there). */
export async function putLayer(store: Store, seed: string): Promise<LayerRecord> {
  const blob = layerBlob(seed);
  const blobDigest = sha256Digest(blob);
  const ingest = await store.beginIngest({ digest: blobDigest, size: blob.length });
  if (!ingest.alreadyPresent) {
    ingest.write(blob.subarray(0, 1000));
    ingest.write(blob.subarray(1000));
    await ingest.commit();
  }
  const staging = await store.createStagingDir();
  const content = Buffer.from(`content of layer ${seed}\n`);
  await writeFile(join(staging, 'file'), content);
  return store.commitLayer(staging, {
    diffId: layerDiffId(seed),
    size: content.length,
    tarSize: 2048,
    blobDigest,
    mediaType: LAYER_MEDIA_TYPE,
    compressedSize: blob.length,
  });
}

export function imageConfig(seed: string, layers: string[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      seed,
      os: 'linux',
      architecture: 'amd64',
      rootfs: { type: 'layers', diff_ids: layers.map(layerDiffId) },
    }),
  );
}

export function imageBlobs(seed: string, layers: string[]): { config: Buffer; manifest: Buffer } {
  const config = imageConfig(seed, layers);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      config: { digest: sha256Digest(config), size: config.length },
      layers: layers.map((l) => ({ digest: sha256Digest(layerBlob(l)), size: 4096 })),
    }),
  );
  return { config, manifest };
}

/** Pull-like: lease everything first, fill what is missing, then one commitImage. */
export async function putImage(
  store: Store,
  spec: { seed: string; layers: string[]; names?: string[]; repoDigests?: string[] },
): Promise<ImageRecord> {
  const { config, manifest } = imageBlobs(spec.seed, spec.layers);
  const configDigest = sha256Digest(config);
  const manifestDigest = sha256Digest(manifest);
  return store.withLease(async (lease) => {
    lease.addBlob(configDigest);
    lease.addBlob(manifestDigest);
    for (const l of spec.layers) {
      lease.addLayer(layerDiffId(l));
      lease.addBlob(sha256Digest(layerBlob(l)));
    }
    await store.putBlob(config, configDigest);
    await store.putBlob(manifest, manifestDigest);
    for (const l of new Set(spec.layers)) {
      if (!store.getLayer(layerDiffId(l))) await putLayer(store, l);
    }
    return store.commitImage({
      id: configDigest,
      manifestDigest,
      manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      configMediaType: 'application/vnd.oci.image.config.v1+json',
      layers: spec.layers.map((l) => ({
        diffId: layerDiffId(l),
        blobDigest: sha256Digest(layerBlob(l)),
        mediaType: LAYER_MEDIA_TYPE,
        compressedSize: 4096,
      })),
      names: spec.names ?? [],
      repoDigests: spec.repoDigests ?? [],
      created: '2024-01-01T00:00:00Z',
      platform: { os: 'linux', architecture: 'amd64' },
    });
  });
}

/** Every broken invariant of the store at `root`, as readable lines (empty when consistent). */
export function storeProblems(root: string, options: { idle?: boolean } = {}): string[] {
  const problems: string[] = [];
  const db = new Database(join(root, 'berth.db'), { readonly: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') problems.push(`integrity_check: ${integrity}`);
    const fk = db.pragma('foreign_key_check') as unknown[];
    if (fk.length > 0) problems.push(`foreign_key_check: ${JSON.stringify(fk)}`);
    const layers = db.prepare('SELECT diff_id, short_id, refcount FROM layers').all() as {
      diff_id: Digest;
      short_id: string;
      refcount: number;
    }[];
    const slots = new Map(
      (
        db.prepare('SELECT diff_id, COUNT(*) AS n FROM image_layers GROUP BY diff_id').all() as {
          diff_id: string;
          n: number;
        }[]
      ).map((r) => [r.diff_id, r.n]),
    );
    for (const l of layers) {
      const diff = join(root, 'layers', digestHex(l.diff_id), 'diff');
      if (!existsSync(diff)) problems.push(`layer ${l.diff_id} has no dir`);
      else if (realpathSync(join(root, 'l', l.short_id)) !== realpathSync(diff)) {
        problems.push(`layer ${l.diff_id}: l/${l.short_id} does not point at its dir`);
      }
      if (l.refcount !== (slots.get(l.diff_id) ?? 0)) {
        problems.push(
          `layer ${l.diff_id}: refcount ${l.refcount} but ${slots.get(l.diff_id) ?? 0} image slots`,
        );
      }
    }
    const known = new Set(layers.map((l) => digestHex(l.diff_id)));
    for (const name of readdirSync(join(root, 'layers'))) {
      if (!known.has(name)) problems.push(`layers/${name} has no record`);
    }
    const blobs = db
      .prepare('SELECT id FROM images UNION SELECT digest FROM manifests')
      .pluck()
      .all() as Digest[];
    for (const d of blobs) {
      if (!existsSync(join(root, 'blobs', 'sha256', digestHex(d))))
        problems.push(`image blob ${d} is missing`);
    }
    if (options.idle) {
      const leases = db.prepare('SELECT COUNT(*) FROM leases').pluck().get() as number;
      if (leases > 0) problems.push(`${leases} leases left`);
      for (const name of readdirSync(join(root, 'tmp'))) problems.push(`tmp/${name} left behind`);
      for (const name of readdirSync(join(root, 'ingest'))) {
        if (name.endsWith('.partial')) problems.push(`ingest/${name} left behind`);
      }
      for (const name of readdirSync(join(root, 'blobs', 'sha256'))) {
        if (name.startsWith('.') || !statSync(join(root, 'blobs', 'sha256', name)).isFile()) {
          problems.push(`blobs/sha256/${name} is not a blob`);
        }
      }
    }
  } finally {
    db.close();
  }
  return problems;
}
