// Property-based tests of oci/'s parsers of untrusted text: image references, digests,
// platforms, manifests/indexes and image configs. Bad input ends in a berth error; accepted
// input comes back in a stable normal form.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { fuzz, onlyBerthErrors, stringFrom } from '../../test/helpers/fuzz.js';
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

/** Strings shaped like references (host, path, tag, digest), with random damage. */
const referenceLike = fc
  .tuple(
    fc.option(
      fc.constantFrom('docker.io/', 'localhost:5000/', '127.0.0.1:5000/', '[::1]:5000/', 'Reg.Example/'),
      {
        nil: '',
      },
    ),
    stringFrom(['a', 'b', '0', '.', '_', '-', '/'], 40),
    fc.option(
      stringFrom(['a', 'Z', '0', '.', '-', '_'], 140).map((s) => `:${s}`),
      { nil: '' },
    ),
    fc.option(
      fc
        .oneof(
          digestArb,
          stringFrom([...HEX, ':'], 80).map((s) => `sha256:${s}`),
        )
        .map((d) => `@${d}`),
      { nil: '' },
    ),
  )
  .map((parts) => parts.join(''));

const anyReference = fc.oneof(
  referenceLike,
  stringFrom(REF_CHARS, 120),
  fc.string({ unit: 'binary', maxLength: 600 }),
);

/** JSON documents mixing valid manifest/config parts with wrong types in any field. */
const jsonJunk = fc.jsonValue({ maxDepth: 3 });
const descriptorLike = fc.oneof(
  fc.record(
    {
      mediaType: fc.oneof(
        fc.constantFrom(
          MediaType.ociManifest,
          MediaType.ociConfig,
          MediaType.ociIndex,
          'application/vnd.oci.image.layer.v1.tar+gzip',
          'a/b',
          '',
          'no-slash',
        ),
        jsonJunk,
      ),
      digest: fc.oneof(digestArb, jsonJunk),
      size: fc.oneof(fc.nat(), fc.constantFrom(-1, 1.5, 2 ** 60, Number.MAX_SAFE_INTEGER), jsonJunk),
      urls: fc.oneof(fc.array(fc.string()), jsonJunk),
      annotations: fc.oneof(fc.dictionary(fc.string(), fc.string()), jsonJunk),
      platform: fc.oneof(fc.record({ architecture: fc.string(), os: fc.string() }), jsonJunk),
    },
    { requiredKeys: [] },
  ),
  jsonJunk,
);

const manifestLike = fc.record(
  {
    schemaVersion: fc.oneof(fc.constant(2), jsonJunk),
    mediaType: fc.oneof(
      fc.constantFrom(
        MediaType.ociManifest,
        MediaType.dockerManifest,
        MediaType.ociIndex,
        MediaType.dockerManifestList,
        'text/plain',
      ),
      jsonJunk,
    ),
    config: descriptorLike,
    layers: fc.oneof(fc.array(descriptorLike, { maxLength: 4 }), jsonJunk),
    manifests: fc.oneof(fc.array(descriptorLike, { maxLength: 4 }), jsonJunk),
    subject: descriptorLike,
  },
  { requiredKeys: [] },
);

const configLike = fc.record(
  {
    architecture: fc.oneof(fc.constantFrom('amd64', 'arm64'), jsonJunk),
    os: fc.oneof(fc.constant('linux'), jsonJunk),
    rootfs: fc.oneof(
      fc.record(
        {
          type: fc.oneof(fc.constant('layers'), jsonJunk),
          diff_ids: fc.oneof(fc.array(digestArb), jsonJunk),
        },
        { requiredKeys: [] },
      ),
      jsonJunk,
    ),
    config: fc.oneof(
      fc.record(
        {
          Env: fc.oneof(fc.array(fc.string()), jsonJunk),
          Cmd: fc.oneof(fc.array(fc.string()), fc.constant(null), jsonJunk),
          Entrypoint: fc.oneof(fc.array(fc.string()), fc.constant(null), jsonJunk),
          User: jsonJunk,
          WorkingDir: jsonJunk,
          StopSignal: jsonJunk,
          ExposedPorts: jsonJunk,
          Volumes: jsonJunk,
          Labels: jsonJunk,
          Healthcheck: jsonJunk,
        },
        { requiredKeys: [] },
      ),
      jsonJunk,
    ),
    history: fc.oneof(fc.array(jsonJunk, { maxLength: 3 }), jsonJunk),
  },
  { requiredKeys: [] },
);

/** Bytes: JSON of a document, JSON with a byte changed or cut off, or raw bytes. */
function documentBytes(doc: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 4, arbitrary: doc.map((d) => Buffer.from(JSON.stringify(d) ?? 'null')) },
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
      fc.property(documentBytes(fc.oneof(manifestLike, jsonJunk)), declaredType, (bytes, type) => {
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
      fc.property(documentBytes(fc.oneof(configLike, jsonJunk)), (bytes) => {
        const config = onlyBerthErrors('parseImageConfig', () => parseImageConfig(bytes));
        if (config !== undefined) assert.ok(Array.isArray(config.rootfs.diff_ids));
      }),
    );
  });
});
