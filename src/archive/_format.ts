// The on-disk tar format shared by the reader and the writer: header field offsets, numeric
// field codecs (octal and GNU base-256), checksums, and PAX record codecs. Pure functions on
// Buffers, no I/O.
import { InvalidArgumentError } from '../errors/index.js';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (no file-type bits). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow; always 0 for every type but 'file'. */
  size: number;
  /** Seconds since the epoch; may be fractional when a PAX header gave sub-second precision. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
  uname?: string;
  gname?: string;
}

export const BLOCK = 512;
/** Largest path or link target accepted, in bytes (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;
/** Largest PAX extended header (`x` or `g`) accepted. */
export const MAX_PAX_BYTES = 1024 * 1024;
/** Largest GNU long name/link record (`L`/`K`) accepted. */
export const MAX_GNU_LONG_BYTES = MAX_PATH_BYTES + 1;

// ustar header field offsets and lengths
export const F_NAME = 0;
export const F_MODE = 100;
export const F_UID = 108;
export const F_GID = 116;
export const F_SIZE = 124;
export const F_MTIME = 136;
export const F_CHKSUM = 148;
export const F_TYPE = 156;
export const F_LINKNAME = 157;
export const F_MAGIC = 257;
export const F_VERSION = 263;
export const F_UNAME = 265;
export const F_GNAME = 297;
export const F_DEVMAJOR = 329;
export const F_DEVMINOR = 337;
export const F_PREFIX = 345;

/** Decode a NUL-terminated (or full-width) text field. */
export function readString(buf: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString('utf8', off, end);
}

/**
 * Decode a numeric field: octal digits (optionally surrounded by spaces/NULs), or GNU's
 * base-256 form when the high bit of the first byte is set. Values beyond 2^53 are refused.
 */
export function readNumber(buf: Buffer, off: number, len: number, field: string): number {
  const first = buf[off]!;
  if (first & 0x80) {
    if (first === 0xff) throw new InvalidArgumentError(`invalid tar header: negative ${field}`);
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + buf[off + i]!;
      if (v > Number.MAX_SAFE_INTEGER)
        throw new InvalidArgumentError(`invalid tar header: ${field} too large`);
    }
    return v;
  }
  let i = off;
  const end = off + len;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0)) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37)
      throw new InvalidArgumentError(`invalid tar header: bad octal digit in ${field}`);
    v = v * 8 + (c - 0x30);
  }
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c !== 0x20 && c !== 0) throw new InvalidArgumentError(`invalid tar header: garbage after ${field}`);
  }
  return v;
}

/** Write `value` as zero-padded octal filling `len - 1` digits plus a NUL. Caller checks the range. */
export function writeOctal(buf: Buffer, off: number, len: number, value: number): void {
  const s = value.toString(8).padStart(len - 1, '0');
  buf.write(s, off, len - 1, 'latin1');
  buf[off + len - 1] = 0;
}

/** Largest value an octal field of `len` bytes (len - 1 digits) can carry. */
export function octalMax(len: number): number {
  return 8 ** (len - 1) - 1;
}

/** True when the 512 bytes at `off` are all zero (an end-of-archive block). */
export function isZeroBlock(buf: Buffer, off: number): boolean {
  for (let i = off, end = off + BLOCK; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/** The stored checksum matches the unsigned (POSIX) or signed (old Sun/GNU) byte sum. */
export function checksumOk(buf: Buffer, off: number): boolean {
  const stored = readNumber(buf, off + F_CHKSUM, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= F_CHKSUM && i < F_CHKSUM + 8 ? 0x20 : buf[off + i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

export function writeChecksum(buf: Buffer): void {
  buf.fill(0x20, F_CHKSUM, F_CHKSUM + 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += buf[i]!;
  buf.write(sum.toString(8).padStart(6, '0'), F_CHKSUM, 6, 'latin1');
  buf[F_CHKSUM + 6] = 0;
  buf[F_CHKSUM + 7] = 0x20;
}

/** One PAX record: key as text, value as raw bytes (xattr values are binary). */
export interface PaxRecord {
  key: string;
  value: Buffer;
}

/** Parse `<len> <key>=<value>\n` records; the length prefix makes binary values safe. */
export function parsePaxRecords(buf: Buffer): PaxRecord[] {
  const out: PaxRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    // A NUL where a record should start ends the list (some writers pad with zeros).
    if (buf[off] === 0) break;
    let i = off;
    let len = 0;
    while (i < buf.length && buf[i]! >= 0x30 && buf[i]! <= 0x39 && i - off < 8) {
      len = len * 10 + (buf[i]! - 0x30);
      i++;
    }
    if (
      i === off ||
      buf[i] !== 0x20 ||
      len <= i - off + 1 ||
      off + len > buf.length ||
      buf[off + len - 1] !== 0x0a
    ) {
      throw new InvalidArgumentError(`invalid tar PAX header: malformed record at byte ${off}`);
    }
    const eq = buf.indexOf(0x3d, i + 1);
    if (eq < 0 || eq >= off + len - 1 || eq === i + 1) {
      throw new InvalidArgumentError(`invalid tar PAX header: record at byte ${off} has no key`);
    }
    out.push({ key: buf.toString('utf8', i + 1, eq), value: buf.subarray(eq + 1, off + len - 1) });
    off += len;
  }
  return out;
}

export function encodePaxRecord(key: string, value: Buffer): Buffer {
  const keyBytes = Buffer.byteLength(key);
  const base = keyBytes + value.length + 3; // ' ', '=', '\n'
  const digits = String(base).length;
  let len = base + digits;
  if (String(len).length > digits) len++;
  const head = `${len} ${key}=`;
  const out = Buffer.allocUnsafe(len);
  out.write(head, 0, 'utf8');
  value.copy(out, Buffer.byteLength(head));
  out[len - 1] = 0x0a;
  return out;
}

/** Base64 as written by libarchive for `LIBARCHIVE.xattr.*` values (padding optional). */
export function decodeLibarchiveXattr(key: string, value: Buffer): [string, Buffer] {
  let name: string;
  try {
    name = decodeURIComponent(key);
  } catch (err) {
    throw new InvalidArgumentError(`invalid tar PAX header: bad xattr name "${key}"`, { cause: err });
  }
  return [name, Buffer.from(value.toString('latin1'), 'base64')];
}
