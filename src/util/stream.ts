import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { SizeLimitError } from '../errors/index.js';

/** A pass-through that hashes and counts bytes, and fails past `limit` bytes. */
export class HashingCounter extends Transform {
  readonly hash: Hash;
  bytes = 0;
  private readonly limit: number;
  constructor(options: { algorithm?: string; limit?: number; initial?: Hash; initialBytes?: number } = {}) {
    super();
    this.hash = options.initial ?? createHash(options.algorithm ?? 'sha256');
    this.bytes = options.initialBytes ?? 0;
    this.limit = options.limit ?? Number.POSITIVE_INFINITY;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      cb(new SizeLimitError(`stream exceeds ${this.limit} bytes`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

/** Read a whole stream into a Buffer, failing past `limit` bytes. */
export async function readAll(
  stream: AsyncIterable<Buffer | string>,
  limit = Number.POSITIVE_INFINITY,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    n += b.length;
    if (n > limit) throw new SizeLimitError(`document exceeds the ${limit}-byte limit`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
