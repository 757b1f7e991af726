// The paths builds use under the store root: the build lock, one lock per running build (so a
// later process can tell a live build from the leftovers of a killed one), the cache-mount dirs
// of `RUN --mount=type=cache` with their locks, and temp dirs for downloads. The builder asks
// for these here instead of joining paths under the root itself.
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, InvalidArgumentError } from '../errors/index.js';
import { removeAll } from '../util/index.js';
import type { StoreDb } from './_db.js';
import { dirSize, listDir, lockPath, type PathLock, tryLockPath } from './_fs.js';

/** A running build's id: 16 lowercase hex digits. */
const BUILD_ID = /^[a-f0-9]{16}$/;
const MOUNT_NAME = /^[a-f0-9]{64}$/;

export interface BuildCacheUsage {
  /** Build cache records plus cache-mount dirs. */
  count: number;
  /** Distinct layers the records name, plus the bytes in the cache-mount dirs. */
  size: number;
  /** What `builder prune` frees: layers only the cache keeps, and cache mounts not in use. */
  reclaimable: number;
  /** Cache mounts a running build holds now. */
  active: number;
}

/** A running build's registration: held (an flock) until `release()` or the process dies. */
export interface BuildRegistration {
  readonly id: string;
  release(): void;
}

export interface CacheMountOptions {
  mode?: number;
  uid?: number;
  gid?: number;
}

export class BuildDirs {
  private readonly root: string;
  private readonly tmpDir: string;
  private readonly mountsDir: string;
  private readonly buildsDir: string;

  constructor(private readonly db: StoreDb) {
    this.root = db.root;
    this.tmpDir = db.tmpDir;
    this.mountsDir = join(db.root, 'build-cache-mounts');
    this.buildsDir = join(db.root, 'builds');
  }

  /** root/build.lock: builds hold it shared; one that finds itself alone may take it exclusively. */
  buildLockPath(): string {
    return join(this.root, 'build.lock');
  }

  /**
   * Register a running build: root/builds/<id>.lock, flocked until release() or until this
   * process dies. Anything a build leaves behind is tagged with its id, so a sweeper that can
   * lock the file knows that build is gone.
   */
  registerBuild(): BuildRegistration {
    this.db.assertWritable('register a build');
    mkdirSync(this.buildsDir, { recursive: true, mode: 0o700 });
    for (;;) {
      const id = randomBytes(8).toString('hex');
      const lock = tryLockPath(join(this.buildsDir, `${id}.lock`), { create: true });
      if (typeof lock === 'string') continue;
      return { id, release: () => lock.unlinkAndRelease() };
    }
  }

  /** Ids of builds that registered and have not released (alive or killed). */
  registeredBuilds(): string[] {
    return listDir(this.buildsDir)
      .map((n) => /^([a-f0-9]{16})\.lock$/.exec(n)?.[1])
      .filter((id): id is string => id !== undefined);
  }

  /**
   * Claim a build for sweeping: undefined while it is running (in this or another process);
   * otherwise a lock that keeps any other sweeper out until `unlinkAndRelease()`, after the
   * caller has removed what the build left.
   */
  claimDeadBuild(id: string): PathLock | undefined {
    if (!BUILD_ID.test(id)) throw new InvalidArgumentError(`invalid build id "${id}"`);
    this.db.assertWritable('sweep a build');
    const lock = tryLockPath(join(this.buildsDir, `${id}.lock`), { create: true });
    return typeof lock === 'string' ? undefined : lock;
  }

  /** root/build-cache-mounts/<sha256(id)>: the dir of cache mount `id`. */
  cacheMountPath(id: string): string {
    return join(this.mountsDir, mountName(id));
  }

  /** root/build-cache-mounts/<sha256(id)>.lock: held while a RUN uses the mount. */
  cacheMountLockPath(id: string): string {
    return `${this.cacheMountPath(id)}.lock`;
  }

  /**
   * Lock cache mount `id` for a RUN (shared for sharing=shared, else exclusive), waiting up to
   * `timeoutMs`. Take it before cacheMountDir(): prune removes only mounts it can lock.
   */
  async lockCacheMount(
    id: string,
    options: { shared: boolean; timeoutMs: number; signal?: AbortSignal },
  ): Promise<PathLock> {
    this.db.assertWritable('use a cache mount');
    mkdirSync(this.mountsDir, { recursive: true, mode: 0o700 });
    return lockPath(this.cacheMountLockPath(id), {
      timeoutMs: options.timeoutMs,
      what: `cache mount "${id}"`,
      shared: options.shared,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * The dir of cache mount `id`, made on first use with the owner and mode given: built under
   * tmp/ and renamed into place, so no process ever sees it half set up. Call with its lock held.
   */
  cacheMountDir(id: string, options: CacheMountOptions = {}): string {
    const dir = this.cacheMountPath(id);
    if (isDir(dir)) return dir;
    this.db.assertWritable('make a cache mount');
    mkdirSync(this.mountsDir, { recursive: true, mode: 0o700 });
    const tmp = join(this.tmpDir, `cachemount-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(tmp, { mode: options.mode ?? 0o755 });
    try {
      chownSync(tmp, options.uid ?? 0, options.gid ?? 0);
      // two shared users may race to make it; the loser's rename fails (or finds it there)
      if (!isDir(dir)) renameSync(tmp, dir);
    } catch (err) {
      const code = errnoCode(err);
      if (!(code === 'EEXIST' || code === 'ENOTEMPTY') || !isDir(dir)) throw err;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return dir;
  }

  /** A fresh temp dir for a build's downloads, swept if this process dies before removing it. */
  makeDownloadDir(): string {
    this.db.assertWritable('download for a build');
    const dir = join(this.tmpDir, `download-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { mode: 0o700 });
    return dir;
  }

  /** Count and bytes of the cache-mount dirs, and how many a build holds now. */
  cacheMountsUsage(): { count: number; size: number; active: number } {
    const usage = { count: 0, size: 0, active: 0 };
    for (const name of listDir(this.mountsDir)) {
      if (!MOUNT_NAME.test(name)) continue;
      usage.count++;
      usage.size += dirSize(join(this.mountsDir, name));
      const lock = tryLockPath(join(this.mountsDir, `${name}.lock`), { create: false });
      if (lock === 'busy') usage.active++;
      else if (lock !== 'missing') lock.release();
    }
    return usage;
  }

  /** Remove every cache-mount dir no build holds; returns how many and the bytes freed. */
  async pruneCacheMounts(): Promise<{ count: number; bytes: number }> {
    this.db.assertWritable('prune the cache mounts');
    const result = { count: 0, bytes: 0 };
    for (const name of listDir(this.mountsDir)) {
      if (!MOUNT_NAME.test(name)) continue;
      const lock = tryLockPath(join(this.mountsDir, `${name}.lock`), { create: true });
      if (typeof lock === 'string') continue;
      try {
        const trash = this.db.trashPath();
        const bytes = dirSize(join(this.mountsDir, name));
        renameSync(join(this.mountsDir, name), trash);
        await removeAll(trash);
        result.count++;
        result.bytes += bytes;
      } finally {
        lock.unlinkAndRelease();
      }
    }
    // lock files of mounts already gone (a prune killed between the rename and the unlink)
    for (const name of listDir(this.mountsDir)) {
      const m = /^([a-f0-9]{64})\.lock$/.exec(name);
      if (!m || isDir(join(this.mountsDir, m[1]!))) continue;
      const lock = tryLockPath(join(this.mountsDir, name), { create: false });
      if (typeof lock !== 'string') lock.unlinkAndRelease();
    }
    return result;
  }

  /** `system df`'s build cache row: the cached steps' layers and the cache mounts. */
  buildCacheUsage(): BuildCacheUsage {
    const one = (sql: string) => this.db.q(sql).pluck().get() as number;
    const records = one('SELECT COUNT(*) FROM build_cache');
    const cached = 'SELECT diff_id FROM build_cache WHERE diff_id IS NOT NULL';
    const layerSize = one(`SELECT COALESCE(SUM(size), 0) FROM layers WHERE diff_id IN (${cached})`);
    const onlyCached = one(
      `SELECT COALESCE(SUM(size), 0) FROM layers WHERE diff_id IN (${cached})
         AND diff_id NOT IN (SELECT diff_id FROM image_layers)
         AND diff_id NOT IN (SELECT diff_id FROM container_layers)`,
    );
    const mounts = this.cacheMountsUsage();
    return {
      count: records + mounts.count,
      size: layerSize + mounts.size,
      reclaimable: onlyCached + mounts.size,
      active: mounts.active,
    };
  }
}

function mountName(id: string): string {
  if (id === '') throw new InvalidArgumentError('invalid cache mount id: it is empty');
  return createHash('sha256').update(id).digest('hex');
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
