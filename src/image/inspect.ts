import { type ImageConfig, parseImageConfig } from '../oci/index.js';
import type { ImageRecord, Store } from '../store/index.js';
import { familiarRepoDigest, familiarTag } from './_names.js';

/** `docker image inspect`-shaped JSON for one image. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  GraphDriver: { Name: string; Data: Record<string, string> };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  Descriptor: { mediaType: string; digest: string; size: number };
}

export async function readImageConfig(store: Store, image: ImageRecord): Promise<ImageConfig> {
  return parseImageConfig(await store.readBlob(image.id));
}

export async function inspectImage(store: Store, image: ImageRecord): Promise<ImageInspect> {
  const config = await readImageConfig(store, image);
  const lowers = [...image.layers].reverse().map((d) => store.getLayer(d)?.path ?? '');
  const history = config.history ?? [];
  return {
    Id: image.id,
    RepoTags: image.names.map(familiarTag),
    RepoDigests: image.repoDigests.map(familiarRepoDigest),
    Parent: '',
    Comment: history.at(-1)?.comment ?? '',
    Created: config.created ?? '0001-01-01T00:00:00Z',
    DockerVersion: '',
    Author: config.author ?? '',
    Config: {
      Hostname: '',
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: null,
      Cmd: null,
      Image: '',
      Volumes: null,
      WorkingDir: '',
      Entrypoint: null,
      OnBuild: null,
      Labels: null,
      ...(config.config ?? {}),
    },
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: image.size,
    GraphDriver: {
      Name: 'overlay',
      Data: { LowerDir: lowers.slice(1).join(':'), UpperDir: lowers[0] ?? '' },
    },
    RootFS: { Type: 'layers', Layers: image.layers },
    Metadata: { LastTagTime: image.addedAt },
    Descriptor: {
      mediaType: image.manifestMediaType,
      digest: image.manifestDigest,
      size: store.blobSize(image.manifestDigest),
    },
  };
}

export interface HistoryRow {
  ID: string;
  CreatedAt: string;
  CreatedBy: string;
  Size: number;
  Comment: string;
  Tags: string[];
}

/** `docker history` rows, newest first; only the top row carries the image ID. */
export async function imageHistory(store: Store, image: ImageRecord): Promise<HistoryRow[]> {
  const config = await readImageConfig(store, image);
  const history = config.history ?? [];
  const rows: HistoryRow[] = [];
  let layerIndex = 0;
  const entries =
    history.length > 0
      ? history
      : image.layers.map(() => ({}) as NonNullable<ImageConfig['history']>[number]);
  for (const h of entries) {
    let size = 0;
    if (!h.empty_layer) {
      const diffId = image.layers[layerIndex++];
      size = diffId ? (store.getLayer(diffId)?.size ?? 0) : 0;
    }
    rows.push({
      ID: '<missing>',
      CreatedAt: h.created ?? '',
      CreatedBy: h.created_by ?? '',
      Size: size,
      Comment: h.comment ?? '',
      Tags: [],
    });
  }
  rows.reverse();
  if (rows[0]) {
    rows[0].ID = image.id;
    rows[0].Tags = image.names.map(familiarTag);
  }
  return rows;
}
