// Deterministic tar writing: the same entries give the same bytes. ustar headers, with a PAX
// `x` header only when a value does not fit ustar (long or non-ASCII names, big ids, sizes or
// mtimes, xattrs); PAX records sorted by key; numeric owners only (uname/gname empty); no
// atime/ctime; integer mtimes; the archive ends with two zero blocks and no record padding.
import {
  closeSync,
  createReadStream,
  constants as fsc,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
} from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import { InvalidArgumentError, IOError, SizeLimitError } from '../errors/index.js';
import { lgetxattr, llistxattr } from '../util/index.js';
import {
  BLOCK,
  encodePaxRecord,
  F_DEVMAJOR,
  F_DEVMINOR,
  F_GID,
  F_LINKNAME,
  F_MAGIC,
  F_MODE,
  F_MTIME,
  F_NAME,
  F_PREFIX,
  F_SIZE,
  F_TYPE,
  F_UID,
  F_VERSION,
  MAX_PATH_BYTES,
  octalMax,
  type TarEntryType,
  type TarHeader,
  writeChecksum,
  writeOctal,
} from './_format.js';
import {
  isOpaqueDir,
  isOverlayWhiteout,
  isOverlayXattr,
  OPAQUE_XATTR,
  ociOpaqueEntryName,
  ociWhiteoutName,
} from './_whiteouts.js';

export interface TarEntryInput {
  header: TarHeader;
  /** The data of a 'file' entry: exactly `header.size` bytes. */
  body?: Buffer | (() => NodeJS.ReadableStream | AsyncIterable<Buffer>);
}

const TYPE_FLAGS: Record<TarEntryType, number> = {
  file: 0x30,
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  dir: 0x35,
  fifo: 0x36,
};

/** Small headers and bodies are batched into chunks of about this size. */
const BATCH_BYTES = 64 * 1024;
const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** A byte stream of the tar archive holding `entries`, in their order. */
export function writeTar(entries: AsyncIterable<TarEntryInput> | Iterable<TarEntryInput>): Readable {
  return Readable.from(tarChunks(entries), { objectMode: false });
}

async function* tarChunks(
  entries: AsyncIterable<TarEntryInput> | Iterable<TarEntryInput>,
): AsyncGenerator<Buffer, void, undefined> {
  let parts: Buffer[] = [];
  let pending = 0;
  const take = (): Buffer => {
    const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts, pending);
    parts = [];
    pending = 0;
    return out;
  };
  const add = (b: Buffer): void => {
    parts.push(b);
    pending += b.length;
  };

  for await (const { header, body } of entries) {
    add(encodeHeaders(header));
    const size = header.type === 'file' ? header.size : 0;
    if (size === 0) {
      if (body !== undefined && (typeof body === 'function' || body.length > 0)) {
        throw new InvalidArgumentError(
          `tar entry "${header.name}": a ${header.type} of size 0 cannot have a body`,
        );
      }
    } else if (Buffer.isBuffer(body)) {
      if (body.length !== size) {
        throw new SizeLimitError(
          `tar entry "${header.name}": body is ${body.length} bytes, header says ${size}`,
        );
      }
      if (body.length >= BATCH_BYTES) {
        yield take();
        yield body;
      } else {
        add(body);
      }
    } else if (typeof body === 'function') {
      yield take();
      let n = 0;
      for await (const chunk of body() as AsyncIterable<Buffer | string>) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        n += b.length;
        if (n > size)
          throw new SizeLimitError(`tar entry "${header.name}": body is longer than ${size} bytes`);
        if (b.length > 0) yield b;
      }
      if (n !== size)
        throw new SizeLimitError(`tar entry "${header.name}": body is ${n} bytes, header says ${size}`);
    } else {
      throw new InvalidArgumentError(`tar entry "${header.name}": size ${size} but no body`);
    }
    const pad = padOf(size);
    if (pad > 0) add(END_OF_ARCHIVE.subarray(0, pad));
    if (pending >= BATCH_BYTES) yield take();
  }
  add(END_OF_ARCHIVE);
  yield take();
}

function padOf(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

const NON_ASCII_RE = /[^\x20-\x7e]/;

function checkNumber(h: TarHeader, field: 'mode' | 'uid' | 'gid' | 'size' | 'devmajor' | 'devminor'): number {
  const v = h[field] ?? 0;
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new InvalidArgumentError(`tar entry "${h.name}": invalid ${field} ${v}`);
  }
  return v;
}

/** The ustar header of `h`, preceded by a PAX header when some value does not fit ustar. */
export function encodeHeaders(h: TarHeader): Buffer {
  if (typeof h.name !== 'string' || h.name.length === 0 || h.name.includes('\0')) {
    throw new InvalidArgumentError(`invalid tar entry name ${JSON.stringify(h.name)}`);
  }
  const flag = TYPE_FLAGS[h.type];
  if (flag === undefined)
    throw new InvalidArgumentError(`tar entry "${h.name}": unknown type "${String(h.type)}"`);
  const name = h.type === 'dir' && !h.name.endsWith('/') ? `${h.name}/` : h.name;
  if (Buffer.byteLength(name) > MAX_PATH_BYTES) {
    throw new SizeLimitError(
      `tar entry name is longer than ${MAX_PATH_BYTES} bytes: "${name.slice(0, 60)}..."`,
    );
  }
  const pax = new Map<string, Buffer>();
  const b = Buffer.alloc(BLOCK);

  if (!NON_ASCII_RE.test(name) && name.length <= 100) {
    b.write(name, F_NAME, 'latin1');
  } else {
    const split = NON_ASCII_RE.test(name) ? -1 : ustarSplit(name);
    if (split > 0) {
      b.write(name.slice(0, split), F_PREFIX, 'latin1');
      b.write(name.slice(split + 1), F_NAME, 'latin1');
    } else {
      pax.set('path', Buffer.from(name, 'utf8'));
      b.write(asciiFallback(name, 100), F_NAME, 'latin1');
    }
  }

  writeOctal(b, F_MODE, 8, checkNumber(h, 'mode') & 0o7777);
  for (const [field, off] of [
    ['uid', F_UID],
    ['gid', F_GID],
  ] as const) {
    const v = checkNumber(h, field);
    if (v <= octalMax(8)) writeOctal(b, off, 8, v);
    else {
      pax.set(field, Buffer.from(String(v)));
      writeOctal(b, off, 8, 0);
    }
  }
  const size = h.type === 'file' ? checkNumber(h, 'size') : 0;
  if (size <= octalMax(12)) writeOctal(b, F_SIZE, 12, size);
  else {
    pax.set('size', Buffer.from(String(size)));
    writeOctal(b, F_SIZE, 12, 0);
  }
  if (typeof h.mtime !== 'number' || !Number.isFinite(h.mtime)) {
    throw new InvalidArgumentError(`tar entry "${h.name}": invalid mtime ${h.mtime}`);
  }
  const mtime = Math.floor(h.mtime);
  if (mtime >= 0 && mtime <= octalMax(12)) writeOctal(b, F_MTIME, 12, mtime);
  else {
    pax.set('mtime', Buffer.from(String(mtime)));
    writeOctal(b, F_MTIME, 12, 0);
  }
  b[F_TYPE] = flag;

  if (h.type === 'symlink' || h.type === 'hardlink') {
    const link = h.linkname ?? '';
    if (link.length === 0 || link.includes('\0')) {
      throw new InvalidArgumentError(
        `tar entry "${h.name}": invalid ${h.type} target ${JSON.stringify(link)}`,
      );
    }
    if (!NON_ASCII_RE.test(link) && link.length <= 100) b.write(link, F_LINKNAME, 'latin1');
    else {
      pax.set('linkpath', Buffer.from(link, 'utf8'));
      b.write(asciiFallback(link, 100), F_LINKNAME, 'latin1');
    }
  }
  b.write('ustar\0', F_MAGIC, 'latin1');
  b.write('00', F_VERSION, 'latin1');
  const isDev = h.type === 'char' || h.type === 'block';
  for (const [field, off] of [
    ['devmajor', F_DEVMAJOR],
    ['devminor', F_DEVMINOR],
  ] as const) {
    const v = isDev ? checkNumber(h, field) : 0;
    if (v > octalMax(8))
      throw new InvalidArgumentError(`tar entry "${h.name}": ${field} ${v} does not fit ustar`);
    writeOctal(b, off, 8, v);
  }
  if (h.xattrs) {
    for (const [k, v] of Object.entries(h.xattrs)) {
      if (k.length === 0 || k.includes('\0') || k.includes('=')) {
        throw new InvalidArgumentError(`tar entry "${h.name}": invalid xattr name ${JSON.stringify(k)}`);
      }
      pax.set(`SCHILY.xattr.${k}`, v);
    }
  }
  writeChecksum(b);
  if (pax.size === 0) return b;

  const keys = [...pax.keys()].sort(compareUtf8);
  const records = Buffer.concat(keys.map((k) => encodePaxRecord(k, pax.get(k)!)));
  if (records.length > 1024 * 1024) {
    throw new SizeLimitError(
      `tar entry "${h.name}": PAX header of ${records.length} bytes is over the 1 MiB limit`,
    );
  }
  const ph = Buffer.alloc(BLOCK);
  ph.write(asciiFallback(`PaxHeaders/${baseName(name)}`, 100), F_NAME, 'latin1');
  writeOctal(ph, F_MODE, 8, 0o644);
  writeOctal(ph, F_UID, 8, 0);
  writeOctal(ph, F_GID, 8, 0);
  writeOctal(ph, F_SIZE, 12, records.length);
  writeOctal(ph, F_MTIME, 12, 0);
  ph[F_TYPE] = 0x78;
  ph.write('ustar\0', F_MAGIC, 'latin1');
  ph.write('00', F_VERSION, 'latin1');
  writeOctal(ph, F_DEVMAJOR, 8, 0);
  writeOctal(ph, F_DEVMINOR, 8, 0);
  writeChecksum(ph);
  const pad = padOf(records.length);
  return Buffer.concat([ph, records, END_OF_ARCHIVE.subarray(0, pad), b]);
}

/** Index of a '/' splitting an ASCII name into ustar prefix (<= 155) and name (<= 100), or -1. */
function ustarSplit(name: string): number {
  if (name.length > 256) return -1;
  for (let i = Math.max(0, name.length - 101); i < name.length && i <= 155; i++) {
    if (name.charCodeAt(i) === 0x2f && i > 0 && name.length - i - 1 <= 100 && name.length - i - 1 > 0)
      return i;
  }
  return -1;
}

function asciiFallback(s: string, max: number): string {
  return s.replace(/[^\x20-\x7e]/g, '_').slice(0, max);
}

function baseName(name: string): string {
  const trimmed = name.endsWith('/') ? name.slice(0, -1) : name;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export interface TarDirectoryOptions {
  /** Clamp every mtime to at most this (seconds since the epoch; reproducible builds). */
  sourceDateEpoch?: number;
  /**
   * 'overlay-to-oci' turns overlay whiteouts (0/0 char devices) into `.wh.NAME` entries and
   * `trusted.overlay.opaque=y` directories into a `.wh..wh..opq` entry; 'none' (default)
   * writes devices and directories as they are.
   */
  whiteouts?: 'overlay-to-oci' | 'none';
  /**
   * Put entries under this directory name; the root itself is then written as that directory.
   * Without a prefix the root is not an entry (as in layer diffs): its metadata is not carried.
   */
  prefix?: string;
}

/** Files up to this size are read synchronously while walking; bigger ones are streamed. */
const INLINE_READ_BYTES = 1024 * 1024;

/**
 * Tar a directory tree deterministically: lstat only (symlinks are never followed), entries in
 * bytewise order of their archive names (so a directory comes right before its contents; an
 * opaque marker comes right after its directory's entry), hardlinks
 * found by (dev, ino) written as hardlink entries to the first name seen, xattrs kept (except
 * `trusted.overlay.*`). Sockets are skipped: tar cannot carry them. Names must be UTF-8.
 */
export function tarDirectory(dir: string, options: TarDirectoryOptions = {}): Readable {
  return writeTar(walkTree(resolvePath(dir), options));
}

interface Child {
  /** Name written to the archive (differs from the file name for whiteouts). */
  entryName: string;
  path: string;
  st: ReturnType<typeof lstatBig>;
  whiteout: boolean;
}

function lstatBig(path: string) {
  return lstatSync(path, { bigint: true });
}

function* walkTree(root: string, options: TarDirectoryOptions): Generator<TarEntryInput, void, undefined> {
  const epoch = options.sourceDateEpoch;
  if (epoch !== undefined && (!Number.isFinite(epoch) || epoch < 0)) {
    throw new InvalidArgumentError(`invalid sourceDateEpoch ${epoch}`);
  }
  const convert = (options.whiteouts ?? 'none') === 'overlay-to-oci';
  let prefix = '';
  if (options.prefix !== undefined && options.prefix !== '') {
    const parts = options.prefix.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.some((p) => p === '..'))
      throw new InvalidArgumentError(`invalid tar prefix "${options.prefix}"`);
    prefix = parts.length > 0 ? `${parts.join('/')}/` : '';
  }
  const rootSt = lstatBig(root);
  if (!rootSt.isDirectory()) throw new InvalidArgumentError(`cannot tar "${root}": not a directory`);
  const links = new Map<string, string>();
  const mtimeOf = (st: Child['st']): number => {
    const t =
      Number(st.mtimeNs / 1_000_000_000n) - (st.mtimeNs < 0n && st.mtimeNs % 1_000_000_000n !== 0n ? 1 : 0);
    return epoch !== undefined && t > epoch ? Math.floor(epoch) : t;
  };

  function headerOf(name: string, type: TarEntryType, st: Child['st']): TarHeader {
    return {
      name,
      type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: 0,
      mtime: mtimeOf(st),
    };
  }

  function xattrsOf(path: string): { xattrs?: Record<string, Buffer>; opaque: boolean } {
    let opaque = false;
    let xattrs: Record<string, Buffer> | undefined;
    for (const key of llistxattr(path).sort(compareUtf8)) {
      if (isOverlayXattr(key)) {
        if (convert && key === OPAQUE_XATTR && isOpaqueDir(path)) opaque = true;
        continue;
      }
      const v = lgetxattr(path, key);
      if (v === undefined) continue;
      xattrs ??= {};
      xattrs[key] = v;
    }
    return xattrs ? { xattrs, opaque } : { opaque };
  }

  function* dirEntries(
    path: string,
    name: string,
    st: Child['st'],
  ): Generator<TarEntryInput, void, undefined> {
    const { xattrs, opaque } = xattrsOf(path);
    if (name !== '') {
      const header = headerOf(name, 'dir', st);
      if (xattrs) header.xattrs = xattrs;
      yield { header };
    }
    if (opaque) {
      const marker = headerOf(ociOpaqueEntryName(name), 'file', st);
      marker.mode = 0o600;
      yield { header: marker };
    }
    const children: Child[] = [];
    for (const base of readdirSync(path)) {
      const childPath = `${path}/${base}`;
      const cst = lstatBig(childPath);
      const whiteout = convert && isOverlayWhiteout(cst);
      children.push({
        entryName: whiteout ? ociWhiteoutName(base) : base,
        path: childPath,
        st: cst,
        whiteout,
      });
    }
    // Compare directories with their trailing slash, so the whole archive is in bytewise name order.
    const key = (c: Child): string => (c.st.isDirectory() ? `${c.entryName}/` : c.entryName);
    children.sort((a, b) => compareUtf8(key(a), key(b)));
    for (const c of children) {
      const childName = name + c.entryName;
      const st = c.st;
      if (c.whiteout) {
        const header = headerOf(childName, 'file', st);
        header.mode = 0o600;
        yield { header };
        continue;
      }
      if (st.isDirectory()) {
        yield* dirEntries(c.path, `${childName}/`, st);
        continue;
      }
      if (st.isSocket()) continue;
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = links.get(key);
        if (first !== undefined) {
          const header = headerOf(childName, 'hardlink', st);
          header.linkname = first;
          yield { header };
          continue;
        }
        links.set(key, childName);
      }
      const { xattrs } = xattrsOf(c.path);
      let entry: TarEntryInput;
      if (st.isFile()) {
        const header = headerOf(childName, 'file', st);
        header.size = Number(st.size);
        entry = { header, body: fileBody(c.path, header.size) };
      } else if (st.isSymbolicLink()) {
        const header = headerOf(childName, 'symlink', st);
        header.linkname = readlinkSync(c.path);
        entry = { header };
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const header = headerOf(childName, st.isCharacterDevice() ? 'char' : 'block', st);
        header.devmajor = devMajor(st.rdev);
        header.devminor = devMinor(st.rdev);
        entry = { header };
      } else if (st.isFIFO()) {
        entry = { header: headerOf(childName, 'fifo', st) };
      } else {
        continue;
      }
      if (xattrs) entry.header.xattrs = xattrs;
      yield entry;
    }
  }

  yield* dirEntries(root, prefix, rootSt);
}

function fileBody(path: string, size: number): TarEntryInput['body'] {
  if (size === 0) return undefined;
  if (size > INLINE_READ_BYTES) {
    return () =>
      createReadStream(path, {
        fd: openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW),
        highWaterMark: 256 * 1024,
      });
  }
  const fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, null);
      if (n === 0) break;
      off += n;
    }
    if (off !== size || readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0) {
      throw new IOError(`cannot tar "${path}": the file changed size while being read`);
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** glibc's major()/minor() of a dev_t. */
function devMajor(dev: bigint): number {
  return Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n));
}

function devMinor(dev: bigint): number {
  return Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n));
}
