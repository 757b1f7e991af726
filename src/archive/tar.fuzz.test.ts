// Property-based tests of the tar reader (TarParser and readTar) on hostile input: random bytes,
// headers with random fields and extension records, and valid archives with bytes flipped,
// inserted, cut off. Whatever comes in, the reader either yields entries whose data it really
// read or throws a berth error; it never throws a TypeError/RangeError and never loops.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  fuzz,
  fuzzAsync,
  onlyBerthErrors,
  onlyBerthErrorsAsync,
  stringFrom,
} from '../../test/helpers/fuzz.js';
import { BLOCK, F_MAGIC, writeChecksum } from './_format.js';
import { collect, padded, paxData, type RawFields, rawHeader, T0, tarBytes } from './_testing.js';
import { readTar, type TarEntryInput, type TarHeader, TarParser } from './index.js';

interface Parsed {
  headers: TarHeader[];
  bodies: Buffer[];
}

/** Feeds `buf` to a TarParser in the given chunk sizes (cycled), then ends it. */
function parseInChunks(buf: Buffer, sizes: number[]): Parsed {
  const headers: TarHeader[] = [];
  const bodies: Buffer[] = [];
  let parts: Buffer[] = [];
  let dataBytes = 0;
  const parser = new TarParser({
    entry: (h) => {
      headers.push(h);
      parts = [];
    },
    data: (c) => {
      dataBytes += c.length;
      parts.push(Buffer.from(c));
    },
    entryEnd: () => bodies.push(Buffer.concat(parts)),
  });
  let off = 0;
  for (let i = 0; off < buf.length; i++) {
    const n = sizes.length === 0 ? buf.length : Math.max(1, sizes[i % sizes.length]!);
    parser.push(buf.subarray(off, off + n));
    off += n;
  }
  parser.end();
  // The reader can only report what it was given: every entry costs at least one block, and
  // data comes out of the input, never out of thin air.
  assert.ok(headers.length <= buf.length / BLOCK, 'more entries than header blocks');
  assert.ok(dataBytes <= buf.length, 'more data than input');
  return { headers, bodies };
}

async function* source(buf: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let off = 0;
  for (let i = 0; off < buf.length; i++) {
    const n = sizes.length === 0 ? buf.length : Math.max(1, sizes[i % sizes.length]!);
    yield buf.subarray(off, off + n);
    off += n;
  }
}

/** readTar, reading every other body (the rest are skipped, which is a separate path). */
async function readAll(buf: Buffer, sizes: number[]): Promise<number> {
  let n = 0;
  for await (const e of readTar(source(buf, sizes))) {
    if (n++ % 2 === 0) await collect(e.body);
  }
  return n;
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 1500 }), { maxLength: 6 });

const NAME_CHARS = ['a', 'b', 'z', '/', '.', '..', '-', '_', ' ', 'é', '\u{1F600}', '\\', '%'];
const entryName = stringFrom(NAME_CHARS, 140).filter((s) => s.length > 0);

const entryInput: fc.Arbitrary<TarEntryInput> = fc.oneof(
  fc.record({ name: entryName, body: fc.uint8Array({ maxLength: 1200 }) }).map(({ name, body }) => ({
    header: { name, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: T0 },
    body: Buffer.from(body),
  })),
  entryName.map((name) => ({
    header: { name, type: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 0, mtime: T0 },
  })),
  fc.record({ name: entryName, link: entryName, hard: fc.boolean() }).map(({ name, link, hard }) => ({
    header: {
      name,
      type: hard ? ('hardlink' as const) : ('symlink' as const),
      linkname: link,
      mode: 0o777,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: T0,
    },
  })),
);

type Mutation =
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 600 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      at: fc.nat(),
      count: fc.integer({ min: 1, max: 600 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
);

function mutate(buf: Buffer, mutations: Mutation[], fixChecksums: boolean): Buffer {
  let b = Buffer.from(buf);
  for (const m of mutations) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'set') b[at] = m.byte;
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
    else b = b.subarray(0, at);
  }
  // Most flipped header bytes only break the checksum; re-sealing headers lets the mutation
  // reach the field parsers behind it.
  if (fixChecksums) {
    for (let off = 0; off + BLOCK <= b.length; off += BLOCK) {
      if (b.toString('latin1', off + F_MAGIC, off + F_MAGIC + 5) === 'ustar') {
        writeChecksum(b.subarray(off, off + BLOCK));
      }
    }
  }
  return b;
}

const FLAGS = ['0', '1', '2', '3', '4', '5', '6', '7', 'x', 'g', 'L', 'K', 'S', 'M', 'V', 'D', 'A', '\0'];
const PAX_KEYS = [
  'path',
  'linkpath',
  'size',
  'uid',
  'gid',
  'mtime',
  'atime',
  'uname',
  'gname',
  'SCHILY.xattr.user.a',
  'SCHILY.xattr.security.capability',
  'LIBARCHIVE.xattr.user.%41',
  'LIBARCHIVE.xattr.%zz',
  'GNU.sparse.major',
  'comment',
  '',
];
const PAX_VALUES = fc.oneof(
  fc.constantFrom('0', '-1', '1.5', '-1.000000001', '99999999999999999999', 'NaN', '1e3', '', 'x', '/a/../b'),
  fc.integer({ min: -1, max: 2 ** 53 }).map(String),
  stringFrom(NAME_CHARS, 60),
);

/** A PAX body: well-formed records, or bytes that only look like records. */
const paxBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .array(fc.tuple(fc.constantFrom(...PAX_KEYS), PAX_VALUES), { maxLength: 6 })
    .map((recs) => paxData(Object.fromEntries(recs))),
  stringFrom(['1', '2', '9', ' ', '=', '\n', 'path', 'size', '\0', 'a'], 120).map((s) => Buffer.from(s)),
);

/** One entry built field by field, including fields and flags our writer would never emit. */
const rawEntry: fc.Arbitrary<Buffer> = fc
  .record({
    name: stringFrom(NAME_CHARS, 100),
    flag: fc.constantFrom(...FLAGS),
    size: fc.oneof(fc.nat(2048), fc.constantFrom(0, 511, 512, 513, 1024 * 1024 + 1, 8 ** 11 - 1)),
    base256Size: fc.boolean(),
    mode: fc.nat(0o7777),
    uid: fc.nat(8 ** 7 - 1),
    mtime: fc.nat(8 ** 11 - 1),
    linkname: stringFrom(NAME_CHARS, 100),
    format: fc.constantFrom('ustar' as const, 'gnu' as const, 'v7' as const),
    prefix: stringFrom(NAME_CHARS, 155),
    badChecksum: fc.nat(9).map((n) => n === 0),
    body: fc.oneof(
      paxBody,
      fc.uint8Array({ maxLength: 1500 }).map((u) => Buffer.from(u)),
    ),
    // Claim the body's real length, or lie about it.
    honestSize: fc.nat(4).map((n) => n > 0),
  })
  .map((f) => {
    const size = f.honestSize ? f.body.length : f.size;
    const fields: RawFields = {
      name: f.name,
      flag: f.flag,
      size,
      base256Size: f.base256Size && size < 2 ** 47,
      mode: f.mode,
      uid: f.uid,
      mtime: f.mtime,
      linkname: f.linkname,
      format: f.format,
      prefix: f.prefix,
      badChecksum: f.badChecksum,
    };
    // Header-only types (links, dirs, devices, fifos) carry no data whatever their size says:
    // an honest one writes none, or the next header would land in the middle of it.
    const headerOnly = '123456'.includes(f.flag) && f.flag !== '';
    const body = f.honestSize && headerOnly ? Buffer.alloc(0) : f.body;
    return Buffer.concat([rawHeader(fields), padded(body)]);
  });

const rawArchive = fc
  .tuple(fc.array(rawEntry, { maxLength: 5 }), fc.nat(3))
  .map(([entries, zeros]) => Buffer.concat([...entries, Buffer.alloc(zeros * BLOCK)]));

describe('tar reader fuzzing', () => {
  test('random bytes: entries or a berth error', (t) => {
    fuzz(
      t,
      fc.property(fc.uint8Array({ maxLength: 4096 }), chunkSizes, (bytes, sizes) => {
        onlyBerthErrors('TarParser', () => parseInChunks(Buffer.from(bytes), sizes));
      }),
    );
  });

  test('random bytes after a valid first header: entries or a berth error', (t) => {
    fuzz(
      t,
      fc.property(rawEntry, fc.uint8Array({ maxLength: 3000 }), chunkSizes, (first, rest, sizes) => {
        onlyBerthErrors('TarParser', () => parseInChunks(Buffer.concat([first, rest]), sizes));
      }),
    );
  });

  test('headers with random fields, flags and PAX records: entries or a berth error, in any chunking', (t) => {
    fuzz(
      t,
      fc.property(rawArchive, chunkSizes, (archive, sizes) => {
        const whole = onlyBerthErrors('TarParser', () => parseInChunks(archive, []));
        const chunked = onlyBerthErrors('TarParser', () => parseInChunks(archive, sizes));
        // Chunk boundaries never change the outcome.
        assert.deepEqual(chunked, whole);
      }),
    );
  });

  test('valid archives round-trip in any chunking', async (t) => {
    await fuzzAsync(
      t,
      fc.asyncProperty(fc.array(entryInput, { maxLength: 6 }), chunkSizes, async (entries, sizes) => {
        const archive = await onlyBerthErrorsAsync('writeTar', () => tarBytes(entries));
        if (archive === undefined) return; // a name the writer refuses, with a berth error
        const got = parseInChunks(archive, sizes);
        assert.deepEqual(
          got.headers.map((h) => [h.type, h.size]),
          entries.map((e) => [e.header.type, e.header.size]),
        );
        const fileBodies = entries.flatMap((e) =>
          e.header.type === 'file' ? [Buffer.from(e.body as Buffer)] : [],
        );
        assert.deepEqual(
          got.bodies.filter((_, i) => got.headers[i]!.type === 'file'),
          fileBodies,
        );
      }),
    );
  });

  test('mutated valid archives: entries or a berth error, from TarParser and readTar alike', async (t) => {
    await fuzzAsync(
      t,
      fc.asyncProperty(
        fc.array(entryInput, { minLength: 1, maxLength: 4 }),
        fc.array(mutation, { minLength: 1, maxLength: 8 }),
        // mostly re-seal headers, so mutations reach the field parsers behind the checksum
        fc.nat(3).map((n) => n > 0),
        chunkSizes,
        async (entries, mutations, fixChecksums, sizes) => {
          const archive = await onlyBerthErrorsAsync('writeTar', () => tarBytes(entries));
          if (archive === undefined) return;
          const bad = mutate(archive, mutations, fixChecksums);
          const sync = onlyBerthErrors('TarParser', () => parseInChunks(bad, sizes));
          const pulled = await onlyBerthErrorsAsync('readTar', () => readAll(bad, sizes));
          // Both readers agree on whether the archive is acceptable and on its entry count.
          assert.equal(pulled, sync?.headers.length);
        },
      ),
    );
  });
});
