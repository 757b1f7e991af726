import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidManifestError, SizeLimitError } from '../errors/index.js';
import {
  canonicalJson,
  MAX_MANIFEST_BYTES,
  parseImageConfig,
  parseManifest,
  validateImageConfig,
} from './image.js';
import { MediaType } from './mediatypes.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: d('a'), size: 10 },
  layers: [{ mediaType: MediaType.ociLayerGzip, digest: d('b'), size: 20 }],
};

test('parses a manifest and an index', () => {
  const m = parseManifest(Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
  assert.equal(m.kind, 'manifest');
  const i = parseManifest(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ ...manifest.config, mediaType: MediaType.ociManifest }],
      }),
    ),
    MediaType.ociIndex,
  );
  assert.equal(i.kind, 'index');
});

test('a document with both manifests and layers is refused', () => {
  const doc = { ...manifest, manifests: [] };
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify(doc))), InvalidManifestError);
});

test('a declared media type that contradicts the body is refused', () => {
  assert.throws(
    () => parseManifest(Buffer.from(JSON.stringify(manifest)), MediaType.dockerManifest),
    /conflicting media types/,
  );
  const index = { schemaVersion: 2, mediaType: MediaType.ociManifest, manifests: [] };
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify(index))), /non-index media type/);
});

test('manifests over 4 MiB are refused before parsing', () => {
  const big = Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20);
  assert.throws(() => parseManifest(big), SizeLimitError);
});

test('bad descriptors are refused', () => {
  const bad = { ...manifest, layers: [{ mediaType: MediaType.ociLayerGzip, digest: 'md5:abc', size: 1 }] };
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify(bad))), /invalid or unsupported digest/);
  const neg = { ...manifest, layers: [{ mediaType: MediaType.ociLayerGzip, digest: d('c'), size: -1 }] };
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify(neg))), /invalid size/);
  assert.throws(() => parseManifest(Buffer.from('{"schemaVersion":1}')), /schemaVersion/);
  assert.throws(() => parseManifest(Buffer.from('not json')), /not valid JSON/);
});

test('image config validation', () => {
  const ok = parseImageConfig(
    Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [d('e')] } }),
    ),
  );
  assert.equal(ok.os, 'linux');
  assert.throws(() => parseImageConfig(Buffer.from('{"os":"linux"}')), InvalidManifestError);
  assert.throws(
    () =>
      parseImageConfig(
        Buffer.from(
          JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['x'] } }),
        ),
      ),
    /invalid diff_id/,
  );
});

test('canonical JSON sorts keys at every level and drops undefined', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } }),
    '{"a":{"d":[{"y":2,"z":1}]},"b":1}',
  );
});

test('image config runtime fields must have the types the engine relies on', () => {
  const base = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [d('e')] } };
  const check = (config: unknown) =>
    validateImageConfig(parseImageConfig(Buffer.from(JSON.stringify({ ...base, config }))));
  // real images: arrays, nulls (Go's nil slices and maps) and absent fields are all fine
  check(undefined);
  check(null);
  check({
    Env: ['PATH=/bin'],
    Cmd: null,
    Entrypoint: ['/bin/sh', '-c'],
    User: '1000:1000',
    WorkingDir: '/app',
    StopSignal: 'SIGINT',
    ExposedPorts: { '80/tcp': {} },
    Volumes: null,
    Labels: { a: 'b' },
    OnBuild: null,
    Healthcheck: { Test: ['CMD', 'true'] },
  });
  const bad: [string, unknown, RegExp][] = [
    ['Env', 'PATH=/bin', /^image config: config\.Env must be an array of strings$/],
    ['Env', [1], /config\.Env must be an array of strings/],
    ['Env', ['A=\0'], /config\.Env must be free of NUL bytes/],
    ['Cmd', 'sh', /config\.Cmd must be an array of strings/],
    ['Entrypoint', { 0: 'sh' }, /config\.Entrypoint must be an array of strings/],
    ['User', 0, /config\.User must be a string/],
    ['WorkingDir', ['/'], /config\.WorkingDir must be a string/],
    ['StopSignal', 9, /config\.StopSignal must be a string/],
    ['ExposedPorts', ['80/tcp'], /config\.ExposedPorts must be an object/],
    ['Volumes', '/data', /config\.Volumes must be an object/],
    ['Labels', { a: 1 }, /config\.Labels must be an object of strings/],
    ['Healthcheck', { Test: 'true' }, /config\.Healthcheck\.Test must be an array of strings/],
  ];
  for (const [field, value, message] of bad) {
    assert.throws(
      () => check({ [field]: value }),
      (err: unknown) => err instanceof InvalidManifestError && message.test(err.message),
      field,
    );
  }
});
