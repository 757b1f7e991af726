// Where a push goes: DEST or the source name, never a digest, never an image ID taken for a name;
// and which repository of the same registry its blobs may be mounted from.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidReferenceError } from '../errors/index.js';
import { mountSource } from '../image/index.js';
import { formatReference, parseReference } from '../oci/index.js';
import type { ImageRecord } from '../store/index.js';
import { pushDestination } from './_push.js';

test('the destination: DEST, else SOURCE when it is one of the image names', () => {
  const names = ['127.0.0.1:5000/a/bb:latest'];
  assert.equal(formatReference(pushDestination('127.0.0.1:5000/a/bb', undefined, names)), names[0]);
  assert.equal(formatReference(pushDestination('anything', 'reg.example/x/y:v1', [])), 'reg.example/x/y:v1');
  assert.equal(formatReference(pushDestination('anything', 'reg.example/x/y', [])), 'reg.example/x/y:latest');
  assert.throws(() => pushDestination('0123456789ab', undefined, names), /give a destination/);
  assert.throws(
    () => pushDestination('bb', `reg.example/x@sha256:${'a'.repeat(64)}`, names),
    InvalidReferenceError,
  );
  assert.throws(() => pushDestination('bb', 'UPPER/Case', names), InvalidReferenceError);
});

test('blobs are mounted from a repository the image came from, on the same registry only', () => {
  const d = `sha256:${'b'.repeat(64)}`;
  const image = {
    repoDigests: ['docker.io/library/alpine@' + d, `127.0.0.1:5000/src/bb@${d}`],
  } as ImageRecord;
  assert.equal(mountSource(image, parseReference('127.0.0.1:5000/dst/bb:v1')), '127.0.0.1:5000/src/bb');
  assert.equal(mountSource(image, parseReference('127.0.0.1:5000/src/bb:v2')), undefined);
  assert.equal(mountSource(image, parseReference('docker.io/me/alpine:v1')), 'docker.io/library/alpine');
  assert.equal(mountSource(image, parseReference('quay.io/me/x:v1')), undefined);
});
