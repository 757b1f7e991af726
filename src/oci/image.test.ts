import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidManifestError, SizeLimitError } from '../errors/index.js';
import { canonicalJson, MAX_MANIFEST_BYTES, parseImageConfig, parseManifest } from './image.js';
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
