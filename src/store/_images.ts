// Image store: image records (id = config digest), their manifests, ordered layer slots (which
// hold the layers' refcounts), names and repo digests; docker's rmi rules live here.
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors/index.js';
import {
  type ContainerState,
  type Digest,
  isActiveState,
  isDigest,
  parseDigest,
  shortId,
} from '../oci/index.js';
import type { ContentStore } from './_content.js';
import type { StoreDb } from './_db.js';
import { checkSize } from './_fs.js';
import type { LayerStore } from './_layers.js';

export interface ImageLayerRef {
  diffId: Digest;
  blobDigest: Digest;
  mediaType: string;
  compressedSize: number;
}

export interface ImagePlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface NewImage {
  /** The config digest. */
  id: Digest;
  manifestDigest: Digest;
  manifestMediaType: string;
  configMediaType?: string;
  layers: ImageLayerRef[];
  /** Full normalized names ('docker.io/library/bb:latest'); taken from any image that has them. */
  names: string[];
  /** 'docker.io/library/bb@sha256:…' */
  repoDigests?: string[];
  created?: string;
  platform: ImagePlatform;
}

export interface ImageRecord {
  id: Digest;
  manifestDigest: Digest;
  manifestMediaType: string;
  configMediaType: string | undefined;
  names: string[];
  repoDigests: string[];
  created: string | undefined;
  /** Sum of the unpacked sizes of its distinct layers. */
  size: number;
  /** diffIDs, base first. */
  layers: Digest[];
  layerBlobs: ImageLayerRef[];
  platform: ImagePlatform;
  addedAt: string;
}

interface ImageRow {
  id: Digest;
  manifest_digest: Digest;
  manifest_media_type: string;
  config_media_type: string | null;
  created: string | null;
  os: string;
  architecture: string;
  variant: string | null;
  added_at: string;
}

interface ImageLayerRow {
  diff_id: Digest;
  blob_digest: Digest;
  media_type: string;
  compressed_size: number;
}

export class ImageStore {
  constructor(
    private readonly db: StoreDb,
    private readonly content: ContentStore,
    private readonly layers: LayerStore,
  ) {}

  /**
   * Make an image visible in one transaction: image row (id = config digest), manifest, ordered
   * layers with their refcounts, names (taken from whichever image had them; an image left with
   * no name becomes dangling) and repo digests. Every layer must be unpacked and the manifest and
   * config blobs present, checked inside the transaction so gc cannot interleave.
   */
  commitImage(rec: NewImage): ImageRecord {
    this.db.assertWritable('commit an image');
    const id = parseDigest(rec.id);
    parseDigest(rec.manifestDigest);
    for (const l of rec.layers) {
      parseDigest(l.diffId);
      parseDigest(l.blobDigest);
      checkSize(l.compressedSize, `compressed size for layer ${l.diffId}`);
    }
    for (const n of rec.names) {
      if (!n || /\s/.test(n)) throw new InvalidArgumentError(`invalid image name "${n}"`);
    }
    for (const r of rec.repoDigests ?? []) {
      const at = r.lastIndexOf('@');
      if (at <= 0 || !isDigest(r.slice(at + 1))) throw new InvalidArgumentError(`invalid repo digest "${r}"`);
    }
    const what = `cannot commit image ${shortId(id)}`;
    return this.db.tx(() => {
      for (const d of [id, rec.manifestDigest]) {
        if (!this.content.hasBlob(d)) throw new NotFoundError(`${what}: blob ${d} is not in the store`);
      }
      for (const l of rec.layers) {
        if (!this.layers.getLayer(l.diffId)) {
          throw new NotFoundError(`${what}: layer ${l.diffId} is not in the store`);
        }
      }
      if (this.db.q('SELECT 1 FROM images WHERE id = ?').get(id)) this.dropImageLayers(id);
      // one upsert: a re-commit of the same config keeps the row's added_at
      this.db
        .q(
          `INSERT INTO images (id, manifest_digest, manifest_media_type, config_media_type, created, os, architecture, variant, added_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest,
             manifest_media_type = excluded.manifest_media_type, config_media_type = excluded.config_media_type,
             created = excluded.created, os = excluded.os, architecture = excluded.architecture,
             variant = excluded.variant`,
        )
        .run(
          id,
          rec.manifestDigest,
          rec.manifestMediaType,
          rec.configMediaType ?? null,
          rec.created ?? null,
          rec.platform.os,
          rec.platform.architecture,
          rec.platform.variant ?? null,
          new Date().toISOString(),
        );
      const insertLayer = this.db.q(
        'INSERT INTO image_layers (image_id, position, diff_id, blob_digest, media_type, compressed_size) VALUES (?, ?, ?, ?, ?, ?)',
      );
      const incRef = this.db.q('UPDATE layers SET refcount = refcount + 1 WHERE diff_id = ?');
      rec.layers.forEach((l, i) => {
        insertLayer.run(id, i, l.diffId, l.blobDigest, l.mediaType, l.compressedSize);
        incRef.run(l.diffId);
      });
      this.db
        .q(
          `INSERT INTO manifests (digest, image_id, media_type) VALUES (?, ?, ?)
         ON CONFLICT(digest) DO UPDATE SET image_id = excluded.image_id, media_type = excluded.media_type`,
        )
        .run(rec.manifestDigest, id, rec.manifestMediaType);
      const setName = this.db.q(
        'INSERT INTO names (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id',
      );
      for (const n of rec.names) setName.run(n, id);
      const setRepoDigest = this.db.q(
        'INSERT INTO repo_digests (ref, image_id) VALUES (?, ?) ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id',
      );
      for (const r of rec.repoDigests ?? []) setRepoDigest.run(r, id);
      return this.imageRecord(id);
    });
  }

  /** Newest first. dangling: true → only images without a name; false → only named ones. */
  listImages(options: { dangling?: boolean } = {}): ImageRecord[] {
    const named = 'EXISTS (SELECT 1 FROM names n WHERE n.image_id = images.id)';
    const where = options.dangling === undefined ? '' : `WHERE ${options.dangling ? 'NOT ' : ''}${named}`;
    return this.db.snapshot(() => {
      const ids = this.db
        .q(`SELECT id FROM images ${where} ORDER BY added_at DESC, id`)
        .pluck()
        .all() as Digest[];
      return ids.map((id) => this.imageRecord(id));
    });
  }

  /**
   * Find an image by full name, 'repo@digest', full id, id prefix (≥ 3 hex, 'sha256:' optional)
   * or manifest digest. NotFoundError if none; ConflictError if an id prefix is ambiguous.
   */
  resolveImage(nameOrId: string): ImageRecord {
    const id = this.findImageId(nameOrId);
    if (!id) throw new NotFoundError(`image "${nameOrId}" not found`);
    return this.imageRecord(id);
  }

  findImage(nameOrId: string): ImageRecord | undefined {
    const id = this.findImageId(nameOrId);
    return id ? this.imageRecord(id) : undefined;
  }

  /** Point `name` at image `id`, taking it from any other image. */
  tagImage(id: Digest, name: string): void {
    this.db.assertWritable('tag an image');
    if (!name || /\s/.test(name)) throw new InvalidArgumentError(`invalid image name "${name}"`);
    this.db.tx(() => {
      if (!this.db.q('SELECT 1 FROM images WHERE id = ?').get(id)) {
        throw new NotFoundError(`cannot tag image ${id} as "${name}": no such image`);
      }
      this.db
        .q(
          'INSERT INTO names (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id',
        )
        .run(name, id);
    });
  }

  /** Remove a name; the image stays (dangling if that was its last name). Returns the image id. */
  untag(name: string): Digest {
    this.db.assertWritable('untag an image');
    return this.db.tx(() => {
      const id = this.db.q('SELECT image_id FROM names WHERE name = ?').pluck().get(name) as
        | Digest
        | undefined;
      if (!id) throw new NotFoundError(`cannot untag "${name}": no image has this name`);
      this.db.q('DELETE FROM names WHERE name = ?').run(name);
      return id;
    });
  }

  /**
   * docker rmi semantics. By name (or repo digest): remove that reference, and the image with it
   * when it was the last name. By id: delete the image with all its names, unless it has several
   * names and !force (ConflictError). Layer refcounts drop; files are freed by gc().
   * An image containers were created from is never deleted: without force that is a
   * ConflictError; with force its references go (by id: all of them, unless a container using it
   * is running) and the image stays, dangling, until its last container is removed.
   */
  removeImage(
    nameOrId: string,
    options: { force?: boolean } = {},
  ): { untagged: string[]; deleted: Digest[] } {
    this.db.assertWritable('remove an image');
    return this.db.tx(() => {
      const untagged: string[] = [];
      const deleted: Digest[] = [];
      const byName = this.db.q('SELECT image_id FROM names WHERE name = ?').pluck().get(nameOrId) as
        | Digest
        | undefined;
      const byRepoDigest = byName
        ? undefined
        : (this.db.q('SELECT image_id FROM repo_digests WHERE ref = ?').pluck().get(nameOrId) as
            | Digest
            | undefined);
      if (byName || byRepoDigest) {
        const id = (byName ?? byRepoDigest)!;
        this.db
          .q(byName ? 'DELETE FROM names WHERE name = ?' : 'DELETE FROM repo_digests WHERE ref = ?')
          .run(nameOrId);
        untagged.push(nameOrId);
        const names = this.imageNames(id);
        const keep = byName ? names.length > 0 : names.length > 0 || this.imageRepoDigests(id).length > 0;
        if (!keep && this.refuseOrKeepUsedImage(nameOrId, id, options)) return { untagged, deleted };
        if (!keep) {
          untagged.push(...this.imageRepoDigests(id));
          this.deleteImageRows(id);
          deleted.push(id);
        }
        return { untagged, deleted };
      }
      const id = this.findImageId(nameOrId);
      if (!id) throw new NotFoundError(`cannot remove image "${nameOrId}": no such image`);
      const names = this.imageNames(id);
      if (this.refuseOrKeepUsedImage(nameOrId, id, { ...options, byId: true })) {
        untagged.push(...names, ...this.imageRepoDigests(id));
        this.db.q('DELETE FROM names WHERE image_id = ?').run(id);
        this.db.q('DELETE FROM repo_digests WHERE image_id = ?').run(id);
        return { untagged, deleted };
      }
      if (names.length > 1 && !options.force) {
        throw new ConflictError(
          `cannot remove image "${nameOrId}": image is referenced by ${names.length} names, use -f`,
          { hint: `names: ${names.join(', ')}` },
        );
      }
      untagged.push(...names, ...this.imageRepoDigests(id));
      this.deleteImageRows(id);
      deleted.push(id);
      return { untagged, deleted };
    });
  }

  /**
   * For removeImage, about to delete image `id`: false if no container uses it; true if one does
   * and force allows keeping it (dangling); ConflictError otherwise. docker refuses even a forced
   * removal by id while a container using the image runs.
   */
  private refuseOrKeepUsedImage(
    ref: string,
    id: Digest,
    options: { force?: boolean; byId?: boolean },
  ): boolean {
    const users = this.containersUsingImage(id);
    if (users.length === 0) return false;
    const running = options.byId ? users.find((u) => isActiveState(u.state)) : undefined;
    if (!options.force || running) {
      const user = running ?? users[0]!;
      throw new ConflictError(
        `cannot remove image "${ref}": image is being used by ${running ? 'running ' : ''}container ${user.id.slice(0, 12)}`,
        {
          hint: running
            ? 'stop and remove the container first'
            : 'remove the container first, or use -f to untag it',
        },
      );
    }
    return true;
  }

  private imageNames(id: Digest): string[] {
    return this.db.q('SELECT name FROM names WHERE image_id = ? ORDER BY name').pluck().all(id) as string[];
  }

  private imageRepoDigests(id: Digest): string[] {
    return this.db
      .q('SELECT ref FROM repo_digests WHERE image_id = ? ORDER BY ref')
      .pluck()
      .all(id) as string[];
  }

  private imageRecord(id: Digest): ImageRecord {
    const row = this.db.q('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
    if (!row) throw new NotFoundError(`image ${id} not found`);
    const layerRows = this.db
      .q(
        'SELECT diff_id, blob_digest, media_type, compressed_size FROM image_layers WHERE image_id = ? ORDER BY position',
      )
      .all(id) as ImageLayerRow[];
    const size = this.db
      .q(
        'SELECT COALESCE(SUM(size), 0) FROM layers WHERE diff_id IN (SELECT diff_id FROM image_layers WHERE image_id = ?)',
      )
      .pluck()
      .get(id) as number;
    const platform: ImagePlatform = { os: row.os, architecture: row.architecture };
    if (row.variant !== null) platform.variant = row.variant;
    return {
      id: row.id,
      manifestDigest: row.manifest_digest,
      manifestMediaType: row.manifest_media_type,
      configMediaType: row.config_media_type ?? undefined,
      names: this.imageNames(id),
      repoDigests: this.imageRepoDigests(id),
      created: row.created ?? undefined,
      size,
      layers: layerRows.map((l) => l.diff_id),
      layerBlobs: layerRows.map((l) => ({
        diffId: l.diff_id,
        blobDigest: l.blob_digest,
        mediaType: l.media_type,
        compressedSize: l.compressed_size,
      })),
      platform,
      addedAt: row.added_at,
    };
  }

  private findImageId(ref: string): Digest | undefined {
    const byName = this.db.q('SELECT image_id FROM names WHERE name = ?').pluck().get(ref) as
      | Digest
      | undefined;
    if (byName) return byName;
    if (ref.includes('@')) {
      return this.db.q('SELECT image_id FROM repo_digests WHERE ref = ?').pluck().get(ref) as
        | Digest
        | undefined;
    }
    if (isDigest(ref)) {
      const exact =
        (this.db.q('SELECT id FROM images WHERE id = ?').pluck().get(ref) as Digest | undefined) ??
        (this.db.q('SELECT image_id FROM manifests WHERE digest = ?').pluck().get(ref) as Digest | undefined);
      if (exact) return exact;
    }
    const m = /^(?:sha256:)?([a-f0-9]{3,64})$/.exec(ref);
    if (!m) return undefined;
    const ids = this.db
      .q('SELECT id FROM images WHERE substr(id, 1, ?) = ? LIMIT 2')
      .pluck()
      .all(7 + m[1]!.length, `sha256:${m[1]}`) as Digest[];
    if (ids.length > 1) {
      throw new ConflictError(`image id prefix "${ref}" is ambiguous: it matches several images`);
    }
    return ids[0];
  }

  /** Remove an image's layer list, decrementing each referenced layer once per slot. */
  private dropImageLayers(id: Digest): void {
    this.db
      .q(
        `UPDATE layers SET refcount = refcount -
         (SELECT COUNT(*) FROM image_layers il WHERE il.image_id = ? AND il.diff_id = layers.diff_id)
       WHERE diff_id IN (SELECT diff_id FROM image_layers WHERE image_id = ?)`,
      )
      .run(id, id);
    this.db.q('DELETE FROM image_layers WHERE image_id = ?').run(id);
  }

  /** Delete an image and (by cascade) its names, repo digests and manifests. */
  private deleteImageRows(id: Digest): void {
    this.dropImageLayers(id);
    this.db.q('DELETE FROM images WHERE id = ?').run(id);
  }

  /** Images that must not be removed or counted reclaimable: those containers were created from. */
  imagesInUse(): Digest[] {
    return this.db.q('SELECT DISTINCT image_id FROM containers').pluck().all() as Digest[];
  }

  /** Containers created from image `id`, oldest first. */
  private containersUsingImage(id: Digest): { id: string; state: ContainerState }[] {
    return this.db
      .q('SELECT id, state FROM containers WHERE image_id = ? ORDER BY created_at, id')
      .all(id) as {
      id: string;
      state: ContainerState;
    }[];
  }
}
