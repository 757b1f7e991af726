// Image use-cases of the Engine facade: list, remove, tag, inspect, save/load, build, prune.
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BuildRequest, BuildResult } from '../builder/index.js';
import { describeError, type ErrorCode, InvalidArgumentError, isBerthError } from '../errors/index.js';
import {
  familiarRepoDigest,
  familiarTag,
  fullTagName,
  type ImportOptions,
  importImage,
  type LoadResult,
  loadImages,
  type PullOptions,
  type SaveFormat,
  saveImagesStream,
  saveImagesToDir,
} from '../image/index.js';
import { familiarName, parsePlatform, parseReference } from '../oci/index.js';
import { normalizeAuthHost } from '../registry/index.js';
import type { ImageRecord } from '../store/index.js';
import { atomicWriteStream } from '../util/index.js';
import { sweepDeadBuilds } from './_builds.js';
import { recordImageEvent } from './_events.js';
import { type FilterInput, parseImageFilters } from './_filters.js';
import type { Parts } from './_parts.js';
import { pullWithCredentials, type RegistryCredentials } from './_push.js';

export interface ImageSummary {
  ID: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedAt: string;
  Size: number;
  Names: string[];
  Dangling: boolean;
}

export interface RemoveReport {
  reference: string;
  untagged: string[];
  deleted: string[];
  error?: string;
  /** The failure's error code, so a front end can answer it (404, 409) without parsing `error`. */
  errorCode?: ErrorCode;
}

export type LoadOptions = Parameters<typeof loadImages>[2];

export type BuildRequestOptions = Omit<BuildRequest, 'tags'> & {
  tags?: string[];
  /**
   * `build --output`: write the image as an archive (named by `tags`) instead of storing it.
   * Its layers stay in the store for the build cache; the image record does not.
   */
  output?: { format: 'oci-archive' | 'docker-archive'; dest: string | Writable };
};

/**
 * `build`: a Dockerfile into an image. Base images are found in the store or pulled (always
 * with `pull`). The build module loads only here, so other commands never parse it.
 */
export async function build(
  parts: Parts,
  options: BuildRequestOptions,
  extra: {
    onPullProgress?: PullOptions['onProgress'];
    /** Credentials per registry (keys as docker writes them: `host[:port]` or a URL) for base-image pulls. */
    credentials?: Record<string, RegistryCredentials>;
  } = {},
): Promise<BuildResult> {
  const { buildImage } = await import('../builder/index.js');
  const { output, ...request } = options;
  const names = (request.tags ?? []).map((t) => fullTagName(parseReference(t)));
  const tags = output ? [] : names;
  const result = await buildImage(
    {
      store: parts.store,
      containers: parts.containers,
      runroot: parts.options.runroot,
      download: (url, dest, options) => parts.registry.downloadToFile(url, dest, options),
      resolveImage: async (reference, options) => {
        const existing = options.pull ? undefined : parts.findImage(reference);
        if (existing) return existing;
        const pulled = await pullWithCredentials(
          parts,
          reference,
          {
            ...(extra.onPullProgress ? { onProgress: extra.onPullProgress } : {}),
            ...(options.platform
              ? { platform: parsePlatform(options.platform), platformExplicit: true }
              : {}),
          },
          credentialsFor(extra.credentials, reference),
        );
        return pulled.image;
      },
    },
    { ...request, tags },
  );
  if (output) {
    const image = result.image;
    await saveImages(parts, [image.id], { format: output.format, output: output.dest, names });
    // exported, not stored: an image the build did not name goes (one named before stays)
    if (parts.store.findImage(image.id)?.names.length === 0) parts.store.removeImage(image.id);
  } else {
    recordImageEvent(parts.store, 'build', result.image.id, tags[0]);
    for (const t of tags) {
      if (result.image.names.includes(t)) recordImageEvent(parts.store, 'tag', result.image.id, t);
    }
  }
  return result;
}

/** The credentials given for the registry of `reference`, if any. */
function credentialsFor(
  credentials: Record<string, RegistryCredentials> | undefined,
  reference: string,
): RegistryCredentials | undefined {
  if (!credentials) return undefined;
  const host = normalizeAuthHost(parseReference(reference).domain);
  for (const [key, creds] of Object.entries(credentials)) {
    if (host !== undefined && normalizeAuthHost(key) === host) return creds;
  }
  return undefined;
}

/**
 * Forget the build cache, free the cache-mount dirs no running build holds, and collect what only
 * the cache kept. `entries` counts cache records and cache mounts; what killed builds left goes too.
 */
export async function pruneBuildCache(parts: Parts): Promise<{ entries: number; bytes: number }> {
  await sweepDeadBuilds(parts);
  const records = parts.store.pruneBuildCache();
  const mounts = await parts.store.pruneCacheMounts();
  const gc = await parts.store.gc({ graceMs: 0 });
  return { entries: records + mounts.count, bytes: gc.bytes + mounts.bytes };
}

/**
 * `images`: one row per name (one `<none>` row for an untagged image), newest first. A
 * `reference` filter replaces the `reference` argument; filters are checked before listing.
 */
export function listImages(
  parts: Parts,
  options: { reference?: string; filters?: FilterInput } = {},
): ImageSummary[] {
  const filter = parseImageFilters(options.filters);
  const reference = filter.reference ?? options.reference;
  const dangling = filter.dangling;
  const images = parts.store.listImages(dangling === undefined ? {} : { dangling });
  const out: ImageSummary[] = [];
  for (const img of images) {
    const digests = img.repoDigests.map(familiarRepoDigest);
    const rows = img.names.length > 0 ? img.names : [undefined];
    for (const name of rows) {
      let repo = '<none>';
      let tag = '<none>';
      if (name) {
        const ref = parseReference(name);
        repo = familiarName(ref);
        tag = ref.tag ?? '<none>';
        if (reference && !matchesReference(reference, repo, tag)) continue;
      } else if (reference) continue;
      const digest =
        digests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? digests[0]?.split('@')[1] ?? '<none>';
      out.push({
        ID: img.id,
        Repository: repo,
        Tag: tag,
        Digest: digest,
        CreatedAt: img.created ?? '',
        Size: img.size,
        Names: img.names.map(familiarTag),
        Dangling: img.names.length === 0,
      });
    }
  }
  return out.sort(
    (a, b) =>
      (b.CreatedAt || '').localeCompare(a.CreatedAt || '') || a.Repository.localeCompare(b.Repository),
  );
}

/** `rmi`: one report per reference, then free what nothing references. */
export async function removeImages(
  parts: Parts,
  references: string[],
  options: { force?: boolean } = {},
): Promise<RemoveReport[]> {
  const reports: RemoveReport[] = [];
  for (const reference of references) {
    try {
      const image = parts.resolveImage(reference);
      let target = image.id as string;
      try {
        const ref = parseReference(reference);
        const full = fullTagName(ref);
        if (!ref.digest && image.names.includes(full)) target = full;
      } catch {
        // an ID
      }
      const r = parts.store.removeImage(target, { force: options.force });
      recordRemoval(parts, image.id, r);
      reports.push({ reference, untagged: r.untagged.map(familiarTag), deleted: r.deleted });
    } catch (err) {
      reports.push({
        reference,
        untagged: [],
        deleted: [],
        error: describeError(err),
        ...(isBerthError(err) ? { errorCode: err.code } : {}),
      });
    }
  }
  await parts.store.gc({ graceMs: 0 });
  return reports;
}

export function tagImage(parts: Parts, source: string, target: string): void {
  const image = parts.resolveImage(source);
  const name = fullTagName(parseReference(target));
  parts.store.tagImage(image.id, name);
  recordImageEvent(parts.store, 'tag', image.id, name);
}

/** Docker's events for a removal: one untag per name, one delete per image. */
function recordRemoval(parts: Parts, id: string, r: { untagged: string[]; deleted: string[] }): void {
  for (const name of r.untagged) recordImageEvent(parts.store, 'untag', id, name);
  for (const d of r.deleted) recordImageEvent(parts.store, 'delete', d);
}

/** Save images as docker-archive / oci-archive to a file or stream, or as an OCI layout dir. */
export async function saveImages(
  parts: Parts,
  references: string[],
  options: { format: SaveFormat; output: string | Writable; names?: string[] },
): Promise<void> {
  const items = references.map((r) => {
    const image = parts.resolveImage(r);
    // explicit names (build --output -t): recorded in the archive without tagging the store
    if (options.names) return { image, names: options.names.map((n) => fullTagName(parseReference(n))) };
    let names = image.names;
    try {
      const ref = parseReference(r);
      if (!ref.digest && image.names.includes(fullTagName(ref))) names = [fullTagName(ref)];
    } catch {
      // saving by ID keeps every name, as docker does
    }
    return { image, names };
  });
  if (options.format === 'oci-dir') {
    if (typeof options.output !== 'string')
      throw new InvalidArgumentError('oci-dir output needs a directory path');
    await saveImagesToDir(parts.store, items, options.output);
    recordSaves(parts, items);
    return;
  }
  const stream: Readable = saveImagesStream(parts.store, items, options.format);
  if (typeof options.output === 'string') {
    await atomicWriteStream(options.output, (out) => pipeline(stream, out, { end: false }));
  } else {
    await pipeline(stream, options.output, { end: false });
  }
  recordSaves(parts, items);
}

function recordSaves(parts: Parts, items: { image: ImageRecord; names: string[] }[]): void {
  for (const { image, names } of items) recordImageEvent(parts.store, 'save', image.id, names[0]);
}

export async function load(
  parts: Parts,
  input: { path: string } | { stream: AsyncIterable<Buffer> },
  options: LoadOptions = {},
): Promise<LoadResult> {
  const result = await loadImages({ store: parts.store }, input, options);
  for (const { image, names } of result.images) recordImageEvent(parts.store, 'load', image.id, names[0]);
  return result;
}

export async function importTar(
  parts: Parts,
  source: AsyncIterable<Buffer>,
  options: ImportOptions = {},
): Promise<ImageRecord> {
  const image = await importImage({ store: parts.store }, source, options);
  recordImageEvent(parts.store, 'import', image.id, image.names[0]);
  return image;
}

/** Remove dangling images (all unused ones with `all`), then collect garbage. */
export async function pruneImages(
  parts: Parts,
  options: { all?: boolean } = {},
): Promise<{ deleted: string[]; untagged: string[]; reclaimed: number }> {
  const before = parts.store.diskUsage();
  // images that containers use are never pruned, dangling or not (docker's rule)
  const inUse = new Set(parts.store.listContainers().map((c) => c.imageId));
  const victims = parts.store
    .listImages(options.all ? {} : { dangling: true })
    .filter((i) => !inUse.has(i.id));
  const deleted: string[] = [];
  const untagged: string[] = [];
  for (const img of victims) {
    const r = parts.store.removeImage(img.id, { force: true });
    recordRemoval(parts, img.id, r);
    deleted.push(...r.deleted);
    untagged.push(...r.untagged.map(familiarTag));
  }
  const gc = await parts.store.gc({ graceMs: 0 });
  const after = parts.store.diskUsage();
  const reclaimed = Math.max(
    gc.bytes,
    before.layers.size + before.blobs.size - (after.layers.size + after.blobs.size),
  );
  return { deleted, untagged, reclaimed };
}

function matchesReference(pattern: string, repo: string, tag: string): boolean {
  const [pRepo, pTag] = pattern.includes(':')
    ? [pattern.slice(0, pattern.lastIndexOf(':')), pattern.slice(pattern.lastIndexOf(':') + 1)]
    : [pattern, undefined];
  const re = new RegExp(
    `^${pRepo
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(repo) && (pTag === undefined || pTag === tag);
}
