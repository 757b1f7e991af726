import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
} from 'node:fs';
import { copyFile, mkdtemp, open, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import {
  AlreadyExistsError,
  ConflictError,
  DigestMismatchError,
  errnoCode,
  InternalError,
  InvalidArgumentError,
  IOError,
  isBerthError,
  LockedError,
  NotFoundError,
  SizeLimitError,
  UnsupportedError,
} from '../errors/index.js';
import {
  type Digest,
  digestAlgorithm,
  digestHex,
  digestOf,
  isDigest,
  parseDigest,
  shortId,
} from '../oci/index.js';
import { acquireFileLock, atomicWriteFile, fsyncDir, removeAll, tempSibling } from '../util/index.js';
import {
  ACTIVE_CONTAINER_STATES,
  type ContainerPatch,
  type ContainerRecord,
  type ContainerRow,
  checkContainerId,
  checkStringMap,
  checkVolumeName,
  configJson,
  containerRecord,
  isContainerId,
  type NewContainer,
  normalizeContainerName,
  patchRow,
  type VolumeRecord,
  type VolumeRow,
  volumeRecord,
} from './_containers.js';
import { EventJournal, type EventRecord, newEvent, type ReadEventsOptions } from './_events.js';
import { base32, dirSize, listDir, lockPath, sweepDeadOwners, tryLockPath } from './_fs.js';
import { type Ingest, PartialIngest, presentIngest } from './_ingest.js';
import { mountAt, mountOverlayAt, mountsBelow, overlayMountData, unmountAll } from './_rootfs.js';
import { migrate, requireCurrentSchema } from './_schema.js';

/*
 * On-disk layout under the root (all created 0700 by open()):
 *   berth.db                 SQLite metadata (schema in _schema.ts)
 *   blobs/<alg>/<hex>        content-addressed blobs, written tmp + fsync + rename
 *   ingest/<hex>.partial     a download in progress or interrupted, resumable
 *   ingest/<hex>.lock        flock held by the one process writing that partial
 *   layers/<hex>/diff        an unpacked layer (overlay lowerdir), <hex> = its diffID
 *   l/<SHORTID>              symlink → ../layers/<hex>/diff, 26 chars, keeps mount options short
 *   leases/<id>.lock         flock held by the owner of a live lease
 *   containers/<id>/upper    a container's overlay upperdir (0755: it is the root dir it sees)
 *   containers/<id>/work     its overlay workdir
 *   containers/<id>/merged   where its rootfs is mounted
 *   containers/<id>/userdata files the engine keeps per container (spec, hosts, logs…)
 *   containers/<id>/empty    the lower dir of an image without layers (overlay needs one)
 *   volumes/<name>/_data     a named volume's content
 *   tmp/stage-<pid>-*        staging dirs for layers being unpacked
 *   tmp/trash-<pid>-*        what gc or a removal is deleting (renamed here first, then removed)
 *   gc.lock                  flock serializing gc runs
 *   events/events.log        the events journal: one JSON line per event, appended with O_APPEND
 *   events/events.log.1      the previous journal (rotated at 4 MiB; one old file is kept)
 *   events/rotate.lock       flock: appenders and readers opening the files hold it shared, a rotation exclusive
 * Every temporary name carries its creator's pid, so open() and gc() can remove what dead
 * processes left behind.
 */

/** Unreferenced blobs and layers younger than this survive gc even without a lease. */
export const DEFAULT_GC_GRACE_MS = 5 * 60_000;
/** Interrupted downloads are kept this long for a resume, then gc removes them. */
export const STALE_INGEST_MS = 24 * 3600_000;
const INGEST_LOCK_TIMEOUT_MS = 3600_000;
const GC_LOCK_TIMEOUT_MS = 600_000;
const SUBDIRS = ['blobs/sha256', 'ingest', 'layers', 'l', 'leases', 'tmp', 'containers', 'volumes', 'events'];
const TMP_PATTERN = /^[a-z]+-(\d+)-/;
/** util's tempSibling() names: `.tmp-<pid>-<rand>` */
const SIBLING_TMP_PATTERN = /^\.tmp-(\d+)-/;

export interface Lease {
  /** Protect a blob from gc until the lease ends. Call it BEFORE checking whether the blob exists. */
  addBlob(d: Digest): void;
  /** Protect a layer from gc until the lease ends. Call it BEFORE checking whether the layer exists. */
  addLayer(diffId: Digest): void;
}

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

/** A build step's cached result: the layer it added, or none for a config-only step. */
export interface BuildCacheEntry {
  key: string;
  layer?: ImageLayerRef;
  /** The history `created_by` of the step. */
  createdBy: string;
}

export interface GcResult {
  blobs: number;
  layers: number;
  /** Bytes freed: blob sizes, unpacked layer sizes and stale partial downloads. */
  bytes: number;
}

export interface DiskUsage {
  /** size: distinct layers used by images; reclaimable: the part not used by images in use by containers. */
  images: { count: number; size: number; reclaimable: number };
  layers: { count: number; size: number };
  blobs: { count: number; size: number };
  /** size: bytes in the containers' upper dirs; reclaimable: those of containers not running. */
  containers: { count: number; size: number; reclaimable: number };
  /** size: bytes in the volumes; reclaimable: those of volumes no container uses. */
  volumes: { count: number; size: number; reclaimable: number };
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

interface BuildCacheRow {
  key: string;
  diff_id: string | null;
  blob_digest: string | null;
  media_type: string | null;
  compressed_size: number | null;
  created_by: string;
}

interface LayerRow {
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

interface ImageLayerRow {
  diff_id: Digest;
  blob_digest: Digest;
  media_type: string;
  compressed_size: number;
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** Bump mtime (gc's grace clock) of an existing file; false if it does not exist. */
function touch(path: string): boolean {
  try {
    const now = new Date();
    utimesSync(path, now, now);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

function checkSize(value: number | undefined, what: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
    throw new InvalidArgumentError(`invalid ${what} ${value}: expected a non-negative integer`);
  }
}

function nameInUse(name: string, holder: string): ConflictError {
  return new ConflictError(`the container name "/${name}" is already in use by container "${holder}"`, {
    hint: 'remove or rename that container to reuse the name',
  });
}

/** The 26-char l/ name of a layer: base32 of 128 bits of sha256(diffID), the same in every process. */
function shortIdFor(diffId: Digest): string {
  return base32(createHash('sha256').update(diffId).digest().subarray(0, 16));
}

export class Store {
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly tmpDir: string;
  private readonly journal: EventJournal;

  private constructor(
    readonly root: string,
    private readonly db: Database.Database,
    readonly readOnly: boolean,
  ) {
    this.tmpDir = join(root, 'tmp');
    this.journal = new EventJournal(join(root, 'events'));
  }

  /**
   * Open (creating if needed) the store at `root`. Safe to call from several processes at once:
   * directory creation is idempotent and migrations serialize on the database's write lock.
   */
  static open(root: string, options: { readOnly?: boolean } = {}): Store {
    const abs = resolve(root);
    const readOnly = options.readOnly ?? false;
    let db: Database.Database;
    try {
      if (!readOnly) {
        mkdirSync(abs, { recursive: true, mode: 0o700 });
        for (const sub of SUBDIRS) mkdirSync(join(abs, sub), { recursive: true, mode: 0o700 });
      }
      db = new Database(join(abs, 'berth.db'), { readonly: readOnly, fileMustExist: readOnly });
    } catch (err) {
      throw new IOError(`cannot open the store at "${abs}"`, { cause: err });
    }
    try {
      db.pragma('busy_timeout = 10000');
      if (!readOnly) db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('synchronous = NORMAL');
      if (readOnly) requireCurrentSchema(db, abs);
      else migrate(db, abs);
    } catch (err) {
      db.close();
      if (isBerthError(err)) throw err;
      throw new IOError(`cannot open the store database "${join(abs, 'berth.db')}"`, { cause: err });
    }
    const store = new Store(abs, db, readOnly);
    if (!readOnly) store.sweepTemp();
    return store;
  }

  close(): void {
    if (this.db.open) this.db.close();
    this.journal.close();
  }

  // ---------------------------------------------------------------- events journal (_events.ts)

  /** Record one event; visible at once to every reader, in this process or another. */
  appendEvent(event: EventRecord): void {
    this.assertWritable('record an event');
    this.journal.append(event);
  }

  /** The recorded events, oldest first; with `follow`, then the new ones until `signal` fires. */
  readEvents(options: ReadEventsOptions = {}): AsyncGenerator<EventRecord> {
    return this.journal.read(options);
  }

  // ---------------------------------------------------------------- blobs

  blobPath(d: Digest): string {
    parseDigest(d);
    return join(this.root, 'blobs', digestAlgorithm(d), digestHex(d));
  }

  hasBlob(d: Digest): boolean {
    return existsSync(this.blobPath(d));
  }

  /** Size in bytes of a committed blob; NotFoundError if absent. */
  blobSize(d: Digest): number {
    const st = statSync(this.blobPath(d), { throwIfNoEntry: false });
    if (!st) throw new NotFoundError(`blob ${d} is not in the store`);
    return st.size;
  }

  /** Read a (small) blob whole and re-verify its digest. */
  async readBlob(d: Digest, options: { limit?: number } = {}): Promise<Buffer> {
    const path = this.blobPath(d);
    let bytes: Buffer;
    try {
      const fh = await open(path, 'r');
      try {
        const { size } = await fh.stat();
        if (options.limit !== undefined && size > options.limit) {
          throw new SizeLimitError(`blob ${d} is ${size} bytes, over the ${options.limit}-byte limit`);
        }
        bytes = await fh.readFile();
      } finally {
        await fh.close();
      }
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        throw new NotFoundError(`blob ${d} is not in the store`, { cause: err });
      }
      throw err;
    }
    const actual = digestOf(bytes, digestAlgorithm(d));
    if (actual !== d) {
      throw new DigestMismatchError(`blob ${d} in the store is corrupt: its content hashes to ${actual}`, {
        hint: `delete ${path} and pull the image again`,
      });
    }
    return bytes;
  }

  /** A stream of a committed blob (not re-verified: callers streaming big layers verify as they read). */
  openBlob(d: Digest): Readable {
    const path = this.blobPath(d);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        throw new NotFoundError(`blob ${d} is not in the store`, { cause: err });
      }
      throw err;
    }
    return createReadStream(path, { fd });
  }

  /** Store a small blob; verified against `expected` if given. Idempotent. */
  async putBlob(bytes: Buffer, expected?: Digest): Promise<Digest> {
    this.assertWritable('store a blob');
    if (expected !== undefined) parseDigest(expected);
    const actual = digestOf(bytes, expected ? digestAlgorithm(expected) : 'sha256');
    if (expected !== undefined && actual !== expected) {
      throw new DigestMismatchError(
        `blob content does not match its digest: expected ${expected}, got ${actual}`,
      );
    }
    const path = this.blobPath(actual);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && st.size === bytes.length && touch(path)) return actual;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    await atomicWriteFile(path, bytes, { mode: 0o644 });
    return actual;
  }

  /**
   * Take a file written elsewhere (a layer blob made by import, a file inside a loaded archive) as
   * a blob: move it (or, with copy: true or across filesystems, copy it) next to its final name,
   * hash that copy, and rename it into blobs/ if it matches `expected`. A moved source is consumed
   * even on a mismatch. Idempotent.
   */
  async adoptBlobFile(path: string, expected: Digest, options: { copy?: boolean } = {}): Promise<Digest> {
    this.assertWritable('store a blob');
    const d = parseDigest(expected);
    const dest = this.blobPath(d);
    if (touch(dest)) return d;
    mkdirSync(dirname(dest), { recursive: true, mode: 0o700 });
    const tmp = tempSibling(dest);
    try {
      let moved = false;
      if (!options.copy) {
        try {
          renameSync(path, tmp);
          moved = true;
        } catch (err) {
          if (errnoCode(err) !== 'EXDEV') throw err;
        }
      }
      if (!moved) await copyFile(path, tmp);
      const hash = createHash(digestAlgorithm(d));
      for await (const chunk of createReadStream(tmp)) hash.update(chunk as Buffer);
      const actual = `${digestAlgorithm(d)}:${hash.digest('hex')}`;
      if (actual !== d) {
        throw new DigestMismatchError(
          `file "${path}" does not match its digest: expected ${d}, got ${actual}`,
        );
      }
      const fh = await open(tmp, 'r');
      try {
        await fh.chmod(0o644);
        await fh.sync();
      } finally {
        await fh.close();
      }
      renameSync(tmp, dest);
      touch(dest);
      fsyncDir(dirname(dest));
      return d;
    } catch (err) {
      await rm(tmp, { force: true });
      if (errnoCode(err) === 'ENOENT' && !existsSync(path)) {
        throw new NotFoundError(`cannot store blob ${d}: file "${path}" not found`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * Start writing a blob. Waits for any other process writing the same digest; if that one
   * committed, the result says alreadyPresent. A partial file from an interrupted attempt is
   * resumed: `offset` bytes are on disk and already hashed.
   */
  async beginIngest(
    expected: { digest: Digest; size?: number },
    options: { timeoutMs?: number } = {},
  ): Promise<Ingest> {
    this.assertWritable('write a blob');
    const d = parseDigest(expected.digest);
    checkSize(expected.size, `size for blob ${d}`);
    const blob = this.blobPath(d);
    if (touch(blob)) return presentIngest(d);
    const hex = digestHex(d);
    const lock = await lockPath(join(this.root, 'ingest', `${hex}.lock`), {
      timeoutMs: options.timeoutMs ?? INGEST_LOCK_TIMEOUT_MS,
      what: `the download of ${d}`,
    });
    try {
      if (touch(blob)) {
        lock.release();
        return presentIngest(d);
      }
      mkdirSync(dirname(blob), { recursive: true, mode: 0o700 });
    } catch (err) {
      lock.release();
      throw err;
    }
    return PartialIngest.open(
      d,
      expected.size,
      { partial: join(this.root, 'ingest', `${hex}.partial`), blob },
      lock,
    );
  }

  // ---------------------------------------------------------------- layers

  /** An empty dir on the same filesystem as layers/, for unpacking one layer into. */
  async createStagingDir(): Promise<string> {
    this.assertWritable('create a staging dir');
    return mkdtemp(join(this.tmpDir, `stage-${process.pid}-`));
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
    this.assertWritable('commit a layer');
    const diffId = parseDigest(info.diffId);
    if (info.blobDigest !== undefined) parseDigest(info.blobDigest);
    checkSize(info.size, `size for layer ${diffId}`);
    checkSize(info.tarSize, `tar size for layer ${diffId}`);
    checkSize(info.compressedSize, `compressed size for layer ${diffId}`);
    const src = resolve(staging);
    if (dirname(src) !== this.tmpDir || !basename(src).startsWith('stage-') || !isDir(src)) {
      throw new InvalidArgumentError(
        `cannot commit layer ${diffId}: "${staging}" is not a staging dir of this store`,
      );
    }
    const layerDir = join(this.root, 'layers', digestHex(diffId));
    const diff = join(layerDir, 'diff');
    const short = shortIdFor(diffId);
    const trash: string[] = [];
    let moved = false;
    const record = this.tx(() => {
      const row = this.layerRow(diffId);
      const now = Date.now();
      if (row && isDir(diff)) {
        this.q(
          `UPDATE layers SET touched_at = ?, blob_digest = COALESCE(blob_digest, ?),
             media_type = COALESCE(media_type, ?), compressed_size = COALESCE(compressed_size, ?) WHERE diff_id = ?`,
        ).run(now, info.blobDigest ?? null, info.mediaType ?? null, info.compressedSize ?? null, diffId);
        this.linkShort(short, diffId);
        return this.toLayerRecord(this.layerRow(diffId)!);
      }
      // debris of a crash between rename and commit, or a damaged layer: move it aside
      if (existsSync(layerDir)) {
        const t = join(this.tmpDir, `trash-${process.pid}-${randomBytes(6).toString('hex')}`);
        renameSync(layerDir, t);
        trash.push(t);
      }
      mkdirSync(layerDir, { mode: 0o700 });
      renameSync(src, diff);
      moved = true;
      this.linkShort(short, diffId);
      // a row without a dir (damaged store) keeps its refcount: the images using it are whole again
      this.q(
        `INSERT INTO layers (diff_id, size, tar_size, short_id, blob_digest, media_type, compressed_size, refcount, touched_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)
         ON CONFLICT(diff_id) DO UPDATE SET size = excluded.size, tar_size = excluded.tar_size,
           blob_digest = excluded.blob_digest, media_type = excluded.media_type,
           compressed_size = excluded.compressed_size, touched_at = excluded.touched_at`,
      ).run(
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
      fsyncDir(join(this.root, 'layers'));
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
    return join(this.root, 'layers', digestHex(parseDigest(diffId)), 'diff');
  }

  /** 'l/<SHORTID>' relative to the root; a symlink to the layer's diff dir. */
  layerShortLink(diffId: Digest): string {
    return `l/${shortIdFor(parseDigest(diffId))}`;
  }

  // ---------------------------------------------------------------- images

  /**
   * Make an image visible in one transaction: image row (id = config digest), manifest, ordered
   * layers with their refcounts, names (taken from whichever image had them; an image left with
   * no name becomes dangling) and repo digests. Every layer must be unpacked and the manifest and
   * config blobs present, checked inside the transaction so gc cannot interleave.
   */
  commitImage(rec: NewImage): ImageRecord {
    this.assertWritable('commit an image');
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
    return this.tx(() => {
      for (const d of [id, rec.manifestDigest]) {
        if (!this.hasBlob(d)) throw new NotFoundError(`${what}: blob ${d} is not in the store`);
      }
      for (const l of rec.layers) {
        if (!this.getLayer(l.diffId)) {
          throw new NotFoundError(`${what}: layer ${l.diffId} is not in the store`);
        }
      }
      const existing = this.q('SELECT added_at FROM images WHERE id = ?').get(id) as
        | { added_at: string }
        | undefined;
      if (existing) {
        this.dropImageLayers(id);
        this.q(
          `UPDATE images SET manifest_digest = ?, manifest_media_type = ?, config_media_type = ?, created = ?,
             os = ?, architecture = ?, variant = ? WHERE id = ?`,
        ).run(
          rec.manifestDigest,
          rec.manifestMediaType,
          rec.configMediaType ?? null,
          rec.created ?? null,
          rec.platform.os,
          rec.platform.architecture,
          rec.platform.variant ?? null,
          id,
        );
      } else {
        this.q(
          `INSERT INTO images (id, manifest_digest, manifest_media_type, config_media_type, created, os, architecture, variant, added_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
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
      }
      const insertLayer = this.q(
        'INSERT INTO image_layers (image_id, position, diff_id, blob_digest, media_type, compressed_size) VALUES (?, ?, ?, ?, ?, ?)',
      );
      const incRef = this.q('UPDATE layers SET refcount = refcount + 1 WHERE diff_id = ?');
      rec.layers.forEach((l, i) => {
        insertLayer.run(id, i, l.diffId, l.blobDigest, l.mediaType, l.compressedSize);
        incRef.run(l.diffId);
      });
      this.q(
        `INSERT INTO manifests (digest, image_id, media_type) VALUES (?, ?, ?)
         ON CONFLICT(digest) DO UPDATE SET image_id = excluded.image_id, media_type = excluded.media_type`,
      ).run(rec.manifestDigest, id, rec.manifestMediaType);
      const setName = this.q(
        'INSERT INTO names (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id',
      );
      for (const n of rec.names) setName.run(n, id);
      const setRepoDigest = this.q(
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
    return this.snapshot(() => {
      const ids = this.q(`SELECT id FROM images ${where} ORDER BY added_at DESC, id`)
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
    this.assertWritable('tag an image');
    if (!name || /\s/.test(name)) throw new InvalidArgumentError(`invalid image name "${name}"`);
    this.tx(() => {
      if (!this.q('SELECT 1 FROM images WHERE id = ?').get(id)) {
        throw new NotFoundError(`cannot tag image ${id} as "${name}": no such image`);
      }
      this.q(
        'INSERT INTO names (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id',
      ).run(name, id);
    });
  }

  /** Remove a name; the image stays (dangling if that was its last name). Returns the image id. */
  untag(name: string): Digest {
    this.assertWritable('untag an image');
    return this.tx(() => {
      const id = this.q('SELECT image_id FROM names WHERE name = ?').pluck().get(name) as Digest | undefined;
      if (!id) throw new NotFoundError(`cannot untag "${name}": no image has this name`);
      this.q('DELETE FROM names WHERE name = ?').run(name);
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
    this.assertWritable('remove an image');
    return this.tx(() => {
      const untagged: string[] = [];
      const deleted: Digest[] = [];
      const byName = this.q('SELECT image_id FROM names WHERE name = ?').pluck().get(nameOrId) as
        | Digest
        | undefined;
      const byRepoDigest = byName
        ? undefined
        : (this.q('SELECT image_id FROM repo_digests WHERE ref = ?').pluck().get(nameOrId) as
            | Digest
            | undefined);
      if (byName || byRepoDigest) {
        const id = (byName ?? byRepoDigest)!;
        this.q(byName ? 'DELETE FROM names WHERE name = ?' : 'DELETE FROM repo_digests WHERE ref = ?').run(
          nameOrId,
        );
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
        this.q('DELETE FROM names WHERE image_id = ?').run(id);
        this.q('DELETE FROM repo_digests WHERE image_id = ?').run(id);
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
    const running = options.byId ? users.find((u) => ACTIVE_CONTAINER_STATES.includes(u.state)) : undefined;
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

  // ---------------------------------------------------------------- containers

  /**
   * Record a new container and make its directories, in one transaction: the row (which is also
   * the image's in-use reference), its volumes (created if missing, as `docker run -v name:/x`
   * does) and root/containers/<id>/{upper,work,merged,userdata}. A name held by another container
   * is a ConflictError; the transaction makes the check race-free across processes.
   */
  createContainer(rec: NewContainer): ContainerRecord {
    this.assertWritable('create a container');
    const id = checkContainerId(rec.id);
    const name = normalizeContainerName(rec.name);
    const imageId = parseDigest(rec.imageId);
    const labels = checkStringMap(rec.labels, `labels for container "${name}"`);
    const volumes = [...new Set((rec.volumes ?? []).map(checkVolumeName))].sort();
    const config = configJson(rec.config, id);
    const state = rec.state ?? 'created';
    if (typeof state !== 'string' || state.length === 0) {
      throw new InvalidArgumentError(`invalid state for container "${name}"`);
    }
    const dir = this.containerDir(id);
    return this.tx(() => {
      const holder = this.q('SELECT id FROM containers WHERE name = ?').pluck().get(name) as
        | string
        | undefined;
      if (holder !== undefined) throw nameInUse(name, holder);
      if (this.q('SELECT 1 FROM containers WHERE id = ?').get(id)) {
        throw new AlreadyExistsError(`cannot create container "${name}": container ${id} already exists`);
      }
      if (!this.q('SELECT 1 FROM images WHERE id = ?').get(imageId)) {
        throw new NotFoundError(`cannot create container "${name}": image ${imageId} not found`);
      }
      // dirs made here are removed inside the transaction if it fails, before another process
      // can take the same volume name
      const made: string[] = [];
      try {
        this.q(
          `INSERT INTO containers (id, name, image_id, state, config_json, created_at, restart_count, labels_json)
           VALUES (?, ?, ?, ?, ?, ?, 0, ?)`,
        ).run(id, name, imageId, state, config, new Date().toISOString(), JSON.stringify(labels));
        const use = this.q('INSERT INTO container_volumes (container_id, volume_name) VALUES (?, ?)');
        for (const v of volumes) {
          const madeDir = this.ensureVolume(v, {}, {});
          if (madeDir) made.push(madeDir);
          use.run(id, v);
        }
        // a row-less dir under this id is debris of a crash mid-create
        if (existsSync(dir)) this.discardDir(dir);
        mkdirSync(dir, { mode: 0o700 });
        made.push(dir);
        this.makeContainerSubdirs(id);
        return this.containerRecord(id)!;
      } catch (err) {
        for (const d of made) rmSync(d, { recursive: true, force: true });
        throw err;
      }
    });
  }

  /** By full id, name (a leading '/' allowed) or unique id prefix of ≥ 3 hex; ambiguous → ConflictError. */
  getContainer(idOrName: string): ContainerRecord | undefined {
    return this.snapshot(() => {
      const id = this.findContainerId(idOrName);
      return id === undefined ? undefined : this.containerRecord(id);
    });
  }

  /** Newest first. */
  listContainers(): ContainerRecord[] {
    return this.snapshot(() => {
      const ids = this.q('SELECT id FROM containers ORDER BY created_at DESC, rowid DESC')
        .pluck()
        .all() as string[];
      return ids.map((id) => this.containerRecord(id)!);
    });
  }

  /**
   * Change a container's record in one transaction. With `expectState`, the change happens only
   * if the current state is one of those (compare-and-set), else ConflictError: concurrent berth
   * processes use this to decide which one starts or removes a container.
   */
  updateContainer(
    idOrName: string,
    patch: ContainerPatch,
    options: { expectState?: string[] } = {},
  ): ContainerRecord {
    this.assertWritable('update a container');
    return this.tx(() => {
      const id = this.requireContainerId(idOrName, 'update');
      const row = this.containerRow(id)!;
      if (options.expectState !== undefined && !options.expectState.includes(row.state)) {
        throw new ConflictError(
          `cannot update container ${id.slice(0, 12)}: it is ${row.state}, not ${options.expectState.join(' or ')}`,
        );
      }
      const next = patchRow(row, patch);
      this.q(
        `UPDATE containers SET state = ?, config_json = ?, started_at = ?, finished_at = ?, exit_code = ?,
           pid = ?, conmon_pid = ?, restart_count = ? WHERE id = ?`,
      ).run(
        next.state,
        next.config_json,
        next.started_at,
        next.finished_at,
        next.exit_code,
        next.pid,
        next.conmon_pid,
        next.restart_count,
        id,
      );
      return this.containerRecord(id)!;
    });
  }

  renameContainer(idOrName: string, newName: string): void {
    this.assertWritable('rename a container');
    const name = normalizeContainerName(newName);
    this.tx(() => {
      const id = this.requireContainerId(idOrName, 'rename');
      if (this.containerRow(id)!.name === name) {
        throw new InvalidArgumentError(
          `cannot rename container "${idOrName}": it is already named "${name}"`,
        );
      }
      const holder = this.q('SELECT id FROM containers WHERE name = ?').pluck().get(name) as
        | string
        | undefined;
      if (holder !== undefined) throw nameInUse(name, holder);
      this.q('UPDATE containers SET name = ? WHERE id = ?').run(name, id);
    });
  }

  /**
   * Delete a container: unmount whatever is mounted under its dir, delete its row (dropping its
   * image and volume references) and its dirs. The row goes and the dir moves to tmp/ in one
   * transaction; a crash after it leaves only tmp/ debris that the next open sweeps.
   */
  removeContainer(idOrName: string): void {
    this.assertWritable('remove a container');
    const trash = this.trashPath();
    let moved = false;
    this.tx(() => {
      const id = this.requireContainerId(idOrName, 'remove');
      const dir = this.containerDir(id);
      this.unmountBelow(dir, `container ${id.slice(0, 12)}`);
      this.q('DELETE FROM containers WHERE id = ?').run(id);
      if (existsSync(dir)) {
        renameSync(dir, trash);
        moved = true;
      }
    });
    if (moved) rmSync(trash, { recursive: true, force: true, maxRetries: 3 });
  }

  /** root/containers/<id>: upper, work, merged and userdata live here. */
  containerDir(id: string): string {
    return join(this.root, 'containers', checkContainerId(id));
  }

  // ---------------------------------------------------------------- build cache

  getBuildCache(key: string): BuildCacheEntry | undefined {
    const row = this.q('SELECT * FROM build_cache WHERE key = ?').get(key) as BuildCacheRow | undefined;
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
    this.assertWritable('write the build cache');
    if (!/^sha256:[a-f0-9]{64}$/.test(entry.key))
      throw new InvalidArgumentError(`invalid cache key "${entry.key}"`);
    const l = entry.layer;
    if (l) {
      parseDigest(l.diffId);
      parseDigest(l.blobDigest);
      checkSize(l.compressedSize, `compressed size for layer ${l.diffId}`);
    }
    this.tx(() => {
      if (l && (!this.getLayer(l.diffId) || !this.hasBlob(l.blobDigest))) {
        throw new NotFoundError(`cannot cache build step: layer ${l.diffId} is not in the store`);
      }
      const now = Date.now();
      this.q(
        `INSERT INTO build_cache (key, diff_id, blob_digest, media_type, compressed_size, created_by, created_at, used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET diff_id = excluded.diff_id, blob_digest = excluded.blob_digest,
           media_type = excluded.media_type, compressed_size = excluded.compressed_size,
           created_by = excluded.created_by, used_at = excluded.used_at`,
      ).run(
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
    this.assertWritable('write the build cache');
    this.tx(() => this.q('DELETE FROM build_cache WHERE key = ?').run(key));
  }

  /** Forget the whole build cache (gc then frees what only the cache kept); returns the count. */
  pruneBuildCache(): number {
    this.assertWritable('prune the build cache');
    return this.tx(() => this.q('DELETE FROM build_cache').run().changes);
  }

  buildCacheCount(): number {
    return this.q('SELECT COUNT(*) FROM build_cache').pluck().get() as number;
  }

  // ---------------------------------------------------------------- rootfs mounts

  /**
   * Mount the container's rootfs (overlay of `layers`, diffIDs base first, under its upper dir)
   * at root/containers/<id>/merged and return that path. Already mounted → the path (a mount
   * with the other read-only-ness is a ConflictError). The layers are recorded with the
   * container, so gc keeps them while it exists. Mounting happens inside a transaction, which
   * serializes it with removeContainer and gc in every process.
   */
  mountContainerRootfs(idOrName: string, layers: Digest[], options: { readOnly?: boolean } = {}): string {
    this.assertWritable('mount a container rootfs');
    const diffIds = layers.map((l) => parseDigest(l));
    const readOnly = options.readOnly ?? false;
    return this.tx(() => {
      const id = this.requireContainerId(idOrName, 'mount the rootfs of');
      const what = `container ${id.slice(0, 12)}`;
      const dir = this.containerDir(id);
      const merged = join(dir, 'merged');
      const lowers: string[] = [];
      for (const d of diffIds) {
        const row = this.layerRow(d);
        if (!row || !isDir(this.layerDiffPath(d))) {
          throw new NotFoundError(`cannot mount the rootfs of ${what}: layer ${d} is not in the store`);
        }
        this.linkShort(row.short_id, d);
        lowers.push(`l/${row.short_id}`);
      }
      const recorded = this.q('SELECT COUNT(*) FROM container_layers WHERE container_id = ?').pluck().get(id);
      const current = mountAt(merged);
      // a process killed between mount(2) and its commit leaves a mount with no layers recorded
      if (!current || recorded === 0) {
        this.q('DELETE FROM container_layers WHERE container_id = ?').run(id);
        const record = this.q(
          'INSERT INTO container_layers (container_id, position, diff_id) VALUES (?, ?, ?)',
        );
        for (const [i, d] of diffIds.entries()) record.run(id, i, d);
      }
      if (current) {
        if (current.options.includes('ro') === readOnly) return merged;
        throw new ConflictError(
          `the rootfs of ${what} is already mounted ${readOnly ? 'read-write' : 'read-only'}`,
          { hint: 'unmount it first' },
        );
      }
      this.makeContainerSubdirs(id);
      if (lowers.length === 0) {
        // an image without layers: overlay still wants a lower dir
        mkdirSync(join(dir, 'empty'), { recursive: true, mode: 0o755 });
        lowers.push(`containers/${id}/empty`);
      }
      const data = overlayMountData({
        lowers: lowers.reverse(),
        upper: `containers/${id}/upper`,
        work: `containers/${id}/work`,
      });
      try {
        mountOverlayAt(merged, { cwd: this.root, data, readOnly });
      } catch (err) {
        if (isBerthError(err)) throw err;
        throw new IOError(`cannot mount the rootfs of ${what} (${diffIds.length} layers)`, { cause: err });
      }
      return merged;
    });
  }

  /**
   * Unmount the container's rootfs (detaching it if busy); nothing mounted is fine. A full id
   * needs no record, so cleanup after a half-finished removal can still unmount.
   */
  unmountContainerRootfs(idOrName: string): void {
    this.assertWritable('unmount a container rootfs');
    this.tx(() => {
      const id = isContainerId(idOrName)
        ? idOrName
        : this.requireContainerId(idOrName, 'unmount the rootfs of');
      this.unmountBelow(join(this.containerDir(id), 'merged'), `container ${id.slice(0, 12)}`);
    });
  }

  isMounted(idOrName: string): boolean {
    const id = isContainerId(idOrName) ? idOrName : this.findContainerId(idOrName);
    return id !== undefined && mountAt(join(this.containerDir(id), 'merged')) !== undefined;
  }

  // ---------------------------------------------------------------- volumes

  /**
   * Create a named volume (a random 64-hex name when none is given). A name that exists already
   * returns the existing volume unchanged, as docker does.
   */
  createVolume(
    name?: string,
    options: { labels?: Record<string, string>; options?: Record<string, string> } = {},
  ): VolumeRecord {
    this.assertWritable('create a volume');
    const n = name === undefined ? randomBytes(32).toString('hex') : checkVolumeName(name);
    const labels = checkStringMap(options.labels, `labels for volume "${n}"`);
    const opts = checkStringMap(options.options, `options for volume "${n}"`);
    const { rec, isNew } = this.tx(() => {
      const isNew = !this.q('SELECT 1 FROM volumes WHERE name = ?').get(n);
      this.ensureVolume(n, labels, opts);
      return { rec: this.volumeRecord(n)!, isNew };
    });
    if (isNew) this.recordVolumeEvent('create', n);
    return rec;
  }

  getVolume(name: string): VolumeRecord | undefined {
    return this.snapshot(() => this.volumeRecord(name));
  }

  /** Sorted by name. */
  listVolumes(): VolumeRecord[] {
    return this.snapshot(() => {
      const names = this.q('SELECT name FROM volumes ORDER BY name').pluck().all() as string[];
      return names.map((n) => this.volumeRecord(n)!);
    });
  }

  /**
   * Delete a volume and its content. In use by a container → ConflictError, with or without
   * force (as docker); force only makes a missing volume not an error.
   */
  removeVolume(name: string, options: { force?: boolean } = {}): void {
    this.assertWritable('remove a volume');
    const trash = this.trashPath();
    let moved = false;
    let removed = false;
    this.tx(() => {
      const rec = this.volumeRecord(name);
      if (!rec) {
        if (options.force) return;
        throw new NotFoundError(`cannot remove volume "${name}": no such volume`);
      }
      if (rec.usedBy.length > 0) {
        throw new ConflictError(
          `cannot remove volume "${name}": volume is in use - [${rec.usedBy.join(', ')}]`,
        );
      }
      moved = this.dropVolume(name, trash);
      removed = true;
    });
    if (removed) this.recordVolumeEvent('destroy', name);
    if (moved) rmSync(trash, { recursive: true, force: true, maxRetries: 3 });
  }

  /** root/volumes/<name>/_data. */
  volumePath(name: string): string {
    return join(this.root, 'volumes', checkVolumeName(name), '_data');
  }

  /**
   * Remove every volume no container uses (and `filter` accepts, e.g. only anonymous ones);
   * returns their names and the bytes freed.
   */
  pruneVolumes(options: { filter?: (v: VolumeRecord) => boolean } = {}): { names: string[]; bytes: number } {
    this.assertWritable('prune volumes');
    const trash = this.trashPath();
    const names = this.tx(() => {
      const unused = this.q(
        'SELECT name FROM volumes WHERE name NOT IN (SELECT volume_name FROM container_volumes) ORDER BY name',
      )
        .pluck()
        .all() as string[];
      const pruned: string[] = [];
      for (const n of unused) {
        if (options.filter && !options.filter(this.volumeRecord(n)!)) continue;
        if (pruned.length === 0) mkdirSync(trash, { mode: 0o700 });
        this.dropVolume(n, join(trash, n));
        pruned.push(n);
      }
      return pruned;
    });
    for (const n of names) this.recordVolumeEvent('destroy', n);
    // sized after the transaction, from the trash: the database stays locked only for renames
    const bytes = names.reduce((sum, n) => sum + dirSize(join(trash, n, '_data')), 0);
    rmSync(trash, { recursive: true, force: true, maxRetries: 3 });
    return { names, bytes };
  }

  // ---------------------------------------------------------------- gc, usage, leases

  /**
   * Delete layers no image uses and blobs no image references, except those held by a live lease
   * or touched less than `graceMs` ago (default DEFAULT_GC_GRACE_MS: a safety net for writers
   * that take no lease). Also removes interrupted downloads older than a day and debris of dead
   * processes. Decisions and renames into tmp/ happen inside one transaction; the slow recursive
   * deletes after it, so a crash mid-delete leaves no half layer visible.
   */
  async gc(options: { graceMs?: number } = {}): Promise<GcResult> {
    this.assertWritable('collect garbage');
    const grace = options.graceMs ?? DEFAULT_GC_GRACE_MS;
    const lock = await acquireFileLock(join(this.root, 'gc.lock'), {
      what: 'the store gc lock',
      timeoutMs: GC_LOCK_TIMEOUT_MS,
    });
    const trashDir = join(this.tmpDir, `trash-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(trashDir, { mode: 0o700 });
      const result = this.tx(() => this.collect(trashDir, grace));
      await removeAll(trashDir);
      result.bytes += this.sweepIngest();
      this.sweepTemp();
      return result;
    } finally {
      await removeAll(trashDir);
      lock.release();
    }
  }

  diskUsage(): DiskUsage {
    const count = (sql: string) => this.q(sql).pluck().get() as number;
    const inUse = this.imagesInUse();
    const imageLayerSize = count(
      'SELECT COALESCE(SUM(size), 0) FROM layers WHERE diff_id IN (SELECT diff_id FROM image_layers)',
    );
    let inUseSize = 0;
    if (inUse.length > 0) {
      inUseSize = this.q(
        `SELECT COALESCE(SUM(size), 0) FROM layers WHERE diff_id IN
           (SELECT diff_id FROM image_layers WHERE image_id IN (SELECT value FROM json_each(?)))`,
      )
        .pluck()
        .get(JSON.stringify(inUse)) as number;
    }
    let blobCount = 0;
    let blobSize = 0;
    for (const alg of listDir(join(this.root, 'blobs'))) {
      for (const name of listDir(join(this.root, 'blobs', alg))) {
        if (name.startsWith('.')) continue;
        const st = lstatSync(join(this.root, 'blobs', alg, name), { throwIfNoEntry: false });
        if (!st?.isFile()) continue;
        blobCount++;
        blobSize += st.size;
      }
    }
    return {
      images: {
        count: count('SELECT COUNT(*) FROM images'),
        size: imageLayerSize,
        reclaimable: imageLayerSize - inUseSize,
      },
      layers: {
        count: count('SELECT COUNT(*) FROM layers'),
        size: count('SELECT COALESCE(SUM(size), 0) FROM layers'),
      },
      blobs: { count: blobCount, size: blobSize },
      containers: this.containerUsage(),
      volumes: this.volumeUsage(),
    };
  }

  private containerUsage(): DiskUsage['containers'] {
    const rows = this.q('SELECT id, state FROM containers').all() as { id: string; state: string }[];
    const usage = { count: rows.length, size: 0, reclaimable: 0 };
    for (const r of rows) {
      const size = dirSize(join(this.containerDir(r.id), 'upper'));
      usage.size += size;
      if (!ACTIVE_CONTAINER_STATES.includes(r.state)) usage.reclaimable += size;
    }
    return usage;
  }

  private volumeUsage(): DiskUsage['volumes'] {
    const rows = this.q(
      'SELECT name, EXISTS (SELECT 1 FROM container_volumes cv WHERE cv.volume_name = volumes.name) AS used FROM volumes',
    ).all() as { name: string; used: number }[];
    const usage = { count: rows.length, size: 0, reclaimable: 0 };
    for (const r of rows) {
      const size = dirSize(join(this.root, 'volumes', r.name, '_data'));
      usage.size += size;
      if (!r.used) usage.reclaimable += size;
    }
    return usage;
  }

  /**
   * Run `fn` with a lease that protects the blobs and layers it names from gc until `fn` settles.
   * The lease is live while this process holds an flock on leases/<id>.lock, so a killed process's
   * lease stops counting at once (and the pid recorded in the row is only for people).
   */
  async withLease<T>(fn: (lease: Lease) => Promise<T>): Promise<T> {
    this.assertWritable('take a lease');
    const id = randomBytes(12).toString('hex');
    const lock = tryLockPath(join(this.root, 'leases', `${id}.lock`), { create: true });
    if (typeof lock === 'string') {
      throw new InternalError(`cannot take lease ${id}: its lock file is ${lock}`);
    }
    try {
      this.tx(() =>
        this.q('INSERT INTO leases (id, pid, created_at) VALUES (?, ?, ?)').run(id, process.pid, Date.now()),
      );
    } catch (err) {
      lock.unlinkAndRelease();
      throw err;
    }
    let ended = false;
    const add = (kind: 'blob' | 'layer', d: Digest) => {
      parseDigest(d);
      if (ended) throw new InternalError(`cannot add ${kind} ${d} to lease ${id}: the lease has ended`);
      this.tx(() =>
        this.q('INSERT OR IGNORE INTO lease_resources (lease_id, kind, key) VALUES (?, ?, ?)').run(
          id,
          kind,
          d,
        ),
      );
    };
    const lease: Lease = { addBlob: (d) => add('blob', d), addLayer: (d) => add('layer', d) };
    try {
      return await fn(lease);
    } finally {
      ended = true;
      try {
        if (this.db.open) this.tx(() => this.q('DELETE FROM leases WHERE id = ?').run(id));
      } finally {
        lock.unlinkAndRelease();
      }
    }
  }

  // ---------------------------------------------------------------- internals

  private q(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** One IMMEDIATE transaction: takes the write lock up front, so read-then-write cannot race. */
  private tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      if (
        err instanceof Database.SqliteError &&
        (err.code === 'SQLITE_BUSY' || err.code === 'SQLITE_LOCKED')
      ) {
        throw new LockedError(`the store database at "${this.root}" is busy`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * A read transaction: its queries all see one committed state, so a record read in several
   * queries is never half of one removed meanwhile by another process.
   */
  private snapshot<T>(fn: () => T): T {
    return this.db.transaction(fn).deferred();
  }

  private assertWritable(what: string): void {
    if (this.readOnly) {
      throw new UnsupportedError(`cannot ${what}: the store at "${this.root}" is open read-only`);
    }
  }

  private layerRow(diffId: Digest): LayerRow | undefined {
    return this.q('SELECT * FROM layers WHERE diff_id = ?').get(diffId) as LayerRow | undefined;
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
  private linkShort(short: string, diffId: Digest): void {
    const link = join(this.root, 'l', short);
    const target = `../layers/${digestHex(diffId)}/diff`;
    try {
      if (readlinkSync(link) === target) return;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'EINVAL') throw err;
    }
    const tmp = join(this.root, 'l', `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    symlinkSync(target, tmp);
    renameSync(tmp, link);
  }

  private imageNames(id: Digest): string[] {
    return this.q('SELECT name FROM names WHERE image_id = ? ORDER BY name').pluck().all(id) as string[];
  }

  private imageRepoDigests(id: Digest): string[] {
    return this.q('SELECT ref FROM repo_digests WHERE image_id = ? ORDER BY ref').pluck().all(id) as string[];
  }

  private imageRecord(id: Digest): ImageRecord {
    const row = this.q('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
    if (!row) throw new NotFoundError(`image ${id} not found`);
    const layerRows = this.q(
      'SELECT diff_id, blob_digest, media_type, compressed_size FROM image_layers WHERE image_id = ? ORDER BY position',
    ).all(id) as ImageLayerRow[];
    const size = this.q(
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
    const byName = this.q('SELECT image_id FROM names WHERE name = ?').pluck().get(ref) as Digest | undefined;
    if (byName) return byName;
    if (ref.includes('@')) {
      return this.q('SELECT image_id FROM repo_digests WHERE ref = ?').pluck().get(ref) as Digest | undefined;
    }
    if (isDigest(ref)) {
      const exact =
        (this.q('SELECT id FROM images WHERE id = ?').pluck().get(ref) as Digest | undefined) ??
        (this.q('SELECT image_id FROM manifests WHERE digest = ?').pluck().get(ref) as Digest | undefined);
      if (exact) return exact;
    }
    const m = /^(?:sha256:)?([a-f0-9]{3,64})$/.exec(ref);
    if (!m) return undefined;
    const ids = this.q('SELECT id FROM images WHERE substr(id, 1, ?) = ? LIMIT 2')
      .pluck()
      .all(7 + m[1]!.length, `sha256:${m[1]}`) as Digest[];
    if (ids.length > 1) {
      throw new ConflictError(`image id prefix "${ref}" is ambiguous: it matches several images`);
    }
    return ids[0];
  }

  /** Remove an image's layer list, decrementing each referenced layer once per slot. */
  private dropImageLayers(id: Digest): void {
    this.q(
      `UPDATE layers SET refcount = refcount -
         (SELECT COUNT(*) FROM image_layers il WHERE il.image_id = ? AND il.diff_id = layers.diff_id)
       WHERE diff_id IN (SELECT diff_id FROM image_layers WHERE image_id = ?)`,
    ).run(id, id);
    this.q('DELETE FROM image_layers WHERE image_id = ?').run(id);
  }

  /** Delete an image and (by cascade) its names, repo digests and manifests. */
  private deleteImageRows(id: Digest): void {
    this.dropImageLayers(id);
    this.q('DELETE FROM images WHERE id = ?').run(id);
  }

  /** Images that must not be removed or counted reclaimable: those containers were created from. */
  private imagesInUse(): Digest[] {
    return this.q('SELECT DISTINCT image_id FROM containers').pluck().all() as Digest[];
  }

  /** Containers created from image `id`, oldest first. */
  private containersUsingImage(id: Digest): { id: string; state: string }[] {
    return this.q('SELECT id, state FROM containers WHERE image_id = ? ORDER BY created_at, id').all(id) as {
      id: string;
      state: string;
    }[];
  }

  private containerRow(id: string): ContainerRow | undefined {
    return this.q('SELECT * FROM containers WHERE id = ?').get(id) as ContainerRow | undefined;
  }

  private containerRecord(id: string): ContainerRecord | undefined {
    const row = this.containerRow(id);
    if (!row) return undefined;
    const volumes = this.q(
      'SELECT volume_name FROM container_volumes WHERE container_id = ? ORDER BY volume_name',
    )
      .pluck()
      .all(id) as string[];
    const layers = this.q('SELECT diff_id FROM container_layers WHERE container_id = ? ORDER BY position')
      .pluck()
      .all(id) as Digest[];
    return containerRecord(row, volumes, layers);
  }

  /** Full id first, then name, then a unique id prefix of at least 3 hex (docker's order). */
  private findContainerId(ref: string): string | undefined {
    if (typeof ref !== 'string') return undefined;
    if (isContainerId(ref) && this.q('SELECT 1 FROM containers WHERE id = ?').get(ref)) return ref;
    const name = ref.startsWith('/') ? ref.slice(1) : ref;
    const byName = this.q('SELECT id FROM containers WHERE name = ?').pluck().get(name) as string | undefined;
    if (byName !== undefined) return byName;
    if (!/^[a-f0-9]{3,63}$/.test(ref)) return undefined;
    const ids = this.q('SELECT id FROM containers WHERE id GLOB ? LIMIT 2')
      .pluck()
      .all(`${ref}*`) as string[];
    if (ids.length > 1) {
      throw new ConflictError(`container id prefix "${ref}" is ambiguous: it matches several containers`);
    }
    return ids[0];
  }

  private requireContainerId(ref: string, verb: string): string {
    const id = this.findContainerId(ref);
    if (id === undefined) throw new NotFoundError(`cannot ${verb} container "${ref}": no such container`);
    return id;
  }

  /** upper (0755: overlay shows its mode as the container's /), work, merged, userdata. */
  private makeContainerSubdirs(id: string): void {
    const dir = this.containerDir(id);
    mkdirSync(join(dir, 'upper'), { recursive: true, mode: 0o755 });
    for (const sub of ['work', 'merged', 'userdata']) {
      mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
    }
  }

  /** A fresh name under tmp/ that sweepTemp removes if this process dies before it does. */
  private trashPath(): string {
    return join(this.tmpDir, `trash-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  private unmountBelow(dir: string, what: string): void {
    for (const m of mountsBelow(dir)) {
      try {
        unmountAll(m);
      } catch (err) {
        throw new IOError(`cannot unmount "${m}" of ${what}`, { cause: err });
      }
    }
  }

  /** Unmount and delete a dir no record owns (debris of a crash). */
  private discardDir(dir: string): void {
    this.unmountBelow(dir, `"${dir}"`);
    const trash = this.trashPath();
    renameSync(dir, trash);
    rmSync(trash, { recursive: true, force: true, maxRetries: 3 });
  }

  /** Insert the volume row unless present, and make its dirs; returns the dir if this call made it. */
  private ensureVolume(
    name: string,
    labels: Record<string, string>,
    options: Record<string, string>,
  ): string | undefined {
    if (!this.q('SELECT 1 FROM volumes WHERE name = ?').get(name)) {
      this.q('INSERT INTO volumes (name, created_at, labels_json, options_json) VALUES (?, ?, ?, ?)').run(
        name,
        new Date().toISOString(),
        JSON.stringify(labels),
        JSON.stringify(options),
      );
    }
    const dir = join(this.root, 'volumes', name);
    const made = !existsSync(dir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, '_data'), { recursive: true, mode: 0o755 });
    return made ? dir : undefined;
  }

  /** Delete a volume's row and move its dir to `trash`; false if it had no dir. */
  private dropVolume(name: string, trash: string): boolean {
    this.q('DELETE FROM volumes WHERE name = ?').run(name);
    const dir = join(this.root, 'volumes', name);
    if (!existsSync(dir)) return false;
    renameSync(dir, trash);
    return true;
  }

  /**
   * Volumes change here whichever front end or use-case asks (anonymous ones with their
   * container), so their events are recorded here, after the commit. A journal that cannot be
   * written must not make a committed change look failed.
   */
  private recordVolumeEvent(action: 'create' | 'destroy', name: string): void {
    try {
      this.journal.append(newEvent('volume', action, { ID: name, Attributes: { driver: 'local' } }));
    } catch {
      // the change stands; only its event is missing
    }
  }

  private volumeRecord(name: string): VolumeRecord | undefined {
    const row = this.q('SELECT * FROM volumes WHERE name = ?').get(name) as VolumeRow | undefined;
    if (!row) return undefined;
    const users = this.q(
      'SELECT container_id FROM container_volumes WHERE volume_name = ? ORDER BY container_id',
    )
      .pluck()
      .all(name) as string[];
    return volumeRecord(row, join(this.root, 'volumes', name, '_data'), users);
  }

  /** gc's decisions, inside its transaction. Files go into `trashDir`; the caller deletes it. */
  private collect(trashDir: string, graceMs: number): GcResult {
    const now = Date.now();
    const result: GcResult = { blobs: 0, layers: 0, bytes: 0 };
    // leases whose owner died: its flock is gone (or the file is)
    for (const id of this.q('SELECT id FROM leases').pluck().all() as string[]) {
      const lock = tryLockPath(join(this.root, 'leases', `${id}.lock`), { create: false });
      if (lock === 'busy') continue;
      this.q('DELETE FROM leases WHERE id = ?').run(id);
      if (lock !== 'missing') lock.unlinkAndRelease();
    }
    const leased = (kind: string) =>
      new Set(this.q('SELECT key FROM lease_resources WHERE kind = ?').pluck().all(kind) as string[]);
    const leasedLayers = leased('layer');
    const leasedBlobs = leased('blob');
    // layers a container's rootfs was mounted from, even if no image lists them any more
    const containerLayers = new Set(
      this.q(
        'SELECT DISTINCT diff_id FROM container_layers UNION SELECT diff_id FROM build_cache WHERE diff_id IS NOT NULL',
      )
        .pluck()
        .all() as string[],
    );

    for (const row of this.q('SELECT * FROM layers WHERE refcount = 0').all() as LayerRow[]) {
      if (leasedLayers.has(row.diff_id) || containerLayers.has(row.diff_id)) continue;
      if (now - row.touched_at < graceMs) continue;
      this.q('DELETE FROM layers WHERE diff_id = ?').run(row.diff_id);
      unlinkIfExists(join(this.root, 'l', row.short_id));
      const dir = join(this.root, 'layers', digestHex(row.diff_id));
      if (existsSync(dir)) renameSync(dir, join(trashDir, `layer-${digestHex(row.diff_id)}`));
      result.layers++;
      result.bytes += row.size;
    }
    // layer dirs without a row: a crash between the rename and the commit of commitLayer
    const known = new Set(this.q('SELECT diff_id FROM layers').pluck().all() as string[]);
    for (const name of listDir(join(this.root, 'layers'))) {
      if (known.has(`sha256:${name}`) || known.has(`sha512:${name}`)) continue;
      renameSync(join(this.root, 'layers', name), join(trashDir, `orphan-${name}`));
    }
    const shorts = new Set(this.q('SELECT short_id FROM layers').pluck().all() as string[]);
    for (const name of listDir(join(this.root, 'l'))) {
      if (!name.startsWith('.') && !shorts.has(name)) unlinkIfExists(join(this.root, 'l', name));
    }

    // container dirs without a row: a crash inside createContainer's transaction
    const containers = new Set(this.q('SELECT id FROM containers').pluck().all() as string[]);
    for (const name of listDir(join(this.root, 'containers'))) {
      if (containers.has(name)) continue;
      const dir = join(this.root, 'containers', name);
      this.unmountBelow(dir, `"${dir}"`);
      renameSync(dir, join(trashDir, `container-${name}`));
    }
    // the same for volumes, but only empty ones: a volume's content is never guessed to be debris
    const volumes = new Set(this.q('SELECT name FROM volumes').pluck().all() as string[]);
    for (const name of listDir(join(this.root, 'volumes'))) {
      const dir = join(this.root, 'volumes', name);
      if (volumes.has(name) || listDir(join(dir, '_data')).length > 0) continue;
      renameSync(dir, join(trashDir, `volume-${name}`));
    }

    const referenced = new Set(
      this.q(
        `SELECT id FROM images UNION SELECT digest FROM manifests UNION SELECT blob_digest FROM image_layers
         UNION SELECT blob_digest FROM build_cache WHERE blob_digest IS NOT NULL`,
      )
        .pluck()
        .all() as string[],
    );
    for (const alg of listDir(join(this.root, 'blobs'))) {
      const dir = join(this.root, 'blobs', alg);
      for (const name of listDir(dir)) {
        if (name.startsWith('.')) continue;
        const d = `${alg}:${name}`;
        if (referenced.has(d) || leasedBlobs.has(d)) continue;
        const st = lstatSync(join(dir, name), { throwIfNoEntry: false });
        if (!st || now - st.mtimeMs < graceMs) continue;
        renameSync(join(dir, name), join(trashDir, `blob-${alg}-${name}`));
        result.blobs++;
        result.bytes += st.size;
      }
    }
    return result;
  }

  /** Remove interrupted downloads nobody is resuming that are older than STALE_INGEST_MS. */
  private sweepIngest(): number {
    const dir = join(this.root, 'ingest');
    const hexes = new Set<string>();
    for (const name of listDir(dir)) {
      const m = /^([a-f0-9]+)\.(partial|lock)$/.exec(name);
      if (m) hexes.add(m[1]!);
    }
    let freed = 0;
    const now = Date.now();
    for (const hex of hexes) {
      const partial = join(dir, `${hex}.partial`);
      // every writer of a partial holds this lock, so holding it means nobody is resuming it
      const lock = tryLockPath(join(dir, `${hex}.lock`), { create: existsSync(partial) });
      if (typeof lock === 'string') continue;
      try {
        const st = statSync(partial, { throwIfNoEntry: false });
        if (st && now - st.mtimeMs > STALE_INGEST_MS) {
          unlinkIfExists(partial);
          freed += st.size;
        }
        if (!existsSync(partial)) lock.unlinkAndRelease();
      } finally {
        lock.release();
      }
    }
    return freed;
  }

  /** Remove temporary entries whose creating process is gone. */
  private sweepTemp(): void {
    sweepDeadOwners(this.tmpDir, TMP_PATTERN);
    sweepDeadOwners(join(this.root, 'l'), SIBLING_TMP_PATTERN);
    for (const alg of listDir(join(this.root, 'blobs'))) {
      sweepDeadOwners(join(this.root, 'blobs', alg), SIBLING_TMP_PATTERN);
    }
  }
}
