import type { Readable } from 'node:stream';
import { hasCode, InvalidManifestError, NotFoundError, UnsupportedError } from '../errors/index.js';
import {
  type Descriptor,
  type Digest,
  formatPlatform,
  formatReference,
  hostPlatform,
  type ImageConfig,
  type ImageReference,
  isImageManifest,
  layerCompression,
  type ParsedManifest,
  type Platform,
  parseImageConfig,
  parseReference,
  platformMatches,
  repositoryName,
  shortId,
  validateImageConfig,
} from '../oci/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { ImageRecord, Lease, Store } from '../store/index.js';
import type { ProgressSink } from '../util/index.js';
import { mapLimit } from './_concurrency.js';
import { checkLayerCount, imageRecord, unpackIntoStore } from './_layers.js';

export interface PullOptions {
  platform?: Platform;
  /** True when the user named the platform; a mismatch is then an error, not a warning. */
  platformExplicit?: boolean;
  onProgress?: ProgressSink;
  signal?: AbortSignal;
  /** Layers fetched at once (default 4). */
  concurrency?: number;
}

export interface PullResult {
  image: ImageRecord;
  reference: string;
  /** Digest of what the registry served for the reference (index or manifest). */
  digest: Digest;
}

/** Pick the manifest for `platform` from an index. */
export function selectPlatform(parsed: ParsedManifest & { kind: 'index' }, platform: Platform): Descriptor {
  const candidates = parsed.index.manifests.filter(
    (d) =>
      d.platform &&
      platformMatches(platform, d.platform) &&
      d.mediaType !== 'application/vnd.oci.image.index.v1+json',
  );
  // prefer an exact variant match
  const exact = candidates.find((d) => d.platform?.variant === platform.variant);
  const chosen = exact ?? candidates[0];
  if (!chosen) {
    const have = parsed.index.manifests
      .filter((d) => d.platform)
      .map((d) => formatPlatform(d.platform!))
      .join(', ');
    throw new NotFoundError(
      `no image for platform ${formatPlatform(platform)} in the index (has: ${have || 'none'})`,
    );
  }
  return chosen;
}

/**
 * Pull one image: resolve → (index → platform manifest) → config → layers in parallel, each in
 * one streaming pass (download → sha256 → decompress → diffID → untar into staging → rename),
 * then one store transaction that makes the image visible.
 */
export async function pullImage(
  deps: { store: Store; client: RegistryClient },
  reference: string,
  options: PullOptions = {},
): Promise<PullResult> {
  const { store, client } = deps;
  const ref = parseReference(reference);
  const emit: ProgressSink = options.onProgress ?? (() => {});
  const wanted = options.platform ?? hostPlatform();
  const display = formatReference(ref);
  emit({ type: 'resolve', ref: display });

  const top = await client.getManifest(ref, { signal: options.signal });
  let manifestDesc: { digest: Digest; mediaType: string; bytes: Buffer; parsed: ParsedManifest } = top;
  if (top.parsed.kind === 'index') {
    const chosen = selectPlatform(top.parsed, wanted);
    manifestDesc = await client.getManifest(ref, { digest: chosen.digest, signal: options.signal });
    if (manifestDesc.parsed.kind !== 'manifest') {
      throw new InvalidManifestError(`index entry ${chosen.digest} is not an image manifest`);
    }
  }
  if (manifestDesc.parsed.kind !== 'manifest') throw new InvalidManifestError('expected an image manifest');
  const manifest = manifestDesc.parsed.manifest;
  if (!isImageManifest(manifest)) {
    throw new UnsupportedError(
      `"${display}" is not a container image (config type ${manifest.config.mediaType})`,
    );
  }
  emit({ type: 'resolved', ref: display, digest: top.digest });

  const configBytes = store.hasBlob(manifest.config.digest)
    ? await store.readBlob(manifest.config.digest)
    : await client.fetchBlobBytes(ref, manifest.config, { signal: options.signal });
  const config = parseImageConfig(configBytes);
  validateImageConfig(config);
  checkLayerCount(manifest, config);
  checkConfig(config, manifest.layers, wanted, options, emit, display);

  return store.withLease(async (lease) => {
    lease.addBlob(manifest.config.digest);
    lease.addBlob(manifestDesc.digest);
    if (top !== manifestDesc) lease.addBlob(top.digest);
    const diffIds = config.rootfs.diff_ids;
    const jobs = uniqueLayers(manifest.layers, diffIds);
    for (const j of jobs) emit({ type: 'layer', id: shortId(j.desc.digest), status: 'waiting' });
    await mapLimit(jobs, options.concurrency ?? 4, (job) =>
      fetchLayer({ store, client, lease, ref, emit, signal: options.signal }, job.desc, job.diffId),
    );
    // the documents are written only once every layer is in, so a failed pull leaves no trace of them
    await store.putBlob(configBytes, manifest.config.digest);
    await store.putBlob(manifestDesc.bytes, manifestDesc.digest);
    if (top !== manifestDesc) await store.putBlob(top.bytes, top.digest);
    const image = store.commitImage(
      imageRecord(manifest, config, {
        manifestDigest: manifestDesc.digest,
        manifestMediaType: manifestDesc.mediaType,
        names: ref.tag !== undefined ? [formatReference({ ...ref, digest: undefined })] : [],
        repoDigests: [`${repositoryName(ref)}@${top.digest}`],
      }),
    );
    return { image, reference: display, digest: top.digest };
  });
}

function checkConfig(
  config: ImageConfig,
  layers: Descriptor[],
  wanted: Platform,
  options: PullOptions,
  emit: ProgressSink,
  display: string,
): void {
  for (const l of layers) {
    if (layerCompression(l.mediaType) === undefined) {
      throw new UnsupportedError(`layer ${l.digest} has unsupported media type "${l.mediaType}"`);
    }
  }
  const got: Platform = {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
  };
  if (!platformMatches(wanted, got)) {
    const msg = `image "${display}" is for ${formatPlatform(got)}, not ${formatPlatform(wanted)}`;
    if (options.platformExplicit) throw new NotFoundError(msg);
    emit({ type: 'message', text: `WARNING: ${msg}` });
  }
}

function uniqueLayers(layers: Descriptor[], diffIds: Digest[]): { desc: Descriptor; diffId: Digest }[] {
  const seen = new Set<string>();
  const out: { desc: Descriptor; diffId: Digest }[] = [];
  layers.forEach((desc, i) => {
    const diffId = diffIds[i]!;
    if (seen.has(diffId)) return;
    seen.add(diffId);
    out.push({ desc, diffId });
  });
  return out;
}

interface LayerDeps {
  store: Store;
  client: RegistryClient;
  lease: Lease;
  ref: ImageReference;
  emit: ProgressSink;
  signal: AbortSignal | undefined;
}

/** Errors after which a partial download is worth keeping for the next attempt. */
function resumable(err: unknown): boolean {
  return hasCode(err, 'NETWORK', 'INTERRUPTED') || (err instanceof Error && err.name === 'AbortError');
}

async function fetchLayer(deps: LayerDeps, desc: Descriptor, diffId: Digest): Promise<void> {
  const { store, lease, emit } = deps;
  const id = shortId(desc.digest);
  lease.addLayer(diffId);
  lease.addBlob(desc.digest);
  if (store.getLayer(diffId) && store.hasBlob(desc.digest)) {
    emit({ type: 'layer', id, status: 'exists' });
    return;
  }
  const ingest = await store.beginIngest({ digest: desc.digest, size: desc.size });
  try {
    const source = ingest.alreadyPresent ? store.openBlob(desc.digest) : downloadInto(deps, desc, ingest, id);
    await unpackIntoStore(
      store,
      source,
      { desc, diffId },
      {
        ...(deps.signal ? { signal: deps.signal } : {}),
        beforeCommit: async () => {
          if (ingest.alreadyPresent) return;
          emit({ type: 'layer', id, status: 'verifying' });
          await ingest.commit();
        },
      },
    );
    emit({ type: 'layer', id, status: 'done' });
  } catch (err) {
    if (!ingest.alreadyPresent) ingest.abort({ keep: resumable(err) });
    throw err;
  }
}

/** The layer's bytes: first what an earlier interrupted pull left, then the (ranged) download. */
async function* downloadInto(
  deps: LayerDeps,
  desc: Descriptor,
  ingest: Awaited<ReturnType<Store['beginIngest']>>,
  id: string,
): AsyncGenerator<Buffer> {
  const { client, ref, emit } = deps;
  let done = 0;
  if (ingest.offset > 0) {
    for await (const chunk of ingest.readPartial() as AsyncIterable<Buffer>) {
      done += chunk.length;
      yield chunk;
    }
  }
  const { stream, offset } = await client.fetchBlob(ref, desc, {
    offset: ingest.offset,
    signal: deps.signal,
  });
  if (offset !== ingest.offset) {
    // the server ignored Range; a resumed pull cannot be spliced, so the caller retries from zero
    stream.destroy();
    throw new NotFoundError(`registry ignored the range request for ${desc.digest}; retry the pull`);
  }
  emit({ type: 'layer', id, status: 'downloading', current: done, total: desc.size });
  try {
    for await (const chunk of stream as Readable) {
      ingest.write(chunk as Buffer);
      done += (chunk as Buffer).length;
      emit({ type: 'layer', id, status: 'downloading', current: done, total: desc.size });
      yield chunk as Buffer;
    }
  } finally {
    stream.destroy();
  }
  emit({ type: 'layer', id, status: 'extracting', current: desc.size, total: desc.size });
}
