import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostsFile, resolvConf, validateHostname } from './etc.js';

test('hosts names the container and extra hosts', () => {
  const h = hostsFile({ hostname: 'web1', network: 'none', extraHosts: [{ name: 'db', ip: '10.0.0.5' }] });
  assert.match(h, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(h, /^10\.0\.0\.5\tdb$/m);
  assert.match(h, /^127\.0\.1\.1\tweb1$/m);
});

test('resolv.conf drops loopback resolvers for a private netns and keeps search domains', () => {
  const host = 'search corp.example\nnameserver 127.0.0.53\nnameserver 10.1.1.1\n';
  assert.equal(
    resolvConf({ hostname: 'x', network: 'bridge', hostResolvConf: host }),
    'search corp.example\nnameserver 10.1.1.1\n',
  );
  assert.equal(
    resolvConf({ hostname: 'x', network: 'host', hostResolvConf: host }),
    'search corp.example\nnameserver 127.0.0.53\nnameserver 10.1.1.1\n',
  );
  assert.equal(
    resolvConf({ hostname: 'x', network: 'none', hostResolvConf: 'nameserver 127.0.0.1\n' }),
    '\n',
  );
  assert.equal(
    resolvConf({ hostname: 'x', network: 'bridge', dns: ['1.1.1.1'], hostResolvConf: host }),
    'search corp.example\nnameserver 1.1.1.1\n',
  );
});

test('hostnames are validated', () => {
  assert.equal(validateHostname('a-b.c'), 'a-b.c');
  for (const bad of ['-x', 'x_y', 'a'.repeat(64), 'a..b', 'x\nnameserver 6.6.6.6'])
    assert.throws(() => validateHostname(bad), /invalid hostname/);
});
