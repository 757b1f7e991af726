// POST /build pulls its base images with the credentials the docker client sends in
// X-Registry-Config (every login of its config), not only with berth's stored login: a FROM
// image in an htpasswd registry builds through both docker CLIs, and fails without them.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS } from '../helpers/api.js';
import { Berth } from '../helpers/berth.js';
import { rawTar } from '../helpers/hostile.js';
import { makeBusyboxLayout } from '../helpers/images.js';
import { skipUnless } from '../helpers/prereq.js';
import { skopeoCopy, startRegistry, type TestRegistry } from '../helpers/registry.js';

const lacking = apiLacking(['runc', 'conmon', 'docker-registry', 'skopeo', 'htpasswd']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-build-auth-it-'));
const b = new Berth();
const api = new ApiService(b, work);
let reg: TestRegistry;

function post(path: string, body: Buffer, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: api.sock, path, method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  if (skip) return;
  reg = await startRegistry({ auth: 'basic' });
  const bb = await makeBusyboxLayout(join(work, 'bb'), { tag: 'latest' });
  await skopeoCopy(`oci:${bb.layoutDir}:latest`, `docker://${reg.host}/auth/bb:latest`, {
    destCreds: `${reg.username}:${reg.password}`,
  });
  // the docker client's own login (as `docker login` leaves it); berth's store has none
  mkdirSync(join(work, 'docker-config'), { recursive: true });
  const auth = Buffer.from(`${reg.username}:${reg.password}`).toString('base64');
  writeFileSync(
    join(work, 'docker-config', 'config.json'),
    JSON.stringify({ auths: { [reg.host]: { auth } } }),
  );
  await api.start();
});

after(async () => {
  await api.stop();
  await reg?.stop();
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('FROM a registry that needs a login, through the service', { skip }, () => {
  test('without X-Registry-Config the pull is refused, in the stream', async () => {
    const tar = rawTar([{ name: 'Dockerfile', body: `FROM ${reg.host}/auth/bb:latest\n` }]);
    const body = await post('/build?q=1', tar);
    const last = JSON.parse(body.trim().split('\n').at(-1)!) as { error?: string };
    assert.match(last.error ?? '', /401|unauthorized|denied|credentials/i, body);
  });

  test('a raw X-Registry-Config lets the build pull', async () => {
    const tar = rawTar([{ name: 'Dockerfile', body: `FROM ${reg.host}/auth/bb:latest\nLABEL raw=1\n` }]);
    const config = { [reg.host]: { username: reg.username, password: reg.password } };
    const body = await post('/build?q=1&pull=1', tar, {
      'X-Registry-Config': Buffer.from(JSON.stringify(config)).toString('base64url'),
    });
    assert.match(body, /"aux":\{"ID":"sha256:[0-9a-f]{64}"\}/, body);
  });

  for (const client of DOCKER_CLIENTS) {
    test(`${client}: docker build --pull with the client's login`, async () => {
      const dir = join(work, `ctx-${DOCKER_CLIENTS.indexOf(client)}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'Dockerfile'), `FROM ${reg.host}/auth/bb:latest\nRUN echo pulled-with-login\n`);
      const r = await api.docker(client, ['build', '--pull', '--no-cache', dir]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\nservice: ${api.log}`);
      assert.match(r.stdout, /pulled-with-login/);
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(reg.password!));
    });
  }
});
