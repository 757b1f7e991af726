import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressStream, type TarEntryInput, type TarHeader, writeTar } from '../archive/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import {
  canonicalJson,
  type Digest,
  digestHex,
  layerCompression,
  MediaType,
  parseReference,
} from '../oci/index.js';
import type { ImageRecord, Store } from '../store/index.js';
import { atomicWriteFile } from '../util/index.js';
import { familiarTag } from './_names.js';

export type SaveFormat = 'docker-archive' | 'oci-archive' | 'oci-dir';

export interface SaveItem {
  image: ImageRecord;
  /** The full names to record (tags the user asked for, or all of the image's names). */
  names: string[];
}

function fileHeader(name: string, size: number): TarHeader {
  return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 };
}

function dirHeader(name: string): TarHeader {
  return { name, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 };
}

/**
 * docker-archive: `manifest.json`, `repositories`, `<config hex>.json` and uncompressed
 * `<diffID hex>/layer.tar` per layer, as `docker save` writes them and `docker/podman load` read.
 */
function* dockerArchiveEntries(store: Store, items: SaveItem[]): Generator<TarEntryInput> {
  const manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const written = new Set<string>();
  for (const { image, names } of items) {
    const configName = `${digestHex(image.id)}.json`;
    if (!written.has(configName)) {
      written.add(configName);
      const path = store.blobPath(image.id);
      const size = store.blobSize(image.id);
      yield { header: fileHeader(configName, size), body: () => createReadStream(path) };
    }
    const layerNames: string[] = [];
    for (const l of image.layerBlobs) {
      const dir = digestHex(l.diffId);
      const name = `${dir}/layer.tar`;
      layerNames.push(name);
      if (written.has(name)) continue;
      written.add(name);
      const layer = store.getLayer(l.diffId);
      if (!layer)
        throw new InvalidArgumentError(`layer ${l.diffId} of image ${image.id} is missing from the store`);
      yield { header: dirHeader(`${dir}/`) };
      const kind = layerCompression(l.mediaType) ?? 'none';
      yield {
        header: fileHeader(name, layer.tarSize),
        body: () => {
          const raw = store.openBlob(l.blobDigest);
          return kind === 'none' ? raw : raw.pipe(decompressStream(kind));
        },
      };
    }
    const tags = names.map(familiarTag);
    manifest.push({ Config: configName, RepoTags: tags, Layers: layerNames });
    const top = image.layers.at(-1);
    for (const n of names) {
      const ref = parseReference(n);
      const repo = familiarTag(n).slice(0, -`:${ref.tag}`.length);
      if (top) (repositories[repo] ??= {})[ref.tag ?? 'latest'] = digestHex(top);
    }
  }
  const manifestJson = Buffer.from(JSON.stringify(manifest));
  yield { header: fileHeader('manifest.json', manifestJson.length), body: manifestJson };
  if (Object.keys(repositories).length > 0) {
    const repos = Buffer.from(JSON.stringify(repositories));
    yield { header: fileHeader('repositories', repos.length), body: repos };
  }
}

interface OciLayoutPlan {
  index: Buffer;
  blobs: { digest: Digest; size: number }[];
}

function planOciLayout(store: Store, items: SaveItem[]): OciLayoutPlan {
  const manifests: unknown[] = [];
  const blobs = new Map<string, { digest: Digest; size: number }>();
  const add = (digest: Digest) => {
    if (!blobs.has(digest)) blobs.set(digest, { digest, size: store.blobSize(digest) });
  };
  for (const { image, names } of items) {
    add(image.manifestDigest);
    add(image.id);
    for (const l of image.layerBlobs) add(l.blobDigest);
    const desc = {
      mediaType: image.manifestMediaType,
      digest: image.manifestDigest,
      size: store.blobSize(image.manifestDigest),
      platform: image.platform,
    };
    if (names.length === 0) manifests.push(desc);
    for (const n of names) {
      const ref = parseReference(n);
      manifests.push({
        ...desc,
        annotations: {
          'io.containerd.image.name': n,
          'org.opencontainers.image.ref.name': ref.tag ?? 'latest',
        },
      });
    }
  }
  const index = Buffer.from(canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
  return { index, blobs: [...blobs.values()] };
}

const OCI_LAYOUT = Buffer.from('{"imageLayoutVersion":"1.0.0"}');

function* ociArchiveEntries(store: Store, items: SaveItem[]): Generator<TarEntryInput> {
  const plan = planOciLayout(store, items);
  yield { header: fileHeader('oci-layout', OCI_LAYOUT.length), body: OCI_LAYOUT };
  yield { header: fileHeader('index.json', plan.index.length), body: plan.index };
  yield { header: dirHeader('blobs/') };
  yield { header: dirHeader('blobs/sha256/') };
  for (const b of plan.blobs) {
    yield {
      header: fileHeader(`blobs/sha256/${digestHex(b.digest)}`, b.size),
      body: () => store.openBlob(b.digest),
    };
  }
}

/** A tar stream of the images in docker-archive or oci-archive form. */
export function saveImagesStream(
  store: Store,
  items: SaveItem[],
  format: 'docker-archive' | 'oci-archive',
): Readable {
  return writeTar(
    format === 'docker-archive' ? dockerArchiveEntries(store, items) : ociArchiveEntries(store, items),
  );
}

/** Write an OCI image layout directory (`--format oci-dir`). */
export async function saveImagesToDir(store: Store, items: SaveItem[], dir: string): Promise<void> {
  const plan = planOciLayout(store, items);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const b of plan.blobs) {
    const dest = join(dir, 'blobs', 'sha256', digestHex(b.digest));
    await mkdir(dirname(dest), { recursive: true });
    await pipeline(store.openBlob(b.digest), (await import('node:fs')).createWriteStream(dest));
  }
  await writeFile(join(dir, 'oci-layout'), OCI_LAYOUT);
  await atomicWriteFile(join(dir, 'index.json'), plan.index);
}
