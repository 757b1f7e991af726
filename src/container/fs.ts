// Filesystem commands on a container's rootfs: cp, diff, commit, export.
// The container may own and change every path in its rootfs while we work (CVE-2018-15664), so
// container paths are resolved with resolveInRoot and then reached through directory file
// descriptors opened with O_NOFOLLOW, one component at a time (`/proc/self/fd/N/name` stands in
// for openat): a component swapped for a symlink after the resolution makes the copy fail
// instead of leading outside the rootfs.
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fchmodSync,
  fchownSync,
  constants as fsc,
  fstatSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  type Stats,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  cleanName,
  compressStream,
  readTar,
  type TarEntryInput,
  type TarHeader,
  tarDirectory,
  unpackLayer,
  writeTar,
} from '../archive/index.js';
import {
  ConflictError,
  errnoCode,
  InvalidArgumentError,
  NotFoundError,
  UnsafePathError,
} from '../errors/index.js';
import {
  applyChanges,
  creationTime,
  fullTagName,
  readImageConfig,
  storeImageWithLayer,
} from '../image/index.js';
import {
  type ContainerConfig,
  type Digest,
  type ImageConfig,
  MediaType,
  parseReference,
} from '../oci/index.js';
import { isActiveState } from '../runtime/index.js';
import type { ContainerRecord, ImageRecord } from '../store/index.js';
import {
  HashingCounter,
  lgetxattr,
  makedev,
  mknod,
  removeAll,
  resolveInRoot,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
} from '../util/index.js';
import type { ContainerManager } from './manager.js';

const O_CLOEXEC = 0o2000000;
const DIR_FLAGS = fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW | O_CLOEXEC;

/** A path naming `name` inside the directory open as `fd`, without re-resolving that directory. */
function at(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

function splitPath(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

function raceError(what: string, cause: unknown): Error {
  return new UnsafePathError(
    `cannot copy "${what}": a path component is not a directory (changed during the copy?)`,
    {
      cause,
    },
  );
}

/** Open the directory `parts` below `root`, refusing a symlink at every step. */
function openDirIn(root: string, parts: string[], what: string): number {
  let fd = openSync(root, fsc.O_RDONLY | fsc.O_DIRECTORY | O_CLOEXEC);
  for (const part of parts) {
    let next: number;
    try {
      next = openSync(at(fd, part), DIR_FLAGS);
    } catch (err) {
      closeSync(fd);
      const code = errnoCode(err);
      if (code === 'ENOENT') throw new NotFoundError(`no such file or directory: "${what}"`, { cause: err });
      if (code === 'ELOOP' || code === 'ENOTDIR') throw raceError(what, err);
      throw err;
    }
    closeSync(fd);
    fd = next;
  }
  return fd;
}

/** A location inside a root: the (safely opened) parent dir and the last name, unresolved. */
interface Located {
  /** Components of the parent below the root, symlinks already resolved inside the root. */
  parent: string[];
  /** The last component; undefined when the path is the root itself. */
  name: string | undefined;
}

/** Resolve `path` in `root`: every component but the last (or all of them, with follow). */
function locate(root: string, path: string, follow: boolean): Located {
  const rootClean = root.replace(/\/+$/, '') || '/';
  const rel = (host: string): string[] => (host === rootClean ? [] : splitPath(host.slice(rootClean.length)));
  const parts = splitPath(path);
  // '..' is resolved lexically by resolveInRoot; resolve the whole path when the last part is '..'
  if (follow || parts.length === 0 || parts[parts.length - 1] === '..') {
    const full = rel(resolveInRoot(rootClean, path));
    if (full.length === 0) return { parent: [], name: undefined };
    return { parent: full.slice(0, -1), name: full[full.length - 1] };
  }
  const parent = rel(resolveInRoot(rootClean, parts.slice(0, -1).join('/')));
  return { parent, name: parts[parts.length - 1] };
}

function lstatAt(dirFd: number, name: string | undefined): Stats | undefined {
  return lstatSync(name === undefined ? `${at(dirFd)}/.` : at(dirFd, name), { throwIfNoEntry: false });
}

// ---------------------------------------------------------------- reading a tree as tar entries

interface WalkOptions {
  /** Archive name of the top entry; '' writes only its contents (a directory's children). */
  top: string;
}

/**
 * Entries of the tree at (dirFd, name) without following any symlink: directories are opened
 * with O_NOFOLLOW and their children named through that fd, files opened with O_NOFOLLOW.
 */
function* walkTree(
  dirFd: number,
  name: string | undefined,
  options: WalkOptions,
): Generator<TarEntryInput, void, undefined> {
  const links = new Map<string, string>();
  function header(entryName: string, type: TarHeader['type'], st: Stats): TarHeader {
    return {
      name: entryName,
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: 0,
      mtime: Math.floor(st.mtimeMs / 1000),
    };
  }
  function* walkDir(fd: number, entryName: string, st: Stats): Generator<TarEntryInput, void, undefined> {
    if (entryName !== '') yield { header: header(entryName, 'dir', st) };
    const children = readdirSync(at(fd)).sort();
    for (const child of children) yield* walk(fd, child, entryName === '' ? child : `${entryName}/${child}`);
  }
  function* walk(
    parentFd: number,
    base: string,
    entryName: string,
  ): Generator<TarEntryInput, void, undefined> {
    const st = lstatSync(at(parentFd, base), { throwIfNoEntry: false });
    if (!st) {
      // a child removed while we walked is skipped; the source itself must be there
      if (entryName === options.top) throw new NotFoundError(`"${base}" disappeared during the copy`);
      return;
    }
    if (st.isDirectory()) {
      let fd: number;
      try {
        fd = openSync(at(parentFd, base), DIR_FLAGS);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' && entryName !== options.top) return;
        throw raceError(entryName, err);
      }
      try {
        yield* walkDir(fd, entryName, fstatSync(fd));
      } finally {
        closeSync(fd);
      }
      return;
    }
    if (st.nlink > 1 && !st.isDirectory()) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        yield { header: { ...header(entryName, 'hardlink', st), linkname: first } };
        return;
      }
      links.set(key, entryName);
    }
    if (st.isFile()) {
      let fd: number;
      try {
        fd = openSync(at(parentFd, base), fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | O_CLOEXEC);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' && entryName !== options.top) return;
        throw raceError(entryName, err);
      }
      const fst = fstatSync(fd);
      if (!fst.isFile()) {
        closeSync(fd);
        throw raceError(entryName, undefined);
      }
      const h = header(entryName, 'file', fst);
      h.size = fst.size;
      if (h.size === 0) {
        closeSync(fd);
        yield { header: h };
      } else {
        yield { header: h, body: () => createReadStream('', { fd, autoClose: true }) };
      }
    } else if (st.isSymbolicLink()) {
      yield { header: { ...header(entryName, 'symlink', st), linkname: readlinkSync(at(parentFd, base)) } };
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const rdev = BigInt(st.rdev);
      yield {
        header: {
          ...header(entryName, st.isCharacterDevice() ? 'char' : 'block', st),
          devmajor: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n)),
          devminor: Number((rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n)),
        },
      };
    } else if (st.isFIFO()) {
      yield { header: header(entryName, 'fifo', st) };
    }
  }
  if (name === undefined) {
    const fd = openSync(`${at(dirFd)}/.`, DIR_FLAGS);
    try {
      yield* walkDir(fd, options.top, fstatSync(fd));
    } finally {
      closeSync(fd);
    }
  } else if (options.top === '') {
    const st = lstatAt(dirFd, name);
    if (!st?.isDirectory())
      throw new InvalidArgumentError(`cannot copy the contents of "${name}": not a directory`);
    const fd = openSync(at(dirFd, name), DIR_FLAGS);
    try {
      yield* walkDir(fd, '', fstatSync(fd));
    } finally {
      closeSync(fd);
    }
  } else {
    yield* walk(dirFd, name, options.top);
  }
}

// ---------------------------------------------------------------- writing tar entries into a dir

type Ownership = 'keep' | { uid: number; gid: number };

/**
 * Apply tar entries below the directory `base` (components below `root`), reaching every parent
 * through O_NOFOLLOW directory fds, so neither a hostile tar nor a container swapping paths can
 * make a write land outside `root`.
 */
class TreeWriter {
  private readonly dirTimes: { parts: string[]; mtime: number }[] = [];
  constructor(
    private readonly root: string,
    private readonly base: string[],
    private readonly owner: Ownership,
    private readonly what: string,
  ) {}

  private openParent(parts: string[], create: boolean): number {
    let fd = openDirIn(this.root, this.base, this.what);
    for (const part of parts) {
      let next: number;
      try {
        next = openSync(at(fd, part), DIR_FLAGS);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' && create) {
          mkdirSync(at(fd, part), { mode: 0o755 });
          next = openSync(at(fd, part), DIR_FLAGS);
        } else {
          closeSync(fd);
          throw errnoCode(err) === 'ENOENT' ? err : raceError(`${this.what}/${parts.join('/')}`, err);
        }
      }
      closeSync(fd);
      fd = next;
    }
    return fd;
  }

  private ids(h: TarHeader): { uid: number; gid: number } {
    return this.owner === 'keep' ? { uid: h.uid, gid: h.gid } : this.owner;
  }

  async apply(entry: { header: TarHeader; body?: AsyncIterable<Buffer> }): Promise<void> {
    const h = entry.header;
    const clean = cleanName(h.name);
    if (clean === undefined)
      throw new UnsafePathError(`refusing tar entry "${h.name}": it climbs out of the destination`);
    const parts = splitPath(clean);
    if (parts.length === 0) return; // the destination dir itself: leave its metadata alone
    const name = parts[parts.length - 1]!;
    const pfd = this.openParent(parts.slice(0, -1), true);
    try {
      const existing = lstatAt(pfd, name);
      const { uid, gid } = this.ids(h);
      if (h.type === 'dir') {
        if (existing && !existing.isDirectory()) {
          throw new ConflictError(`cannot overwrite non-directory "${clean}" with a directory`);
        }
        if (!existing) mkdirSync(at(pfd, name), { mode: 0o700 });
        const fd = openSync(at(pfd, name), DIR_FLAGS);
        try {
          fchownSync(fd, uid, gid);
          fchmodSync(fd, h.mode & 0o7777);
        } finally {
          closeSync(fd);
        }
        this.dirTimes.push({ parts, mtime: h.mtime });
        return;
      }
      if (existing?.isDirectory()) {
        throw new ConflictError(`cannot overwrite directory "${clean}" with a non-directory`);
      }
      if (existing) unlinkSync(at(pfd, name));
      const target = at(pfd, name);
      switch (h.type) {
        case 'file': {
          const fd = openSync(
            target,
            fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW | O_CLOEXEC,
            0o600,
          );
          try {
            for await (const chunk of entry.body ?? []) {
              const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
              let off = 0;
              while (off < b.length) off += writeSync(fd, b, off, b.length - off);
            }
            fchownSync(fd, uid, gid);
            fchmodSync(fd, h.mode & 0o7777);
            futimesSync(fd, h.mtime, h.mtime);
          } finally {
            closeSync(fd);
          }
          return;
        }
        case 'symlink':
          symlinkSync(h.linkname ?? '', target);
          lchownSync(target, uid, gid);
          lutimesSync(target, h.mtime, h.mtime);
          return;
        case 'hardlink': {
          const linkClean = cleanName(h.linkname ?? '');
          if (!linkClean) throw new UnsafePathError(`refusing hardlink "${h.name}" to "${h.linkname}"`);
          const lparts = splitPath(linkClean);
          const lfd = this.openParent(lparts.slice(0, -1), false);
          try {
            linkSync(at(lfd, lparts[lparts.length - 1]!), target);
          } finally {
            closeSync(lfd);
          }
          return;
        }
        case 'char':
        case 'block':
        case 'fifo': {
          const type = h.type === 'char' ? S_IFCHR : h.type === 'block' ? S_IFBLK : S_IFIFO;
          mknod(target, type, h.mode & 0o7777, makedev(h.devmajor ?? 0, h.devminor ?? 0));
          lchownSync(target, uid, gid);
          return;
        }
      }
    } finally {
      closeSync(pfd);
    }
  }

  /** Directory times last, after their contents stopped changing them. */
  finish(): void {
    for (const d of this.dirTimes.reverse()) {
      try {
        const fd = this.openParent(d.parts, false);
        try {
          futimesSync(fd, d.mtime, d.mtime);
        } finally {
          closeSync(fd);
        }
      } catch {
        // best effort: a directory replaced later in the same copy
      }
    }
  }
}

// ---------------------------------------------------------------- rootfs access

/** Run `fn` with the container's rootfs mounted; unmount afterwards only if we mounted it. */
export async function withContainerRootfs<T>(
  manager: ContainerManager,
  idOrName: string,
  fn: (rootfs: string, rec: ContainerRecord, image: ImageRecord) => Promise<T>,
): Promise<T> {
  const rec = manager.get(idOrName);
  const store = manager.store;
  const image = store.resolveImage(rec.imageId);
  const wasMounted = store.isMounted(rec.id);
  const rootfs = store.mountContainerRootfs(rec.id, image.layers);
  try {
    return await fn(rootfs, rec, image);
  } finally {
    if (!wasMounted) {
      // the container may have been started meanwhile: its mount is then in use
      const now = store.getContainer(rec.id);
      if (!now || !isActiveState(now.state)) {
        try {
          store.unmountContainerRootfs(rec.id);
        } catch {
          // removed meanwhile
        }
      }
    }
  }
}

// ---------------------------------------------------------------- cp

export interface CopyOptions {
  /** -a: keep uid/gid of the source. */
  archive?: boolean;
  /** -L: follow a symlink given as the source. */
  followLink?: boolean;
}

/** One side of a copy: a path inside a root ('/' for the host). */
interface Side {
  root: string;
  path: string;
}

function endsWithDot(p: string): boolean {
  return p === '.' || p.endsWith('/.');
}

/** Entries of the source for `top`, after checking docker's trailing-slash rule. */
function sourceEntries(src: Side, follow: boolean, top: (name: string, isDir: boolean) => string) {
  // `link/` and `link/.` name the directory a symlink points to, as in a shell
  const loc = locate(src.root, src.path, follow || src.path.endsWith('/') || endsWithDot(src.path));
  const pfd = openDirIn(src.root, loc.parent, src.path);
  const st = lstatAt(pfd, loc.name);
  if (!st) {
    closeSync(pfd);
    throw new NotFoundError(`could not find the file ${src.path} in container`);
  }
  if (!st.isDirectory() && (src.path.endsWith('/') || endsWithDot(src.path))) {
    closeSync(pfd);
    throw new InvalidArgumentError(`cannot copy "${src.path}": not a directory`);
  }
  const topName = top(loc.name ?? '', st.isDirectory());
  async function* entries(): AsyncGenerator<TarEntryInput, void, undefined> {
    try {
      yield* walkTree(pfd, loc.name, { top: topName });
    } finally {
      closeSync(pfd);
    }
  }
  return { isDir: st.isDirectory(), entries: entries() };
}

/** Copy between two roots with docker cp's rules for existing and missing destinations. */
async function copyTree(src: Side, dest: Side, options: CopyOptions & { owner: Ownership }): Promise<void> {
  const dloc = locate(dest.root, dest.path, true);
  const dpfd = openDirIn(dest.root, dloc.parent, dest.path);
  const dst = lstatAt(dpfd, dloc.name);
  closeSync(dpfd);
  const destDirParts = dloc.name === undefined ? dloc.parent : [...dloc.parent, dloc.name];
  let writerBase: string[];
  let top: (name: string, isDir: boolean) => string;
  if (dst?.isDirectory()) {
    writerBase = destDirParts;
    // a dir lands inside as its own name, unless SRC ends in /. (its contents are copied)
    top = (name, isDir) => (isDir && (endsWithDot(src.path) || name === '') ? '' : name || '');
  } else {
    if (dloc.name === undefined) throw new InvalidArgumentError(`invalid destination "${dest.path}"`);
    writerBase = dloc.parent;
    top = () => dloc.name!;
  }
  const source = sourceEntries(src, options.followLink === true, top);
  if (dst && !dst.isDirectory()) {
    if (source.isDir) {
      await source.entries.return(undefined);
      throw new InvalidArgumentError(`cannot copy a directory to a file: "${dest.path}"`);
    }
  } else if (!dst) {
    if (dest.path.endsWith('/') && !source.isDir) {
      await source.entries.return(undefined);
      throw new NotFoundError(`destination directory "${dest.path}" must exist`);
    }
  }
  const writer = new TreeWriter(dest.root, writerBase, options.owner, dest.path);
  for await (const e of source.entries) {
    const body = e.body;
    await writer.apply(
      body === undefined
        ? { header: e.header }
        : {
            header: e.header,
            body: Buffer.isBuffer(body) ? toIterable(body) : (body() as AsyncIterable<Buffer>),
          },
    );
  }
  writer.finish();
}

async function* toIterable(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

const HOST_OWNER = (): Ownership => ({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });

/** `cp CONTAINER:SRC HOSTDEST` */
export async function copyFromContainer(
  manager: ContainerManager,
  idOrName: string,
  paths: { src: string; dest: string },
  options: CopyOptions = {},
): Promise<void> {
  await withContainerRootfs(manager, idOrName, (rootfs) =>
    copyTree(
      { root: rootfs, path: paths.src },
      { root: '/', path: hostAbsolute(paths.dest) },
      {
        ...options,
        owner: options.archive ? 'keep' : HOST_OWNER(),
      },
    ),
  );
}

/** `cp HOSTSRC CONTAINER:DEST` */
export async function copyToContainer(
  manager: ContainerManager,
  idOrName: string,
  paths: { src: string; dest: string },
  options: CopyOptions = {},
): Promise<void> {
  await withContainerRootfs(manager, idOrName, (rootfs) =>
    copyTree(
      { root: '/', path: hostAbsolute(paths.src) },
      { root: rootfs, path: paths.dest },
      {
        ...options,
        owner: options.archive ? 'keep' : { uid: 0, gid: 0 },
      },
    ),
  );
}

function hostAbsolute(p: string): string {
  if (p.startsWith('/')) return p;
  const abs = join(process.cwd(), p);
  // join drops a trailing '/' or '/.', which carry meaning for cp
  if (p.endsWith('/.') || p === '.') return `${abs}/.`;
  return p.endsWith('/') ? `${abs}/` : abs;
}

/** `cp CONTAINER:SRC -`: a tar of SRC (named by its base name) written to `out` (left open). */
export async function containerPathToTar(
  manager: ContainerManager,
  idOrName: string,
  src: string,
  out: NodeJS.WritableStream,
  options: CopyOptions = {},
): Promise<void> {
  await withContainerRootfs(manager, idOrName, async (rootfs) => {
    const source = sourceEntries({ root: rootfs, path: src }, options.followLink === true, (name, isDir) =>
      isDir && endsWithDot(src) ? '' : name,
    );
    await pipeline(writeTar(source.entries), out, { end: false });
  });
}

/** `cp - CONTAINER:DEST`: extract a tar read from `input` into the existing directory DEST. */
export async function tarToContainerPath(
  manager: ContainerManager,
  idOrName: string,
  dest: string,
  input: AsyncIterable<Buffer>,
  options: CopyOptions = {},
): Promise<void> {
  await withContainerRootfs(manager, idOrName, async (rootfs) => {
    const loc = locate(rootfs, dest, true);
    const parts = loc.name === undefined ? loc.parent : [...loc.parent, loc.name];
    const fd = openDirIn(rootfs, parts, dest);
    closeSync(fd);
    const writer = new TreeWriter(rootfs, parts, options.archive ? 'keep' : { uid: 0, gid: 0 }, dest);
    for await (const e of readTar(input)) await writer.apply(e);
    writer.finish();
  });
}

// ---------------------------------------------------------------- diff

export interface ContainerChange {
  Path: string;
  /** docker's kinds: 0 changed, 1 added, 2 deleted. */
  Kind: 0 | 1 | 2;
}

/** Whether `rel` exists in the image (lower layers, top layer first decides). */
/**
 * Does `rel` (relative to the rootfs) exist in the overlay lower dirs `lowers` (top first)?
 * The topmost layer that has the name decides; a whiteout there means it does not.
 */
export function inLowers(lowers: string[], rel: string): boolean {
  for (const l of lowers) {
    const st = lstatSync(`${l}/${rel}`, { throwIfNoEntry: false });
    if (!st) continue;
    return !(st.isCharacterDevice() && st.rdev === 0);
  }
  return false;
}

function lowerChildren(lowers: string[], rel: string): Set<string> {
  const out = new Set<string>();
  for (const l of lowers) {
    try {
      for (const n of readdirSync(`${l}/${rel}`)) if (inLowers(lowers, `${rel}/${n}`)) out.add(n);
    } catch {
      // not a directory in this layer
    }
  }
  return out;
}

/** The container's changes against its image, read from its overlay upper dir. */
export function containerChanges(manager: ContainerManager, idOrName: string): ContainerChange[] {
  const rec = manager.get(idOrName);
  const store = manager.store;
  const image = store.resolveImage(rec.imageId);
  const lowers = [...image.layers].reverse().map((d) => store.layerDiffPath(d));
  const upper = join(store.containerDir(rec.id), 'upper');
  // empty files and dirs the runtime created as mount points are not the container's changes
  const o = manager.config(rec).options;
  const mountPoints = new Set([
    '/etc/hosts',
    '/etc/hostname',
    '/etc/resolv.conf',
    ...(o.init ? ['/sbin/berth-init'] : []),
    ...(o.mounts ?? []).map((m) => `/${splitPath(m.target).join('/')}`),
  ]);
  const isMountPoint = (path: string, st: Stats, dirFd?: number): boolean =>
    mountPoints.has(path) &&
    (dirFd === undefined ? st.isFile() && st.size === 0 : readdirSync(at(dirFd)).length === 0);
  const out: ContainerChange[] = [];
  if (!lstatSync(upper, { throwIfNoEntry: false })?.isDirectory()) return out;
  const walk = (fd: number, rel: string) => {
    const names = readdirSync(at(fd));
    for (const n of names) {
      const childRel = rel === '' ? n : `${rel}/${n}`;
      const st = lstatSync(at(fd, n), { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isCharacterDevice() && st.rdev === 0) {
        out.push({ Path: `/${childRel}`, Kind: 2 });
        continue;
      }
      const existed = inLowers(lowers, childRel);
      if (st.isDirectory()) {
        let cfd: number;
        try {
          cfd = openSync(at(fd, n), DIR_FLAGS);
        } catch {
          continue; // swapped while we looked
        }
        try {
          const opaque = existed && isOpaque(`${at(cfd)}/.`);
          const mark = out.length;
          if (existed) out.push({ Path: `/${childRel}`, Kind: 0 });
          else if (!isMountPoint(`/${childRel}`, st, cfd)) out.push({ Path: `/${childRel}`, Kind: 1 });
          if (opaque) {
            const present = new Set(readdirSync(at(cfd)));
            for (const gone of lowerChildren(lowers, childRel)) {
              if (!present.has(gone)) out.push({ Path: `/${childRel}/${gone}`, Kind: 2 });
            }
          }
          walk(cfd, childRel);
          // a directory copied up only to hold mount-point stubs (/etc for /etc/hosts) did not change
          if (
            existed &&
            !opaque &&
            out.length === mark + 1 &&
            readdirSync(at(cfd)).every((c) => mountPoints.has(`/${childRel}/${c}`))
          ) {
            out.splice(mark, 1);
          }
        } finally {
          closeSync(cfd);
        }
        continue;
      }
      if (existed) out.push({ Path: `/${childRel}`, Kind: 0 });
      else if (!isMountPoint(`/${childRel}`, st)) out.push({ Path: `/${childRel}`, Kind: 1 });
    }
  };
  const fd = openSync(upper, DIR_FLAGS);
  try {
    walk(fd, '');
  } finally {
    closeSync(fd);
  }
  return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}

function isOpaque(path: string): boolean {
  try {
    return lgetOpaque(path);
  } catch {
    return false;
  }
}

function lgetOpaque(path: string): boolean {
  return lgetxattr(path, 'trusted.overlay.opaque')?.toString() === 'y';
}

// ---------------------------------------------------------------- export

/** `export`: the container's whole merged filesystem as a tar, written to `out` (left open). */
export async function exportContainer(
  manager: ContainerManager,
  idOrName: string,
  out: NodeJS.WritableStream,
): Promise<void> {
  await withContainerRootfs(manager, idOrName, async (rootfs) => {
    // the same fd-based walk as cp: a running container cannot point the export at host files
    const fd = openSync(rootfs, DIR_FLAGS);
    async function* entries(): AsyncGenerator<TarEntryInput, void, undefined> {
      try {
        yield* walkTree(fd, undefined, { top: '' });
      } finally {
        closeSync(fd);
      }
    }
    await pipeline(writeTar(entries()), out, { end: false });
  });
}

// ---------------------------------------------------------------- commit

export interface CommitOptions {
  /** REPO[:TAG] for the new image. */
  reference?: string;
  /** -m: history comment. */
  message?: string;
  /** -a: author. */
  author?: string;
  /** -c: Dockerfile instructions applied to the config. */
  changes?: string[];
  /** Pause a running container while its changes are read (docker's default). */
  pause?: boolean;
  created?: Date;
}

/** `commit`: the container's image plus one layer of its upper dir, with the container's config. */
export async function commitContainer(
  manager: ContainerManager,
  idOrName: string,
  options: CommitOptions = {},
): Promise<ImageRecord> {
  const store = manager.store;
  const rec = manager.get(idOrName);
  const stored = manager.config(rec);
  const image = store.resolveImage(rec.imageId);
  const base = await readImageConfig(store, image);
  const name = options.reference ? fullTagName(parseReference(options.reference)) : undefined;
  const o = stored.options;
  const imageCfg = base.config ?? {};
  const entrypoint =
    o.entrypoint === undefined ? (imageCfg.Entrypoint ?? null) : o.entrypoint === '' ? null : [o.entrypoint];
  const cmd =
    o.command && o.command.length > 0
      ? o.command
      : o.entrypoint !== undefined
        ? null
        : (imageCfg.Cmd ?? null);
  let containerConfig: ContainerConfig = {
    ...imageCfg,
    Env: stored.env.filter((e) => !e.startsWith('HOSTNAME=')),
    Entrypoint: entrypoint,
    Cmd: cmd,
    WorkingDir: stored.workdir === '/' && !imageCfg.WorkingDir ? '' : stored.workdir,
    ...(o.user !== undefined ? { User: o.user } : {}),
    Labels: { ...(imageCfg.Labels ?? {}), ...rec.labels },
  };
  if (!containerConfig.WorkingDir) delete containerConfig.WorkingDir;
  if (Object.keys(containerConfig.Labels ?? {}).length === 0) delete containerConfig.Labels;
  containerConfig = applyChanges(containerConfig, options.changes ?? []);

  const work = await store.createStagingDir();
  const rootfs = await store.createStagingDir();
  try {
    const upper = join(store.containerDir(rec.id), 'upper');
    const source = lstatSync(upper, { throwIfNoEntry: false })?.isDirectory() ? upper : join(work, 'empty');
    if (source !== upper) mkdirSync(source);
    const blobPath = join(work, 'layer.tar.gz');
    const blob = new HashingCounter();
    const pause = options.pause !== false && rec.state === 'running';
    if (pause) await manager.pause(rec.id);
    try {
      await pipeline(
        tarDirectory(source, { whiteouts: 'overlay-to-oci' }),
        compressStream('gzip'),
        blob,
        createWriteStream(blobPath),
      );
    } finally {
      if (pause) await manager.unpause(rec.id);
    }
    const blobDigest = `sha256:${blob.hash.digest('hex')}` as Digest;
    const blobSize = blob.bytes;
    const unpacked = await unpackLayer(createReadStream(blobPath), rootfs, { compression: 'gzip' });
    const created = creationTime(options.created);
    const config: ImageConfig = {
      ...base,
      created,
      ...(options.author ? { author: options.author } : {}),
      config: containerConfig,
      rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids, unpacked.diffId] },
      history: [
        ...(base.history ?? []),
        {
          created,
          created_by: stored.args.join(' '),
          ...(options.author ? { author: options.author } : {}),
          ...(options.message ? { comment: options.message } : {}),
        },
      ],
    };
    return await storeImageWithLayer(
      store,
      config,
      {
        base: image.layerBlobs,
        top: {
          blobPath,
          blobDigest,
          blobSize,
          mediaType: MediaType.ociLayerGzip,
          staging: rootfs,
          unpacked,
        },
      },
      name ? [name] : [],
    );
  } finally {
    await removeAll(work);
    await removeAll(rootfs);
  }
}
