// The one place that knows how deletions travel between formats. A layer tar (OCI image spec)
// says "deleted" with a `.wh.NAME` entry and "replaces the lower directory's contents" with a
// `.wh..wh..opq` entry in that directory; overlayfs says the same with a 0/0 character device
// and the `trusted.overlay.opaque=y` xattr. Unpack turns the first into the second, the layer
// differ the second into the first, and the builder and `diff` read the overlay form.
import { fsetxattr, lgetxattr, S_IFCHR } from '../util/index.js';
import type { TreeWriter } from './_tree-writer.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';
const OPAQUE_VALUE = Buffer.from('y');

/** What an entry's base name means in a layer tar. */
export type OciName =
  | { kind: 'opaque' }
  /** Deletes `name` (may be '', '.' or '..': callers must refuse those). */
  | { kind: 'whiteout'; name: string }
  /** Other `.wh..wh.` names: aufs bookkeeping (hardlink dirs), not whiteouts. */
  | { kind: 'meta' }
  | { kind: 'plain' };

export function classifyOciName(base: string): OciName {
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'plain' };
  if (base === OPAQUE_MARKER) return { kind: 'opaque' };
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: 'meta' };
  return { kind: 'whiteout', name: base.slice(WHITEOUT_PREFIX.length) };
}

/** Is `base` any whiteout-family name (a tar entry that is no file of the image)? */
export function isOciWhiteoutName(base: string): boolean {
  return base.startsWith(WHITEOUT_PREFIX);
}

/** The tar entry base name that deletes `base`. */
export function ociWhiteoutName(base: string): string {
  return `${WHITEOUT_PREFIX}${base}`;
}

/** The tar entry name that makes the directory `dirEntryName` (with its trailing '/', or '') opaque. */
export function ociOpaqueEntryName(dirEntryName: string): string {
  return `${dirEntryName}${OPAQUE_MARKER}`;
}

/**
 * overlayfs reads `trusted.overlay.*` (opaque, redirect, metacopy, origin...) as instructions;
 * a layer expresses opacity only through `.wh..wh..opq`, so such xattrs are never copied.
 */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.');
}

/** Is this (l)stat result an overlay whiteout: a character device numbered 0/0? */
export function isOverlayWhiteout(st: { isCharacterDevice(): boolean; rdev: number | bigint }): boolean {
  return st.isCharacterDevice() && Number(st.rdev) === 0;
}

/** Does the directory at `path` carry overlay's opaque mark? Errors (ENOTSUP...) are thrown. */
export function isOpaqueDir(path: string): boolean {
  return lgetxattr(path, OPAQUE_XATTR)?.toString() === 'y';
}

/** Write an overlay whiteout at `rel` (nothing may be there). */
export function writeOverlayWhiteout(writer: TreeWriter, rel: string): void {
  writer.mknod(rel, S_IFCHR, 0, 0n);
}

/** Mark the directory `rel` opaque for overlayfs. */
export function markOpaque(writer: TreeWriter, rel: string): void {
  const fd = writer.openDir(rel);
  try {
    fsetxattr(fd, OPAQUE_XATTR, OPAQUE_VALUE, rel || '.');
  } finally {
    writer.closeFd(fd);
  }
}
