// One blob being written into the store: ingest/<hex>.partial, guarded by an flock on
// ingest/<hex>.lock so only one process appends to a given partial file. The bytes are hashed as
// they are written and verified before the atomic rename into blobs/.
import { createHash, type Hash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  renameSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { DigestMismatchError, errnoCode, InternalError, SizeLimitError } from '../errors/index.js';
import { type Digest, digestAlgorithm } from '../oci/index.js';
import { fsyncDir } from '../util/index.js';
import type { PathLock } from './_fs.js';

export interface Ingest {
  readonly digest: Digest;
  /** The blob is already committed: the caller can skip the download. */
  readonly alreadyPresent: boolean;
  /** Bytes already on disk from an interrupted earlier attempt (the hash state includes them). */
  readonly offset: number;
  /** Bytes written so far, offset included. */
  readonly bytes: number;
  /** The bytes 0..offset, to feed a decompressor before resuming the download at `offset`. */
  readPartial(): Readable;
  /** Synchronous append + hash; SizeLimitError past the expected size (nothing is written then). */
  write(chunk: Buffer): void;
  /** Check size and digest, fsync, rename into blobs/. On failure the partial file is deleted. */
  commit(): Promise<void>;
  /** Give up: keep=true leaves the partial file for a later resume; keep=false deletes it. */
  abort(options?: { keep?: boolean }): void;
}

/** The answer for a blob that is already committed: nothing to write, nothing to release. */
export function presentIngest(digest: Digest): Ingest {
  return {
    digest,
    alreadyPresent: true,
    offset: 0,
    bytes: 0,
    readPartial: () => Readable.from([]),
    write() {
      throw new InternalError(`blob ${digest} is already in the store; there is nothing to write`);
    },
    commit: async () => {},
    abort() {},
  };
}

/** Restore the hash state of a partial file by re-reading it. */
async function hashPrefix(path: string, hash: Hash, length: number): Promise<void> {
  if (length === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) {
    hash.update(chunk as Buffer);
  }
}

export class PartialIngest implements Ingest {
  readonly alreadyPresent = false;
  readonly offset: number;
  private written: number;
  private closed = false;

  private constructor(
    readonly digest: Digest,
    private readonly expectedSize: number | undefined,
    private readonly partialPath: string,
    private readonly blobPath: string,
    private readonly fd: number,
    private readonly hash: Hash,
    private readonly lock: PathLock,
  ) {
    this.offset = fstatSync(fd).size;
    this.written = this.offset;
  }

  /** Open (or resume) the partial file; the caller already holds `lock`, which we now own. */
  static async open(
    digest: Digest,
    expectedSize: number | undefined,
    paths: { partial: string; blob: string },
    lock: PathLock,
  ): Promise<Ingest> {
    let fd: number | undefined;
    try {
      fd = openSync(paths.partial, 'a+', 0o644);
      const have = fstatSync(fd).size;
      // a partial longer than the blob can only be garbage: start over
      if (expectedSize !== undefined && have > expectedSize) ftruncateSync(fd, 0);
      let hash = createHash(digestAlgorithm(digest));
      await hashPrefix(paths.partial, hash, fstatSync(fd).size);
      if (expectedSize !== undefined && expectedSize > 0 && fstatSync(fd).size === expectedSize) {
        // complete but never committed (the writer died between the last byte and the rename):
        // commit it now rather than have the caller ask the registry for an empty range
        if (`${digestAlgorithm(digest)}:${hash.copy().digest('hex')}` === digest) {
          const ingest = new PartialIngest(digest, expectedSize, paths.partial, paths.blob, fd, hash, lock);
          fd = undefined; // owned by the ingest now, which closes it and releases the lock
          await ingest.commit();
          return presentIngest(digest);
        }
        ftruncateSync(fd, 0);
        hash = createHash(digestAlgorithm(digest));
      }
      return new PartialIngest(digest, expectedSize, paths.partial, paths.blob, fd, hash, lock);
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      lock.release();
      throw err;
    }
  }

  get bytes(): number {
    return this.written;
  }

  readPartial(): Readable {
    if (this.offset === 0) return Readable.from([]);
    return createReadStream(this.partialPath, { start: 0, end: this.offset - 1 });
  }

  write(chunk: Buffer): void {
    this.assertOpen('write to');
    if (this.expectedSize !== undefined && this.written + chunk.length > this.expectedSize) {
      throw new SizeLimitError(
        `blob ${this.digest} is larger than its declared size of ${this.expectedSize} bytes`,
      );
    }
    // 'a+' opens with O_APPEND: every write lands at the end of the partial file
    let done = 0;
    while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done);
    this.hash.update(chunk);
    this.written += chunk.length;
  }

  async commit(): Promise<void> {
    this.assertOpen('commit');
    try {
      if (this.expectedSize !== undefined && this.written !== this.expectedSize) {
        throw new SizeLimitError(
          `blob ${this.digest} is ${this.written} bytes, shorter than its declared size of ${this.expectedSize}`,
        );
      }
      const actual = `${digestAlgorithm(this.digest)}:${this.hash.digest('hex')}`;
      if (actual !== this.digest) {
        throw new DigestMismatchError(
          `blob content does not match its digest: expected ${this.digest}, got ${actual}`,
        );
      }
      fsyncSync(this.fd);
    } catch (err) {
      this.close();
      await rm(this.partialPath, { force: true });
      this.lock.release();
      throw err;
    }
    this.close();
    try {
      renameSync(this.partialPath, this.blobPath);
      // gc's grace period counts from the commit, not from the first byte of a resumed download
      const now = new Date();
      utimesSync(this.blobPath, now, now);
      fsyncDir(dirname(this.blobPath));
    } finally {
      this.lock.release();
    }
  }

  abort(options: { keep?: boolean } = {}): void {
    if (this.closed) return;
    this.close();
    try {
      // unlink while still holding the lock, so no other process is resuming from it
      if (!options.keep || this.written === 0) unlinkQuiet(this.partialPath);
    } catch {
      // a partial we cannot delete is swept by gc later; aborting must not throw
    } finally {
      this.lock.release();
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private assertOpen(what: string): void {
    if (this.closed) {
      throw new InternalError(`cannot ${what} the ingest of ${this.digest}: it is already closed`);
    }
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
