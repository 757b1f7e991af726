// unpackLayer: one pass from a (compressed) layer stream to an overlay-ready directory.
// decode -> sha256 (diffID) -> tar parse -> sync filesystem writes. Everything after the
// decoder is synchronous: the parser calls LayerWriter directly, and LayerWriter uses
// fd-based sync calls, so a 7,000-file layer costs no per-file promise.
//
// Safety model: `dest` is a private staging directory that nobody else writes while we run.
// Every path is cleaned lexically (a `..` that climbs above the root is refused) and then
// walked component by component: each parent is either a directory this unpack created or
// verified with lstat, never a symlink, so no write can land outside `dest`. On error the
// caller discards the staging directory.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fchownSync,
  constants as fsc,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
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
import { fsetxattr, lsetxattr, makedev, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '../util/index.js';
import { decodeInto, isSourceError } from './_compression.js';
import type { TarHeader } from './_format.js';
import { TarParser } from './_tar-reader.js';

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
const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
const OPAQUE_VALUE = Buffer.from('y');

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
  private filePath = '';
  private name = '';
  // Most image files are root-owned with plain modes: open them with their final mode and skip
  // fchown/fchmod when the kernel already gave the right owner and bits (saves ~2 syscalls a file).
  private readonly umask = currentUmask();
  private readonly euid = process.geteuid?.() ?? -1;
  private readonly egid = process.getegid?.() ?? -1;

  constructor(
    private readonly root: string,
    private readonly opts: WriterOptions,
  ) {}

  /** Mode to create a file with: its final mode when open() can give exactly that, else 0600. */
  private createMode(h: TarHeader): number {
    return this.plainMode(h) ? h.mode : 0o600;
  }

  /** open(path, mode) yields exactly h.mode: no special bits, nothing the umask removes. */
  private plainMode(h: TarHeader): boolean {
    return (h.mode & 0o7000) === 0 && (h.mode & this.umask) === 0;
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
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
          if (!isOverlayXattr(k)) fsetxattr(fd, k, v, this.filePath);
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
    for (const [rel, meta] of this.dirMeta) {
      this.name = rel === '' ? '.' : rel;
      let fd = -1;
      try {
        fd = openSync(this.abs(rel), fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
        fchmodSync(fd, meta.mode);
        if (meta.mtime !== undefined) futimesSync(fd, meta.mtime, meta.mtime);
      } catch (err) {
        throw this.wrap(err);
      } finally {
        if (fd >= 0) closeSync(fd);
      }
    }
  }

  abort(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
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
    if (base.startsWith(WHITEOUT_PREFIX)) {
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
        const path = this.abs(rel);
        this.clear(rel);
        const flags = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;
        const mode = this.createMode(h);
        this.fd = this.create(rel, () => openSync(path, flags, mode));
        this.file = h;
        this.filePath = path;
        this.remember(rel, K_FILE);
        return;
      }
      case 'symlink': {
        const path = this.abs(rel);
        this.clear(rel);
        this.create(rel, () => symlinkSync(h.linkname!, path));
        this.remember(rel, K_SYMLINK);
        if (this.opts.chown) lchownSync(path, h.uid, h.gid);
        if (h.xattrs) this.setXattrs(path, h.xattrs, true);
        lutimesSync(path, h.mtime, h.mtime);
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
        const path = this.abs(rel);
        this.clear(rel);
        const type = h.type === 'char' ? S_IFCHR : h.type === 'block' ? S_IFBLK : S_IFIFO;
        this.create(rel, () => mknod(path, type, 0o600, makedev(h.devmajor ?? 0, h.devminor ?? 0)));
        this.remember(rel, K_FILE);
        this.nodeMetadata(path, h);
        return;
      }
    }
  }

  /** Owner, mode, xattrs, mtime of a device/fifo by path: it was just created, so it is no symlink. */
  private nodeMetadata(path: string, h: TarHeader): void {
    if (this.opts.chown) lchownSync(path, h.uid, h.gid);
    chmodSync(path, h.mode);
    if (h.xattrs) this.setXattrs(path, h.xattrs, false);
    lutimesSync(path, h.mtime, h.mtime);
  }

  private dirMetadata(rel: string, h: TarHeader): void {
    const path = this.abs(rel);
    if (this.opts.chown) lchownSync(path, h.uid, h.gid);
    if (h.xattrs) this.setXattrs(path, h.xattrs, false);
    this.dirMeta.set(rel, { mode: h.mode, mtime: h.mtime });
  }

  private setXattrs(path: string, xattrs: Record<string, Buffer>, symlink: boolean): void {
    for (const [k, v] of Object.entries(xattrs)) {
      if (isOverlayXattr(k)) continue;
      try {
        lsetxattr(path, k, v);
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
    if (k === K_DIR) {
      rmSync(this.abs(rel), { recursive: true, force: true });
    } else {
      unlinkSync(this.abs(rel));
    }
    this.forget(rel);
  }

  private removeOnDisk(rel: string): void {
    const st = lstatSync(this.abs(rel), { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      rmSync(this.abs(rel), { recursive: true, force: true });
    } else {
      unlinkSync(this.abs(rel));
    }
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
    const path = this.abs(rel);
    if (k === K_WHITEOUT) {
      // Same layer: "delete the lower `rel`, then create a new directory": an opaque directory.
      unlinkSync(path);
      mkdirSync(path, 0o700);
      lsetxattr(path, OPAQUE_XATTR, OPAQUE_VALUE);
    } else {
      this.clear(rel);
      try {
        mkdirSync(path, 0o700);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
        const st = lstatSync(path);
        if (!st.isDirectory()) {
          unlinkSync(path);
          mkdirSync(path, 0o700);
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
        const st = lstatSync(this.abs(p), { throwIfNoEntry: false });
        if (!st) {
          mkdirSync(this.abs(p), 0o755);
          // Implicit parents get 0755 whatever the umask.
          this.dirMeta.set(p, { mode: 0o755, mtime: undefined });
          k = K_DIR;
        } else if (st.isDirectory()) {
          k = K_DIR;
        } else if (st.isSymbolicLink()) {
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
    const path = this.abs(rel);
    const from = this.abs(target);
    this.clear(rel);
    this.create(rel, () => linkSync(from, path));
    this.remember(rel, K_FILE);
  }

  private whiteout(rel: string, slash: number, base: string, h: TarHeader): void {
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    this.ensureParent(rel);
    if (base === OPAQUE_MARKER) {
      lsetxattr(this.abs(parent), OPAQUE_XATTR, OPAQUE_VALUE);
      return;
    }
    // Other `.wh..wh.` names are aufs bookkeeping (hardlink dirs), not whiteouts: skip them.
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return;
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') {
      throw new UnsafePathError(`whiteout "${this.name}" names no file`);
    }
    const target = parent === '' ? name : `${parent}/${name}`;
    const k = this.known.get(target);
    // A whiteout hides lower layers only (OCI image spec). If this layer also has the name,
    // a file already shadows the lower one; a directory must also hide the lower one's
    // children, so it becomes opaque.
    if (k === K_DIR) {
      lsetxattr(this.abs(target), OPAQUE_XATTR, OPAQUE_VALUE);
      return;
    }
    if (k === K_FILE || k === K_SYMLINK || k === K_WHITEOUT) return;
    if (k === K_FOREIGN || k === K_FOREIGN_LINK) this.clear(target);
    const path = this.abs(target);
    try {
      mknod(path, S_IFCHR, 0, 0n);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      // Something was already in dest (not from this layer): the whiteout replaces it.
      this.removeOnDisk(target);
      mknod(path, S_IFCHR, 0, 0n);
    }
    this.remember(target, K_WHITEOUT);
    // Owner and mtime from the .wh. entry, so unpack -> tarDirectory round trips are stable.
    if (this.opts.chown) lchownSync(path, h.uid, h.gid);
    lutimesSync(path, h.mtime, h.mtime);
  }
}

/**
 * overlayfs reads `trusted.overlay.*` (opaque, redirect, metacopy, origin...) as instructions;
 * a layer expresses opacity only through `.wh..wh..opq`, so such xattrs in a tar are dropped.
 */
function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.');
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
