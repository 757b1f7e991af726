import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockedError } from '../errors/index.js';
import { tryFlock, unflock } from './_syscalls.js';

export interface FileLock {
  release(): void;
}

/**
 * Take an flock(2) on `path` (created if missing). The kernel drops it when the process
 * dies, so a killed berth never leaves a stale lock. Polls with backoff up to `timeoutMs`.
 */
export async function acquireFileLock(
  path: string,
  options: { exclusive?: boolean; timeoutMs?: number; what?: string } = {},
): Promise<FileLock> {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a+', 0o600);
  const exclusive = options.exclusive ?? true;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let delay = 2;
  try {
    while (!tryFlock(fd, exclusive)) {
      if (Date.now() >= deadline) {
        throw new LockedError(`timed out waiting for the lock on ${options.what ?? path}`);
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 100);
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      unflock(fd);
      closeSync(fd);
    },
  };
}

/** Run `fn` holding the lock. */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: { exclusive?: boolean; timeoutMs?: number; what?: string } = {},
): Promise<T> {
  const lock = await acquireFileLock(path, options);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
