// Build cache store: a build step's cache key → the layer it added (or none). gc keeps what an
// entry names; `builder prune` forgets entries.
import { InvalidArgumentError, NotFoundError } from '../errors/index.js';
import { type Digest, parseDigest } from '../oci/index.js';
import type { ContentStore } from './_content.js';
import type { StoreDb } from './_db.js';
import { checkSize } from './_fs.js';
import type { ImageLayerRef } from './_images.js';
import type { LayerStore } from './_layers.js';

/** A build step's cached result: the layer it added, or none for a config-only step. */
export interface BuildCacheEntry {
  key: string;
  layer?: ImageLayerRef;
  /** The history `created_by` of the step. */
  createdBy: string;
}

interface BuildCacheRow {
  key: string;
  diff_id: string | null;
  blob_digest: string | null;
  media_type: string | null;
  compressed_size: number | null;
  created_by: string;
}

export class BuildCacheStore {
  constructor(
    private readonly db: StoreDb,
    private readonly content: ContentStore,
    private readonly layers: LayerStore,
  ) {}

  getBuildCache(key: string): BuildCacheEntry | undefined {
    const row = this.db.q('SELECT * FROM build_cache WHERE key = ?').get(key) as BuildCacheRow | undefined;
    if (!row) return undefined;
    return {
      key: row.key,
      createdBy: row.created_by,
      ...(row.diff_id
        ? {
            layer: {
              diffId: row.diff_id as Digest,
              blobDigest: row.blob_digest as Digest,
              mediaType: row.media_type ?? '',
              compressedSize: row.compressed_size ?? 0,
            },
          }
        : {}),
    };
  }

  /**
   * Record a step's result. The layer and its blob must be in the store already (the caller
   * holds a lease on them until this commits); from then on gc keeps them for the cache.
   */
  putBuildCache(entry: BuildCacheEntry): void {
    this.db.assertWritable('write the build cache');
    if (!/^sha256:[a-f0-9]{64}$/.test(entry.key))
      throw new InvalidArgumentError(`invalid cache key "${entry.key}"`);
    const l = entry.layer;
    if (l) {
      parseDigest(l.diffId);
      parseDigest(l.blobDigest);
      checkSize(l.compressedSize, `compressed size for layer ${l.diffId}`);
    }
    this.db.tx(() => {
      if (l && (!this.layers.getLayer(l.diffId) || !this.content.hasBlob(l.blobDigest))) {
        throw new NotFoundError(`cannot cache build step: layer ${l.diffId} is not in the store`);
      }
      const now = Date.now();
      this.db
        .q(
          `INSERT INTO build_cache (key, diff_id, blob_digest, media_type, compressed_size, created_by, created_at, used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET diff_id = excluded.diff_id, blob_digest = excluded.blob_digest,
           media_type = excluded.media_type, compressed_size = excluded.compressed_size,
           created_by = excluded.created_by, used_at = excluded.used_at`,
        )
        .run(
          entry.key,
          l?.diffId ?? null,
          l?.blobDigest ?? null,
          l?.mediaType ?? null,
          l?.compressedSize ?? null,
          entry.createdBy,
          now,
          now,
        );
    });
  }

  /** Forget one entry (a poisoned one: its layer is missing or corrupt). */
  dropBuildCache(key: string): void {
    this.db.assertWritable('write the build cache');
    this.db.tx(() => this.db.q('DELETE FROM build_cache WHERE key = ?').run(key));
  }

  /** Forget the whole build cache (gc then frees what only the cache kept); returns the count. */
  pruneBuildCache(): number {
    this.db.assertWritable('prune the build cache');
    return this.db.tx(() => this.db.q('DELETE FROM build_cache').run().changes);
  }

  buildCacheCount(): number {
    return this.db.q('SELECT COUNT(*) FROM build_cache').pluck().get() as number;
  }
}
