// unpackLayer: one pass from a (compressed) layer stream to an overlay-ready directory.
// decode -> sha256 (diffID) -> tar parse -> sync filesystem writes. Everything after the
// decoder is synchronous: the parser calls LayerWriter directly, and LayerWriter uses
// fd-based sync calls, so a 7,000-file layer costs no per-file promise.
//
// Safety model: `dest` is a private staging directory that nobody else writes while we run.
// Every path is cleaned lexically (a `..` that climbs above the root is refused) and then
// walked component by component: each parent is either a directory this unpack created or
// verified with lstat, never a symlink, and every write goes through the fd-based TreeWriter
// (O_NOFOLLOW directory fds), so no write can land outside `dest`. On error the caller
// discards the staging directory.
import { createHash } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, futimesSync, lstatSync, writeSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import {
  BerthError,
  DigestMismatchError,
  errnoCode,
  InvalidArgumentError,
  IOError,
  SizeLimitError,
  UnsafePathError,
} from '../errors/index.js';
import type { Compression, Digest } from '../oci/index.js';
import { fsetxattr, makedev, S_IFBLK, S_IFCHR, S_IFIFO } from '../util/index.js';
import { decodeInto, isSourceError } from './_compression.js';
import type { TarHeader } from './_format.js';
import { TarParser } from './_tar-reader.js';
import { isDirStat, isLinkStat, TreeWriter } from './_tree-writer.js';
import { classifyOciName, isOverlayXattr, markOpaque, writeOverlayWhiteout } from './_whiteouts.js';

export interface UnpackOptions {
  /** Layer compression; 'auto' (default) sniffs the magic bytes. */
  compression?: Compression | 'auto';
  /** Fail with DigestMismatchError when the uncompressed tar hashes to something else. */
  expectedDiffId?: Digest;
  /** Create char/block device entries (default: when running as root). */
  allowDevices?: boolean;
  /** Refuse layers with more entries than this (default 1,000,000). */
  maxEntries?: number;
  signal?: AbortSignal;
}

export interface UnpackResult {
  diffId: Digest;
  /** Bytes of uncompressed tar. */
  size: number;
  /** Tar entries applied (extension headers not counted). */
  entries: number;
  /** Sum of regular file sizes. */
  unpackedBytes: number;
}

const DEFAULT_MAX_ENTRIES = 1_000_000;

/**
 * Unpack one layer into `dest` (an existing, empty staging directory) in overlay format:
 * OCI whiteouts become 0/0 char devices, opaque markers become `trusted.overlay.opaque=y`.
 */
export async function unpackLayer(
  source: AsyncIterable<Buffer>,
  dest: string,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  const isRoot = process.getuid?.() === 0;
  if (!lstatSync(dest, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InvalidArgumentError(`cannot unpack layer: destination "${dest}" is not a directory`);
  }
  const writer = new LayerWriter(resolvePath(dest), {
    allowDevices: options.allowDevices ?? isRoot,
    chown: isRoot,
    maxEntries: options.maxEntries ?? DEFAULT_MAX_ENTRIES,
  });
  const parser = new TarParser(writer);
  const hash = createHash('sha256');
  let size = 0;
  try {
    await decodeInto(
      source,
      options.compression ?? 'auto',
      (chunk) => {
        hash.update(chunk);
        size += chunk.length;
        parser.push(chunk);
      },
      options.signal,
    );
    parser.end();
    writer.finish();
  } catch (err) {
    writer.abort();
    throw asUnpackError(err);
  }
  const diffId = `sha256:${hash.digest('hex')}` as Digest;
  if (options.expectedDiffId !== undefined && options.expectedDiffId !== diffId) {
    throw new DigestMismatchError(
      `cannot unpack layer: diffID mismatch: expected ${options.expectedDiffId}, got ${diffId}`,
    );
  }
  return { diffId, size, entries: writer.entries, unpackedBytes: writer.unpackedBytes };
}

function asUnpackError(err: unknown): Error {
  if (isSourceError(err) && err instanceof Error) return err;
  if (err instanceof BerthError) {
    if (err.message.startsWith('cannot unpack layer')) return err;
    const Ctor = err.constructor as new (m: string, o: { cause?: unknown; hint?: string }) => BerthError;
    return new Ctor(`cannot unpack layer: ${err.message}`, { cause: err.cause, hint: err.hint });
  }
  return new IOError(`cannot unpack layer: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

/** What this unpack knows about a path inside dest. */
const K_DIR = 1;
/** Created by this layer: regular file, hardlink, device or fifo. */
const K_FILE = 2;
const K_SYMLINK = 3;
const K_WHITEOUT = 4;
/** Found on disk (not written by this layer) and not a directory: never traversed or linked to. */
const K_FOREIGN = 5;
/** Found on disk (not written by this layer): a symlink. */
const K_FOREIGN_LINK = 6;

interface WriterOptions {
  allowDevices: boolean;
  chown: boolean;
  maxEntries: number;
}

/** The process umask, read without changing it for longer than two syscalls. */
function currentUmask(): number {
  const old = process.umask(0o022);
  process.umask(old);
  return old;
}

interface DirMeta {
  mode: number;
  mtime: number | undefined;
}

class LayerWriter {
  entries = 0;
  unpackedBytes = 0;
  private readonly known = new Map<string, number>([['', K_DIR]]);
  /**
   * Children of each known directory, so replacing a directory forgets its subtree in time
   * proportional to that subtree (a prefix scan of `known` would make a hostile layer of
   * dir -> file replacements quadratic).
   */
  private readonly children = new Map<string, Set<string>>();
  /** Directory mode and mtime are applied at the end, after their children are written. */
  private readonly dirMeta = new Map<string, DirMeta>();
  private fd = -1;
  private file: TarHeader | undefined;
  private fileRel = '';
  private name = '';
  private readonly w: TreeWriter;
  // Most image files are root-owned with plain modes: open them with their final mode and skip
  // fchown/fchmod when the kernel already gave the right owner and bits (saves ~2 syscalls a file).
  private readonly umask = currentUmask();
  private readonly euid = process.geteuid?.() ?? -1;
  private readonly egid = process.getegid?.() ?? -1;

  constructor(
    root: string,
    private readonly opts: WriterOptions,
  ) {
    this.w = TreeWriter.open(root);
  }

  /** Mode to create a file with: its final mode when open() can give exactly that, else 0600. */
  private createMode(h: TarHeader): number {
    return this.plainMode(h) ? h.mode : 0o600;
  }

  /** open(path, mode) yields exactly h.mode: no special bits, nothing the umask removes. */
  private plainMode(h: TarHeader): boolean {
    return (h.mode & 0o7000) === 0 && (h.mode & this.umask) === 0;
  }

  entry(h: TarHeader): void {
    this.name = h.name;
    if (++this.entries > this.opts.maxEntries) {
      throw new SizeLimitError(`layer has more than ${this.opts.maxEntries} entries`);
    }
    try {
      this.apply(h);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  data(chunk: Buffer): void {
    if (this.fd < 0) return;
    try {
      let off = 0;
      while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  entryEnd(): void {
    if (this.fd < 0) return;
    const h = this.file!;
    const fd = this.fd;
    try {
      const chown = this.opts.chown && (h.uid !== this.euid || h.gid !== this.egid);
      if (chown) fchownSync(fd, h.uid, h.gid);
      // chmod after chown: chown clears setuid/setgid.
      if (!this.plainMode(h)) fchmodSync(fd, h.mode);
      // xattrs after chown and the data: both clear security.capability.
      if (h.xattrs) {
        for (const [k, v] of Object.entries(h.xattrs))
          if (!isOverlayXattr(k)) fsetxattr(fd, k, v, this.fileRel);
      }
      futimesSync(fd, h.mtime, h.mtime);
    } catch (err) {
      throw this.wrap(err);
    } finally {
      this.fd = -1;
      this.file = undefined;
      closeSync(fd);
    }
    this.unpackedBytes += h.size;
  }

  /** Apply deferred directory modes and mtimes (children are all written by now). */
  finish(): void {
    try {
      for (const [rel, meta] of this.dirMeta) {
        this.name = rel === '' ? '.' : rel;
        let fd = -1;
        try {
          fd = this.w.openDir(rel);
          fchmodSync(fd, meta.mode);
          if (meta.mtime !== undefined) futimesSync(fd, meta.mtime, meta.mtime);
        } catch (err) {
          throw this.wrap(err);
        } finally {
          if (fd >= 0) closeSync(fd);
        }
      }
    } finally {
      this.w.close();
    }
  }

  abort(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
    this.w.close();
  }

  private wrap(err: unknown): Error {
    if (err instanceof BerthError) return err;
    const code = errnoCode(err);
    return new IOError(
      `entry "${this.name}": ${code ?? (err instanceof Error ? err.message : String(err))}`,
      {
        cause: err,
      },
    );
  }

  private apply(h: TarHeader): void {
    const rel = cleanName(h.name);
    if (rel === undefined) throw new UnsafePathError(`entry "${h.name}" escapes the layer root`);

    const slash = rel.lastIndexOf('/');
    const base = slash < 0 ? rel : rel.slice(slash + 1);
    if (base.charCodeAt(0) === 0x2e /* '.' */ && classifyOciName(base).kind !== 'plain') {
      this.whiteout(rel, slash, base, h);
      return;
    }
    if (rel === '') {
      if (h.type !== 'dir')
        throw new UnsafePathError(`entry "${h.name}" (${h.type}) would replace the layer root`);
      this.dirMetadata('', h);
      return;
    }
    this.ensureParent(rel);

    switch (h.type) {
      case 'dir':
        this.mkdir(rel);
        this.dirMetadata(rel, h);
        return;
      case 'file': {
        this.clear(rel);
        const mode = this.createMode(h);
        this.fd = this.create(rel, () => this.w.createFile(rel, mode));
        this.file = h;
        this.fileRel = rel;
        this.remember(rel, K_FILE);
        return;
      }
      case 'symlink': {
        this.clear(rel);
        this.create(rel, () => this.w.symlink(h.linkname!, rel));
        this.remember(rel, K_SYMLINK);
        if (this.opts.chown) this.w.chown(rel, h.uid, h.gid);
        if (h.xattrs) this.setXattrs(rel, h.xattrs, true);
        this.w.utimes(rel, h.mtime, h.mtime);
        return;
      }
      case 'hardlink':
        this.hardlink(rel, h);
        return;
      case 'char':
      case 'block':
      case 'fifo': {
        if (h.type !== 'fifo' && !this.opts.allowDevices) {
          throw new UnsafePathError(`entry "${h.name}" is a ${h.type} device, which is not permitted here`, {
            hint: 'device nodes are only created when unpacking as root or with allowDevices',
          });
        }
        this.clear(rel);
        const type = h.type === 'char' ? S_IFCHR : h.type === 'block' ? S_IFBLK : S_IFIFO;
        this.create(rel, () => this.w.mknod(rel, type, 0o600, makedev(h.devmajor ?? 0, h.devminor ?? 0)));
        this.remember(rel, K_FILE);
        this.nodeMetadata(rel, h);
        return;
      }
    }
  }

  /** Owner, mode, xattrs, mtime of a device/fifo (never through a symlink). */
  private nodeMetadata(rel: string, h: TarHeader): void {
    if (this.opts.chown) this.w.chown(rel, h.uid, h.gid);
    this.w.chmod(rel, h.mode);
    if (h.xattrs) this.setXattrs(rel, h.xattrs, false);
    this.w.utimes(rel, h.mtime, h.mtime);
  }

  private dirMetadata(rel: string, h: TarHeader): void {
    if (this.opts.chown) this.w.chown(rel, h.uid, h.gid);
    if (h.xattrs) {
      const fd = this.w.openDir(rel);
      try {
        for (const [k, v] of Object.entries(h.xattrs))
          if (!isOverlayXattr(k)) fsetxattr(fd, k, v, rel || '.');
      } finally {
        closeSync(fd);
      }
    }
    this.dirMeta.set(rel, { mode: h.mode, mtime: h.mtime });
  }

  /** xattrs of a symlink or special file (files and directories set theirs through their fd). */
  private setXattrs(rel: string, xattrs: Record<string, Buffer>, symlink: boolean): void {
    for (const [k, v] of Object.entries(xattrs)) {
      if (isOverlayXattr(k)) continue;
      try {
        this.w.lsetxattr(rel, k, v);
      } catch (err) {
        // Linux forbids user.* xattrs on symlinks, so no source tree can have had them.
        if (symlink && k.startsWith('user.') && errnoCode(err) === 'EPERM') continue;
        throw err;
      }
    }
  }

  /** Run a create call; if something unknown to us is in the way (dest was not empty), remove it and retry once. */
  private create<T>(rel: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      this.removeOnDisk(rel);
      return fn();
    }
  }

  /** Remove what this layer put at `rel`, so a later entry can take its place (tar: last wins). */
  private clear(rel: string): void {
    const k = this.known.get(rel);
    if (k === undefined) return;
    this.w.remove(rel);
    this.forget(rel);
  }

  private removeOnDisk(rel: string): void {
    this.w.remove(rel);
    this.forget(rel);
  }

  private remember(rel: string, kind: number): void {
    if (!this.known.has(rel)) {
      const parent = parentOf(rel);
      let kids = this.children.get(parent);
      if (!kids) {
        kids = new Set();
        this.children.set(parent, kids);
      }
      kids.add(rel);
    }
    this.known.set(rel, kind);
  }

  /** Drop what we know about `rel` and everything below it (it was removed from disk). */
  private forget(rel: string): void {
    this.children.get(parentOf(rel))?.delete(rel);
    const stack = [rel];
    while (stack.length > 0) {
      const p = stack.pop()!;
      this.known.delete(p);
      this.dirMeta.delete(p);
      const kids = this.children.get(p);
      if (kids) {
        for (const k of kids) stack.push(k);
        this.children.delete(p);
      }
    }
  }

  /** Make `rel` a directory, keeping an existing one (and its children) as tar does. */
  private mkdir(rel: string): void {
    const k = this.known.get(rel);
    if (k === K_DIR) return;
    if (k === K_WHITEOUT) {
      // Same layer: "delete the lower `rel`, then create a new directory": an opaque directory.
      this.w.remove(rel);
      this.w.mkdir(rel, 0o700);
      markOpaque(this.w, rel);
    } else {
      this.clear(rel);
      try {
        this.w.mkdir(rel, 0o700);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
        const st = this.w.lstat(rel);
        if (!st || !isDirStat(st)) {
          this.w.remove(rel);
          this.w.mkdir(rel, 0o700);
        }
      }
    }
    this.remember(rel, K_DIR);
  }

  /** Check (and create as needed) every parent of `rel`: directories only, never a symlink. */
  private ensureParent(rel: string): void {
    const slash = rel.lastIndexOf('/');
    if (slash < 0 || this.known.get(rel.slice(0, slash)) === K_DIR) return;
    let i = 0;
    for (;;) {
      const j = rel.indexOf('/', i);
      if (j < 0) return;
      i = j + 1;
      const p = rel.slice(0, j);
      let k = this.known.get(p);
      if (k === undefined) {
        const st = this.w.lstat(p);
        if (!st) {
          this.w.mkdir(p, 0o755);
          // Implicit parents get 0755 whatever the umask.
          this.dirMeta.set(p, { mode: 0o755, mtime: undefined });
          k = K_DIR;
        } else if (isDirStat(st)) {
          k = K_DIR;
        } else if (isLinkStat(st)) {
          k = K_FOREIGN_LINK;
        } else {
          k = K_FOREIGN;
        }
        this.remember(p, k);
      }
      if (k === K_DIR) continue;
      if (k === K_WHITEOUT) {
        this.mkdir(p);
        this.dirMeta.set(p, { mode: 0o755, mtime: undefined });
        continue;
      }
      if (k === K_SYMLINK || k === K_FOREIGN_LINK) {
        throw new UnsafePathError(`entry "${this.name}" would be written through the symlink "${p}"`);
      }
      throw new InvalidArgumentError(`entry "${this.name}": parent "${p}" is not a directory`);
    }
  }

  private hardlink(rel: string, h: TarHeader): void {
    const raw = h.linkname ?? '';
    if (raw.startsWith('/')) {
      throw new UnsafePathError(`hardlink "${h.name}" has an absolute target "${raw}"`);
    }
    const target = cleanName(raw);
    if (target === undefined)
      throw new UnsafePathError(`hardlink "${h.name}" target "${raw}" escapes the layer root`);
    const k = this.known.get(target);
    if (k !== K_FILE && k !== K_SYMLINK) {
      throw new UnsafePathError(
        `hardlink "${h.name}" target "${raw}" is not an earlier file of the layer${k === K_DIR ? ' (it is a directory)' : ''}`,
      );
    }
    if (target === rel) return;
    this.clear(rel);
    this.create(rel, () => this.w.link(target, rel));
    this.remember(rel, K_FILE);
  }

  private whiteout(rel: string, slash: number, base: string, h: TarHeader): void {
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    this.ensureParent(rel);
    const kind = classifyOciName(base);
    if (kind.kind === 'opaque') {
      markOpaque(this.w, parent);
      return;
    }
    // Other `.wh..wh.` names are aufs bookkeeping (hardlink dirs), not whiteouts: skip them.
    if (kind.kind !== 'whiteout') return;
    const name = kind.name;
    if (name === '' || name === '.' || name === '..') {
      throw new UnsafePathError(`whiteout "${this.name}" names no file`);
    }
    const target = parent === '' ? name : `${parent}/${name}`;
    const k = this.known.get(target);
    // A whiteout hides lower layers only (OCI image spec). If this layer also has the name,
    // a file already shadows the lower one; a directory must also hide the lower one's
    // children, so it becomes opaque.
    if (k === K_DIR) {
      markOpaque(this.w, target);
      return;
    }
    if (k === K_FILE || k === K_SYMLINK || k === K_WHITEOUT) return;
    if (k === K_FOREIGN || k === K_FOREIGN_LINK) this.clear(target);
    try {
      writeOverlayWhiteout(this.w, target);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      // Something was already in dest (not from this layer): the whiteout replaces it.
      this.removeOnDisk(target);
      writeOverlayWhiteout(this.w, target);
    }
    this.remember(target, K_WHITEOUT);
    // Owner and mtime from the .wh. entry, so unpack -> tarDirectory round trips are stable.
    if (this.opts.chown) this.w.chown(target, h.uid, h.gid);
    this.w.utimes(target, h.mtime, h.mtime);
  }
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

/**
 * Clean an entry name as tar does: drop leading `/`, `.` components and empty components,
 * resolve `..` lexically. Undefined when `..` climbs above the root. '' names the root.
 */
export function cleanName(name: string): string | undefined {
  // Fast path: already clean (no leading '/' or '.', no '//' and no '/.' anywhere).
  const c0 = name.charCodeAt(0);
  if (c0 !== 0x2f && c0 !== 0x2e && !name.includes('//') && !name.includes('/.')) {
    return name.endsWith('/') ? name.slice(0, -1) : name;
  }
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out.join('/');
}
