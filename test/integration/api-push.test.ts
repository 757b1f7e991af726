// Push and registry auth through `berth system service`, driven by the real docker CLIs against
// Debian's docker-registry with htpasswd basic auth: docker login (POST /auth), pull with the
// client's X-Registry-Auth, push (digest kept on a pull -> push round trip), pull back; then
// `berth push` itself, checked with skopeo and podman. Hostile input: bad references, unknown
// images, bad and malformed credentials.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS } from '../helpers/api.js';
import { Berth, runProcess } from '../helpers/berth.js';
import { makeBusyboxLayout } from '../helpers/images.js';
import { skipUnless } from '../helpers/prereq.js';
import { skopeoCopy, skopeoInspect, startRegistry, type TestRegistry } from '../helpers/registry.js';

const lacking = apiLacking(['runc', 'docker-registry', 'skopeo', 'htpasswd']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-push-it-'));
const b = new Berth();
const api = new ApiService(b, work);
let reg: TestRegistry;
let srcDigest: string;

interface Line {
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message: string };
  progressDetail?: { current?: number; total?: number };
  aux?: { Tag: string; Digest: string; Size: number };
}

function raw(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: api.sock, path, method, headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const lines = (body: string): Line[] =>
  body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
const authHeader = (doc: unknown) => ({
  'X-Registry-Auth': Buffer.from(JSON.stringify(doc)).toString('base64url'),
});
const creds = () => `${reg.username}:${reg.password}`;

before(async () => {
  if (skip) return;
  reg = await startRegistry({ auth: 'basic' });
  const bb = await makeBusyboxLayout(join(work, 'bb'), { tag: 'latest' });
  await skopeoCopy(`oci:${bb.layoutDir}:latest`, `docker://${reg.host}/src/bb:latest`, {
    destCreds: creds(),
  });
  srcDigest = (await skopeoInspect(`docker://${reg.host}/src/bb:latest`, { creds: creds() }))
    .Digest as string;
  await api.start();
});

after(async () => {
  await api.stop();
  await reg?.stop();
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('push and auth through the API', { skip }, () => {
  test('POST /auth: good credentials succeed, bad ones are a 401 in Docker shape, bodies are checked', async () => {
    const ok = await raw('POST', '/v1.45/auth', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: reg.username, password: reg.password, serveraddress: reg.host }),
    });
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), { Status: 'Login Succeeded', IdentityToken: '' });
    const bad = await raw('POST', '/auth', {
      body: JSON.stringify({ username: reg.username, password: 'wrong', serveraddress: reg.host }),
    });
    assert.equal(bad.status, 401, bad.body);
    const msg = (JSON.parse(bad.body) as { message: string }).message;
    assert.match(msg, /unauthorized|authentication required/i);
    assert.ok(!msg.includes('wrong'));
    assert.equal((await raw('POST', '/auth', { body: '{"username":' })).status, 400);
    assert.equal((await raw('POST', '/auth', { body: '{"username":"u"}' })).status, 400);
    assert.equal((await raw('POST', '/auth', { body: '{"username":7,"password":"p"}' })).status, 400);
  });

  test('X-Registry-Auth: pull uses it, malformed is a 400, bad credentials are an error', async () => {
    const path = `/images/create?fromImage=${reg.host}/src/bb&tag=latest`;
    const anonymous = await raw('POST', path);
    assert.equal(anonymous.status, 401, anonymous.body);
    const malformed = await raw('POST', path, { headers: { 'X-Registry-Auth': '!!not base64!!' } });
    assert.equal(malformed.status, 400);
    assert.match((JSON.parse(malformed.body) as { message: string }).message, /X-Registry-Auth/);
    const wrong = await raw('POST', path, {
      headers: authHeader({ username: reg.username, password: 'nope', serveraddress: reg.host }),
    });
    assert.equal(wrong.status, 401, wrong.body);
    const good = await raw('POST', path, {
      headers: authHeader({ username: reg.username, password: reg.password, serveraddress: reg.host }),
    });
    assert.equal(good.status, 200, good.body);
    assert.equal(lines(good.body).at(-2)?.status, `Digest: ${srcDigest}`);
  });

  test('the raw push stream is dockerd JSON lines; the digest survives the round trip', async () => {
    await b.ok(['tag', `${reg.host}/src/bb:latest`, `${reg.host}/raw/bb:v1`]);
    const r = await raw('POST', `/v1.45/images/${reg.host}/raw/bb/push?tag=v1`, {
      headers: authHeader({ username: reg.username, password: reg.password, serveraddress: reg.host }),
    });
    assert.equal(r.status, 200, r.body);
    const got = lines(r.body);
    assert.deepEqual(got[0], { status: `The push refers to repository [${reg.host}/raw/bb]` });
    assert.ok(got.some((l) => l.status === 'Preparing' && /^[0-9a-f]{12}$/.test(l.id ?? '')));
    assert.ok(
      got.some((l) => /^(Pushed|Layer already exists|Mounted from (src|raw)\/bb)$/.test(l.status ?? '')),
    );
    assert.ok(!got.some((l) => l.error), r.body);
    const size = got.at(-1)?.aux?.Size;
    assert.deepEqual(got.at(-1), { progressDetail: {}, aux: { Tag: 'v1', Digest: srcDigest, Size: size } });
    assert.equal(got.at(-2)?.status, `v1: digest: ${srcDigest} size: ${size}`);
    const inspected = await skopeoInspect(`docker://${reg.host}/raw/bb:v1`, { creds: creds() });
    assert.equal(inspected.Digest, srcDigest);

    // no tag: every local tag of the repository, as `docker push --all-tags` asks
    await b.ok(['tag', `${reg.host}/src/bb:latest`, `${reg.host}/raw/bb:v2`]);
    const all = await raw('POST', `/images/${reg.host}/raw/bb/push`, {
      headers: authHeader({ username: reg.username, password: reg.password }),
    });
    const tags = lines(all.body)
      .filter((l) => l.aux)
      .map((l) => l.aux!.Tag);
    assert.deepEqual(tags, ['v1', 'v2'], all.body);
    assert.ok(lines(all.body).some((l) => l.status === 'Layer already exists'));
  });

  test('push failures: unknown image 404, bad reference 400, bad credentials an error line', async () => {
    const unknown = await raw('POST', `/images/${reg.host}/raw/nothing/push?tag=v1`);
    assert.equal(unknown.status, 404);
    assert.match((JSON.parse(unknown.body) as { message: string }).message, /does not exist locally/);
    const noTags = await raw('POST', `/images/${reg.host}/raw/nothing/push`);
    assert.equal(noTags.status, 404);
    const badRef = await raw('POST', `/images/${encodeURIComponent('UPPER/Case')}/push?tag=v1`);
    assert.equal(badRef.status, 400, badRef.body);
    const badTag = await raw('POST', `/images/${reg.host}/raw/bb/push?tag=${encodeURIComponent('bad tag')}`);
    assert.equal(badTag.status, 400, badTag.body);
    const malformed = await raw('POST', `/images/${reg.host}/raw/bb/push?tag=v1`, {
      headers: { 'X-Registry-Auth': Buffer.from('not json').toString('base64url') },
    });
    assert.equal(malformed.status, 400);
    const wrong = await raw('POST', `/images/${reg.host}/raw/bb/push?tag=v1`, {
      headers: authHeader({ username: reg.username, password: 'nope' }),
    });
    assert.equal(wrong.status, 200);
    const last = lines(wrong.body).at(-1)!;
    assert.match(last.error ?? '', /unauthorized|authentication required/i);
    assert.equal(last.errorDetail?.message, last.error);
    assert.ok(!wrong.body.includes('nope'));
  });

  for (const [i, client] of DOCKER_CLIENTS.entries()) {
    test(`${client}: login, pull, push, pull back, with the digest kept`, async () => {
      const src = `${reg.host}/src/bb:latest`;
      // (a pull before login is refused with a 401, which makes the 28.x client prompt for a
      // login and wait: the raw X-Registry-Auth test above covers that refusal)

      const badLogin = await api.docker(
        client,
        ['login', '-u', reg.username!, '--password-stdin', reg.host],
        'wrong-password',
      );
      assert.notEqual(badLogin.code, 0);
      assert.match(badLogin.stderr, /unauthorized|authentication required|401/i);

      const login = await api.docker(
        client,
        ['login', '-u', reg.username!, '--password-stdin', reg.host],
        reg.password!,
      );
      assert.equal(login.code, 0, login.stderr + api.log);
      assert.match(login.stdout, /Login Succeeded/);
      const config = JSON.parse(readFileSync(join(work, 'docker-config', 'config.json'), 'utf8'));
      assert.ok(config.auths?.[reg.host], 'docker login stores the credentials in the client config');

      await api.dockerOk(client, ['pull', src]);
      const dest = `${reg.host}/pushed/bb:c${i}`;
      await api.dockerOk(client, ['tag', src, dest]);
      const push = await api.dockerOk(client, ['push', dest]);
      assert.match(push.stdout, new RegExp(`The push refers to repository \\[${reg.host}/pushed/bb\\]`));
      assert.match(push.stdout, /: (Pushed|Layer already exists|Mounted from (src|raw)\/bb)/);
      assert.match(push.stdout, new RegExp(`c${i}: digest: ${srcDigest} size: \\d+`));
      const inspected = await skopeoInspect(`docker://${dest}`, { creds: creds() });
      assert.equal(inspected.Digest, srcDigest);

      await api.dockerOk(client, ['rmi', dest, src]);
      const back = await api.dockerOk(client, ['pull', dest]);
      assert.match(back.stdout, new RegExp(`Digest: ${srcDigest}`));
      const unknown = await api.docker(client, ['push', `${reg.host}/pushed/none:v1`]);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /does not exist locally|no such image/i);
      await api.dockerOk(client, ['rmi', dest]);
      await api.dockerOk(client, ['logout', reg.host]);
    });
  }
});

describe('berth push', { skip }, () => {
  const authFile = join(work, 'berth-auth.json');

  test('without credentials it fails in one line; with login it pushes and skopeo and podman read it', async () => {
    const login = await b.run(
      ['login', '--authfile', authFile, '-u', reg.username!, '--password-stdin', reg.host],
      {
        input: `${reg.password}\n`,
      },
    );
    assert.equal(login.code, 0, login.stderr);
    await b.ok(['pull', '-q', '--authfile', authFile, `${reg.host}/src/bb:latest`]);

    const noAuth = await b.run([
      'push',
      '--authfile',
      join(work, 'empty-auth.json'),
      `${reg.host}/src/bb:latest`,
      `${reg.host}/cli/bb:v1`,
    ]);
    assert.equal(noAuth.code, 1);
    assert.equal(noAuth.stderr.trim().split('\n').length, 1, noAuth.stderr);
    assert.match(noAuth.stderr, /unauthorized|authentication required/i);

    const digestFile = join(work, 'digest');
    const out = await b.ok([
      'push',
      '--authfile',
      authFile,
      '--digestfile',
      digestFile,
      `${reg.host}/src/bb:latest`,
      `${reg.host}/cli/bb:v1`,
    ]);
    assert.match(out, new RegExp(`The push refers to repository \\[${reg.host}/cli/bb\\]`));
    assert.match(out, /[0-9a-f]{12}: (Pushed|Layer already exists|Mounted from)/);
    assert.match(out, new RegExp(`v1: digest: ${srcDigest} size: \\d+`));
    assert.equal(readFileSync(digestFile, 'utf8'), srcDigest);
    assert.equal(
      (await skopeoInspect(`docker://${reg.host}/cli/bb:v1`, { creds: creds() })).Digest,
      srcDigest,
    );

    // again: every blob is there already; -q prints only the reference
    const again = await b.ok([
      'push',
      '-q',
      '--authfile',
      authFile,
      `${reg.host}/src/bb:latest`,
      `${reg.host}/cli/bb:v2`,
    ]);
    assert.equal(again.trim(), `${reg.host}/cli/bb:v2`);

    const podmanDir = join(work, 'podman');
    const podman = await runProcess('podman', [
      '--root',
      join(podmanDir, 'root'),
      '--runroot',
      join(podmanDir, 'run'),
      '--storage-driver',
      'vfs',
      'pull',
      '--tls-verify=false',
      '--creds',
      creds(),
      `${reg.host}/cli/bb:v1`,
    ]);
    assert.equal(podman.code, 0, podman.stderr);
    const inspect = await b.ok([
      'image',
      'inspect',
      '--format',
      '{{json .RepoDigests}}',
      `${reg.host}/src/bb:latest`,
    ]);
    assert.ok(inspect.includes(`${reg.host}/cli/bb@${srcDigest}`), inspect);
  });

  test('an image made here (import) pushes, with the same digest every time, and skopeo copies it out', async () => {
    const rootfs = join(work, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc', 'hello'), 'hello from berth\n');
    await b.importRootfs(rootfs, join(work, 'rootfs.tar'), `${reg.host}/local/imp:v1`);
    const first = await b.ok(['push', '--authfile', authFile, `${reg.host}/local/imp:v1`]);
    const digest = /v1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(first)?.[1];
    assert.ok(digest, first);
    assert.match(first, /[0-9a-f]{12}: Pushed/);
    const second = await b.ok([
      'push',
      '--authfile',
      authFile,
      `${reg.host}/local/imp:v1`,
      `${reg.host}/local/imp:v2`,
    ]);
    assert.match(second, /[0-9a-f]{12}: Layer already exists/);
    assert.match(second, new RegExp(`v2: digest: ${digest} size`));
    await skopeoCopy(`docker://${reg.host}/local/imp:v2`, `oci:${join(work, 'imp-oci')}:v2`, {
      srcCreds: creds(),
    });
    assert.equal(
      (await skopeoInspect(`docker://${reg.host}/local/imp:v2`, { creds: creds() })).Digest,
      digest,
    );
  });

  test('hostile input: bad reference, unknown image, an ID without a destination, a digest destination', async () => {
    const badRef = await b.run(['push', 'UPPER/Case:x']);
    assert.notEqual(badRef.code, 0);
    assert.match(badRef.stderr, /invalid reference/i);
    const unknown = await b.run(['push', `${reg.host}/none/bb:v1`]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no such image/i);
    const id = (await b.ok(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/src/bb:latest`])).trim();
    const byId = await b.run(['push', id.slice(7, 19)]);
    assert.notEqual(byId.code, 0);
    assert.match(byId.stderr, /destination/);
    const toDigest = await b.run(['push', `${reg.host}/src/bb:latest`, `${reg.host}/x/bb@${srcDigest}`]);
    assert.notEqual(toDigest.code, 0);
    assert.match(toDigest.stderr, /digest/);
  });
});
