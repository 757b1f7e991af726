// TreeWriter: every write berth makes into a tree it does not trust (a layer's staging dir, a
// container's rootfs for `cp`, a build rootfs for COPY) goes through here. Each call names its
// target as a clean path relative to the root and is made relative to a directory fd
// (openat/mkdirat/symlinkat/linkat/mknodat/fchownat/utimensat), and those directory fds are
// opened one component at a time with O_NOFOLLOW|O_DIRECTORY. So a symlink planted in the tree,
// even one swapped in by a running container between two calls, can make a call fail but never
// lead it outside the root. `resolve` is the one place symlinks are followed, and it follows
// them as the kernel would with the root as "/" (`..` and absolute targets stay inside).
//
// Directory fds are cached by path (a layer writes many files into the same few directories),
// bounded, and dropped when their directory is removed.
import { closeSync, constants as fsc, openSync, readdirSync } from 'node:fs';
import { errnoCode, InvalidArgumentError, NotFoundError, UnsafePathError } from '../errors/index.js';
import {
  lchmodat,
  lchownat,
  linkat,
  lsetxattr,
  lstatat,
  lutimesat,
  mkdirat,
  mknodat,
  openat,
  readlinkat,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  type StatAt,
  symlinkat,
  unlinkat,
} from '../util/index.js';

const O_CLOEXEC = 0o2000000;
const DIR_FLAGS = fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW | O_CLOEXEC;
const CREATE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW | O_CLOEXEC;
/** Directory fds kept open; a deep tree reopens from the nearest cached ancestor. */
const MAX_CACHED = 128;
/** Symlinks followed in one resolve, as Linux's MAXSYMLINKS. */
const MAX_LINKS = 40;

export type { StatAt } from '../util/index.js';
export const isDirStat = (st: StatAt): boolean => (st.mode & S_IFMT) === S_IFDIR;
export const isLinkStat = (st: StatAt): boolean => (st.mode & S_IFMT) === S_IFLNK;

/** How `resolve` and `ensureDir` create missing directories. */
export interface DirCreate {
  /** Permission bits, applied with chmod (the umask does not apply). */
  mode: number;
  owner?: { uid: number; gid: number };
  mtime?: number;
}

/** Split a path into components, dropping '', '.' (not '..'). */
export function pathParts(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

function parentAndBase(rel: string): [string, string] {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? ['', rel] : [rel.slice(0, slash), rel.slice(slash + 1)];
}

export class TreeWriter {
  private readonly dirs = new Map<string, number>();
  private closed = false;

  private constructor(
    /** The root's host path; used only in messages and for xattrs on special files. */
    readonly root: string,
    private readonly rootFd: number,
  ) {}

  /** Open the tree at `root` (the root path itself is trusted and may be a symlink). */
  static open(root: string): TreeWriter {
    let fd: number;
    try {
      fd = openSync(root, fsc.O_RDONLY | fsc.O_DIRECTORY | O_CLOEXEC);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') throw new NotFoundError(`"${root}" does not exist`, { cause: err });
      if (code === 'ENOTDIR') throw new InvalidArgumentError(`"${root}" is not a directory`, { cause: err });
      throw err;
    }
    return new TreeWriter(root, fd);
  }

  /** Close every fd this writer holds. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.dirs.values()) closeSync(fd);
    this.dirs.clear();
    closeSync(this.rootFd);
  }

  // ------------------------------------------------------------ directories

  /**
   * The cached fd of the directory `rel` ('' = root), opened component by component without
   * following symlinks; missing components are created when `create` is given. The fd stays
   * owned by the writer and valid until the next call that may evict it.
   */
  private dirFd(rel: string, create?: DirCreate): number {
    if (rel === '') return this.rootFd;
    const hit = this.dirs.get(rel);
    if (hit !== undefined) return hit;
    const [parentRel, base] = parentAndBase(rel);
    const parent = this.dirFd(parentRel, create);
    let fd: number;
    try {
      fd = openat(parent, base, DIR_FLAGS, 0, rel);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' && create) {
        this.makeDir(parent, base, rel, create);
        fd = openat(parent, base, DIR_FLAGS, 0, rel);
      } else if (code === 'ELOOP' || code === 'ENOTDIR') {
        throw new UnsafePathError(`"${rel}" is not a directory (a symlink or file is in the way)`, {
          cause: err,
        });
      } else {
        throw err;
      }
    }
    this.dirs.set(rel, fd);
    return fd;
  }

  private makeDir(parent: number, base: string, rel: string, create: DirCreate): void {
    try {
      mkdirat(parent, base, 0o700, rel);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return; // made meanwhile; the O_NOFOLLOW open checks it
      throw err;
    }
    if (create.owner) lchownat(parent, base, create.owner.uid, create.owner.gid, rel);
    lchmodat(parent, base, create.mode, rel);
    if (create.mtime !== undefined) lutimesat(parent, base, create.mtime, create.mtime, rel);
  }

  /** Drop cached fds at and below `rel` (it was removed or replaced). */
  private forget(rel: string): void {
    const prefix = `${rel}/`;
    for (const [k, fd] of this.dirs) {
      if (k === rel || k.startsWith(prefix) || rel === '') {
        closeSync(fd);
        this.dirs.delete(k);
      }
    }
  }

  /** Keep the cache bounded; run at the start of each public call, so fds in use stay valid. */
  private trim(): void {
    if (this.dirs.size <= MAX_CACHED) return;
    for (const [k, fd] of this.dirs) {
      closeSync(fd);
      this.dirs.delete(k);
      if (this.dirs.size <= MAX_CACHED / 2) return;
    }
  }

  private at(rel: string): [number, string] {
    this.trim();
    if (rel === '') throw new InvalidArgumentError('the tree root cannot be replaced');
    const [parentRel, base] = parentAndBase(rel);
    return [this.dirFd(parentRel), base];
  }

  /** Make sure the directory `rel` exists (creating it and missing parents with `create`). */
  ensureDir(rel: string, create: DirCreate): void {
    this.trim();
    this.dirFd(rel, create);
  }

  /** A new fd of the directory `rel` (the caller closes it with closeFd). */
  openDir(rel: string): number {
    this.trim();
    return openat(this.dirFd(rel), '.', DIR_FLAGS, 0, rel || '.');
  }

  /** Names in the directory `rel` (not re-resolved: read through its open fd). */
  list(rel: string): string[] {
    const fd = this.openDir(rel);
    try {
      return readdirSync(`/proc/self/fd/${fd}`);
    } finally {
      closeSync(fd);
    }
  }

  closeFd(fd: number): void {
    closeSync(fd);
  }

  /**
   * Resolve `path` inside the root as the kernel would resolve it with the root as "/":
   * symlinks are followed (absolute targets from the root), `..` never climbs above the root.
   * Returns the clean relative path of what it names; with followLast false the last component
   * is left as it is (not followed). A missing directory on the way is created with `create`,
   * or else NotFoundError. With `create` and followLast, the last component is made a directory
   * too.
   */
  resolve(path: string, options: { followLast?: boolean; create?: DirCreate } = {}): string {
    this.trim();
    const followLast = options.followLast ?? true;
    const todo = pathParts(path).reverse();
    const done: string[] = [];
    let links = 0;
    while (todo.length > 0) {
      const part = todo.pop()!;
      if (part === '..') {
        done.pop();
        continue;
      }
      const last = todo.length === 0;
      if (last && !followLast) {
        done.push(part);
        break;
      }
      const cur = done.join('/');
      const parent = this.dirFd(cur);
      const rel = cur === '' ? part : `${cur}/${part}`;
      const st = lstatat(parent, part, rel);
      if (st && isLinkStat(st)) {
        if (++links > MAX_LINKS) throw new UnsafePathError(`too many levels of symbolic links in "${path}"`);
        const target = readlinkat(parent, part, rel);
        if (target.startsWith('/')) done.length = 0;
        for (const p of pathParts(target).reverse()) todo.push(p);
        continue;
      }
      if (!st) {
        if (options.create) {
          this.makeDir(parent, part, rel, options.create);
        } else if (!last) {
          throw new NotFoundError(`no such file or directory: "${path}"`);
        }
      } else if (!last && !isDirStat(st)) {
        throw new InvalidArgumentError(`"${path}": "/${rel}" is not a directory`);
      }
      done.push(part);
    }
    return done.join('/');
  }

  // ------------------------------------------------------------ entries

  /** lstat `rel` ('' = the root); undefined when missing. */
  lstat(rel: string): StatAt | undefined {
    if (rel === '') return lstatat(this.rootFd, '', '.');
    try {
      const [parent, base] = this.at(rel);
      return lstatat(parent, base, rel);
    } catch (err) {
      if (err instanceof NotFoundError || errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  mkdir(rel: string, mode: number): void {
    const [parent, base] = this.at(rel);
    mkdirat(parent, base, mode, rel);
  }

  /** Create a new file (O_EXCL, never through a symlink) and return its fd for writing. */
  createFile(rel: string, mode: number): number {
    const [parent, base] = this.at(rel);
    return openat(parent, base, CREATE_FLAGS, mode, rel);
  }

  symlink(target: string, rel: string): void {
    const [parent, base] = this.at(rel);
    symlinkat(target, parent, base, rel);
  }

  /** Hardlink `rel` to the existing `fromRel` (a symlink is linked itself, never followed). */
  link(fromRel: string, rel: string): void {
    const [fromParent, fromBase] = this.at(fromRel);
    const [parent, base] = this.at(rel);
    linkat(fromParent, fromBase, parent, base, rel);
  }

  mknod(rel: string, type: number, mode: number, dev: bigint): void {
    const [parent, base] = this.at(rel);
    mknodat(parent, base, type, mode, dev, rel);
  }

  chown(rel: string, uid: number, gid: number): void {
    if (rel === '') {
      lchownat(this.rootFd, '.', uid, gid, '.');
      return;
    }
    const [parent, base] = this.at(rel);
    lchownat(parent, base, uid, gid, rel);
  }

  /** chmod `rel` itself (not for symlinks, which have no mode on Linux). */
  chmod(rel: string, mode: number): void {
    if (rel === '') {
      lchmodat(this.rootFd, '.', mode, '.');
      return;
    }
    const [parent, base] = this.at(rel);
    lchmodat(parent, base, mode, rel);
  }

  utimes(rel: string, atime: number, mtime: number): void {
    if (rel === '') {
      lutimesat(this.rootFd, '.', atime, mtime, '.');
      return;
    }
    const [parent, base] = this.at(rel);
    lutimesat(parent, base, atime, mtime, rel);
  }

  readlink(rel: string): string {
    const [parent, base] = this.at(rel);
    return readlinkat(parent, base, rel);
  }

  /**
   * Set an xattr on `rel` itself. Linux has no fsetxattrat, so this names the file through
   * the parent's fd in /proc (the parent is not re-resolved; the last component is not followed).
   * Only for symlinks and special files: files and directories use fsetxattr on their own fd.
   */
  lsetxattr(rel: string, name: string, value: Buffer): void {
    const [parent, base] = this.at(rel);
    lsetxattr(`/proc/self/fd/${parent}/${base}`, name, value);
  }

  /** Remove `rel` (a directory with everything below it); missing is fine. */
  remove(rel: string): void {
    const [parent, base] = this.at(rel);
    const st = lstatat(parent, base, rel);
    if (!st) return;
    if (isDirStat(st)) {
      this.forget(rel);
      removeTree(parent, base, rel);
    } else {
      unlinkat(parent, base, false, rel);
    }
  }
}

/** rm -r of the directory `base` in `parent`, fd by fd (no path below `parent` is re-resolved). */
function removeTree(parent: number, base: string, what: string): void {
  let fd: number;
  try {
    fd = openat(parent, base, DIR_FLAGS, 0, what);
  } catch (err) {
    // replaced by a non-directory meanwhile: unlink that instead
    if (errnoCode(err) === 'ELOOP' || errnoCode(err) === 'ENOTDIR') {
      unlinkat(parent, base, false, what);
      return;
    }
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  try {
    // readdir has no *at form in Node; the fd's /proc name is the directory just opened
    for (const name of readdirSync(`/proc/self/fd/${fd}`)) {
      try {
        unlinkat(fd, name, false, `${what}/${name}`);
      } catch (err) {
        if (errnoCode(err) === 'EISDIR') removeTree(fd, name, `${what}/${name}`);
        else if (errnoCode(err) !== 'ENOENT') throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  try {
    unlinkat(parent, base, true, what);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
