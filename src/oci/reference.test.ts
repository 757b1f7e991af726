import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidReferenceError } from '../errors/index.js';
import { familiarName, formatReference, parseReference } from './reference.js';

test('docker normalization of short names', () => {
  assert.equal(formatReference(parseReference('busybox')), 'docker.io/library/busybox:latest');
  assert.equal(formatReference(parseReference('user/app:1.2')), 'docker.io/user/app:1.2');
  assert.equal(formatReference(parseReference('index.docker.io/library/x')), 'docker.io/library/x:latest');
  assert.equal(familiarName(parseReference('docker.io/library/busybox')), 'busybox');
  assert.equal(familiarName(parseReference('localhost/bb')), 'localhost/bb');
});

test('registries with ports, IPs and localhost', () => {
  const r = parseReference('127.0.0.1:5000/a/b:tag');
  assert.deepEqual([r.domain, r.path, r.tag], ['127.0.0.1:5000', 'a/b', 'tag']);
  assert.equal(parseReference('localhost/x').domain, 'localhost');
  assert.equal(parseReference('[::1]:5000/x').domain, '[::1]:5000');
});

test('digests, with and without tags', () => {
  const d = `sha256:${'a'.repeat(64)}`;
  const r = parseReference(`reg.io/x@${d}`);
  assert.equal(r.digest, d);
  assert.equal(r.tag, undefined);
  const both = parseReference(`reg.io/x:1@${d}`);
  assert.equal(both.tag, '1');
  assert.equal(both.digest, d);
});

test('bad references are InvalidReferenceError', () => {
  for (const bad of [
    '::bad',
    '',
    'upper/CASE',
    'Foo',
    'x@sha256:short',
    'a//b',
    'x:',
    'x:-bad',
    `x:${'t'.repeat(129)}`,
    '-x',
    'x/',
  ]) {
    assert.throws(() => parseReference(bad), InvalidReferenceError, bad);
  }
});
