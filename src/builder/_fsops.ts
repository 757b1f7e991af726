// Filesystem work of COPY/ADD and RUN on a mounted build rootfs. Every write goes through
// archive's fd-based TreeWriter: parents are resolved inside the rootfs (symlinks re-rooted,
// `..` clamped) and then reached through O_NOFOLLOW directory fds, and the last component is
// never followed, so a hostile base image cannot make a COPY write outside its rootfs.

import type { Stats } from 'node:fs';
import {
  closeSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { posix } from 'node:path';
import { isDirStat, isOpaqueDir, isOverlayWhiteout, isOverlayXattr, TreeWriter } from '../archive/index.js';
import { inLowers } from '../container/index.js';
import { InvalidArgumentError, NotFoundError } from '../errors/index.js';
import { copyFdToFd, lgetxattr, llistxattr } from '../util/index.js';

export interface Ownership {
  uid: number;
  gid: number;
}

/** One thing to copy: where it is on the host, and its path relative to the copied source. */
export interface CopyItem {
  hostPath: string;
  /** '' for the source itself. */
  rel: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  linkTarget?: string;
}

export interface WriteOptions {
  owner: Ownership;
  /** --chmod: replaces the mode of every copied file and directory. */
  chmod?: number;
  /** mtime of everything written (the build's SOURCE_DATE_EPOCH). */
  mtime: number;
}

/**
 * Writes into one mounted rootfs. Each call opens its own TreeWriter and closes it before
 * returning, so no fd outlives the call and keeps the rootfs mount busy.
 */
export class RootfsWriter {
  #writer: TreeWriter | undefined;

  constructor(readonly root: string) {}

  /**
   * One tree writer (and its cache of directory fds) serves every call until close(), so a
   * COPY of many files does not reopen the rootfs and walk the same parents for each one.
   */
  private with<T>(fn: (w: TreeWriter) => T): T {
    this.#writer ??= TreeWriter.open(this.root);
    return fn(this.#writer);
  }

  /**
   * Drop the writer and its directory fds: before the rootfs is unmounted, and after anything
   * else wrote into the rootfs (the next call opens a fresh writer).
   */
  close(): void {
    this.#writer?.close();
    this.#writer = undefined;
  }

  /** Host path of the directory `containerDir`, created (with `owner`, 0755) where missing. */
  ensureDir(containerDir: string, options: { owner: Ownership; mtime: number }): string {
    return this.with((w) => {
      const rel = w.resolve(containerDir, {
        followLast: true,
        create: { mode: 0o755, owner: options.owner },
      });
      const st = w.lstat(rel);
      if (!st || !isDirStat(st)) throw notDir(posix.resolve('/', containerDir));
      return rel === '' ? this.root : `${this.root}/${rel}`;
    });
  }

  /** Is `containerPath` an existing directory (following links inside the rootfs)? */
  isDir(containerPath: string): boolean {
    return this.with((w) => {
      let rel: string;
      try {
        rel = w.resolve(containerPath, { followLast: true });
      } catch (err) {
        if (err instanceof NotFoundError || err instanceof InvalidArgumentError) return false;
        throw err;
      }
      const st = w.lstat(rel);
      return st !== undefined && isDirStat(st);
    });
  }

  /** Relative path for creating `containerPath` itself (parents resolved and created, the last part not followed). */
  private place(w: TreeWriter, containerPath: string): string {
    return w.resolve(posix.resolve('/', containerPath), {
      followLast: false,
      create: { mode: 0o755, owner: { uid: 0, gid: 0 } },
    });
  }

  /** Copy one item to `containerPath` (a dir is created/merged; files and links replace). */
  copyItem(item: CopyItem, containerPath: string, options: WriteOptions): void {
    this.with((w) => {
      if (posix.resolve('/', containerPath) === '/' && item.type === 'dir') {
        this.finish(w, '', item.mode, options, true);
        return;
      }
      const rel = this.place(w, containerPath);
      const existing = w.lstat(rel);
      if (item.type === 'dir') {
        const isDir = existing !== undefined && isDirStat(existing);
        if (existing && !isDir) w.remove(rel);
        if (!isDir) w.mkdir(rel, 0o700);
        this.finish(w, rel, item.mode, options, true);
        return;
      }
      if (existing) w.remove(rel);
      if (item.type === 'symlink') {
        w.symlink(item.linkTarget ?? readlinkSync(item.hostPath), rel);
        w.chown(rel, options.owner.uid, options.owner.gid);
        w.utimes(rel, options.mtime, options.mtime);
        return;
      }
      const src = openSync(item.hostPath, 'r');
      try {
        const fd = w.createFile(rel, 0o600);
        try {
          copyFdToFd(src, fd, containerPath);
          this.finishFd(fd, item.mode, options);
        } finally {
          closeSync(fd);
        }
      } finally {
        closeSync(src);
      }
    });
  }

  /** Write a file with `content` (heredocs, downloads) at `containerPath`. */
  writeFile(containerPath: string, content: Buffer | string, mode: number, options: WriteOptions): void {
    this.with((w) => {
      const rel = this.place(w, containerPath);
      if (w.lstat(rel)) w.remove(rel);
      const fd = w.createFile(rel, 0o600);
      try {
        const b = typeof content === 'string' ? Buffer.from(content) : content;
        let off = 0;
        while (off < b.length) off += writeSync(fd, b, off, b.length - off);
        this.finishFd(fd, mode, options);
      } finally {
        closeSync(fd);
      }
    });
  }

  private finish(w: TreeWriter, rel: string, mode: number, options: WriteOptions, dir: boolean): void {
    w.chown(rel, options.owner.uid, options.owner.gid);
    // chmod after chown: chown clears setuid/setgid bits
    w.chmod(rel, options.chmod ?? (mode & 0o7777 || (dir ? 0o755 : 0o644)));
    w.utimes(rel, options.mtime, options.mtime);
  }

  private finishFd(fd: number, mode: number, options: WriteOptions): void {
    fchownSync(fd, options.owner.uid, options.owner.gid);
    fchmodSync(fd, options.chmod ?? (mode & 0o7777 || 0o644));
    futimesSync(fd, options.mtime, options.mtime);
  }
}

function notDir(path: string): Error {
  const err = new Error(`"${path}" exists in the image and is not a directory`) as NodeJS.ErrnoException;
  err.code = 'ENOTDIR';
  return err;
}

/** Items under a host directory or file, lstat only (links are copied as links), sorted. */
export function walkHost(hostPath: string): CopyItem[] {
  const out: CopyItem[] = [];
  const visit = (path: string, rel: string): void => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) {
      out.push({
        hostPath: path,
        rel,
        type: 'symlink',
        mode: st.mode & 0o7777,
        linkTarget: readlinkSync(path),
      });
    } else if (st.isDirectory()) {
      out.push({ hostPath: path, rel, type: 'dir', mode: st.mode & 0o7777 });
      for (const name of readdirSync(path).sort()) visit(`${path}/${name}`, rel ? `${rel}/${name}` : name);
    } else if (st.isFile()) {
      out.push({ hostPath: path, rel, type: 'file', mode: st.mode & 0o7777 });
    }
    // devices, fifos and sockets are not copied, as BuildKit does not
  };
  visit(hostPath, '');
  return out;
}

/**
 * After a RUN, drop what the runtime created only as mount points (an empty /etc/hosts, a
 * /run/secrets/ID file, /proc in a scratch image): the paths that are empty in the upper dir
 * and absent from every lower layer. Their parents go too when they are empty and new.
 */
export function removeMountStubs(upper: string, lowers: string[], targets: string[]): void {
  const sorted = [...new Set(targets.map((t) => posix.resolve('/', t)))].sort((a, b) => b.length - a.length);
  for (const target of sorted) {
    let path = target;
    while (path !== '/') {
      const host = `${upper}${path}`;
      const st = lstatSync(host, { throwIfNoEntry: false });
      if (!st || inLowers(lowers, path.slice(1))) break;
      if (st.isDirectory()) {
        if (readdirSync(host).length > 0) break;
        rmdirSync(host);
      } else if (st.isFile() && st.size === 0) {
        unlinkSync(host);
      } else {
        break;
      }
      path = posix.dirname(path);
    }
  }
}

/**
 * Apply one layer dir (overlay format) onto a mounted rootfs as file operations: a 0/0 char
 * device deletes its path, an opaque dir is emptied before its own entries land, everything
 * else is copied with its owner, mode, mtime and xattrs. Hardlinks within the layer become
 * separate copies.
 */
export function applyLayerDir(layerDir: string, rootfs: string): void {
  const w = TreeWriter.open(rootfs);
  const visit = (rel: string): void => {
    for (const name of readdirSync(`${layerDir}/${rel}`).sort()) {
      const src = `${layerDir}/${rel}/${name}`;
      const st = lstatSync(src);
      const dst = rel === '' ? name : `${rel}/${name}`;
      const existing = w.lstat(dst);
      if (isOverlayWhiteout(st)) {
        if (existing) w.remove(dst);
        continue;
      }
      if (st.isDirectory()) {
        const isDir = existing !== undefined && isDirStat(existing);
        if (existing && !isDir) w.remove(dst);
        if (!isDir) w.mkdir(dst, 0o700);
        else if (isOpaqueDir(src)) {
          for (const child of w.list(dst)) w.remove(`${dst}/${child}`);
        }
        visit(dst);
        copyMeta(w, src, dst, st);
        continue;
      }
      if (existing) w.remove(dst);
      if (st.isSymbolicLink()) w.symlink(readlinkSync(src), dst);
      else if (st.isFile()) {
        const from = openSync(src, 'r');
        try {
          const fd = w.createFile(dst, 0o600);
          try {
            copyFdToFd(from, fd, dst);
          } finally {
            closeSync(fd);
          }
        } finally {
          closeSync(from);
        }
      } else continue; // devices and fifos in a build layer are left out
      copyMeta(w, src, dst, st);
    }
  };
  try {
    visit('');
  } finally {
    w.close();
  }
}

function copyMeta(w: TreeWriter, src: string, dst: string, st: Stats): void {
  w.chown(dst, st.uid, st.gid);
  if (!st.isSymbolicLink()) w.chmod(dst, st.mode & 0o7777);
  for (const key of llistxattr(src)) {
    if (isOverlayXattr(key)) continue;
    const v = lgetxattr(src, key);
    if (v !== undefined) w.lsetxattr(dst, key, v);
  }
  w.utimes(dst, st.atimeMs / 1000, st.mtimeMs / 1000);
}
