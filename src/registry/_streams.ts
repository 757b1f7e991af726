import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError, SizeLimitError } from '../errors/index.js';
import { type Digest, digestAlgorithm } from '../oci/index.js';

/** Passes exactly `expected` bytes: more fails at once, fewer fails at the end. */
export class ExactLength extends Transform {
  private seen = 0;
  constructor(
    private readonly expected: number,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected) {
      cb(new SizeLimitError(`${this.what}: more than the expected ${this.expected} bytes`));
      return;
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.seen !== this.expected) {
      cb(new SizeLimitError(`${this.what}: ended after ${this.seen} of ${this.expected} bytes`));
      return;
    }
    cb();
  }
}

/**
 * ExactLength that also checks the digest (for content we upload). The last chunk is held back
 * until the digest is verified, so a peer never receives a complete body that is wrong.
 */
export class VerifiedContent extends ExactLength {
  private readonly hash: Hash;
  private held: Buffer | undefined;
  constructor(
    private readonly digest: Digest,
    size: number,
    private readonly label: string,
  ) {
    super(size, label);
    this.hash = createHash(digestAlgorithm(digest));
  }
  override _transform(chunk: Buffer, enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    super._transform(chunk, enc, (err) => {
      if (err) return cb(err);
      const previous = this.held;
      this.held = chunk;
      cb(null, previous);
    });
  }
  override _flush(cb: TransformCallback): void {
    super._flush((err) => {
      if (err) return cb(err);
      const got = `${digestAlgorithm(this.digest)}:${this.hash.digest('hex')}`;
      if (got !== this.digest)
        return cb(new DigestMismatchError(`${this.label}: content hashes to ${got}, not ${this.digest}`));
      cb(null, this.held);
    });
  }
}

/** Re-cut a stream into pieces of exactly `size` bytes (the last may be shorter). */
export async function* fixedChunks(
  source: AsyncIterable<Buffer | string>,
  size: number,
): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const c of source) {
    let b = typeof c === 'string' ? Buffer.from(c) : c;
    while (b.length > 0) {
      const take = Math.min(size - held, b.length);
      parts.push(b.subarray(0, take));
      held += take;
      b = b.subarray(take);
      if (held === size) {
        yield Buffer.concat(parts);
        parts = [];
        held = 0;
      }
    }
  }
  if (held > 0) yield Buffer.concat(parts);
}
