import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants, lstat, open } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { unpackLayer } from '../archive/index.js';
import {
  DigestMismatchError,
  InvalidArgumentError,
  InvalidManifestError,
  SizeLimitError,
  UnsafePathError,
} from '../errors/index.js';
import {
  canonicalJson,
  type Descriptor,
  type Digest,
  digestHex,
  hostPlatform,
  type ImageManifest,
  INDEX_MEDIA_TYPES,
  isDigest,
  isImageManifest,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  MediaType,
  type ParsedManifest,
  type Platform,
  parseImageConfig,
  parseManifest,
  parseReference,
  sha256Digest,
  sniffCompression,
  validateImageConfig,
} from '../oci/index.js';
import type { ImageRecord, Store } from '../store/index.js';
import { type ProgressSink, removeAll } from '../util/index.js';
import { checkLayerCount, imageRecord, unpackIntoStore } from './_layers.js';
import { fullTagName } from './_names.js';
import { selectPlatform } from './pull.js';

export interface LoadOptions {
  onProgress?: ProgressSink;
  platform?: Platform;
}

export interface LoadResult {
  images: { image: ImageRecord; names: string[] }[];
}

/**
 * A regular file inside the archive, by its archive path. The path is walked one component at
 * a time and no component may be a symlink: an archive can plant `blobs -> /etc` or
 * `blobs/sha256/<hex> -> /etc/shadow`, and following either would read host files into the store.
 */
async function archiveFile(root: string, rel: string, what: string): Promise<string> {
  if (typeof rel !== 'string' || rel.length === 0 || rel.length > 4096 || rel.includes('\0')) {
    throw new InvalidManifestError(`${what}: invalid path`);
  }
  const clean = normalize(rel);
  if (clean.startsWith('..') || isAbsolute(clean) || clean.includes(`${sep}..${sep}`)) {
    throw new UnsafePathError(`${what}: path "${rel}" escapes the archive`);
  }
  const parts = clean.split(sep).filter((c) => c !== '' && c !== '.');
  if (parts.length === 0) throw new InvalidManifestError(`${what}: invalid path`);
  let p = root;
  for (const [i, part] of parts.entries()) {
    p = join(p, part);
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(p);
    } catch {
      throw new InvalidManifestError(`${what}: "${rel}" is missing from the archive`);
    }
    if (st.isSymbolicLink()) {
      throw new UnsafePathError(`${what}: "${rel}" goes through a symlink, which load does not follow`);
    }
    const last = i === parts.length - 1;
    if (last && !st.isFile()) throw new UnsafePathError(`${what}: "${rel}" is not a regular file`);
    if (!last && !st.isDirectory()) {
      throw new InvalidManifestError(`${what}: "${rel}" is missing from the archive`);
    }
  }
  return p;
}

/** Read a file found by `archiveFile`; O_NOFOLLOW so a link swapped in since is not followed. */
async function readLimited(path: string, limit: number, what: string): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UnsafePathError(`${what} is not a regular file`);
    if (st.size > limit)
      throw new SizeLimitError(`${what} is ${st.size} bytes, over the ${limit}-byte limit`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

async function hashFile(path: string): Promise<{ digest: Digest; size: number; head: Buffer }> {
  const h = createHash('sha256');
  let size = 0;
  let head: Buffer | undefined;
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    if (!head) head = c.subarray(0, 8);
    h.update(c);
    size += c.length;
  }
  return { digest: `sha256:${h.digest('hex')}` as Digest, size, head: head ?? Buffer.alloc(0) };
}

interface PlannedImage {
  names: string[];
  manifestBytes: Buffer;
  manifestMediaType: string;
  manifest: ImageManifest;
  configBytes: Buffer;
  /** Where each layer blob is, in manifest order. */
  layerFiles: string[];
}

/**
 * Load images from a docker-archive, an oci-archive (both tar, optionally compressed) or an
 * OCI layout directory. The archive is hostile input: it is unpacked by the checked unpacker,
 * every path and digest is verified, and nothing becomes visible until all layers are in.
 */
export async function loadImages(
  deps: { store: Store },
  input: { path: string } | { stream: AsyncIterable<Buffer> },
  options: LoadOptions = {},
): Promise<LoadResult> {
  const { store } = deps;
  const emit: ProgressSink = options.onProgress ?? (() => {});
  let root: string;
  let work: string | undefined;
  try {
    if ('path' in input && (await lstat(input.path)).isDirectory()) {
      root = input.path;
    } else {
      work = await store.createStagingDir();
      root = work;
      const src = 'path' in input ? (createReadStream(input.path) as AsyncIterable<Buffer>) : input.stream;
      await unpackLayer(src, root, { compression: 'auto', allowDevices: false });
    }
    const plans = await planImages(root, options.platform ?? hostPlatform());
    if (plans.length === 0) throw new InvalidArgumentError('the archive holds no images');
    const results: LoadResult['images'] = [];
    for (const plan of plans) results.push(await loadOne(store, plan, emit));
    return { images: results };
  } finally {
    if (work) await removeAll(work);
  }
}

async function planImages(root: string, platform: Platform): Promise<PlannedImage[]> {
  const has = async (name: string) => {
    try {
      return (await lstat(join(root, name))).isFile();
    } catch {
      return false;
    }
  };
  if (await has('index.json')) return planOciLayout(root, platform);
  if (await has('manifest.json')) return planDockerArchive(root);
  throw new InvalidArgumentError('not a docker-archive or OCI image layout: no manifest.json or index.json');
}

function blobFile(root: string, d: Digest): Promise<string> {
  return archiveFile(root, join('blobs', d.slice(0, d.indexOf(':')), digestHex(d)), `blob ${d}`);
}

async function readVerifiedBlob(root: string, desc: Descriptor, limit: number): Promise<Buffer> {
  const bytes = await readLimited(await blobFile(root, desc.digest), limit, `blob ${desc.digest}`);
  const got = sha256Digest(bytes);
  if (got !== desc.digest) {
    throw new DigestMismatchError(`blob ${desc.digest} in the archive has digest ${got}`);
  }
  return bytes;
}

async function planOciLayout(root: string, platform: Platform): Promise<PlannedImage[]> {
  const indexBytes = await readLimited(
    await archiveFile(root, 'index.json', 'index.json'),
    MAX_MANIFEST_BYTES,
    'index.json',
  );
  const index = parseManifest(indexBytes, MediaType.ociIndex);
  if (index.kind !== 'index') throw new InvalidManifestError('index.json is not an image index');
  const plans: PlannedImage[] = [];
  for (const entry of index.index.manifests) {
    let desc = entry;
    let bytes = await readVerifiedBlob(root, desc, MAX_MANIFEST_BYTES);
    let parsed: ParsedManifest = parseManifest(bytes, desc.mediaType);
    if (parsed.kind === 'index' || INDEX_MEDIA_TYPES.includes(desc.mediaType)) {
      if (parsed.kind !== 'index')
        throw new InvalidManifestError(`${desc.digest} claims to be an index but is not`);
      desc = selectPlatform(parsed, platform);
      bytes = await readVerifiedBlob(root, desc, MAX_MANIFEST_BYTES);
      parsed = parseManifest(bytes, desc.mediaType);
    }
    if (parsed.kind !== 'manifest') throw new InvalidManifestError(`${desc.digest} is not an image manifest`);
    const manifest = parsed.manifest;
    if (!isImageManifest(manifest)) continue; // artifacts (signatures, SBOMs) are not images
    const configBytes = await readVerifiedBlob(root, manifest.config, MAX_CONFIG_BYTES);
    // every image's config is checked before the first one is stored: a bad one stores nothing
    validateImageConfig(parseImageConfig(configBytes));
    const layerFiles = await Promise.all(manifest.layers.map((l) => blobFile(root, l.digest)));
    plans.push({
      names: namesFromAnnotations(entry.annotations),
      manifestBytes: bytes,
      manifestMediaType: parsed.mediaType,
      manifest,
      configBytes,
      layerFiles,
    });
  }
  return plans;
}

function namesFromAnnotations(annotations: Record<string, string> | undefined): string[] {
  const full = annotations?.['io.containerd.image.name'];
  const refName = annotations?.['org.opencontainers.image.ref.name'];
  for (const candidate of [full, refName]) {
    if (!candidate) continue;
    // a bare tag ("latest") names no repository; only a full reference gives a name
    if (!candidate.includes('/') && !candidate.includes(':')) continue;
    try {
      return [fullTagName(parseReference(candidate))];
    } catch {
      // not a reference: ignore, like docker does
    }
  }
  return [];
}

async function planDockerArchive(root: string): Promise<PlannedImage[]> {
  const raw = await readLimited(
    await archiveFile(root, 'manifest.json', 'manifest.json'),
    MAX_MANIFEST_BYTES,
    'manifest.json',
  );
  let items: unknown;
  try {
    items = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new InvalidManifestError('manifest.json is not valid JSON', { cause: err });
  }
  if (!Array.isArray(items)) throw new InvalidManifestError('manifest.json is not an array');
  const plans: PlannedImage[] = [];
  for (const [i, item] of items.entries()) {
    const where = `manifest.json[${i}]`;
    if (typeof item !== 'object' || item === null)
      throw new InvalidManifestError(`${where} is not an object`);
    const { Config, RepoTags, Layers } = item as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof Config !== 'string' || !Array.isArray(Layers) || Layers.some((l) => typeof l !== 'string')) {
      throw new InvalidManifestError(`${where} lacks Config or Layers`);
    }
    const configBytes = await readLimited(
      await archiveFile(root, Config, `${where} Config`),
      MAX_CONFIG_BYTES,
      'config',
    );
    const config = parseImageConfig(configBytes);
    validateImageConfig(config);
    const layerFiles = await Promise.all(
      (Layers as string[]).map((l) => archiveFile(root, l, `${where} layer`)),
    );
    if (layerFiles.length !== config.rootfs.diff_ids.length) {
      throw new InvalidManifestError(
        `${where} has ${layerFiles.length} layers but its config lists ${config.rootfs.diff_ids.length}`,
      );
    }
    const layers: Descriptor[] = [];
    for (const f of layerFiles) {
      const { digest, size, head } = await hashFile(f);
      const kind = sniffCompression(head);
      const mediaType =
        kind === 'gzip'
          ? MediaType.dockerLayerGzip
          : kind === 'zstd'
            ? MediaType.dockerLayerZstd
            : MediaType.dockerLayer;
      layers.push({ mediaType, digest, size });
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: {
        mediaType: MediaType.dockerConfig,
        digest: sha256Digest(configBytes),
        size: configBytes.length,
      },
      layers,
    };
    const names: string[] = [];
    if (RepoTags !== undefined && RepoTags !== null) {
      if (!Array.isArray(RepoTags) || RepoTags.some((t) => typeof t !== 'string')) {
        throw new InvalidManifestError(`${where} RepoTags is not a list of strings`);
      }
      for (const t of RepoTags as string[]) names.push(fullTagName(parseReference(t)));
    }
    plans.push({
      names,
      manifestBytes: Buffer.from(canonicalJson(manifest)),
      manifestMediaType: MediaType.dockerManifest,
      manifest,
      configBytes,
      layerFiles,
    });
  }
  return plans;
}

async function loadOne(
  store: Store,
  plan: PlannedImage,
  emit: ProgressSink,
): Promise<{ image: ImageRecord; names: string[] }> {
  const config = parseImageConfig(plan.configBytes);
  validateImageConfig(config);
  const { manifest } = plan;
  checkLayerCount(manifest, config);
  const manifestDigest = sha256Digest(plan.manifestBytes);
  return store.withLease(async (lease) => {
    lease.addBlob(manifest.config.digest);
    lease.addBlob(manifestDigest);
    for (const [i, desc] of manifest.layers.entries()) {
      const diffId = config.rootfs.diff_ids[i]!;
      if (!isDigest(diffId)) throw new InvalidManifestError('bad diff_id');
      lease.addLayer(diffId);
      lease.addBlob(desc.digest);
      const id = digestHex(desc.digest).slice(0, 12);
      if (store.getLayer(diffId) && store.hasBlob(desc.digest)) {
        emit({ type: 'layer', id, status: 'exists' });
        continue;
      }
      emit({ type: 'layer', id, status: 'extracting' });
      const file = plan.layerFiles[i]!;
      await unpackIntoStore(
        store,
        createReadStream(file) as AsyncIterable<Buffer>,
        { desc, diffId },
        { beforeCommit: () => store.adoptBlobFile(file, desc.digest, { copy: true }).then(() => {}) },
      );
      emit({ type: 'layer', id, status: 'done' });
    }
    await store.putBlob(plan.configBytes, manifest.config.digest);
    await store.putBlob(plan.manifestBytes, manifestDigest);
    const image = store.commitImage(
      imageRecord(manifest, config, {
        manifestDigest,
        manifestMediaType: plan.manifestMediaType,
        names: plan.names,
        repoDigests: [],
      }),
    );
    return { image, names: plan.names };
  });
}
