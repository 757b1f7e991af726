// Syscalls Node's fs module lacks (mknod, xattrs, mount, flock), called through koffi's FFI
// on glibc. koffi ships prebuilt binaries in its npm package, so no compiler is needed at
// install time, and each call is a direct libc call without spawning a helper process.

import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { IOError } from '../errors/index.js';

interface LibC {
  mknod: (path: string, mode: number, dev: bigint) => number;
  lsetxattr: (path: string, name: string, value: Buffer, size: number, flags: number) => number;
  fsetxattr: (fd: number, name: string, value: Buffer, size: number, flags: number) => number;
  lgetxattr: (path: string, name: string, value: Buffer | null, size: number) => number;
  llistxattr: (path: string, list: Buffer | null, size: number) => number;
  mount: (
    src: string | null,
    target: string,
    fstype: string | null,
    flags: bigint,
    data: string | null,
  ) => number;
  umount2: (target: string, flags: number) => number;
  flock: (fd: number, op: number) => number;
  socket: (domain: number, type: number, protocol: number) => number;
  connect: (fd: number, addr: Buffer, len: number) => number;
  shutdown: (fd: number, how: number) => number;
  openat: (dirfd: number, path: string, flags: number, mode: number) => number;
  mkdirat: (dirfd: number, path: string, mode: number) => number;
  symlinkat: (target: string, dirfd: number, path: string) => number;
  linkat: (olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number) => number;
  mknodat: (dirfd: number, path: string, mode: number, dev: bigint) => number;
  fchownat: (dirfd: number, path: string, uid: number, gid: number, flags: number) => number;
  fchmodat: (dirfd: number, path: string, mode: number, flags: number) => number;
  unlinkat: (dirfd: number, path: string, flags: number) => number;
  utimensat: (dirfd: number, path: string, times: Buffer, flags: number) => number;
  readlinkat: (dirfd: number, path: string, buf: Buffer, size: number) => number;
  statx: (dirfd: number, path: string, flags: number, mask: number, buf: Buffer) => number;
  sendfile: (outFd: number, inFd: number, offset: null, count: number) => number;
  unshare: (flags: number) => number;
  setns: (fd: number, nstype: number) => number;
  ioctl: (fd: number, request: number, arg: Buffer) => number;
  errno: () => number;
}

let libc: LibC | undefined;

function lib(): LibC {
  if (libc) return libc;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as {
    load: (name: string) => { func: (sig: string) => (...args: unknown[]) => unknown };
    errno: () => number;
  };
  const c = koffi.load('libc.so.6');
  libc = {
    mknod: c.func('int mknod(const char *path, uint32_t mode, uint64_t dev)') as LibC['mknod'],
    lsetxattr: c.func(
      'int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)',
    ) as LibC['lsetxattr'],
    fsetxattr: c.func(
      'int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)',
    ) as LibC['fsetxattr'],
    lgetxattr: c.func(
      'intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)',
    ) as LibC['lgetxattr'],
    llistxattr: c.func(
      'intptr_t llistxattr(const char *path, _Out_ char *list, size_t size)',
    ) as LibC['llistxattr'],
    mount: c.func(
      'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
    ) as LibC['mount'],
    umount2: c.func('int umount2(const char *target, int flags)') as LibC['umount2'],
    flock: c.func('int flock(int fd, int op)') as LibC['flock'],
    socket: c.func('int socket(int domain, int type, int protocol)') as LibC['socket'],
    connect: c.func('int connect(int fd, const void *addr, uint32_t len)') as LibC['connect'],
    shutdown: c.func('int shutdown(int fd, int how)') as LibC['shutdown'],
    // openat is variadic in C; the mode is passed as a plain fourth integer, which is the same
    // call on the Linux ABIs berth runs on (x86_64, aarch64).
    openat: c.func('int openat(int dirfd, const char *path, int flags, uint32_t mode)') as LibC['openat'],
    mkdirat: c.func('int mkdirat(int dirfd, const char *path, uint32_t mode)') as LibC['mkdirat'],
    symlinkat: c.func('int symlinkat(const char *target, int dirfd, const char *path)') as LibC['symlinkat'],
    linkat: c.func(
      'int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)',
    ) as LibC['linkat'],
    mknodat: c.func(
      'int mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev)',
    ) as LibC['mknodat'],
    fchownat: c.func(
      'int fchownat(int dirfd, const char *path, uint32_t uid, uint32_t gid, int flags)',
    ) as LibC['fchownat'],
    fchmodat: c.func(
      'int fchmodat(int dirfd, const char *path, uint32_t mode, int flags)',
    ) as LibC['fchmodat'],
    unlinkat: c.func('int unlinkat(int dirfd, const char *path, int flags)') as LibC['unlinkat'],
    utimensat: c.func(
      'int utimensat(int dirfd, const char *path, const void *times, int flags)',
    ) as LibC['utimensat'],
    readlinkat: c.func(
      'intptr_t readlinkat(int dirfd, const char *path, _Out_ void *buf, size_t size)',
    ) as LibC['readlinkat'],
    statx: c.func(
      'int statx(int dirfd, const char *path, int flags, uint32_t mask, _Out_ void *buf)',
    ) as LibC['statx'],
    sendfile: c.func(
      'intptr_t sendfile(int out_fd, int in_fd, void *offset, size_t count)',
    ) as LibC['sendfile'],
    unshare: c.func('int unshare(int flags)') as LibC['unshare'],
    setns: c.func('int setns(int fd, int nstype)') as LibC['setns'],
    // variadic in C; a pointer third argument is the same call on x86_64 and aarch64
    ioctl: c.func('int ioctl(int fd, unsigned long request, void *arg)') as LibC['ioctl'],
    errno: koffi.errno,
  };
  return libc;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** A Node-style system error (with `.code` = 'EPERM' etc.) for the last libc failure. */
function sysError(call: string, path: string): NodeJS.ErrnoException {
  const no = lib().errno();
  const code = ERRNO_NAMES.get(no) ?? `E${no}`;
  const err = new Error(`${call} ${path}: ${code}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = no;
  err.syscall = call;
  err.path = path;
  return err;
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

/** glibc's makedev encoding. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** mknod(2). `type` is S_IFCHR, S_IFBLK or S_IFIFO; `mode` the permission bits. */
export function mknod(path: string, type: number, mode: number, dev: bigint = 0n): void {
  if (lib().mknod(path, type | (mode & 0o7777), dev) !== 0) throw sysError('mknod', path);
}

/** Set an xattr on the link itself (never follows a symlink). */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  if (lib().lsetxattr(path, name, value, value.length, 0) !== 0) throw sysError('lsetxattr', path);
}

/** Set an xattr on an open file descriptor; `what` names the file in the error. */
export function fsetxattr(fd: number, name: string, value: Buffer, what = `fd ${fd}`): void {
  if (lib().fsetxattr(fd, name, value, value.length, 0) !== 0) throw sysError('fsetxattr', what);
}

export function lgetxattr(path: string, name: string): Buffer | undefined {
  const l = lib();
  const size = l.lgetxattr(path, name, null, 0);
  if (size < 0) {
    const err = sysError('lgetxattr', path);
    if (err.code === 'ENODATA' || err.code === 'ENOTSUP') return undefined;
    throw err;
  }
  const buf = Buffer.alloc(size);
  const n = l.lgetxattr(path, name, buf, size);
  if (n < 0) throw sysError('lgetxattr', path);
  return buf.subarray(0, n);
}

export function llistxattr(path: string): string[] {
  const l = lib();
  const size = l.llistxattr(path, null, 0);
  if (size < 0) {
    const err = sysError('llistxattr', path);
    if (err.code === 'ENOTSUP') return [];
    throw err;
  }
  if (size === 0) return [];
  const buf = Buffer.alloc(size);
  const n = l.llistxattr(path, buf, size);
  if (n < 0) throw sysError('llistxattr', path);
  return buf
    .subarray(0, n)
    .toString('utf8')
    .split('\0')
    .filter((s) => s.length > 0);
}

export const MS_RDONLY = 1n;
export const MS_NOSUID = 2n;
export const MS_NODEV = 4n;
export const MS_NOEXEC = 8n;
export const MS_REMOUNT = 32n;
export const MS_BIND = 4096n;
export const MS_REC = 16384n;
export const MS_PRIVATE = 1n << 18n;
export const MNT_DETACH = 2;

export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  options: { flags?: bigint; data?: string } = {},
): void {
  if (lib().mount(source, target, fstype, options.flags ?? 0n, options.data ?? null) !== 0) {
    throw sysError('mount', target);
  }
}

export function umount(target: string, flags = 0): void {
  if (lib().umount2(target, flags) !== 0) throw sysError('umount', target);
}

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/** Non-blocking flock; true when acquired, false when another holder has it. */
export function tryFlock(fd: number, exclusive: boolean): boolean {
  if (lib().flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) === 0) return true;
  const no = lib().errno();
  if (no === constants.errno.EWOULDBLOCK || no === constants.errno.EAGAIN) return false;
  throw new IOError(`flock failed: ${ERRNO_NAMES.get(no) ?? no}`);
}

export function unflock(fd: number): void {
  lib().flock(fd, LOCK_UN);
}

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SUN_PATH_MAX = 108;
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/**
 * Connect a blocking AF_UNIX SOCK_SEQPACKET socket (Node's net only speaks SOCK_STREAM) and
 * return its fd. Paths longer than sun_path are reached through /proc/self/fd/<dir fd>/<name>,
 * so a deep state directory still works.
 */
export function connectUnixSeqpacket(path: string): number {
  const l = lib();
  let dirFd = -1;
  let target = path;
  if (Buffer.byteLength(path) >= SUN_PATH_MAX) {
    const slash = path.lastIndexOf('/');
    dirFd = openSync(path.slice(0, slash) || '/', 'r');
    target = `/proc/self/fd/${dirFd}/${path.slice(slash + 1)}`;
  }
  try {
    const name = Buffer.from(target);
    if (name.length >= SUN_PATH_MAX) throw new IOError(`socket path too long: ${path}`);
    const addr = Buffer.alloc(2 + name.length + 1);
    addr.writeUInt16LE(AF_UNIX, 0);
    name.copy(addr, 2);
    const fd = l.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) throw sysError('socket', path);
    if (l.connect(fd, addr, addr.length) !== 0) {
      const err = sysError('connect', path);
      closeSync(fd);
      throw err;
    }
    return fd;
  } finally {
    if (dirFd >= 0) closeSync(dirFd);
  }
}

/** shutdown(2): SHUT_WR sends end-of-file to the peer; SHUT_RDWR also wakes a blocked read. */
export function shutdownSocket(fd: number, how: number): void {
  if (lib().shutdown(fd, how) !== 0) {
    const err = sysError('shutdown', `fd ${fd}`);
    if (err.code !== 'ENOTCONN') throw err;
  }
}

// ---------------------------------------------------------------- *at calls
// Calls relative to an open directory fd, for walking a tree one O_NOFOLLOW component at a time
// (archive/'s tree writer). `what` names the file in error messages.

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

/** openat(2); returns the new fd. */
export function openat(dirFd: number, name: string, flags: number, mode = 0, what = name): number {
  const fd = lib().openat(dirFd, name, flags, mode);
  if (fd < 0) throw sysError('openat', what);
  return fd;
}

export function mkdirat(dirFd: number, name: string, mode: number, what = name): void {
  if (lib().mkdirat(dirFd, name, mode) !== 0) throw sysError('mkdirat', what);
}

export function symlinkat(target: string, dirFd: number, name: string, what = name): void {
  if (lib().symlinkat(target, dirFd, name) !== 0) throw sysError('symlinkat', what);
}

/** linkat(2) without AT_SYMLINK_FOLLOW: a symlink source is linked itself, never followed. */
export function linkat(
  fromDirFd: number,
  fromName: string,
  toDirFd: number,
  toName: string,
  what = toName,
): void {
  if (lib().linkat(fromDirFd, fromName, toDirFd, toName, 0) !== 0) throw sysError('linkat', what);
}

export function mknodat(
  dirFd: number,
  name: string,
  type: number,
  mode: number,
  dev = 0n,
  what = name,
): void {
  if (lib().mknodat(dirFd, name, type | (mode & 0o7777), dev) !== 0) throw sysError('mknodat', what);
}

/** Change the owner of `name` itself (never follows a symlink). */
export function lchownat(dirFd: number, name: string, uid: number, gid: number, what = name): void {
  if (lib().fchownat(dirFd, name, uid, gid, AT_SYMLINK_NOFOLLOW) !== 0) throw sysError('fchownat', what);
}

/**
 * chmod `name` without following a symlink (glibc does it through an O_PATH fd; a symlink
 * gives EOPNOTSUPP, as Linux has no symlink modes).
 */
export function lchmodat(dirFd: number, name: string, mode: number, what = name): void {
  if (lib().fchmodat(dirFd, name, mode & 0o7777, AT_SYMLINK_NOFOLLOW) !== 0) throw sysError('fchmodat', what);
}

export function unlinkat(dirFd: number, name: string, removeDir: boolean, what = name): void {
  if (lib().unlinkat(dirFd, name, removeDir ? AT_REMOVEDIR : 0) !== 0) throw sysError('unlinkat', what);
}

/** Set atime and mtime (seconds, fractions kept) of `name` itself, never following a symlink. */
export function lutimesat(dirFd: number, name: string, atime: number, mtime: number, what = name): void {
  const times = Buffer.alloc(32);
  const put = (t: number, at: number) => {
    const sec = Math.floor(t);
    times.writeBigInt64LE(BigInt(sec), at);
    times.writeBigInt64LE(BigInt(Math.min(999_999_999, Math.round((t - sec) * 1e9))), at + 8);
  };
  put(atime, 0);
  put(mtime, 16);
  if (lib().utimensat(dirFd, name, times, AT_SYMLINK_NOFOLLOW) !== 0) throw sysError('utimensat', what);
}

export function readlinkat(dirFd: number, name: string, what = name): string {
  let size = 256;
  for (;;) {
    const buf = Buffer.alloc(size);
    const n = lib().readlinkat(dirFd, name, buf, size);
    if (n < 0) throw sysError('readlinkat', what);
    if (n < size) return buf.subarray(0, n).toString('utf8');
    size *= 4;
  }
}

/** What statxat reports: the fields the tree writer and its callers use. */
export interface StatAt {
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  ino: bigint;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  mtime: number;
}

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

const STATX_BASIC_STATS = 0x7ff;
const statxBuf = Buffer.alloc(256);

/**
 * lstat of `name` in the directory `dirFd` (of the fd itself when `name` is ''), undefined when
 * it does not exist. statx has one layout on every architecture, unlike struct stat.
 */
export function lstatat(dirFd: number, name: string, what = name): StatAt | undefined {
  const flags = AT_SYMLINK_NOFOLLOW | (name === '' ? AT_EMPTY_PATH : 0);
  if (lib().statx(dirFd, name, flags, STATX_BASIC_STATS, statxBuf) !== 0) {
    const err = sysError('statx', what);
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
  const b = statxBuf;
  return {
    nlink: b.readUInt32LE(16),
    uid: b.readUInt32LE(20),
    gid: b.readUInt32LE(24),
    mode: b.readUInt16LE(28),
    ino: b.readBigUInt64LE(32),
    size: Number(b.readBigUInt64LE(40)),
    mtime: Number(b.readBigInt64LE(112)),
    rdevMajor: b.readUInt32LE(128),
    rdevMinor: b.readUInt32LE(132),
    devMajor: b.readUInt32LE(136),
    devMinor: b.readUInt32LE(140),
  };
}

/** Copy the rest of `inFd` (from its offset) to `outFd` in the kernel (sendfile(2)). */
export function copyFdToFd(inFd: number, outFd: number, what = `fd ${outFd}`): void {
  for (;;) {
    const n = lib().sendfile(outFd, inFd, null, 0x7ffff000);
    if (n < 0) throw sysError('sendfile', what);
    if (n === 0) return;
  }
}

const CLONE_NEWNET = 0x40000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 1;

/**
 * A new network namespace, bind-mounted on the existing file `path`, with its loopback up: the
 * same as `unshare --net=PATH ip link set lo up`, without two processes. The calling thread
 * (this one: nothing else runs on it meanwhile) enters the new namespace, bind-mounts it,
 * brings `lo` up with SIOCSIFFLAGS, and goes back to its own namespace before returning.
 */
export function bindNewNetns(path: string): void {
  const l = lib();
  const own = openSync('/proc/thread-self/ns/net', 'r');
  try {
    if (l.unshare(CLONE_NEWNET) !== 0) throw sysError('unshare', path);
    let failure: unknown;
    try {
      if (l.mount('/proc/thread-self/ns/net', path, null, MS_BIND, null) !== 0) throw sysError('mount', path);
      const sock = l.socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | 0o2000000 /* SOCK_CLOEXEC */, 0);
      if (sock < 0) throw sysError('socket', path);
      try {
        const ifr = Buffer.alloc(40); // struct ifreq: name[16], then the flags (short)
        ifr.write('lo', 0, 'latin1');
        if (l.ioctl(sock, SIOCGIFFLAGS, ifr) !== 0) throw sysError('ioctl SIOCGIFFLAGS', path);
        ifr.writeUInt16LE(ifr.readUInt16LE(16) | IFF_UP, 16);
        if (l.ioctl(sock, SIOCSIFFLAGS, ifr) !== 0) throw sysError('ioctl SIOCSIFFLAGS', path);
      } finally {
        closeSync(sock);
      }
    } catch (err) {
      failure = err;
    }
    if (l.setns(own, CLONE_NEWNET) !== 0) {
      // this thread would stay in the container's namespace: nothing it does after is safe
      throw new IOError(`cannot return to the host network namespace after making ${path}`, {
        cause: sysError('setns', path),
      });
    }
    if (failure !== undefined) {
      try {
        l.umount2(path, MNT_DETACH);
      } catch {}
      throw failure;
    }
  } finally {
    closeSync(own);
  }
}
