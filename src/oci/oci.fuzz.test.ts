// Property-based tests of oci/'s parsers of untrusted text: image references, digests,
// platforms, manifests/indexes and image configs. Bad input ends in a berth error; accepted
// input comes back in a stable normal form.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { fuzz, onlyBerthErrors, stringFrom, stringOf } from '../../test/helpers/fuzz.js';
import {
  formatReference,
  MediaType,
  parseDigest,
  parseImageConfig,
  parseManifest,
  parsePlatform,
  parseReference,
  validateDescriptor,
} from './index.js';

const HEX = '0123456789abcdef';
const digestArb = fc.oneof(
  fc.string({ unit: fc.constantFrom(...HEX), minLength: 64, maxLength: 64 }).map((h) => `sha256:${h}`),
  fc.string({ unit: fc.constantFrom(...HEX), minLength: 128, maxLength: 128 }).map((h) => `sha512:${h}`),
);

const REF_CHARS = [
  'a',
  'b',
  'z',
  'A',
  '0',
  '9',
  '.',
  '-',
  '_',
  '__',
  '/',
  ':',
  '@',
  'localhost',
  'docker.io',
  'index.docker.io',
  'library',
  '[',
  ']',
  '::1',
  '5000',
  'sha256:',
  'latest',
];

const jsonJunk = fc.jsonValue({ maxDepth: 3 });

/** A value that is usually `valid`, sometimes any JSON value, sometimes absent. */
function mostly<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 30, arbitrary: valid },
    { weight: 1, arbitrary: jsonJunk },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** `arb` one time in `oneIn`, else absent (undefined: JSON.stringify drops the key). */
function rarely<T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
}

/** Path components as the grammar allows them, then sometimes a damaging character. */
const pathComponent = fc
  .tuple(
    stringOf(['a', 'b', 'z', '0', '9'], 8).filter((c) => c.length > 0),
    fc.array(
      fc.tuple(
        fc.constantFrom('.', '_', '__', '-', '--'),
        stringOf(['a', 'x', '1'], 4).filter((c) => c.length > 0),
      ),
      { maxLength: 2 },
    ),
  )
  .map(([head, rest]) => head + rest.map(([sep, w]) => sep + w).join(''));

/** Strings shaped like references (host, path, tag, digest), with random damage. */
const referenceLike = fc
  .tuple(
    fc.option(
      fc.constantFrom(
        'docker.io/',
        'index.docker.io/',
        'localhost/',
        'localhost:5000/',
        '127.0.0.1:5000/',
        '[::1]:5000/',
        'Reg.Example/',
        'a-b.c:1/',
      ),
      { nil: '' },
    ),
    fc.array(pathComponent, { minLength: 1, maxLength: 3 }).map((cs) => cs.join('/')),
    fc.option(
      stringFrom(['a', 'Z', '0', '.', '-', '_'], 140).map((t) => `:${t}`),
      { nil: '' },
    ),
    fc.option(
      fc
        .oneof(
          { weight: 4, arbitrary: digestArb },
          { weight: 1, arbitrary: stringFrom([...HEX, ':'], 80).map((h) => `sha256:${h}`) },
        )
        .map((d) => `@${d}`),
      { nil: '' },
    ),
    // damage: a character from anywhere in the grammar, at any position
    rarely(fc.tuple(fc.nat(), fc.constantFrom(...REF_CHARS)), 3),
  )
  .map(([host, path, tag, digest, damage]) => {
    const ref = host + path + tag + digest;
    if (damage === undefined) return ref;
    const at = damage[0] % (ref.length + 1);
    return ref.slice(0, at) + damage[1] + ref.slice(at);
  });

const anyReference = fc.oneof(
  { weight: 6, arbitrary: referenceLike },
  { weight: 1, arbitrary: stringFrom(REF_CHARS, 120) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 600 }) },
);

const LAYER_TYPES = [
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
];

/** JSON documents: valid manifest/config parts, each field now and then wrong or missing. */
const descriptorLike = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      mediaType: mostly(
        fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom(MediaType.ociConfig, ...LAYER_TYPES, 'a/b') },
          { weight: 1, arbitrary: fc.constantFrom('', 'no-slash', 'a/b/c', ' a/b') },
        ),
      ),
      digest: mostly(digestArb),
      size: mostly(
        fc.oneof(
          { weight: 8, arbitrary: fc.nat() },
          { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 2 ** 60, Number.MAX_SAFE_INTEGER) },
        ),
      ),
      urls: rarely(mostly(fc.array(fc.string(), { maxLength: 2 })), 4),
      annotations: rarely(mostly(fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })), 4),
      platform: rarely(mostly(fc.record({ architecture: mostly(fc.string()), os: mostly(fc.string()) })), 4),
    }),
  },
  { weight: 1, arbitrary: jsonJunk },
);

const manifestLike = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      schemaVersion: mostly(fc.constant(2)),
      mediaType: mostly(
        fc.constantFrom(MediaType.ociManifest, MediaType.dockerManifest, undefined, MediaType.ociIndex),
      ),
      config: mostly(descriptorLike),
      layers: mostly(fc.array(descriptorLike, { maxLength: 4 })),
      subject: rarely(descriptorLike, 6),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      schemaVersion: mostly(fc.constant(2)),
      mediaType: mostly(
        fc.constantFrom(MediaType.ociIndex, MediaType.dockerManifestList, undefined, MediaType.ociManifest),
      ),
      manifests: mostly(fc.array(descriptorLike, { maxLength: 4 })),
      layers: rarely(fc.array(descriptorLike, { maxLength: 1 }), 8),
    }),
  },
  { weight: 1, arbitrary: jsonJunk },
);

const configLike = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      architecture: mostly(fc.constantFrom('amd64', 'arm64')),
      os: mostly(fc.constant('linux')),
      rootfs: mostly(
        fc.record({
          type: mostly(fc.constant('layers')),
          diff_ids: mostly(fc.array(digestArb, { maxLength: 3 })),
        }),
      ),
      config: fc.option(
        mostly(
          fc.record({
            Env: rarely(mostly(fc.array(fc.string(), { maxLength: 3 })), 2),
            Cmd: rarely(mostly(fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.constant(null))), 2),
            Entrypoint: rarely(
              mostly(fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.constant(null))),
              2,
            ),
            User: rarely(mostly(fc.string()), 2),
            WorkingDir: rarely(mostly(fc.string()), 2),
            StopSignal: rarely(mostly(fc.string()), 2),
            ExposedPorts: rarely(mostly(fc.dictionary(fc.string(), fc.constant({}), { maxKeys: 2 })), 2),
            Volumes: rarely(mostly(fc.dictionary(fc.string(), fc.constant({}), { maxKeys: 2 })), 2),
            Labels: rarely(mostly(fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })), 2),
            Healthcheck: rarely(jsonJunk, 4),
          }),
        ),
        { nil: undefined },
      ),
      history: rarely(mostly(fc.array(jsonJunk, { maxLength: 3 })), 3),
    }),
  },
  { weight: 1, arbitrary: jsonJunk },
);

/** Bytes: JSON of a document, JSON with a byte changed or cut off, or raw bytes. */
function documentBytes(doc: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 12, arbitrary: doc.map((d) => Buffer.from(JSON.stringify(d) ?? 'null')) },
    {
      weight: 1,
      arbitrary: fc.tuple(doc, fc.nat(), fc.nat(255)).map(([d, at, byte]) => {
        const b = Buffer.from(JSON.stringify(d) ?? 'null');
        if (b.length > 0) b[at % b.length] = byte;
        return b;
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(doc, fc.nat()).map(([d, at]) => {
        const b = Buffer.from(JSON.stringify(d) ?? 'null');
        return b.subarray(0, at % (b.length + 1));
      }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)) },
  );
}

const declaredType = fc.option(
  fc.oneof(
    fc.constantFrom(
      MediaType.ociManifest,
      MediaType.ociIndex,
      MediaType.dockerManifest,
      'application/json',
      'application/json; charset=utf-8',
      ';',
      '',
    ),
    fc.string({ maxLength: 40 }),
  ),
  { nil: undefined },
);

describe('oci parsers fuzzing', () => {
  test('parseReference: a berth error or a reference that formats and re-parses to itself', (t) => {
    fuzz(
      t,
      fc.property(anyReference, fc.boolean(), (input, defaultTag) => {
        const ref = onlyBerthErrors('parseReference', () => parseReference(input, { defaultTag }));
        if (ref === undefined) return;
        const again = parseReference(formatReference(ref), { defaultTag });
        assert.deepEqual(again, ref);
      }),
    );
  });

  test('parseDigest and parsePlatform: a value or a berth error', (t) => {
    fuzz(
      t,
      fc.property(
        fc.oneof(digestArb, stringFrom([...HEX, ':', 'sha256', 'sha512', 'A'], 140)),
        stringFrom(['linux', 'amd64', 'arm', 'v7', '/', '.', ' ', 'A', '-'], 40),
        (digest, platform) => {
          onlyBerthErrors('parseDigest', () => parseDigest(digest));
          onlyBerthErrors('parsePlatform', () => parsePlatform(platform));
        },
      ),
    );
  });

  test('validateDescriptor: a descriptor or a berth error, for any JSON value', (t) => {
    fuzz(
      t,
      fc.property(descriptorLike, (v) => {
        onlyBerthErrors('validateDescriptor', () => validateDescriptor(v, 'fuzz'));
      }),
    );
  });

  test('parseManifest: a manifest/index or a berth error', (t) => {
    fuzz(
      t,
      fc.property(documentBytes(manifestLike), declaredType, (bytes, type) => {
        const parsed = onlyBerthErrors('parseManifest', () => parseManifest(bytes, type));
        if (parsed?.kind === 'manifest') {
          assert.ok(Array.isArray(parsed.manifest.layers));
          assert.equal(typeof parsed.manifest.config.digest, 'string');
        } else if (parsed?.kind === 'index') {
          assert.ok(Array.isArray(parsed.index.manifests));
        }
      }),
    );
  });

  test('parseImageConfig: a config or a berth error', (t) => {
    fuzz(
      t,
      fc.property(documentBytes(configLike), (bytes) => {
        const config = onlyBerthErrors('parseImageConfig', () => parseImageConfig(bytes));
        if (config !== undefined) assert.ok(Array.isArray(config.rootfs.diff_ids));
      }),
    );
  });
});
