// X-Registry-Auth decoding, /auth bodies, and the push stream's JSON lines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PushEvent } from '../engine/index.js';
import type { Digest } from '../oci/index.js';
import { HttpError } from './_http.js';
import { authConfigCredentials, decodeRegistryAuth } from './_registry-auth.js';
import { pushProgressLines } from './_routes-images.js';

const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const encPadded = (v: unknown) =>
  Buffer.from(JSON.stringify(v)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');

function status400(fn: () => unknown): void {
  assert.throws(
    fn,
    (err: unknown) => err instanceof HttpError && err.status === 400 && /X-Registry-Auth/.test(err.message),
  );
}

describe('X-Registry-Auth', () => {
  test('absent, empty, {} and null mean the stored login', () => {
    assert.deepEqual(decodeRegistryAuth(undefined), {});
    assert.deepEqual(decodeRegistryAuth(''), {});
    assert.deepEqual(decodeRegistryAuth(enc({})), {});
    assert.deepEqual(decodeRegistryAuth('e30='), {});
    assert.deepEqual(decodeRegistryAuth(enc(null)), {});
    assert.deepEqual(decodeRegistryAuth(enc({ serveraddress: 'r.example' })), { serverAddress: 'r.example' });
  });

  test('username and password, padded base64url (the docker CLI) or not, standard alphabet too', () => {
    const doc = { username: 'u', password: 'p?>>~~', serveraddress: '127.0.0.1:5000' };
    const want = { credentials: { username: 'u', password: 'p?>>~~' }, serverAddress: '127.0.0.1:5000' };
    assert.deepEqual(decodeRegistryAuth(encPadded(doc)), want);
    assert.deepEqual(decodeRegistryAuth(enc(doc)), want);
    assert.deepEqual(decodeRegistryAuth(Buffer.from(JSON.stringify(doc)).toString('base64')), want);
  });

  test('keys match without regard to case, as Go decodes them; unknown keys are ignored', () => {
    assert.deepEqual(decodeRegistryAuth(enc({ Username: 'u', PASSWORD: 'p', Extra: 1 })), {
      credentials: { username: 'u', password: 'p' },
    });
  });

  test('identity token, registry token, and the auth field', () => {
    assert.deepEqual(decodeRegistryAuth(enc({ identitytoken: 'idt' })).credentials, { identityToken: 'idt' });
    assert.deepEqual(decodeRegistryAuth(enc({ registrytoken: 'rt.x', username: 'u' })).credentials, {
      registryToken: 'rt.x',
    });
    const auth = Buffer.from('me:sec:ret').toString('base64');
    assert.deepEqual(decodeRegistryAuth(enc({ auth })).credentials, { username: 'me', password: 'sec:ret' });
  });

  test('malformed headers are 400s in Docker shape', () => {
    status400(() => decodeRegistryAuth('not base64!'));
    status400(() => decodeRegistryAuth('a'));
    status400(() => decodeRegistryAuth(Buffer.from('{"username":').toString('base64url')));
    status400(() => decodeRegistryAuth(enc([1, 2])));
    status400(() => decodeRegistryAuth(enc('text')));
    status400(() => decodeRegistryAuth(enc({ username: 5, password: 'p' })));
    status400(() => decodeRegistryAuth(enc({ registrytoken: 'a b\r\nX-Evil: 1' })));
    status400(() => decodeRegistryAuth(enc({ username: 'a\r\nb', password: 'p' })));
    status400(() => decodeRegistryAuth(enc({ auth: Buffer.from('nocolon').toString('base64') })));
    status400(() => decodeRegistryAuth(['a', 'b']));
    status400(() => decodeRegistryAuth('A'.repeat(70_000)));
    status400(() => decodeRegistryAuth(enc({ password: 'x'.repeat(20_000) })));
  });

  test('bounded random headers never throw anything but a 400', () => {
    const seed = Date.now() % 100_000;
    let x = seed;
    const rand = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x;
    };
    const alphabet = 'ABCxyz019+/-_={}":,e30 \n';
    for (let i = 0; i < 500; i++) {
      const len = rand() % 40;
      let h = '';
      for (let j = 0; j < len; j++) h += alphabet[rand() % alphabet.length];
      try {
        decodeRegistryAuth(h);
      } catch (err) {
        assert.ok(err instanceof HttpError && err.status === 400, `seed ${seed}: ${String(err)}`);
      }
    }
  });

  test('an /auth body uses the same AuthConfig reading', () => {
    const bad = (why: string) => new Error(why);
    assert.deepEqual(authConfigCredentials({ username: 'u', password: 'p', serveraddress: 'h:1' }, bad), {
      credentials: { username: 'u', password: 'p' },
      serverAddress: 'h:1',
    });
    assert.throws(() => authConfigCredentials({ username: ['u'] }, bad), /"username" must be a string/);
  });
});

describe('push progress as dockerd JSON lines', () => {
  test('layer states, pushing bytes, mount, then the digest line and the aux line', () => {
    const id = 'a3ed95caeb02';
    const digest = `sha256:${'b'.repeat(64)}` as Digest;
    const lines = [
      { type: 'layer', id, status: 'preparing' },
      { type: 'layer', id, status: 'waiting' },
      { type: 'layer', id, status: 'pushing', current: 0, total: 10 },
      { type: 'layer', id, status: 'pushing', current: 10, total: 10 },
      { type: 'layer', id, status: 'pushed' },
      { type: 'layer', id: 'cccccccccccc', status: 'exists' },
      { type: 'layer', id: 'dddddddddddd', status: 'mounted', from: 'library/alpine' },
      { type: 'manifest', tag: 'v1', digest, size: 527 },
    ] satisfies PushEvent[];
    assert.deepEqual(
      lines.flatMap((e) => pushProgressLines(e)),
      [
        { status: 'Preparing', progressDetail: {}, id },
        { status: 'Waiting', progressDetail: {}, id },
        { status: 'Pushing', progressDetail: { current: 0, total: 10 }, id },
        { status: 'Pushing', progressDetail: { current: 10, total: 10 }, id },
        { status: 'Pushed', progressDetail: {}, id },
        { status: 'Layer already exists', progressDetail: {}, id: 'cccccccccccc' },
        { status: 'Mounted from library/alpine', progressDetail: {}, id: 'dddddddddddd' },
        { status: `v1: digest: ${digest} size: 527` },
        { progressDetail: {}, aux: { Tag: 'v1', Digest: digest, Size: 527 } },
      ],
    );
  });
});
