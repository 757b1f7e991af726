import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, fsyncSync, openSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode } from '../errors/index.js';

/** fsync a directory so a rename inside it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A unique sibling temp name for atomic replacement of `path`. */
export function tempSibling(path: string): string {
  return join(dirname(path), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** Write a file atomically: tmp + fsync + rename + fsync(dir). */
export async function atomicWriteFile(
  path: string,
  data: Buffer | string,
  options: { mode?: number } = {},
): Promise<void> {
  const tmp = tempSibling(path);
  const fh = await open(tmp, 'wx', options.mode ?? 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(path));
}

/**
 * Write a file atomically from a stream: `write` gets a stream on a temp sibling (and must
 * not end it); then tmp + fsync + rename + fsync(dir). On failure the temp file is removed
 * and `path` is untouched.
 */
export async function atomicWriteStream(
  path: string,
  write: (out: NodeJS.WritableStream) => Promise<void>,
  options: { mode?: number } = {},
): Promise<void> {
  const tmp = tempSibling(path);
  const file = createWriteStream(tmp, { flags: 'wx', mode: options.mode ?? 0o644 });
  try {
    const closed = new Promise<void>((resolve, reject) => {
      file.once('error', reject);
      file.once('close', resolve);
    });
    await new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', reject);
    });
    await write(file);
    file.end();
    await closed;
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    await rename(tmp, path);
  } catch (err) {
    file.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(path));
}

/** Remove a path recursively, ignoring a missing one. */
export async function removeAll(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
