// Volume store: named volumes under volumes/<name>/_data and their rows; which containers use
// one is the container store's container_volumes rows, read here to refuse removing it.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, NotFoundError } from '../errors/index.js';
import {
  checkStringMap,
  checkVolumeName,
  type VolumeRecord,
  type VolumeRow,
  volumeRecord,
} from './_containers.js';
import type { StoreDb } from './_db.js';
import { type EventJournal, newEvent } from './_events.js';
import { dirSize } from './_fs.js';

export class VolumeStore {
  constructor(
    private readonly db: StoreDb,
    private readonly journal: EventJournal,
  ) {}

  /**
   * Create a named volume (a random 64-hex name when none is given). A name that exists already
   * returns the existing volume unchanged, as docker does.
   */
  createVolume(
    name?: string,
    options: { labels?: Record<string, string>; options?: Record<string, string> } = {},
  ): VolumeRecord {
    this.db.assertWritable('create a volume');
    const n = name === undefined ? randomBytes(32).toString('hex') : checkVolumeName(name);
    const labels = checkStringMap(options.labels, `labels for volume "${n}"`);
    const opts = checkStringMap(options.options, `options for volume "${n}"`);
    const { rec, isNew } = this.db.tx(() => {
      const isNew = !this.db.q('SELECT 1 FROM volumes WHERE name = ?').get(n);
      this.ensureVolume(n, labels, opts);
      return { rec: this.volumeRecord(n)!, isNew };
    });
    if (isNew) this.recordEvent('create', n);
    return rec;
  }

  getVolume(name: string): VolumeRecord | undefined {
    return this.db.snapshot(() => this.volumeRecord(name));
  }

  /** Sorted by name. */
  listVolumes(): VolumeRecord[] {
    return this.db.snapshot(() => {
      const names = this.db.q('SELECT name FROM volumes ORDER BY name').pluck().all() as string[];
      return names.map((n) => this.volumeRecord(n)!);
    });
  }

  /**
   * Delete a volume and its content. In use by a container → ConflictError, with or without
   * force (as docker); force only makes a missing volume not an error.
   */
  removeVolume(name: string, options: { force?: boolean } = {}): void {
    this.db.assertWritable('remove a volume');
    const trash = this.db.trashPath();
    let moved = false;
    let removed = false;
    this.db.tx(() => {
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
    if (removed) this.recordEvent('destroy', name);
    if (moved) rmSync(trash, { recursive: true, force: true, maxRetries: 3 });
  }

  /** root/volumes/<name>/_data. */
  volumePath(name: string): string {
    return join(this.db.root, 'volumes', checkVolumeName(name), '_data');
  }

  /**
   * Remove every volume no container uses (and `filter` accepts, e.g. only anonymous ones);
   * returns their names and the bytes freed.
   */
  pruneVolumes(options: { filter?: (v: VolumeRecord) => boolean } = {}): { names: string[]; bytes: number } {
    this.db.assertWritable('prune volumes');
    const trash = this.db.trashPath();
    const names = this.db.tx(() => {
      const unused = this.db
        .q(
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
    for (const n of names) this.recordEvent('destroy', n);
    // sized after the transaction, from the trash: the database stays locked only for renames
    const bytes = names.reduce((sum, n) => sum + dirSize(join(trash, n, '_data')), 0);
    rmSync(trash, { recursive: true, force: true, maxRetries: 3 });
    return { names, bytes };
  }

  /** Insert the volume row unless present, and make its dirs; returns the dir if this call made it. */
  ensureVolume(
    name: string,
    labels: Record<string, string>,
    options: Record<string, string>,
  ): string | undefined {
    if (!this.db.q('SELECT 1 FROM volumes WHERE name = ?').get(name)) {
      this.db
        .q('INSERT INTO volumes (name, created_at, labels_json, options_json) VALUES (?, ?, ?, ?)')
        .run(name, new Date().toISOString(), JSON.stringify(labels), JSON.stringify(options));
    }
    const dir = join(this.db.root, 'volumes', name);
    const made = !existsSync(dir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, '_data'), { recursive: true, mode: 0o755 });
    return made ? dir : undefined;
  }

  /** Delete a volume's row and move its dir to `trash`; false if it had no dir. */
  private dropVolume(name: string, trash: string): boolean {
    this.db.q('DELETE FROM volumes WHERE name = ?').run(name);
    const dir = join(this.db.root, 'volumes', name);
    if (!existsSync(dir)) return false;
    renameSync(dir, trash);
    return true;
  }

  /**
   * Volumes change here whichever front end or use-case asks (anonymous ones with their
   * container), so their events are recorded here, after the commit. A journal that cannot be
   * written must not make a committed change look failed.
   */
  private recordEvent(action: 'create' | 'destroy', name: string): void {
    try {
      this.journal.append(newEvent('volume', action, { ID: name, Attributes: { driver: 'local' } }));
    } catch {
      // the change stands; only its event is missing
    }
  }

  private volumeRecord(name: string): VolumeRecord | undefined {
    const row = this.db.q('SELECT * FROM volumes WHERE name = ?').get(name) as VolumeRow | undefined;
    if (!row) return undefined;
    const users = this.db
      .q('SELECT container_id FROM container_volumes WHERE volume_name = ? ORDER BY container_id')
      .pluck()
      .all(name) as string[];
    return volumeRecord(row, join(this.db.root, 'volumes', name, '_data'), users);
  }
}
