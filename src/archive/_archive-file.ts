// Archive files as ADD sees them: a tar, plain or compressed with gzip, zstd, xz or bzip2,
// recognised by content (not by name, as docker does), and unpacked with the checked layer
// unpacker (no path escapes, no link traversal). Any other file is not an archive.

import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { sniffCompression } from '../oci/index.js';
import { decompressExternal, type ExternalCodec } from './_compression.js';
import { unpackLayer } from './_unpack.js';

export type ArchiveCompression = 'gzip' | 'zstd' | 'xz' | 'bzip2' | 'none';

/** Formats Node has no codec for, by their magic bytes; decoded by the program of that name. */
const EXTERNAL_MAGIC: { magic: Buffer; codec: ExternalCodec }[] = [
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), codec: 'xz' },
  { magic: Buffer.from('BZh', 'latin1'), codec: 'bzip2' },
];

/** The compression of a file from its first bytes. */
export function sniffArchiveCompression(head: Buffer): ArchiveCompression {
  const external = EXTERNAL_MAGIC.find((c) => head.subarray(0, c.magic.length).equals(c.magic));
  if (external) return external.codec;
  return sniffCompression(head);
}

function isTarHeader(b: Buffer): boolean {
  return b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
}

/** How much of a file is read to decide: a tar header block decodes from far less. */
const SNIFF_BYTES = 64 * 1024;

/** A tar, plain or compressed (gzip, zstd, xz, bzip2); docker copies any other file as it is. */
export async function isTarArchiveFile(path: string): Promise<boolean> {
  const fd = await open(path, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fd.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fd.close();
  }
  const compression = sniffArchiveCompression(head);
  switch (compression) {
    case 'none':
      return isTarHeader(head);
    case 'gzip':
      try {
        return isTarHeader(gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH }));
      } catch {
        return false;
      }
    default: {
      // the head alone: the decompressor complains about the cut but prints what it decoded
      const out = spawnSync(compression, ['-dc'], { input: head, maxBuffer: 1024 * 1024 });
      return isTarHeader(out.stdout ?? Buffer.alloc(0));
    }
  }
}

/** Unpack the tar archive at `path` (any compression `isTarArchiveFile` accepts) into `dir`. */
export async function unpackArchiveFile(path: string, dir: string): Promise<void> {
  const fd = await open(path, 'r');
  const head = Buffer.alloc(8);
  try {
    await fd.read(head, 0, head.length, 0);
  } finally {
    await fd.close();
  }
  const compression = sniffArchiveCompression(head);
  if (compression !== 'xz' && compression !== 'bzip2') {
    await unpackLayer(createReadStream(path), dir, { compression: 'auto' });
    return;
  }
  const source = createReadStream(path);
  const decoded = decompressExternal(compression);
  source.on('error', (err) => decoded.destroy(err));
  source.pipe(decoded);
  try {
    await unpackLayer(decoded, dir, { compression: 'none' });
  } finally {
    source.destroy();
    decoded.destroy();
  }
}
