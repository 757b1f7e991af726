// docker config.json handling: key spellings, atomic 0600 writes that keep other keys,
// credential helpers and credsStore (a tiny docker-credential-test script on PATH), and the
// registries config file.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { InvalidArgumentError, IOError } from '../errors/index.js';
import {
  authFilePath,
  getCredentials,
  loadRegistriesConfig,
  normalizeAuthHost,
  RegistryClient,
  removeCredentials,
  saveCredentials,
} from './index.js';

const work = mkdtempSync(join(tmpdir(), 'berth-authfile-'));
after(() => rmSync(work, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('auth file location and host keys', () => {
  test('authFilePath: explicit, REGISTRY_AUTH_FILE, DOCKER_CONFIG, home', () => {
    const saved = { ...process.env };
    try {
      process.env.REGISTRY_AUTH_FILE = '/x/auth.json';
      process.env.DOCKER_CONFIG = '/y';
      assert.equal(authFilePath('/explicit.json'), '/explicit.json');
      assert.equal(authFilePath(), '/x/auth.json');
      delete process.env.REGISTRY_AUTH_FILE;
      assert.equal(authFilePath(), '/y/config.json');
      delete process.env.DOCKER_CONFIG;
      process.env.HOME = '/home/z';
      assert.equal(authFilePath(), '/home/z/.docker/config.json');
    } finally {
      process.env = saved;
    }
  });

  test('normalizeAuthHost folds the spellings docker and podman write', () => {
    assert.equal(normalizeAuthHost('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normalizeAuthHost('docker.io'), 'docker.io');
    assert.equal(normalizeAuthHost('registry-1.docker.io'), 'docker.io');
    assert.equal(normalizeAuthHost('http://Reg.Example:5000'), 'reg.example:5000');
    assert.equal(normalizeAuthHost('reg.example/v1/'), 'reg.example');
    assert.equal(normalizeAuthHost('https://reg.example/v2'), 'reg.example');
    assert.equal(normalizeAuthHost('reg.example/team/repo'), undefined);
  });

  test('reads every accepted key spelling, auth and identitytoken', async () => {
    const file = join(work, 'read.json');
    writeFileSync(
      file,
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hub:pw') },
          'https://a.example': { auth: b64('a:pa:ss') },
          'http://b.example:5000': { auth: b64('b:pb') },
          'c.example/v1/': { auth: b64('c:pc') },
          'd.example': { identitytoken: 'refresh-me' },
          'e.example/some/repo': { auth: b64('e:pe') },
        },
      }),
    );
    assert.deepEqual(await getCredentials('docker.io', { authFile: file }), {
      username: 'hub',
      password: 'pw',
    });
    assert.deepEqual(await getCredentials('a.example', { authFile: file }), {
      username: 'a',
      password: 'pa:ss',
    });
    assert.deepEqual(await getCredentials('b.example:5000', { authFile: file }), {
      username: 'b',
      password: 'pb',
    });
    assert.deepEqual(await getCredentials('c.example', { authFile: file }), {
      username: 'c',
      password: 'pc',
    });
    assert.deepEqual(await getCredentials('d.example', { authFile: file }), { identityToken: 'refresh-me' });
    assert.equal(await getCredentials('e.example', { authFile: file }), undefined);
    assert.equal(
      await getCredentials('nowhere.example', { authFile: join(work, 'missing.json') }),
      undefined,
    );
  });

  test('a malformed file is an InvalidArgumentError naming it, without the secret', async () => {
    const file = join(work, 'bad.json');
    writeFileSync(file, '{"auths": {"x.example": {"auth": "');
    await assert.rejects(getCredentials('x.example', { authFile: file }), (e: Error) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.match(e.message, /bad\.json/);
      return true;
    });
    writeFileSync(file, JSON.stringify({ auths: { 'x.example': { auth: b64('no-colon-secret') } } }));
    await assert.rejects(getCredentials('x.example', { authFile: file }), (e: Error) => {
      assert.doesNotMatch(e.message, /no-colon-secret/);
      return e instanceof InvalidArgumentError;
    });
  });

  test('save keeps other keys, replaces old spellings, writes 0600 in a 0700 dir; remove deletes', async () => {
    const dir = join(work, 'newdir', 'docker');
    const file = join(dir, 'config.json');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(
      file,
      JSON.stringify({
        auths: { 'https://r.example': { auth: b64('old:old') }, 'other.example': { auth: b64('o:o') } },
        psFormat: 'table {{.ID}}',
      }),
    );
    await saveCredentials('r.example', { username: 'new', password: 'p@ss' }, { authFile: file });
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(Object.keys(doc.auths).sort(), ['other.example', 'r.example']);
    assert.equal(doc.auths['r.example'].auth, b64('new:p@ss'));
    assert.equal(doc.psFormat, 'table {{.ID}}');
    assert.equal(statSync(file).mode & 0o777, 0o600);

    const fresh = join(work, 'fresh', 'sub', 'config.json');
    await saveCredentials('docker.io', { username: 'hub', password: 'x' }, { authFile: fresh });
    assert.equal(statSync(join(work, 'fresh', 'sub')).mode & 0o777, 0o700);
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(fresh, 'utf8')).auths), [
      'https://index.docker.io/v1/',
    ]);

    assert.equal(await removeCredentials('r.example', { authFile: file }), true);
    assert.equal(await removeCredentials('r.example', { authFile: file }), false);
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8')).auths), ['other.example']);
    await assert.rejects(
      saveCredentials('r.example', { username: 'a:b', password: 'x' }, { authFile: file }),
      InvalidArgumentError,
    );
  });
});

describe('credential helpers', () => {
  // docker-credential-test keeps one file per server URL next to itself
  const bin = join(work, 'bin');
  const store = join(work, 'helper-store');
  mkdirSync(bin, { recursive: true });
  mkdirSync(store, { recursive: true });
  const script = `#!/bin/sh
set -e
store='${store}'
key() { printf %s "$1" | sha256sum | cut -c1-32; }
case "$1" in
  get)
    url=$(cat)
    f="$store/$(key "$url")"
    if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  store)
    input=$(cat)
    url=$(printf %s "$input" | sed -n 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/p')
    printf %s "$input" > "$store/$(key "$url")"
    printf %s "$url" >> "$store/stored-urls" ;;
  erase)
    url=$(cat)
    f="$store/$(key "$url")"
    if [ -f "$f" ]; then rm "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  *) exit 2 ;;
esac
`;
  writeFileSync(join(bin, 'docker-credential-test'), script);
  chmodSync(join(bin, 'docker-credential-test'), 0o755);
  writeFileSync(join(bin, 'docker-credential-broken'), '#!/bin/sh\necho "keychain locked" >&2\nexit 3\n');
  chmodSync(join(bin, 'docker-credential-broken'), 0o755);
  process.env.PATH = `${bin}:${process.env.PATH}`;

  test('credHelpers[host]: store, get, erase through the helper; the file keeps no secret', async () => {
    const file = join(work, 'helpers.json');
    writeFileSync(file, JSON.stringify({ credHelpers: { 'h.example:5000': 'test' }, auths: {} }));
    await saveCredentials('h.example:5000', { username: 'hu', password: 'hsecret' }, { authFile: file });
    assert.doesNotMatch(readFileSync(file, 'utf8'), /hsecret/);
    assert.deepEqual(await getCredentials('http://h.example:5000', { authFile: file }), {
      username: 'hu',
      password: 'hsecret',
    });
    assert.equal(await getCredentials('other.example', { authFile: file }), undefined);
    assert.equal(await removeCredentials('h.example:5000', { authFile: file }), true);
    assert.equal(await getCredentials('h.example:5000', { authFile: file }), undefined);
  });

  test('credsStore for every host; Docker Hub uses its historic server URL; <token> is an identity token', async () => {
    const file = join(work, 'store.json');
    writeFileSync(file, JSON.stringify({ credsStore: 'test' }));
    await saveCredentials('docker.io', { username: 'hubby', password: 'hubsecret' }, { authFile: file });
    assert.match(readFileSync(join(store, 'stored-urls'), 'utf8'), /https:\/\/index\.docker\.io\/v1\//);
    assert.deepEqual(await getCredentials('index.docker.io', { authFile: file }), {
      username: 'hubby',
      password: 'hubsecret',
    });
    await saveCredentials('tok.example', { username: '<token>', password: 'refresh' }, { authFile: file });
    assert.deepEqual(await getCredentials('tok.example', { authFile: file }), { identityToken: 'refresh' });
  });

  test('a failing or missing helper is a clear error without secrets', async () => {
    const file = join(work, 'broken.json');
    writeFileSync(
      file,
      JSON.stringify({ credHelpers: { 'b.example': 'broken', 'm.example': 'missing-helper' } }),
    );
    await assert.rejects(getCredentials('b.example', { authFile: file }), (e: Error) => {
      assert.ok(e instanceof IOError);
      assert.match(
        e.message,
        /docker-credential-broken failed to get credentials for b\.example \(exit 3\): keychain locked/,
      );
      return true;
    });
    await assert.rejects(getCredentials('m.example', { authFile: file }), (e: Error) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.match(e.message, /docker-credential-missing-helper is not installed/);
      return true;
    });
    writeFileSync(file, JSON.stringify({ credsStore: '../../bin/sh' }));
    await assert.rejects(getCredentials('x.example', { authFile: file }), InvalidArgumentError);
  });
});

describe('registries config', () => {
  test('missing file is empty; valid file parses; invalid names the file', () => {
    assert.deepEqual(loadRegistriesConfig(join(work, 'nope.json')), {});
    const good = join(work, 'registries.json');
    writeFileSync(
      good,
      JSON.stringify({
        registries: {
          'docker.io': { mirrors: ['https://mirror.example/cache', 'm2:5000'] },
          'r:5000': { insecure: true },
        },
      }),
    );
    assert.deepEqual(loadRegistriesConfig(good), {
      registries: {
        'docker.io': { mirrors: ['https://mirror.example/cache', 'm2:5000'] },
        'r:5000': { insecure: true },
      },
    });
    const saved = process.env.BERTH_REGISTRIES_CONF;
    process.env.BERTH_REGISTRIES_CONF = good;
    try {
      assert.ok(loadRegistriesConfig().registries?.['docker.io']);
    } finally {
      if (saved === undefined) delete process.env.BERTH_REGISTRIES_CONF;
      else process.env.BERTH_REGISTRIES_CONF = saved;
    }
    for (const bad of [
      '[]',
      '{"registries": {"x": {"insecure": "yes"}}}',
      '{"registries": {"x": {"mirrors": ["ftp://m"]}}}',
      '{"registries": {"x": {"mirrors": ["user:pw@m"]}}}',
      'not json',
    ]) {
      const file = join(work, 'bad-registries.json');
      writeFileSync(file, bad);
      assert.throws(
        () => loadRegistriesConfig(file),
        (e: Error) => e instanceof InvalidArgumentError && e.message.includes('bad-registries.json'),
        bad,
      );
    }
  });

  test('a client refuses a bad in-memory config up front', () => {
    assert.throws(
      () => new RegistryClient({ config: { registries: { x: { mirrors: ['http://'] } } } }),
      InvalidArgumentError,
    );
  });
});
