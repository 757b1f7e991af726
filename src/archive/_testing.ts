// Test helpers for archive/: raw tar blocks (to build archives our writer would never make),
// chunked sources, and sandboxes whose surroundings tests check for stray writes.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOCK, F_CHKSUM, writeChecksum, writeOctal } from './_format.js';
import { encodeHeaders, type TarEntryInput, writeTar } from './_tar-writer.js';

export interface RawFields {
  name: string;
  /** Type flag character: '0', '5', 'x', 'L', ... */
  flag: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  format?: 'ustar' | 'gnu' | 'v7';
  prefix?: string;
  /** Write `size` in GNU base-256 instead of octal. */
  base256Size?: boolean;
  badChecksum?: boolean;
}

/** One header block, with the bytes exactly as given (no name cleaning, no PAX). */
export function rawHeader(f: RawFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(f.name, 0, 100, 'utf8');
  writeOctal(b, 100, 8, f.mode ?? 0o644);
  writeOctal(b, 108, 8, f.uid ?? 0);
  writeOctal(b, 116, 8, f.gid ?? 0);
  if (f.base256Size) {
    b[124] = 0x80;
    b.writeUIntBE(f.size ?? 0, 124 + 12 - 6, 6);
  } else {
    writeOctal(b, 124, 12, f.size ?? 0);
  }
  writeOctal(b, 136, 12, f.mtime ?? 1_600_000_000);
  b.write(f.flag, 156, 1, 'latin1');
  if (f.linkname) b.write(f.linkname, 157, 100, 'utf8');
  const format = f.format ?? 'ustar';
  if (format === 'ustar') {
    b.write('ustar\0', 257, 'latin1');
    b.write('00', 263, 'latin1');
  } else if (format === 'gnu') {
    b.write('ustar  \0', 257, 'latin1');
  }
  writeOctal(b, 329, 8, f.devmajor ?? 0);
  writeOctal(b, 337, 8, f.devminor ?? 0);
  if (f.prefix) b.write(f.prefix, 345, 155, 'utf8');
  writeChecksum(b);
  if (f.badChecksum) b[F_CHKSUM] = b[F_CHKSUM] === 0x31 ? 0x32 : 0x31;
  return b;
}

/** Data padded to a whole number of blocks. */
export function padded(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  const pad = (BLOCK - (b.length % BLOCK)) % BLOCK;
  return Buffer.concat([b, Buffer.alloc(pad)]);
}

/** A PAX record list, as the data of an `x`/`g` header. */
export function paxData(records: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const value = typeof v === 'string' ? Buffer.from(v) : v;
    const base = Buffer.byteLength(k) + value.length + 3;
    let len = base + String(base).length;
    if (String(len).length > String(base).length) len++;
    parts.push(Buffer.from(`${len} ${k}=`), value, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Blocks followed by the end-of-archive marker. */
export function rawTar(...blocks: Buffer[]): Buffer {
  return Buffer.concat([...blocks, Buffer.alloc(2 * BLOCK)]);
}

/** A file entry (header + padded data) as raw blocks. */
export function rawFile(name: string, data: string | Buffer, extra: Partial<RawFields> = {}): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([rawHeader({ name, flag: '0', size: body.length, ...extra }), padded(body)]);
}

export { encodeHeaders };

export async function collect(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(parts);
}

export async function tarBytes(entries: TarEntryInput[]): Promise<Buffer> {
  return collect(writeTar(entries));
}

/** Yield `buf` in pieces of `size` bytes (1 to test every chunk boundary). */
export async function* chunks(buf: Buffer, size = 1 << 16): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

export async function* once(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

export interface Sandbox {
  base: string;
  /** The staging directory handed to unpackLayer. */
  dest: string;
  /** A directory beside dest that symlinks in hostile tars point at. */
  outside: string;
  /** Assert nothing was created or changed beside dest. */
  assertOutsideUntouched(): void;
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const base = mkdtempSync(join(tmpdir(), 'berth-archive-test-'));
  const dest = join(base, 'dest');
  const outside = join(base, 'outside');
  mkdirSync(dest);
  mkdirSync(outside);
  writeFileSync(join(base, 'sentinel'), 'original');
  writeFileSync(join(outside, 'victim'), 'original');
  return {
    base,
    dest,
    outside,
    assertOutsideUntouched() {
      assert.deepEqual(readdirSync(base).sort(), ['dest', 'outside', 'sentinel']);
      assert.equal(readFileSync(join(base, 'sentinel'), 'utf8'), 'original');
      assert.deepEqual(readdirSync(outside), ['victim']);
      assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'original');
    },
    cleanup() {
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** 2020-09-13, a fixed mtime for tests. */
export const T0 = 1_600_000_000;

export function fileEntry(
  name: string,
  data: string | Buffer,
  extra: Partial<TarEntryInput['header']> = {},
): TarEntryInput {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  return {
    header: { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: T0, ...extra },
    body,
  };
}

export function dirEntry(name: string, extra: Partial<TarEntryInput['header']> = {}): TarEntryInput {
  return { header: { name, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: T0, ...extra } };
}

export function linkEntry(
  name: string,
  type: 'symlink' | 'hardlink',
  linkname: string,
  extra: Partial<TarEntryInput['header']> = {},
): TarEntryInput {
  return { header: { name, type, linkname, mode: 0o777, uid: 0, gid: 0, size: 0, mtime: T0, ...extra } };
}
