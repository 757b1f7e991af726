import { unpackLayer } from '../archive/index.js';
import { SizeLimitError } from '../errors/index.js';
import { sniffCompression } from '../oci/index.js';

const MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024;

/**
 * `build -`: stdin is either a context tar (plain, gzip or zstd), unpacked with the checked
 * layer unpacker into `dir`, or a Dockerfile with an empty context (as docker does).
 */
export async function readStdinContext(
  input: AsyncIterable<Buffer | string>,
  dir: string,
): Promise<{ dockerfile?: string }> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  while (size < 512) {
    const { value, done } = await it.next();
    if (done) break;
    const b = typeof value === 'string' ? Buffer.from(value) : value;
    head.push(b);
    size += b.length;
  }
  const first = Buffer.concat(head);
  const isTar =
    sniffCompression(first) !== 'none' ||
    (first.length >= 262 && first.subarray(257, 262).toString('latin1') === 'ustar');
  async function* rest(): AsyncGenerator<Buffer> {
    yield first;
    for (;;) {
      const { value, done } = await it.next();
      if (done) return;
      yield typeof value === 'string' ? Buffer.from(value) : value;
    }
  }
  if (isTar) {
    await unpackLayer(rest(), dir, { compression: 'auto' });
    return {};
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of rest()) {
    total += c.length;
    if (total > MAX_DOCKERFILE_BYTES) throw new SizeLimitError('the Dockerfile on stdin is over 4 MiB');
    chunks.push(c);
  }
  return { dockerfile: Buffer.concat(chunks).toString('utf8') };
}
