// Filesystem work of COPY/ADD and RUN on a mounted build rootfs. Every path inside the rootfs is
// resolved with resolveInRoot (symlinks re-rooted, `..` clamped), and the last component is
// never followed, so a hostile base image cannot make a COPY write outside its rootfs.

import type { Stats } from 'node:fs';
import {
  chmodSync,
  copyFileSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { posix } from 'node:path';
import { inLowers } from '../container/index.js';
import { lgetxattr, llistxattr, lsetxattr, resolveInRoot } from '../util/index.js';

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

/** Writes into one mounted rootfs; remembers the directories it resolved. */
export class RootfsWriter {
  private readonly dirs = new Map<string, string>();
  constructor(readonly root: string) {}

  /** Host path of the directory `containerDir`, created (with `owner`, 0755) where missing. */
  ensureDir(containerDir: string, options: { owner: Ownership; mtime: number }): string {
    const clean = posix.resolve('/', containerDir);
    const known = this.dirs.get(clean);
    if (known) return known;
    if (clean === '/') return this.root;
    const parent = this.ensureDir(posix.dirname(clean), options);
    let host = `${parent}/${posix.basename(clean)}`;
    const st = lstatSync(host, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) {
      host = resolveInRoot(this.root, clean);
      const target = lstatSync(host, { throwIfNoEntry: false });
      if (!target) this.makeDir(host, options);
      else if (!target.isDirectory()) throw notDir(clean);
    } else if (!st) {
      this.makeDir(host, options);
    } else if (!st.isDirectory()) {
      throw notDir(clean);
    }
    this.dirs.set(clean, host);
    return host;
  }

  private makeDir(host: string, options: { owner: Ownership; mtime: number }): void {
    mkdirSync(host, { mode: 0o755 });
    chmodSync(host, 0o755);
    lchownSync(host, options.owner.uid, options.owner.gid);
  }

  /** Is `containerPath` an existing directory (following links inside the rootfs)? */
  isDir(containerPath: string): boolean {
    return (
      lstatSync(resolveInRoot(this.root, containerPath), { throwIfNoEntry: false })?.isDirectory() ?? false
    );
  }

  /** Host path for creating `containerPath` itself (parents resolved and created, the last part not followed). */
  private place(containerPath: string, options: WriteOptions): string {
    const clean = posix.resolve('/', containerPath);
    const parent = this.ensureDir(posix.dirname(clean), { owner: { uid: 0, gid: 0 }, mtime: options.mtime });
    return `${parent}/${posix.basename(clean)}`;
  }

  /** Copy one item to `containerPath` (a dir is created/merged; files and links replace). */
  copyItem(item: CopyItem, containerPath: string, options: WriteOptions): void {
    if (posix.resolve('/', containerPath) === '/' && item.type === 'dir') {
      this.finish(this.root, item.mode, options, true);
      return;
    }
    const host = this.place(containerPath, options);
    const existing = lstatSync(host, { throwIfNoEntry: false });
    if (item.type === 'dir') {
      if (existing && !existing.isDirectory()) rmSync(host, { recursive: true, force: true });
      if (!existing?.isDirectory()) mkdirSync(host);
      this.dirs.set(posix.resolve('/', containerPath), host);
      this.finish(host, item.mode, options, true);
      return;
    }
    if (existing?.isDirectory()) rmSync(host, { recursive: true, force: true });
    else if (existing) unlinkSync(host);
    if (item.type === 'symlink') {
      symlinkSync(item.linkTarget ?? readlinkSync(item.hostPath), host);
      lchownSync(host, options.owner.uid, options.owner.gid);
      lutimesSync(host, options.mtime, options.mtime);
      return;
    }
    copyFileSync(item.hostPath, host);
    this.finish(host, item.mode, options, false);
  }

  /** Write a file with `content` (heredocs, downloads) at `containerPath`. */
  writeFile(containerPath: string, content: Buffer | string, mode: number, options: WriteOptions): void {
    const host = this.place(containerPath, options);
    const existing = lstatSync(host, { throwIfNoEntry: false });
    if (existing?.isDirectory()) rmSync(host, { recursive: true, force: true });
    else if (existing) unlinkSync(host);
    writeFileSync(host, content, { mode: 0o600 });
    this.finish(host, mode, options, false);
  }

  private finish(host: string, mode: number, options: WriteOptions, dir: boolean): void {
    lchownSync(host, options.owner.uid, options.owner.gid);
    // chmod after chown: chown clears setuid/setgid bits
    chmodSync(host, options.chmod ?? (mode & 0o7777 || (dir ? 0o755 : 0o644)));
    lutimesSync(host, options.mtime, options.mtime);
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
  const visit = (rel: string): void => {
    for (const name of readdirSync(`${layerDir}${rel}`).sort()) {
      const src = `${layerDir}${rel}/${name}`;
      const st = lstatSync(src);
      const dstParent = resolveInRoot(rootfs, rel || '/');
      const dst = `${dstParent}/${name}`;
      const existing = lstatSync(dst, { throwIfNoEntry: false });
      if (st.isCharacterDevice() && st.rdev === 0) {
        if (existing) rmSync(dst, { recursive: true, force: true });
        continue;
      }
      if (st.isDirectory()) {
        if (existing && !existing.isDirectory()) rmSync(dst, { recursive: true, force: true });
        if (!existing?.isDirectory()) mkdirSync(dst);
        else if (lgetxattr(src, 'trusted.overlay.opaque')?.toString() === 'y') {
          for (const child of readdirSync(dst)) rmSync(`${dst}/${child}`, { recursive: true, force: true });
        }
        visit(`${rel}/${name}`);
        copyMeta(src, dst, st);
        continue;
      }
      if (existing) rmSync(dst, { recursive: true, force: true });
      if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
      else if (st.isFile()) copyFileSync(src, dst);
      else continue; // devices and fifos in a build layer are left out
      copyMeta(src, dst, st);
    }
  };
  visit('');
}

function copyMeta(src: string, dst: string, st: Stats): void {
  lchownSync(dst, st.uid, st.gid);
  if (!st.isSymbolicLink()) chmodSync(dst, st.mode & 0o7777);
  for (const key of llistxattr(src)) {
    if (key.startsWith('trusted.overlay.')) continue;
    const v = lgetxattr(src, key);
    if (v !== undefined) lsetxattr(dst, key, v);
  }
  lutimesSync(dst, st.atime, st.mtime);
}
