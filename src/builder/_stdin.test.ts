import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { SizeLimitError } from '../errors/index.js';
import { readStdinContext, readStdinDockerfile } from './_stdin.js';

const work = mkdtempSync(join(tmpdir(), 'berth-stdin-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** stdin as it arrives from a pipe: in chunks. */
async function* chunked(data: Buffer, size = 16 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

function contextTar(files: Record<string, Buffer | string>): Buffer {
  const src = mkdtempSync(join(work, 'src-'));
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(src, p, '..'), { recursive: true });
    writeFileSync(join(src, p), c);
  }
  return execFileSync('tar', ['-C', src, '-cf', '-', '.'], { maxBuffer: 64 * 1024 * 1024 });
}

test('build -f -: a Dockerfile on stdin over the cap is refused with a clear error', async () => {
  const big = Buffer.alloc(5 * 1024 * 1024, '#');
  await assert.rejects(readStdinDockerfile(chunked(big)), (err: Error) => {
    assert.ok(err instanceof SizeLimitError, String(err));
    assert.equal(err.message, 'the Dockerfile on stdin is over 4 MiB');
    return true;
  });
  await assert.rejects(
    readStdinDockerfile(chunked(Buffer.from('FROM a\n'.repeat(20))), { maxDockerfileBytes: 64 }),
    /over 64 bytes/,
  );
  assert.equal(await readStdinDockerfile(chunked(Buffer.from('FROM scratch\n'))), 'FROM scratch\n');
});

test('build -: a Dockerfile on stdin (not a tar) is bounded the same way', async () => {
  const dir = mkdtempSync(join(work, 'ctx-'));
  await assert.rejects(readStdinContext(chunked(Buffer.alloc(5 * 1024 * 1024, '#')), dir), SizeLimitError);
  const got = await readStdinContext(chunked(Buffer.from('FROM scratch\n')), dir);
  assert.deepEqual(got, { dockerfile: 'FROM scratch\n' });
});

test('build -: a context tar is unpacked; past the cap it is refused', async () => {
  const tar = contextTar({ Dockerfile: 'FROM scratch\n', 'data/blob.bin': Buffer.alloc(200 * 1024, 1) });
  const ok = mkdtempSync(join(work, 'ctx-'));
  assert.deepEqual(await readStdinContext(chunked(tar), ok), {});
  assert.equal(readFileSync(join(ok, 'Dockerfile'), 'utf8'), 'FROM scratch\n');
  assert.equal(readFileSync(join(ok, 'data', 'blob.bin')).length, 200 * 1024);

  const refused = mkdtempSync(join(work, 'ctx-'));
  await assert.rejects(
    readStdinContext(chunked(tar), refused, { maxContextBytes: 64 * 1024 }),
    (err: Error) => {
      assert.ok(err instanceof SizeLimitError, String(err));
      assert.match(err.message, /^the build context on stdin is over 65536 bytes$/);
      return true;
    },
  );
});

test('build -: a gzip context is capped by its uncompressed size (a small bomb cannot fill the disk)', async () => {
  // 4 MiB of zeros gzip to a few KiB: the raw input is far under the cap, the tar is not
  const tar = contextTar({ Dockerfile: 'FROM scratch\n', zeros: Buffer.alloc(4 * 1024 * 1024) });
  const gz = gzipSync(tar);
  assert.ok(gz.length < 64 * 1024);
  const dir = mkdtempSync(join(work, 'ctx-'));
  await assert.rejects(readStdinContext(chunked(gz), dir, { maxContextBytes: 1024 * 1024 }), SizeLimitError);
  assert.ok(!readdirSync(dir).includes('zeros') || readFileSync(join(dir, 'zeros')).length <= 1024 * 1024);
  const whole = mkdtempSync(join(work, 'ctx-'));
  await readStdinContext(chunked(gz), whole);
  assert.equal(readFileSync(join(whole, 'zeros')).length, 4 * 1024 * 1024);
});

test('build - and POST /build: xz and bzip2 contexts unpack like plain ones', async () => {
  const tar = contextTar({ Dockerfile: 'FROM scratch\n', 'a.txt': 'A' });
  for (const codec of ['xz', 'bzip2']) {
    const dir = mkdtempSync(join(work, 'ctx-'));
    const packed = execFileSync(codec, ['-c'], { input: tar });
    assert.deepEqual(await readStdinContext(chunked(packed, 100), dir), {}, codec);
    assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'A', codec);
  }
});

test('POST /build: with allowDevices false a device node in the context is refused', async () => {
  // a raw ustar header for a char device 1/3 (null), made by hand: tar would need root
  const h = Buffer.alloc(512);
  h.write('null', 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write('00000000000\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('3', 156);
  h.write('ustar\u000000', 257);
  h.write('0000001\0', 329);
  h.write('0000003\0', 337);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const tar = Buffer.concat([h, Buffer.alloc(1024)]);
  const dir = mkdtempSync(join(work, 'ctx-'));
  await assert.rejects(readStdinContext(chunked(tar), dir, { allowDevices: false }), { code: 'UNSAFE_PATH' });
  assert.deepEqual(readdirSync(dir), []);
});
