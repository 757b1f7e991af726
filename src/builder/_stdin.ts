// Build inputs read from stdin (`build -`, `build -f -`), each under a byte cap: a clear
// SizeLimitError past it, never an unbounded buffer or an unbounded temp dir.

import { pipeline, Readable } from 'node:stream';
import {
  decompressExternal,
  decompressStream,
  sniffArchiveCompression,
  unpackLayer,
} from '../archive/index.js';
import { SizeLimitError } from '../errors/index.js';
import { MAX_DOCKERFILE_BYTES } from './_parser.js';

/** Most bytes of (uncompressed) context tar `build -` takes from stdin. */
export const MAX_STDIN_CONTEXT_BYTES = 8 * 1024 * 1024 * 1024;

export interface StdinLimits {
  /** Default MAX_DOCKERFILE_BYTES (4 MiB). */
  maxDockerfileBytes?: number;
  /** Uncompressed tar bytes; default MAX_STDIN_CONTEXT_BYTES (8 GiB). */
  maxContextBytes?: number;
  /** Create device nodes the tar holds (default: as the layer unpacker does, when root). */
  allowDevices?: boolean;
}

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

function mib(n: number): string {
  return n >= 1024 * 1024 ? `${+(n / (1024 * 1024)).toFixed(1)} MiB` : `${n} bytes`;
}

/** `build -f -`: the Dockerfile on stdin, refused past `maxDockerfileBytes`. */
export async function readStdinDockerfile(
  input: AsyncIterable<Buffer | string>,
  limits: StdinLimits = {},
): Promise<string> {
  const max = limits.maxDockerfileBytes ?? MAX_DOCKERFILE_BYTES;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const value of input) {
    const c = toBuffer(value);
    total += c.length;
    if (total > max) throw new SizeLimitError(`the Dockerfile on stdin is over ${mib(max)}`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Pass `source` through, failing once more than `max` bytes have gone by. */
async function* capped(source: AsyncIterable<Buffer>, max: number, what: string): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const c of source) {
    total += c.length;
    if (total > max) throw new SizeLimitError(`${what} is over ${mib(max)}`);
    yield c;
  }
}

/**
 * `build -`: stdin is either a context tar (plain, gzip, zstd, xz or bzip2), unpacked with the checked
 * layer unpacker into `dir`, or a Dockerfile with an empty context (as docker does). The tar
 * is capped by its uncompressed size (a small gzip cannot fill the disk), the Dockerfile by
 * MAX_DOCKERFILE_BYTES.
 */
export async function readStdinContext(
  input: AsyncIterable<Buffer | string>,
  dir: string,
  limits: StdinLimits = {},
): Promise<{ dockerfile?: string }> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  while (size < 512) {
    const { value, done } = await it.next();
    if (done) break;
    const b = toBuffer(value);
    head.push(b);
    size += b.length;
  }
  const first = Buffer.concat(head);
  const compression = sniffArchiveCompression(first);
  const isTar =
    compression !== 'none' ||
    (first.length >= 262 && first.subarray(257, 262).toString('latin1') === 'ustar');
  async function* rest(): AsyncGenerator<Buffer> {
    yield first;
    for (;;) {
      const { value, done } = await it.next();
      if (done) return;
      yield toBuffer(value);
    }
  }
  if (!isTar) return { dockerfile: await readStdinDockerfile(rest(), limits) };
  const max = limits.maxContextBytes ?? MAX_STDIN_CONTEXT_BYTES;
  let decoded: Readable = Readable.from(rest());
  if (compression !== 'none') {
    const decoder =
      compression === 'xz' || compression === 'bzip2'
        ? decompressExternal(compression)
        : decompressStream(compression);
    // pipeline, not pipe: a failing stdin must fail the decoder too, not leave it waiting
    pipeline(decoded, decoder, () => {});
    decoded = decoder;
  }
  try {
    await unpackLayer(capped(decoded, max, 'the build context on stdin'), dir, {
      compression: 'none',
      ...(limits.allowDevices !== undefined ? { allowDevices: limits.allowDevices } : {}),
    });
  } finally {
    decoded.destroy();
  }
  return {};
}
