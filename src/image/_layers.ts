import { type UnpackResult, unpackLayer } from '../archive/index.js';
import { InvalidManifestError } from '../errors/index.js';
import type { Descriptor, Digest, ImageConfig, ImageManifest } from '../oci/index.js';
import {
  canonicalJson,
  layerCompression,
  MediaType,
  sha256Digest,
  validateImageConfig,
} from '../oci/index.js';
import type { ImageLayerRef, ImageRecord, NewImage, Store } from '../store/index.js';
import { removeAll } from '../util/index.js';

/** A manifest and its config must agree on the number of layers. */
export function checkLayerCount(manifest: ImageManifest, config: ImageConfig): void {
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new InvalidManifestError(
      `manifest lists ${manifest.layers.length} layers but the config has ${config.rootfs.diff_ids.length} diff_ids`,
    );
  }
}

/**
 * Unpack one layer's bytes into a fresh staging dir (checked, diffID verified) and commit it
 * to the store. `beforeCommit` makes the blob durable once the content is known good (an
 * ingest commit, a file adoption); on any failure the staging dir is removed.
 */
export async function unpackIntoStore(
  store: Store,
  source: AsyncIterable<Buffer>,
  layer: { desc: Descriptor; diffId: Digest },
  options: { signal?: AbortSignal; beforeCommit?: () => Promise<void> } = {},
): Promise<void> {
  const { desc, diffId } = layer;
  const staging = await store.createStagingDir();
  try {
    const result = await unpackLayer(source, staging, {
      compression: layerCompression(desc.mediaType) ?? 'auto',
      expectedDiffId: diffId,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await options.beforeCommit?.();
    await store.commitLayer(staging, {
      diffId,
      size: result.unpackedBytes,
      tarSize: result.size,
      blobDigest: desc.digest,
      mediaType: desc.mediaType,
      compressedSize: desc.size,
    });
  } catch (err) {
    await removeAll(staging);
    throw err;
  }
}

/** The store's record for an image, from its manifest and config. */
export function imageRecord(
  manifest: ImageManifest,
  config: ImageConfig,
  extra: { manifestDigest: Digest; manifestMediaType: string; names: string[]; repoDigests: string[] },
): NewImage {
  return {
    id: manifest.config.digest,
    manifestDigest: extra.manifestDigest,
    manifestMediaType: extra.manifestMediaType,
    configMediaType: manifest.config.mediaType,
    layers: manifest.layers.map((l, i) => ({
      diffId: config.rootfs.diff_ids[i]!,
      blobDigest: l.digest,
      mediaType: l.mediaType,
      compressedSize: l.size,
    })),
    names: extra.names,
    repoDigests: extra.repoDigests,
    created: config.created,
    platform: {
      os: config.os,
      architecture: config.architecture,
      ...(config.variant ? { variant: config.variant } : {}),
    },
  };
}

/** The canonical config and OCI manifest bytes of an image made of `layers`, and their digests. */
function imageDocuments(config: ImageConfig, layers: ImageLayerRef[]) {
  // a build from an image stored before configs were checked must not pass a bad field on
  validateImageConfig(config);
  const configBytes = Buffer.from(canonicalJson(config));
  const configDigest = sha256Digest(configBytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.blobDigest, size: l.compressedSize })),
  };
  const manifestBytes = Buffer.from(canonicalJson(manifest));
  return { configBytes, configDigest, manifest, manifestBytes, manifestDigest: sha256Digest(manifestBytes) };
}

/** A layer made locally (import, commit): its blob file, unpacked staging dir and digests. */
export interface LocalLayer {
  blobPath: string;
  blobDigest: Digest;
  blobSize: number;
  mediaType: string;
  /** Staging dir holding the unpacked layer; it becomes the layer dir. */
  staging: string;
  /** What unpacking it into `staging` reported (diffID and sizes). */
  unpacked: UnpackResult;
}

/**
 * Store an image made of `base` layers (already in the store) plus one new local layer, with
 * `config` (whose diff_ids list them all, base first): canonical config and OCI manifest,
 * then blobs, layer and records under one lease.
 */
export async function storeImageWithLayer(
  store: Store,
  config: ImageConfig,
  layers: { base: ImageLayerRef[]; top: LocalLayer },
  names: string[],
): Promise<ImageRecord> {
  const { top } = layers;
  const topRef: ImageLayerRef = {
    diffId: top.unpacked.diffId,
    blobDigest: top.blobDigest,
    mediaType: top.mediaType,
    compressedSize: top.blobSize,
  };
  const { configBytes, configDigest, manifest, manifestBytes, manifestDigest } = imageDocuments(config, [
    ...layers.base,
    topRef,
  ]);
  return store.withLease(async (lease) => {
    lease.addBlob(top.blobDigest);
    lease.addBlob(configDigest);
    lease.addBlob(manifestDigest);
    lease.addLayer(top.unpacked.diffId);
    await store.adoptBlobFile(top.blobPath, top.blobDigest);
    await store.putBlob(configBytes, configDigest);
    await store.putBlob(manifestBytes, manifestDigest);
    await store.commitLayer(top.staging, {
      diffId: top.unpacked.diffId,
      size: top.unpacked.unpackedBytes,
      tarSize: top.unpacked.size,
      blobDigest: top.blobDigest,
      mediaType: top.mediaType,
      compressedSize: top.blobSize,
    });
    return store.commitImage(
      imageRecord(manifest, config, {
        manifestDigest,
        manifestMediaType: MediaType.ociManifest,
        names,
        repoDigests: [],
      }),
    );
  });
}

/**
 * Store an image whose layers are all in the store already (a build result): canonical config
 * and OCI manifest blobs, then the image record with `names`. The caller's lease (if any) keeps
 * the layers alive until the record commits.
 */
export async function storeImage(
  store: Store,
  config: ImageConfig,
  layers: ImageLayerRef[],
  names: string[],
): Promise<ImageRecord> {
  const { configBytes, configDigest, manifest, manifestBytes, manifestDigest } = imageDocuments(
    config,
    layers,
  );
  return store.withLease(async (lease) => {
    lease.addBlob(configDigest);
    lease.addBlob(manifestDigest);
    await store.putBlob(configBytes, configDigest);
    await store.putBlob(manifestBytes, manifestDigest);
    return store.commitImage(
      imageRecord(manifest, config, {
        manifestDigest,
        manifestMediaType: MediaType.ociManifest,
        names,
        repoDigests: [],
      }),
    );
  });
}
