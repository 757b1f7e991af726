import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { waitFor } from '../../test/helpers/wait.js';
import { chunks } from './_testing.js';
import { compressStream, decompressStream, diffIdOfTar } from './index.js';

const data = Buffer.concat([randomBytes(200_000), Buffer.alloc(300_000, 'a')]);

async function through(input: Buffer, t: Transform): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks(input, 10_000)), t, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

describe('compression', () => {
  test('gzip output is deterministic: fixed header with mtime 0 and no name', async () => {
    const a = await through(data, compressStream('gzip'));
    const b = await through(data, compressStream('gzip'));
    assert.deepEqual(a, b);
    assert.equal(a[0], 0x1f);
    assert.equal(a[1], 0x8b);
    assert.equal(a[3], 0, 'no FNAME/FEXTRA/FCOMMENT flags');
    assert.equal(a.readUInt32LE(4), 0, 'mtime 0');
    assert.deepEqual(await through(a, decompressStream('gzip')), data);
  });

  test('zstd round trip through the zstd binary, deterministic', async () => {
    const a = await through(data, compressStream('zstd'));
    const b = await through(data, compressStream('zstd', { level: 3 }));
    assert.deepEqual(a, b);
    assert.equal(a.readUInt32LE(0), 0xfd2fb528);
    assert.deepEqual(await through(a, decompressStream('zstd')), data);
  });

  test('corrupt input is an INVALID_ARGUMENT error', async () => {
    await assert.rejects(through(Buffer.from('not gzip at all'), decompressStream('gzip')), {
      code: 'INVALID_ARGUMENT',
    });
    const z = await through(data, compressStream('zstd'));
    z[z.length - 20] ^= 0xff;
    await assert.rejects(through(z, decompressStream('zstd')), { code: 'INVALID_ARGUMENT' });
  });

  test('invalid levels are refused', () => {
    assert.throws(() => compressStream('gzip', { level: 12 }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => compressStream('zstd', { level: 0 }), { code: 'INVALID_ARGUMENT' });
  });

  test('diffIdOfTar hashes the uncompressed bytes, whatever the compression', async () => {
    const want = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const gz = await through(data, compressStream('gzip'));
    const zst = await through(data, compressStream('zstd'));
    assert.deepEqual(await diffIdOfTar(chunks(data)), { diffId: want, size: data.length });
    assert.equal((await diffIdOfTar(chunks(gz, 333), { compression: 'gzip' })).diffId, want);
    assert.equal((await diffIdOfTar(chunks(gz, 1000), { compression: 'auto' })).diffId, want);
    assert.equal((await diffIdOfTar(chunks(zst, 1000), { compression: 'auto' })).diffId, want);
    assert.equal((await diffIdOfTar(chunks(Buffer.alloc(0)), { compression: 'auto' })).size, 0);
  });

  test('a destroyed zstd stream leaves no process behind', async () => {
    const zstdChildren = (): string[] =>
      readdirSync('/proc')
        .filter((p) => /^[0-9]+$/.test(p))
        .filter((p) => {
          try {
            const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
            return stat.includes('(zstd)') && stat.split(') ')[1]!.split(' ')[1] === String(process.pid);
          } catch {
            return false;
          }
        });
    const t = decompressStream('zstd');
    t.on('error', () => {});
    t.write(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    assert.equal(zstdChildren().length, 1);
    t.destroy();
    await waitFor(() => zstdChildren().length === 0, { timeoutMs: 5_000, what: 'the zstd child to exit' });
  });
});
