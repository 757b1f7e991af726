// ADD's extras: URL downloads, and archive sniffing and extraction with the checked unpacker.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { posix } from 'node:path';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { unpackLayer } from '../archive/index.js';
import { InvalidArgumentError, NotFoundError } from '../errors/index.js';
import { sniffCompression } from '../oci/index.js';
import type { Build } from './_executor.js';

export function download(b: Build, url: string): Promise<Buffer> {
  let p = b.downloads.get(url);
  if (!p) {
    p = (async () => {
      const res = await fetch(url, { redirect: 'follow', signal: b.signal });
      if (!res.ok) throw new NotFoundError(`ADD ${url}: HTTP ${res.status}`);
      const limit = 1024 * 1024 * 1024;
      const len = Number(res.headers.get('content-length') ?? 0);
      if (len > limit) throw new InvalidArgumentError(`ADD ${url}: ${len} bytes is over the 1 GiB limit`);
      return Buffer.from(await res.arrayBuffer());
    })();
    b.downloads.set(url, p);
  }
  return p;
}

/** Decompressors ADD runs for the formats Node has no codec for, by their magic bytes. */
const EXTERNAL_CODECS: { magic: Buffer; program: string }[] = [
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), program: 'xz' },
  { magic: Buffer.from('BZh', 'latin1'), program: 'bzip2' },
];

function externalCodec(head: Buffer): string | undefined {
  return EXTERNAL_CODECS.find((c) => head.subarray(0, c.magic.length).equals(c.magic))?.program;
}

/** A tar, plain or compressed (gzip, zstd, xz, bzip2); docker copies any other file as it is. */
export async function isArchive(path: string): Promise<boolean> {
  const fd = await import('node:fs/promises').then((m) => m.open(path, 'r'));
  const isTar = (b: Buffer) => b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fd.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    const program = externalCodec(head);
    if (program) {
      // the head alone: the decompressor complains about the cut but prints what it decoded
      const out = spawnSync(program, ['-dc'], { input: head, maxBuffer: 1024 * 1024 });
      return isTar(out.stdout ?? Buffer.alloc(0));
    }
    switch (sniffCompression(head)) {
      case 'gzip':
        try {
          return isTar(gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH }));
        } catch {
          return false;
        }
      case 'zstd':
        return true;
      default:
        return isTar(head);
    }
  } finally {
    await fd.close();
  }
}

/** ADD's auto-extraction: the same checked unpacker as layers (no escapes, no link traversal). */
export async function extractArchive(path: string, dir: string): Promise<void> {
  const head = Buffer.alloc(8);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const program = externalCodec(head);
  if (!program) {
    await unpackLayer(createReadStream(path), dir, { compression: 'auto' });
    return;
  }
  const child = spawn(program, ['-dc', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number>((resolveExit) => child.on('close', (code) => resolveExit(code ?? 1)));
  try {
    await unpackLayer(child.stdout, dir, { compression: 'none' });
  } finally {
    child.kill();
  }
  const code = await exited;
  if (code !== 0 && code !== null && stderr.trim()) {
    throw new InvalidArgumentError(
      `ADD: ${program} could not decompress "${posix.basename(path)}": ${stderr.trim()}`,
    );
  }
}
