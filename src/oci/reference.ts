import { InvalidReferenceError } from '../errors/index.js';
import { type Digest, isDigest } from './digest.js';

/**
 * A normalized image reference: `docker.io/library/busybox:latest`, `localhost:5000/x@sha256:…`.
 * Parsing follows the distribution reference grammar with docker's normalization rules.
 */
export interface ImageReference {
  /** Registry host with optional port, e.g. `docker.io`, `127.0.0.1:5000`. */
  readonly domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: Digest | undefined;
}

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';
const MAX_NAME_LENGTH = 255;

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const TAG_RE = /^[\w][\w.-]{0,127}$/;

/** Parse and normalize a reference as the docker CLI does (`busybox` → `docker.io/library/busybox:latest`). */
export function parseReference(input: string, options: { defaultTag?: boolean } = {}): ImageReference {
  const bad = (why: string) => new InvalidReferenceError(`invalid reference format "${clip(input)}": ${why}`);
  if (typeof input !== 'string' || input.length === 0) throw bad('empty reference');
  if (input.length > 512) throw bad('too long');
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw bad('bad digest');
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad('bad tag');
  }
  if (rest.length === 0) throw bad('missing repository name');
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase()
    ) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!DOMAIN_RE.test(domain)) throw bad('bad registry host');
    }
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (!PATH_RE.test(path)) {
    throw bad(path !== path.toLowerCase() ? 'repository name must be lowercase' : 'bad repository name');
  }
  if (domain.length + 1 + path.length > MAX_NAME_LENGTH) throw bad('name too long');
  if (tag === undefined && digest === undefined && options.defaultTag !== false) tag = DEFAULT_TAG;
  return { domain, path, tag, digest };
}

/** Try to parse; undefined instead of throwing. */
export function tryParseReference(input: string): ImageReference | undefined {
  try {
    return parseReference(input);
  } catch {
    return undefined;
  }
}

/** `domain/path` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Full string, e.g. `docker.io/library/busybox:latest@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** The form docker shows in `images`: `busybox` for docker.io/library, else full repo. */
export function familiarName(ref: Pick<ImageReference, 'domain' | 'path'>): string {
  if (ref.domain === DEFAULT_DOMAIN) {
    return ref.path.startsWith('library/') ? ref.path.slice('library/'.length) : ref.path;
  }
  return `${ref.domain}/${ref.path}`;
}

export function withTag(ref: ImageReference, tag: string): ImageReference {
  if (!TAG_RE.test(tag)) throw new InvalidReferenceError(`invalid tag "${clip(tag)}"`);
  return { domain: ref.domain, path: ref.path, tag, digest: undefined };
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
