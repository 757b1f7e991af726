import { InvalidManifestError, SizeLimitError } from '../errors/index.js';
import { type Digest, isDigest } from './digest.js';
import {
  CONFIG_MEDIA_TYPES,
  INDEX_MEDIA_TYPES,
  isLayerMediaType,
  MANIFEST_MEDIA_TYPES,
  MediaType,
} from './mediatypes.js';
import type { Platform } from './platform.js';

/** Manifests and indexes larger than this are refused (distribution spec recommends 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Image configs larger than this are refused. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** The runtime part of an image config (OCI `config` / docker `config`). */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[];
  ArgsEscaped?: boolean;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; index: ImageIndex }
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonDocument(bytes: Buffer, what: string, limit: number): Record<string, unknown> {
  if (bytes.length > limit) {
    throw new SizeLimitError(`${what} is ${bytes.length} bytes, over the ${limit}-byte limit`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InvalidManifestError(`${what} is not valid JSON`, { cause: err });
  }
  if (!isObject(doc)) throw new InvalidManifestError(`${what} is not a JSON object`);
  return doc;
}

export function validateDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw new InvalidManifestError(`${where}: descriptor is not an object`);
  const { mediaType, digest, size } = v;
  if (
    typeof mediaType !== 'string' ||
    !/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9!#$&^_.+-]+$/.test(mediaType)
  ) {
    throw new InvalidManifestError(`${where}: invalid mediaType`);
  }
  if (!isDigest(digest)) throw new InvalidManifestError(`${where}: invalid or unsupported digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidManifestError(`${where}: invalid size`);
  }
  if (v.urls !== undefined && (!Array.isArray(v.urls) || v.urls.some((u) => typeof u !== 'string'))) {
    throw new InvalidManifestError(`${where}: invalid urls`);
  }
  if (v.annotations !== undefined && !isStringMap(v.annotations)) {
    throw new InvalidManifestError(`${where}: invalid annotations`);
  }
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isObject(p) || typeof p.architecture !== 'string' || typeof p.os !== 'string') {
      throw new InvalidManifestError(`${where}: invalid platform`);
    }
  }
  return v as unknown as Descriptor;
}

function isStringMap(v: unknown): v is Record<string, string> {
  return isObject(v) && Object.values(v).every((x) => typeof x === 'string');
}

/**
 * Parse and validate a manifest or index from untrusted bytes. `declaredType` is the
 * Content-Type the peer sent (or the descriptor's mediaType); it must agree with the body.
 * Documents with both `manifests` and `layers`, or with no way to tell, are refused.
 */
export function parseManifest(bytes: Buffer, declaredType?: string): ParsedManifest {
  const doc = parseJsonDocument(bytes, 'manifest', MAX_MANIFEST_BYTES);
  if (doc.schemaVersion !== 2) {
    throw new InvalidManifestError(`unsupported manifest schemaVersion ${JSON.stringify(doc.schemaVersion)}`);
  }
  const hasManifests = 'manifests' in doc;
  const hasLayers = 'layers' in doc || 'config' in doc;
  if (hasManifests && hasLayers) {
    throw new InvalidManifestError('ambiguous document: has both "manifests" and "layers"/"config"');
  }
  const bodyType = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const declared = declaredType?.split(';')[0]?.trim() || undefined;
  const generic = (t: string | undefined) =>
    t === undefined || t === 'application/json' || t === 'application/octet-stream';
  if (bodyType && !generic(declared) && declared !== bodyType) {
    throw new InvalidManifestError(
      `conflicting media types: declared "${declared}", document says "${bodyType}"`,
    );
  }
  const mediaType = bodyType ?? (generic(declared) ? undefined : declared);
  if (hasManifests) {
    if (mediaType !== undefined && !INDEX_MEDIA_TYPES.includes(mediaType)) {
      throw new InvalidManifestError(`document with "manifests" has non-index media type "${mediaType}"`);
    }
    if (!Array.isArray(doc.manifests)) throw new InvalidManifestError('index "manifests" is not an array');
    doc.manifests.forEach((d, i) => {
      validateDescriptor(d, `index manifests[${i}]`);
    });
    return { kind: 'index', mediaType: mediaType ?? MediaType.ociIndex, index: doc as unknown as ImageIndex };
  }
  if (!hasLayers) throw new InvalidManifestError('document is neither an image manifest nor an index');
  if (mediaType !== undefined && !MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw new InvalidManifestError(`document with "layers" has non-manifest media type "${mediaType}"`);
  }
  const config = validateDescriptor(doc.config, 'manifest config');
  if (!Array.isArray(doc.layers)) throw new InvalidManifestError('manifest "layers" is not an array');
  if (doc.layers.length > 1000) throw new InvalidManifestError(`manifest has ${doc.layers.length} layers`);
  doc.layers.forEach((d, i) => {
    validateDescriptor(d, `manifest layers[${i}]`);
  });
  if (doc.subject !== undefined) validateDescriptor(doc.subject, 'manifest subject');
  void config;
  return {
    kind: 'manifest',
    mediaType: mediaType ?? MediaType.ociManifest,
    manifest: doc as unknown as ImageManifest,
  };
}

/** True when the manifest describes a runnable container image (not an artifact). */
export function isImageManifest(m: ImageManifest): boolean {
  return (
    CONFIG_MEDIA_TYPES.includes(m.config.mediaType) && m.layers.every((l) => isLayerMediaType(l.mediaType))
  );
}

/** Parse and validate an image config from untrusted bytes. */
export function parseImageConfig(bytes: Buffer): ImageConfig {
  const doc = parseJsonDocument(bytes, 'image config', MAX_CONFIG_BYTES);
  if (typeof doc.architecture !== 'string' || typeof doc.os !== 'string') {
    throw new InvalidManifestError('image config lacks "architecture" or "os"');
  }
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw new InvalidManifestError('image config has no valid "rootfs"');
  }
  for (const d of rootfs.diff_ids) {
    if (!isDigest(d)) throw new InvalidManifestError('image config has an invalid diff_id');
  }
  if (doc.config !== undefined && doc.config !== null && !isObject(doc.config)) {
    throw new InvalidManifestError('image config "config" is not an object');
  }
  if (doc.history !== undefined && !Array.isArray(doc.history)) {
    throw new InvalidManifestError('image config "history" is not an array');
  }
  return doc as unknown as ImageConfig;
}

/**
 * Check the runtime fields of an image config (`config.Env`, `config.Cmd`, ...) have the types
 * the engine relies on. Configs come from registries and archives, so a field of the wrong type
 * must stop the pull or load before anything is stored, with one line naming the field. `null`
 * counts as absent, as it does for Docker (Go decodes JSON null into an empty value).
 */
export function validateImageConfig(config: ImageConfig): void {
  const cc: unknown = (config as { config?: unknown }).config;
  if (cc === undefined || cc === null) return;
  const fail = (field: string, what: string): never => {
    throw new InvalidManifestError(`image config: config.${field} must be ${what}`);
  };
  if (!isObject(cc)) throw new InvalidManifestError('image config: config must be an object');
  const c = cc as Record<string, unknown>;
  const present = (field: string) => c[field] !== undefined && c[field] !== null;
  const stringArray = (field: string) => {
    if (!present(field)) return;
    const v = c[field];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(field, 'an array of strings');
    if ((v as string[]).some((x) => x.includes('\0'))) fail(field, 'free of NUL bytes');
  };
  const string = (field: string) => {
    if (!present(field)) return;
    if (typeof c[field] !== 'string') fail(field, 'a string');
    if ((c[field] as string).includes('\0')) fail(field, 'free of NUL bytes');
  };
  const object = (field: string) => {
    if (present(field) && !isObject(c[field])) fail(field, 'an object');
  };
  for (const f of ['Env', 'Cmd', 'Entrypoint', 'Shell', 'OnBuild']) stringArray(f);
  for (const f of ['User', 'WorkingDir', 'StopSignal']) string(f);
  for (const f of ['ExposedPorts', 'Volumes']) object(f);
  if (present('Labels') && !isStringMap(c.Labels)) fail('Labels', 'an object of strings');
  if (present('Healthcheck')) {
    const h = c.Healthcheck;
    if (!isObject(h)) fail('Healthcheck', 'an object');
    const test = (h as Record<string, unknown>).Test;
    if (
      test !== undefined &&
      test !== null &&
      (!Array.isArray(test) || test.some((x) => typeof x !== 'string'))
    ) {
      fail('Healthcheck.Test', 'an array of strings');
    }
  }
}

/** Canonical JSON: keys sorted, no whitespace. Used for every document berth writes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const val = v[k];
      if (val !== undefined) out[k] = sortKeys(val);
    }
    return out;
  }
  return v;
}
