// Content store: blobs named by digest (ingest → verify → commit) and the resumable partial
// downloads under ingest/. Like containerd's content store it knows bytes, not what they mean.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { copyFile, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { DigestMismatchError, errnoCode, NotFoundError, SizeLimitError } from '../errors/index.js';
import { type Digest, digestAlgorithm, digestHex, digestOf, parseDigest } from '../oci/index.js';
import { atomicWriteFile, fsyncDir, tempSibling } from '../util/index.js';
import type { StoreDb } from './_db.js';
import { checkSize, listDir, lockPath, touch, tryLockPath, unlinkIfExists } from './_fs.js';
import { type Ingest, PartialIngest, presentIngest } from './_ingest.js';

/** Interrupted downloads are kept this long for a resume, then gc removes them. */
export const STALE_INGEST_MS = 24 * 3600_000;
const INGEST_LOCK_TIMEOUT_MS = 3600_000;

export class ContentStore {
  constructor(private readonly db: StoreDb) {}

  blobPath(d: Digest): string {
    parseDigest(d);
    return join(this.db.root, 'blobs', digestAlgorithm(d), digestHex(d));
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
    this.db.assertWritable('store a blob');
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
    this.db.assertWritable('store a blob');
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
    this.db.assertWritable('write a blob');
    const d = parseDigest(expected.digest);
    checkSize(expected.size, `size for blob ${d}`);
    const blob = this.blobPath(d);
    if (touch(blob)) return presentIngest(d);
    const hex = digestHex(d);
    const lock = await lockPath(join(this.db.root, 'ingest', `${hex}.lock`), {
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
      { partial: join(this.db.root, 'ingest', `${hex}.partial`), blob },
      lock,
    );
  }

  /** Remove interrupted downloads nobody is resuming that are older than STALE_INGEST_MS. */
  sweepIngest(): number {
    const dir = join(this.db.root, 'ingest');
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
}
