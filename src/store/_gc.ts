// Leases and garbage collection: a lease (an flock held by a live process) protects blobs and
// layers while they are being linked into records; gc deletes what no record, lease or grace
// period keeps, and sweeps what dead processes left behind.
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { InternalError } from '../errors/index.js';
import { type Digest, digestHex, parseDigest } from '../oci/index.js';
import { acquireFileLock, removeAll } from '../util/index.js';
import type { ContentStore } from './_content.js';
import type { StoreDb } from './_db.js';
import { listDir, sweepDeadOwners, tryLockPath, unlinkIfExists } from './_fs.js';
import type { LayerRow } from './_layers.js';
import { SIBLING_TMP_PATTERN, TMP_PATTERN } from './_layout.js';
import { unmountBelow } from './_rootfs.js';

/** Unreferenced blobs and layers younger than this survive gc even without a lease. */
export const DEFAULT_GC_GRACE_MS = 5 * 60_000;
const GC_LOCK_TIMEOUT_MS = 600_000;

export interface Lease {
  /** Protect a blob from gc until the lease ends. Call it BEFORE checking whether the blob exists. */
  addBlob(d: Digest): void;
  /** Protect a layer from gc until the lease ends. Call it BEFORE checking whether the layer exists. */
  addLayer(diffId: Digest): void;
}

export interface GcResult {
  blobs: number;
  layers: number;
  /** Bytes freed: blob sizes, unpacked layer sizes and stale partial downloads. */
  bytes: number;
}

export class LeasesAndGc {
  constructor(
    private readonly db: StoreDb,
    private readonly content: ContentStore,
  ) {}

  /**
   * Delete layers no image uses and blobs no image references, except those held by a live lease
   * or touched less than `graceMs` ago (default DEFAULT_GC_GRACE_MS: a safety net for writers
   * that take no lease). Also removes interrupted downloads older than a day and debris of dead
   * processes. Decisions and renames into tmp/ happen inside one transaction; the slow recursive
   * deletes after it, so a crash mid-delete leaves no half layer visible.
   */
  async gc(options: { graceMs?: number } = {}): Promise<GcResult> {
    this.db.assertWritable('collect garbage');
    const grace = options.graceMs ?? DEFAULT_GC_GRACE_MS;
    const lock = await acquireFileLock(join(this.db.root, 'gc.lock'), {
      what: 'the store gc lock',
      timeoutMs: GC_LOCK_TIMEOUT_MS,
    });
    const trashDir = this.db.trashPath();
    try {
      mkdirSync(trashDir, { mode: 0o700 });
      const result = this.db.tx(() => this.collect(trashDir, grace));
      await removeAll(trashDir);
      result.bytes += this.content.sweepIngest();
      this.sweepTemp();
      return result;
    } finally {
      await removeAll(trashDir);
      lock.release();
    }
  }

  /**
   * Run `fn` with a lease that protects the blobs and layers it names from gc until `fn` settles.
   * The lease is live while this process holds an flock on leases/<id>.lock, so a killed process's
   * lease stops counting at once (and the pid recorded in the row is only for people).
   */
  async withLease<T>(fn: (lease: Lease) => Promise<T>): Promise<T> {
    this.db.assertWritable('take a lease');
    const id = randomBytes(12).toString('hex');
    const lock = tryLockPath(join(this.db.root, 'leases', `${id}.lock`), { create: true });
    if (typeof lock === 'string') {
      throw new InternalError(`cannot take lease ${id}: its lock file is ${lock}`);
    }
    try {
      this.db.tx(() =>
        this.db
          .q('INSERT INTO leases (id, pid, created_at) VALUES (?, ?, ?)')
          .run(id, process.pid, Date.now()),
      );
    } catch (err) {
      lock.unlinkAndRelease();
      throw err;
    }
    let ended = false;
    const add = (kind: 'blob' | 'layer', d: Digest) => {
      parseDigest(d);
      if (ended) throw new InternalError(`cannot add ${kind} ${d} to lease ${id}: the lease has ended`);
      this.db.tx(() =>
        this.db
          .q('INSERT OR IGNORE INTO lease_resources (lease_id, kind, key) VALUES (?, ?, ?)')
          .run(id, kind, d),
      );
    };
    const lease: Lease = { addBlob: (d) => add('blob', d), addLayer: (d) => add('layer', d) };
    try {
      return await fn(lease);
    } finally {
      ended = true;
      try {
        if (this.db.isOpen) this.db.tx(() => this.db.q('DELETE FROM leases WHERE id = ?').run(id));
      } finally {
        lock.unlinkAndRelease();
      }
    }
  }

  /** gc's decisions, inside its transaction. Files go into `trashDir`; the caller deletes it. */
  private collect(trashDir: string, graceMs: number): GcResult {
    const now = Date.now();
    const result: GcResult = { blobs: 0, layers: 0, bytes: 0 };
    // leases whose owner died: its flock is gone (or the file is)
    for (const id of this.db.q('SELECT id FROM leases').pluck().all() as string[]) {
      const lock = tryLockPath(join(this.db.root, 'leases', `${id}.lock`), { create: false });
      if (lock === 'busy') continue;
      this.db.q('DELETE FROM leases WHERE id = ?').run(id);
      if (lock !== 'missing') lock.unlinkAndRelease();
    }
    const leased = (kind: string) =>
      new Set(this.db.q('SELECT key FROM lease_resources WHERE kind = ?').pluck().all(kind) as string[]);
    const leasedLayers = leased('layer');
    const leasedBlobs = leased('blob');
    // layers a container's rootfs was mounted from, even if no image lists them any more
    const containerLayers = new Set(
      this.db
        .q(
          'SELECT DISTINCT diff_id FROM container_layers UNION SELECT diff_id FROM build_cache WHERE diff_id IS NOT NULL',
        )
        .pluck()
        .all() as string[],
    );

    for (const row of this.db.q('SELECT * FROM layers WHERE refcount = 0').all() as LayerRow[]) {
      if (leasedLayers.has(row.diff_id) || containerLayers.has(row.diff_id)) continue;
      if (now - row.touched_at < graceMs) continue;
      this.db.q('DELETE FROM layers WHERE diff_id = ?').run(row.diff_id);
      unlinkIfExists(join(this.db.root, 'l', row.short_id));
      const dir = join(this.db.root, 'layers', digestHex(row.diff_id));
      if (existsSync(dir)) renameSync(dir, join(trashDir, `layer-${digestHex(row.diff_id)}`));
      result.layers++;
      result.bytes += row.size;
    }
    // layer dirs without a row: a crash between the rename and the commit of commitLayer
    const known = new Set(this.db.q('SELECT diff_id FROM layers').pluck().all() as string[]);
    for (const name of listDir(join(this.db.root, 'layers'))) {
      if (known.has(`sha256:${name}`) || known.has(`sha512:${name}`)) continue;
      renameSync(join(this.db.root, 'layers', name), join(trashDir, `orphan-${name}`));
    }
    const shorts = new Set(this.db.q('SELECT short_id FROM layers').pluck().all() as string[]);
    for (const name of listDir(join(this.db.root, 'l'))) {
      if (!name.startsWith('.') && !shorts.has(name)) unlinkIfExists(join(this.db.root, 'l', name));
    }

    // container dirs without a row: a crash inside createContainer's transaction
    const containers = new Set(this.db.q('SELECT id FROM containers').pluck().all() as string[]);
    for (const name of listDir(join(this.db.root, 'containers'))) {
      if (containers.has(name)) continue;
      const dir = join(this.db.root, 'containers', name);
      unmountBelow(dir, `"${dir}"`);
      renameSync(dir, join(trashDir, `container-${name}`));
    }
    // the same for volumes, but only empty ones: a volume's content is never guessed to be debris
    const volumes = new Set(this.db.q('SELECT name FROM volumes').pluck().all() as string[]);
    for (const name of listDir(join(this.db.root, 'volumes'))) {
      const dir = join(this.db.root, 'volumes', name);
      if (volumes.has(name) || listDir(join(dir, '_data')).length > 0) continue;
      renameSync(dir, join(trashDir, `volume-${name}`));
    }

    const referenced = new Set(
      this.db
        .q(
          `SELECT id FROM images UNION SELECT digest FROM manifests UNION SELECT blob_digest FROM image_layers
         UNION SELECT blob_digest FROM build_cache WHERE blob_digest IS NOT NULL`,
        )
        .pluck()
        .all() as string[],
    );
    for (const alg of listDir(join(this.db.root, 'blobs'))) {
      const dir = join(this.db.root, 'blobs', alg);
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

  /** Remove temporary entries whose creating process is gone. */
  sweepTemp(): void {
    sweepDeadOwners(this.db.tmpDir, TMP_PATTERN);
    sweepDeadOwners(join(this.db.root, 'l'), SIBLING_TMP_PATTERN);
    for (const alg of listDir(join(this.db.root, 'blobs'))) {
      sweepDeadOwners(join(this.db.root, 'blobs', alg), SIBLING_TMP_PATTERN);
    }
  }
}
