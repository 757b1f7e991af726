import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { compressStream, unpackLayer } from '../archive/index.js';
import {
  type ContainerConfig,
  type Digest,
  hostPlatform,
  type ImageConfig,
  MediaType,
  type Platform,
  parseReference,
  sniffCompression,
} from '../oci/index.js';
import type { ImageRecord, Store } from '../store/index.js';
import { HashingCounter, removeAll } from '../util/index.js';
import { applyChanges } from './_changes.js';
import { storeImageWithLayer } from './_layers.js';
import { fullTagName } from './_names.js';

export interface ImportOptions {
  /** Name to tag the new image with. */
  reference?: string;
  /** Dockerfile instructions applied to the config (`--change`). */
  changes?: string[];
  /** History comment (`--message`). */
  message?: string;
  platform?: Platform;
  /** Creation time; defaults to SOURCE_DATE_EPOCH or now. */
  created?: Date;
}

/** An image's creation time: the explicit one, else SOURCE_DATE_EPOCH, else now. */
export function creationTime(explicit?: Date): string {
  if (explicit) return explicit.toISOString();
  const sde = process.env.SOURCE_DATE_EPOCH;
  if (sde && /^\d+$/.test(sde)) return new Date(Number(sde) * 1000).toISOString();
  return new Date().toISOString();
}

/**
 * Turn a root filesystem tarball (plain, gzip or zstd) into a one-layer image. The tar is
 * untrusted: it goes through the same checked unpacker as pulled layers.
 */
export async function importImage(
  deps: { store: Store },
  source: AsyncIterable<Buffer>,
  options: ImportOptions = {},
): Promise<ImageRecord> {
  const { store } = deps;
  const name = options.reference ? fullTagName(parseReference(options.reference)) : undefined;
  // Validate --change before reading any input.
  const containerConfig: ContainerConfig = applyChanges({}, options.changes ?? []);
  // two staging dirs: one becomes the layer by rename, the other holds the raw and gzip files
  const work = await store.createStagingDir();
  const rootfs = await store.createStagingDir();
  const rawPath = join(work, 'raw');
  try {
    // one pass: keep the raw bytes (hashing them) while the checked unpacker reads them
    const rawHash = createHash('sha256');
    const fd = openSync(rawPath, 'w', 0o600);
    let head: Buffer | undefined;
    let rawSize = 0;
    async function* tee(): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (!head) head = b.subarray(0, 8);
        writeSync(fd, b);
        rawHash.update(b);
        rawSize += b.length;
        yield b;
      }
    }
    let unpacked: Awaited<ReturnType<typeof unpackLayer>>;
    try {
      unpacked = await unpackLayer(tee(), rootfs, { compression: 'auto' });
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const compression = head ? sniffCompression(head) : 'none';
    let blobPath = rawPath;
    let blobDigest = `sha256:${rawHash.digest('hex')}` as Digest;
    let blobSize = rawSize;
    let mediaType: string = compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayerGzip;
    if (compression === 'none') {
      // store layers compressed: gzip the plain tar once (deterministic header)
      blobPath = join(work, 'layer.gz');
      const blob = new HashingCounter();
      await pipeline(createReadStream(rawPath), compressStream('gzip'), blob, createWriteStream(blobPath));
      blobDigest = `sha256:${blob.hash.digest('hex')}` as Digest;
      blobSize = blob.bytes;
      mediaType = MediaType.ociLayerGzip;
    }
    const platform = options.platform ?? hostPlatform();
    const created = creationTime(options.created);
    const config: ImageConfig = {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: containerConfig,
      rootfs: { type: 'layers', diff_ids: [unpacked.diffId] },
      history: [
        {
          created,
          created_by: 'berth import',
          ...(options.message ? { comment: options.message } : {}),
        },
      ],
    };
    return await storeImageWithLayer(
      store,
      config,
      {
        base: [],
        top: {
          blobPath,
          blobDigest,
          blobSize,
          mediaType,
          staging: rootfs,
          unpacked,
        },
      },
      name ? [name] : [],
    );
  } finally {
    await removeAll(work);
    await removeAll(rootfs);
  }
}
