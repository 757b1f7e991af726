import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors/index.js';

/** A validated `algorithm:hex` content digest. Only sha256 and sha512 are accepted. */
export type Digest = string & { readonly __digest: unique symbol };

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

export function parseDigest(value: string): Digest {
  if (!isDigest(value)) throw new InvalidArgumentError(`invalid digest "${truncate(value)}"`);
  return value;
}

export function digestAlgorithm(d: Digest): 'sha256' | 'sha512' {
  return d.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

export function sha256Digest(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

export function digestOf(data: Buffer | string, algorithm: 'sha256' | 'sha512' = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

/** Short 12-hex form used by `images` and progress lines. */
export function shortId(d: string): string {
  return digestHexOrSelf(d).slice(0, 12);
}

function digestHexOrSelf(d: string): string {
  const i = d.indexOf(':');
  return i >= 0 ? d.slice(i + 1) : d;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
