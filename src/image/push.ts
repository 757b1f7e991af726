import { type Readable, Transform, type TransformCallback } from 'node:stream';
import {
  InterruptedError,
  InvalidManifestError,
  InvalidReferenceError,
  NotFoundError,
} from '../errors/index.js';
import {
  type Descriptor,
  type Digest,
  formatReference,
  type ImageReference,
  parseManifest,
  parseReference,
  repositoryName,
  shortId,
} from '../oci/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { ImageRecord, Store } from '../store/index.js';
import { mapLimit } from './_concurrency.js';

/** What happened to one blob of a push, in the order a blob goes through them. */
export type PushBlobStatus = 'preparing' | 'waiting' | 'pushing' | 'pushed' | 'exists' | 'mounted';

export type PushEvent =
  | {
      type: 'layer';
      /** Short blob digest, as pull reports layers. */
      id: string;
      status: PushBlobStatus;
      /** Bytes sent so far and in all (`pushing`). */
      current?: number;
      total?: number;
      /** The repository (path on the same registry, `library/alpine`) a `mounted` blob came from. */
      from?: string;
    }
  | { type: 'manifest'; tag: string; digest: Digest; size: number };

export type PushSink = (event: PushEvent) => void;

export interface PushOptions {
  onProgress?: PushSink;
  signal?: AbortSignal;
  /** Layers uploaded at once (default 4). */
  concurrency?: number;
}

export interface PushResult {
  /** Digest and size of the manifest the registry now has under the tag. */
  digest: Digest;
  size: number;
  mediaType: string;
  /** The destination pushed to, `domain/path:tag`. */
  reference: string;
}

/** Progress is reported at most once per this many bytes (and at each blob's end). */
const PROGRESS_STEP = 256 * 1024;

/**
 * Push a stored image to `destination` (a tagged reference): every layer blob in parallel (HEAD
 * first, skipped when present, mounted from the repository the image was pulled from when it is
 * on the same registry), then the config, then the manifest. The manifest is the stored one,
 * byte for byte, and so are the blobs: a pulled image keeps its digest when pushed back.
 */
export async function pushImage(
  deps: { store: Store; client: RegistryClient },
  image: ImageRecord,
  destination: ImageReference,
  options: PushOptions = {},
): Promise<PushResult> {
  const { store, client } = deps;
  const emit: PushSink = options.onProgress ?? (() => {});
  const tag = destination.tag;
  if (tag === undefined || destination.digest !== undefined) {
    throw new InvalidReferenceError(
      `cannot push to "${formatReference(destination)}": a push destination needs a tag and no digest`,
    );
  }
  const display = formatReference(destination);
  const manifestBytes = await store.readBlob(image.manifestDigest);
  const parsed = parseManifest(manifestBytes, image.manifestMediaType);
  if (parsed.kind !== 'manifest' || parsed.manifest.config.digest !== image.id) {
    throw new InvalidManifestError(
      `cannot push "${display}": the stored manifest ${image.manifestDigest} does not describe image ${shortId(image.id)}`,
    );
  }
  const manifest = parsed.manifest;
  const layers = uniqueBlobs(manifest.layers);
  for (const desc of [...layers, manifest.config]) checkBlob(store, desc, display);

  const mountFrom = mountSource(image, destination);
  const limit = Math.max(1, options.concurrency ?? 4);
  // docker lists the top layer first
  const shown = [...layers].reverse();
  for (const desc of shown) emit({ type: 'layer', id: shortId(desc.digest), status: 'preparing' });
  shown.forEach((desc, i) => {
    if (i >= limit) emit({ type: 'layer', id: shortId(desc.digest), status: 'waiting' });
  });
  const push = (desc: Descriptor, report: boolean) =>
    pushOneBlob(
      { store, client, emit: report ? emit : () => {}, signal: options.signal },
      destination,
      desc,
      mountFrom,
    );
  await mapLimit(shown, limit, (desc) => push(desc, true));
  await push(manifest.config, false);
  options.signal?.throwIfAborted();
  const digest = await client.pushManifest(destination, manifestBytes, parsed.mediaType, {
    tagOrDigest: tag,
  });
  emit({ type: 'manifest', tag, digest, size: manifestBytes.length });
  return { digest, size: manifestBytes.length, mediaType: parsed.mediaType, reference: display };
}

function uniqueBlobs(layers: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return layers.filter((d) => !seen.has(d.digest) && seen.add(d.digest));
}

/** A blob the push needs must be in the store with the size the manifest gives it. */
function checkBlob(store: Store, desc: Descriptor, display: string): void {
  if (!store.hasBlob(desc.digest)) {
    throw new NotFoundError(`cannot push "${display}": blob ${desc.digest} is not in the store`, {
      hint: 'pull or build the image again',
    });
  }
  const size = store.blobSize(desc.digest);
  if (size !== desc.size) {
    throw new InvalidManifestError(
      `cannot push "${display}": blob ${desc.digest} is ${size} bytes in the store, the manifest says ${desc.size}`,
    );
  }
}

/**
 * A repository on the destination's registry that holds the image's blobs already: one it was
 * pulled from (its repo digests), so the registry can link them instead of receiving them again.
 */
export function mountSource(image: ImageRecord, destination: ImageReference): string | undefined {
  for (const rd of image.repoDigests) {
    let ref: ImageReference;
    try {
      ref = parseReference(rd);
    } catch {
      continue;
    }
    if (ref.domain === destination.domain && ref.path !== destination.path) return repositoryName(ref);
  }
  return undefined;
}

interface BlobDeps {
  store: Store;
  client: RegistryClient;
  emit: PushSink;
  signal: AbortSignal | undefined;
}

async function pushOneBlob(
  deps: BlobDeps,
  destination: ImageReference,
  desc: Descriptor,
  mountFrom: string | undefined,
): Promise<void> {
  const { store, client, emit, signal } = deps;
  signal?.throwIfAborted();
  const id = shortId(desc.digest);
  const open = () => {
    emit({ type: 'layer', id, status: 'pushing', current: 0, total: desc.size });
    return countedBlobStream(() => store.openBlob(desc.digest), desc.size, {
      report: (current) => emit({ type: 'layer', id, status: 'pushing', current, total: desc.size }),
      signal,
    });
  };
  const outcome = await client.pushBlob(destination, desc, open, mountFrom ? { mountFrom } : {});
  if (outcome === 'exists') emit({ type: 'layer', id, status: 'exists' });
  else if (outcome === 'mounted') {
    emit({
      type: 'layer',
      id,
      status: 'mounted',
      ...(mountFrom ? { from: parseReference(mountFrom).path } : {}),
    });
  } else emit({ type: 'layer', id, status: 'pushed' });
}

/**
 * A blob's bytes for one upload attempt, counted for progress. An abort (at once when `signal`
 * has fired already) fails it with an InterruptedError, which the client does not retry.
 */
export function countedBlobStream(
  open: () => Readable,
  size: number,
  options: { report: (current: number) => void; signal?: AbortSignal | undefined },
): Readable {
  const { signal } = options;
  const counter = new ProgressCounter(size, options.report);
  const interrupt = () =>
    counter.destroy(new InterruptedError('push interrupted', { cause: signal?.reason }));
  if (signal?.aborted) {
    interrupt();
    return counter;
  }
  const source = open();
  source.on('error', (err) => counter.destroy(err));
  counter.on('close', () => {
    source.destroy();
    signal?.removeEventListener('abort', interrupt);
  });
  signal?.addEventListener('abort', interrupt, { once: true });
  return source.pipe(counter);
}

/** Passes bytes through, reporting the running total every PROGRESS_STEP bytes and at the end. */
class ProgressCounter extends Transform {
  #done = 0;
  #reported = 0;

  constructor(
    private readonly total: number,
    private readonly report: (current: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#done += chunk.length;
    if (this.#done - this.#reported >= PROGRESS_STEP || this.#done === this.total) {
      this.#reported = this.#done;
      this.report(this.#done);
    }
    cb(null, chunk);
  }
}
