// Layer store: unpacked layers under layers/<hex>/diff keyed by diffID, with the short l/ links
// overlay mounts name them by, and their refcounted rows (the snapshotter of containerd's split).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readlinkSync, renameSync, symlinkSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { errnoCode, InvalidArgumentError } from '../errors/index.js';
import { type Digest, digestHex, parseDigest } from '../oci/index.js';
import { fsyncDir, removeAll, tempSibling } from '../util/index.js';
import type { StoreDb } from './_db.js';
import { base32, checkSize, isDir, unlinkIfExists } from './_fs.js';

export interface LayerRecord {
  diffId: Digest;
  /** Unpacked bytes. */
  size: number;
  /** Bytes of the uncompressed tar stream (docker-archive's layer.tar). */
  tarSize: number;
  /** Absolute path of the diff dir (the overlay lowerdir). */
  path: string;
  /** 'l/<SHORTID>', relative to the store root. */
  shortLink: string;
  blobDigest?: Digest;
  mediaType?: string;
  compressedSize?: number;
  /** Number of image layer slots pointing at this layer. */
  refcount: number;
}

export interface LayerRow {
  diff_id: Digest;
  size: number;
  tar_size: number;
  short_id: string;
  blob_digest: Digest | null;
  media_type: string | null;
  compressed_size: number | null;
  refcount: number;
  touched_at: number;
}

/** The 26-char l/ name of a layer: base32 of 128 bits of sha256(diffID), the same in every process. */
function shortIdFor(diffId: Digest): string {
  return base32(createHash('sha256').update(diffId).digest().subarray(0, 16));
}

export class LayerStore {
  constructor(private readonly db: StoreDb) {}

  /** An empty dir on the same filesystem as layers/, for unpacking one layer into. */
  async createStagingDir(): Promise<string> {
    this.db.assertWritable('create a staging dir');
    return mkdtemp(join(this.db.tmpDir, `stage-${process.pid}-`));
  }

  /**
   * Make a staged layer visible: rename it to layers/<hex>/diff and record it (refcount 0 until
   * an image uses it). If the layer is already there (another process won the race), the staging
   * dir is deleted and the existing layer returned. The rename happens inside the same database
   * transaction as the row, so gc (which also works inside one) never sees one without the other.
   */
  async commitLayer(
    staging: string,
    info: {
      diffId: Digest;
      size: number;
      tarSize: number;
      blobDigest?: Digest;
      mediaType?: string;
      compressedSize?: number;
    },
  ): Promise<LayerRecord> {
    this.db.assertWritable('commit a layer');
    const diffId = parseDigest(info.diffId);
    if (info.blobDigest !== undefined) parseDigest(info.blobDigest);
    checkSize(info.size, `size for layer ${diffId}`);
    checkSize(info.tarSize, `tar size for layer ${diffId}`);
    checkSize(info.compressedSize, `compressed size for layer ${diffId}`);
    const src = resolve(staging);
    if (dirname(src) !== this.db.tmpDir || !basename(src).startsWith('stage-') || !isDir(src)) {
      throw new InvalidArgumentError(
        `cannot commit layer ${diffId}: "${staging}" is not a staging dir of this store`,
      );
    }
    const layerDir = join(this.db.root, 'layers', digestHex(diffId));
    const diff = join(layerDir, 'diff');
    const short = shortIdFor(diffId);
    const trash: string[] = [];
    let moved = false;
    const record = this.db.tx(() => {
      const row = this.layerRow(diffId);
      const now = Date.now();
      if (row && isDir(diff)) {
        this.db
          .q(
            `UPDATE layers SET touched_at = ?, blob_digest = COALESCE(blob_digest, ?),
             media_type = COALESCE(media_type, ?), compressed_size = COALESCE(compressed_size, ?) WHERE diff_id = ?`,
          )
          .run(now, info.blobDigest ?? null, info.mediaType ?? null, info.compressedSize ?? null, diffId);
        this.linkShort(short, diffId);
        return this.toLayerRecord(this.layerRow(diffId)!);
      }
      // debris of a crash between rename and commit, or a damaged layer: move it aside
      if (existsSync(layerDir)) {
        const t = this.db.trashPath();
        renameSync(layerDir, t);
        trash.push(t);
      }
      mkdirSync(layerDir, { mode: 0o700 });
      renameSync(src, diff);
      moved = true;
      this.linkShort(short, diffId);
      // a row without a dir (damaged store) keeps its refcount: the images using it are whole again
      this.db
        .q(
          `INSERT INTO layers (diff_id, size, tar_size, short_id, blob_digest, media_type, compressed_size, refcount, touched_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)
         ON CONFLICT(diff_id) DO UPDATE SET size = excluded.size, tar_size = excluded.tar_size,
           blob_digest = excluded.blob_digest, media_type = excluded.media_type,
           compressed_size = excluded.compressed_size, touched_at = excluded.touched_at`,
        )
        .run(
          diffId,
          info.size,
          info.tarSize,
          short,
          info.blobDigest ?? null,
          info.mediaType ?? null,
          info.compressedSize ?? null,
          now,
        );
      return this.toLayerRecord(this.layerRow(diffId)!);
    });
    if (moved) {
      fsyncDir(layerDir);
      fsyncDir(join(this.db.root, 'layers'));
    } else {
      await removeAll(src);
    }
    for (const t of trash) await removeAll(t);
    return record;
  }

  /** The layer, if both its record and its diff dir exist. */
  getLayer(diffId: Digest): LayerRecord | undefined {
    const row = this.layerRow(parseDigest(diffId));
    if (!row || !isDir(this.layerDiffPath(diffId))) return undefined;
    return this.toLayerRecord(row);
  }

  layerDiffPath(diffId: Digest): string {
    return join(this.db.root, 'layers', digestHex(parseDigest(diffId)), 'diff');
  }

  /** 'l/<SHORTID>' relative to the root; a symlink to the layer's diff dir. */
  layerShortLink(diffId: Digest): string {
    return `l/${shortIdFor(parseDigest(diffId))}`;
  }

  /** The layer's row, dir or not (callers inside a transaction check the dir themselves). */
  layerRow(diffId: Digest): LayerRow | undefined {
    return this.db.q('SELECT * FROM layers WHERE diff_id = ?').get(diffId) as LayerRow | undefined;
  }

  private toLayerRecord(row: LayerRow): LayerRecord {
    const rec: LayerRecord = {
      diffId: row.diff_id,
      size: row.size,
      tarSize: row.tar_size,
      path: this.layerDiffPath(row.diff_id),
      shortLink: `l/${row.short_id}`,
      refcount: row.refcount,
    };
    if (row.blob_digest !== null) rec.blobDigest = row.blob_digest;
    if (row.media_type !== null) rec.mediaType = row.media_type;
    if (row.compressed_size !== null) rec.compressedSize = row.compressed_size;
    return rec;
  }

  /** (Re)point l/<short> at the layer's diff dir, atomically. */
  linkShort(short: string, diffId: Digest): void {
    const link = join(this.db.root, 'l', short);
    const target = `../layers/${digestHex(diffId)}/diff`;
    try {
      if (readlinkSync(link) === target) return;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'EINVAL') throw err;
    }
    const tmp = tempSibling(link);
    symlinkSync(target, tmp);
    try {
      renameSync(tmp, link);
    } catch (err) {
      unlinkIfExists(tmp);
      throw err;
    }
    // a symlink has no data to fsync: its directory entry is what must survive a crash
    fsyncDir(dirname(link));
  }
}
