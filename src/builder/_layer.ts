// Layers made by a build: a step's changes (an overlay upper dir) become one deterministic
// layer. The tar is written once: hashed for the diffID, fed to the secret scanner, gzipped
// (fixed header, fixed level) into the blob. The upper dir itself is already in overlay layer
// format (0/0 whiteouts, opaque xattrs), so it is moved into the store instead of unpacking
// the tar a second time.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, lstatSync, readdirSync, renameSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compressStream, tarDirectory } from '../archive/index.js';
import { type Digest, MediaType } from '../oci/index.js';
import type { ImageLayerRef, Lease, Store } from '../store/index.js';
import { HashingCounter, removeAll } from '../util/index.js';

/** gzip level of build layers: fixed, so the same files give the same blob on every machine. */
export const BUILD_GZIP_LEVEL = 6;

export interface CommitDirOptions {
  /** mtimes above this are clamped to it (seconds). */
  sourceDateEpoch: number;
  /** Receives the uncompressed tar while it is written (the secret scanner). */
  scan?: (tar: AsyncIterable<Buffer>) => Promise<void>;
}

/**
 * Commit `dir` (overlay format) as a layer and MOVE it into the store. Returns undefined, and
 * leaves the dir alone, when it holds no change.
 */
export async function commitDirAsLayer(
  store: Store,
  lease: Lease,
  dir: string,
  options: CommitDirOptions,
): Promise<ImageLayerRef | undefined> {
  if (readdirSync(dir).length === 0) return undefined;
  const work = await store.createStagingDir();
  let staging: string | undefined;
  try {
    const blobPath = join(work, 'layer.tar.gz');
    const diffHash = createHash('sha256');
    const blob = new HashingCounter();
    let tarSize = 0;
    const scanInput = options.scan ? new PassThrough({ highWaterMark: 1024 * 1024 }) : undefined;
    const scanning = scanInput && options.scan ? options.scan(scanInput) : undefined;
    scanning?.catch(() => {});
    try {
      await pipeline(
        tarDirectory(dir, { whiteouts: 'overlay-to-oci', sourceDateEpoch: options.sourceDateEpoch }),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const c of chunks) {
            diffHash.update(c);
            tarSize += c.length;
            if (scanInput && !scanInput.write(c)) await once(scanInput, 'drain');
            yield c;
          }
          scanInput?.end();
        },
        compressStream('gzip', { level: BUILD_GZIP_LEVEL }),
        blob,
        createWriteStream(blobPath),
      );
    } catch (err) {
      scanInput?.destroy();
      throw err;
    }
    await scanning;
    const diffId = `sha256:${diffHash.digest('hex')}` as Digest;
    const blobDigest = `sha256:${blob.hash.digest('hex')}` as Digest;
    const blobSize = blob.bytes;
    lease.addLayer(diffId);
    lease.addBlob(blobDigest);
    await store.adoptBlobFile(blobPath, blobDigest);
    staging = await store.createStagingDir();
    // rename over the empty staging dir: the upper dir becomes the layer's diff dir
    rmdirSync(staging);
    renameSync(dir, staging);
    await store.commitLayer(staging, {
      diffId,
      size: tarSize,
      tarSize,
      blobDigest,
      mediaType: MediaType.ociLayerGzip,
      compressedSize: blobSize,
    });
    staging = undefined;
    return { diffId, blobDigest, mediaType: MediaType.ociLayerGzip, compressedSize: blobSize };
  } finally {
    await removeAll(work);
    if (staging && lstatSync(staging, { throwIfNoEntry: false })) await removeAll(staging);
  }
}
