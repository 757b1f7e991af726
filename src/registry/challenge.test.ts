import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWwwAuthenticate } from './_challenge.js';
import { isLoopbackHost, oneLine, redactUrl } from './_http.js';
import { Transport } from './_transport.js';

test('bearer challenge with quoted params, commas inside quotes, escapes', () => {
  const [c, ...rest] = parseWwwAuthenticate(
    'Bearer realm="https://auth.example.com/token?a=1,b=2",service="registry.example.com",scope="repository:a/b:pull,push",error="insufficient_scope",x="say \\"hi\\""',
  );
  assert.equal(rest.length, 0);
  assert.equal(c!.scheme, 'bearer');
  assert.deepEqual(
    { ...c!.params },
    {
      realm: 'https://auth.example.com/token?a=1,b=2',
      service: 'registry.example.com',
      scope: 'repository:a/b:pull,push',
      error: 'insufficient_scope',
      x: 'say "hi"',
    },
  );
});

test('several challenges in one header, token values, odd spacing and case', () => {
  const cs = parseWwwAuthenticate(
    'Basic realm="a, b" , BEARER  Realm = tokenish , service="s",Negotiate abc123==',
  );
  assert.deepEqual(
    cs.map((c) => [c.scheme, { ...c.params }, c.token68]),
    [
      ['basic', { realm: 'a, b' }, undefined],
      ['bearer', { realm: 'tokenish', service: 's' }, undefined],
      ['negotiate', {}, 'abc123=='],
    ],
  );
});

test('several header values, empty and garbage input', () => {
  assert.deepEqual(
    parseWwwAuthenticate(['Basic realm="x"', 'Bearer realm="y"']).map((c) => c.scheme),
    ['basic', 'bearer'],
  );
  assert.deepEqual(parseWwwAuthenticate(undefined), []);
  assert.deepEqual(parseWwwAuthenticate(''), []);
  assert.deepEqual(parseWwwAuthenticate('"garbage'), []);
  const [unterminated] = parseWwwAuthenticate('Bearer realm="https://a/token');
  assert.equal(unterminated!.params.realm, 'https://a/token');
  const [proto] = parseWwwAuthenticate('Bearer __proto__="x",realm="r"');
  assert.equal(proto!.params.realm, 'r');
  assert.equal(({} as Record<string, unknown>).x, undefined);
  const [dup] = parseWwwAuthenticate('Bearer realm="first",realm="second"');
  assert.equal(dup!.params.realm, 'first');
});

test('loopback hosts, redaction and one-line text', () => {
  for (const h of ['localhost', 'localhost:5000', '127.0.0.1', '127.9.8.7:80', '[::1]:5000', '::1']) {
    assert.ok(isLoopbackHost(h), h);
  }
  for (const h of ['example.com', '10.0.0.1:5000', '128.0.0.1', 'localhost.example.com', '[::2]']) {
    assert.ok(!isLoopbackHost(h), h);
  }
  assert.equal(
    redactUrl('https://user:pw@blobs.example.com/a/b?X-Amz-Signature=secret'),
    'https://blobs.example.com/a/b?…',
  );
  assert.equal(oneLine('a\nb\r\n\tc\u0000d'), 'a b c d');
});

test('credentials travel over TLS, or plain HTTP only to loopback and insecure hosts', () => {
  const t = new Transport({
    tlsVerify: true,
    config: { registries: { 'insecure.example:5000': { insecure: true } } },
    userAgent: 'test',
    maxRetries: 0,
    retryBaseMs: 1,
    timeoutMs: 1000,
  });
  try {
    assert.ok(t.mayCarryCredentials(new URL('https://registry.example.com/v2/')));
    assert.ok(t.mayCarryCredentials(new URL('http://127.0.0.1:5000/v2/')));
    assert.ok(t.mayCarryCredentials(new URL('http://insecure.example:5000/v2/')));
    assert.ok(!t.mayCarryCredentials(new URL('http://registry.example.com/v2/')));
    assert.ok(!t.mayUseHttp('registry.example.com'));
    assert.equal(t.schemeOf(t.upstream('registry.example.com')), 'https');
    assert.equal(t.schemeOf(t.upstream('127.0.0.1:5000')), undefined, 'https first, http fallback');
    assert.equal(t.upstream('docker.io').host, 'registry-1.docker.io');
    assert.equal(t.upstream('docker.io').credHost, 'docker.io');
  } finally {
    t.close();
  }
});
