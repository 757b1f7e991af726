// Filesystem helpers private to the store: flocks on files that may later be deleted, pid
// liveness, and the sweep of temporary entries left by processes that died.
import {
  closeSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, InvalidArgumentError, LockedError } from '../errors/index.js';
import { tryFlock, unflock } from '../util/index.js';

export interface PathLock {
  release(): void;
  /** Unlink the lock file while still holding it, then release (see tryLockPath). */
  unlinkAndRelease(): void;
}

/**
 * One attempt at an exclusive flock on `path`. Lock files here can be deleted (by gc, or by a lease
 * when it ends), so after flock succeeds we check that `path` still names the inode we locked:
 * otherwise we hold a lock on an unlinked file that nobody else will ever contend for, and must
 * start over. With `create: false` a missing file yields 'missing'.
 */
function attempt(path: string, create: boolean): PathLock | 'busy' | 'missing' | 'stale' {
  let fd: number;
  try {
    fd = openSync(path, create ? 'a+' : 'r', 0o600);
  } catch (err) {
    if (!create && errnoCode(err) === 'ENOENT') return 'missing';
    throw err;
  }
  let ok = false;
  try {
    if (!tryFlock(fd, true)) return 'busy';
    const held = fstatSync(fd);
    let now: ReturnType<typeof statSync> | undefined;
    try {
      now = statSync(path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (!now || now.ino !== held.ino || now.dev !== held.dev) return create ? 'stale' : 'missing';
    ok = true;
  } finally {
    if (!ok) closeSync(fd);
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    unflock(fd);
    closeSync(fd);
  };
  return {
    release,
    unlinkAndRelease() {
      if (released) return;
      try {
        unlinkSync(path);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
      release();
    },
  };
}

/** Non-blocking: the lock, 'busy' when someone holds it, or (without create) 'missing'. */
export function tryLockPath(path: string, options: { create: boolean }): PathLock | 'busy' | 'missing' {
  for (;;) {
    const r = attempt(path, options.create);
    if (r !== 'stale') return r;
  }
}

/** Wait (polling with backoff) for an exclusive lock on `path`, creating the file if needed. */
export async function lockPath(
  path: string,
  options: { timeoutMs: number; what: string },
): Promise<PathLock> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = 2;
  for (;;) {
    const r = attempt(path, true);
    if (typeof r !== 'string') return r;
    if (r === 'stale') continue;
    if (Date.now() >= deadline) throw new LockedError(`timed out waiting for the lock on ${options.what}`);
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}

/** True unless the pid certainly does not exist (EPERM means it exists under another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) !== 'ESRCH';
  }
}

/**
 * Remove entries of `dir` whose name matches `pattern` (first capture group = owner pid) and whose
 * owner is dead. Our own temporary names always embed the creating pid for this reason.
 */
export function sweepDeadOwners(dir: string, pattern: RegExp): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 0;
    throw err;
  }
  let removed = 0;
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    rmSync(join(dir, name), { recursive: true, force: true, maxRetries: 3 });
    removed++;
  }
  return removed;
}

/** Entries of a directory, or [] if it does not exist. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/** RFC 4648 base32 without padding: the alphabet of the l/ short link names. */
export function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Bytes of the files below `dir` (`du --apparent-size`, each hard-linked inode once), without
 * following symlinks or entering other filesystems. 0 when the dir does not exist.
 */
export function dirSize(dir: string): number {
  const top = lstatSync(dir, { throwIfNoEntry: false, bigint: false });
  if (!top?.isDirectory()) return top?.size ?? 0;
  const seen = new Set<string>();
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const name of listDir(d)) {
      const p = join(d, name);
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        if (st.dev === top.dev) stack.push(p);
        continue;
      }
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  }
  return total;
}

export function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** Bump mtime (gc's grace clock) of an existing file; false if it does not exist. */
export function touch(path: string): boolean {
  try {
    const now = new Date();
    utimesSync(path, now, now);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

export function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

/** A byte count handed to the store, or InvalidArgumentError naming `what`. */
export function checkSize(value: number | undefined, what: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
    throw new InvalidArgumentError(`invalid ${what} ${value}: expected a non-negative integer`);
  }
}
