// Image endpoints of `berth system service` driven by the real docker CLI: pull from a real
// local registry (streamed JSON progress), images, tag, history and `system df`; an unknown
// image is a clear error and a non-zero exit.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS } from '../helpers/api.js';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxLayout } from '../helpers/images.js';
import { skipUnless } from '../helpers/prereq.js';
import { skopeoCopy, startRegistry, type TestRegistry } from '../helpers/registry.js';

const lacking = apiLacking(['runc', 'docker-registry', 'skopeo']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-images-it-'));
const b = new Berth();
const api = new ApiService(b, work);
const { sock } = api;
const dockerOut = async (client: string, args: string[]) => (await api.dockerOk(client, args)).stdout;
let reg: TestRegistry | undefined;

function raw(method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, path, method }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  if (skip) return;
  reg = await startRegistry({ auth: 'none' });
  const bb = await makeBusyboxLayout(join(work, 'bb'), { tag: 'latest' });
  await skopeoCopy(`oci:${bb.layoutDir}:latest`, `docker://${reg.host}/bb:latest`);
  await api.start();
});

after(async () => {
  await api.stop();
  await reg?.stop();
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('image endpoints through the docker CLI', { skip }, () => {
  test('the raw pull stream is dockerd JSON lines, ending with the digest and status', async () => {
    const r = await raw('POST', `/v1.45/images/create?fromImage=${reg!.host}/bb&tag=latest`);
    assert.equal(r.status, 200);
    const lines = r.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status?: string; id?: string; progressDetail?: unknown });
    assert.deepEqual(lines[0], { status: 'Pulling from bb', id: 'latest' });
    assert.ok(lines.some((l) => l.status === 'Pull complete' && /^[0-9a-f]{12}$/.test(l.id ?? '')));
    assert.match(lines.at(-2)?.status ?? '', /^Digest: sha256:[0-9a-f]{64}$/);
    assert.equal(lines.at(-1)?.status, `Status: Downloaded newer image for ${reg!.host}/bb:latest`);
    const again = await raw('POST', `/images/create?fromImage=${reg!.host}/bb&tag=latest`);
    assert.match(again.body, /Status: Image is up to date for /);
    const other = await raw(
      'POST',
      `/images/create?fromImage=${reg!.host}/bb&tag=latest&platform=linux/s390x`,
    );
    // the platform is honoured; its refusal comes after the stream began, as an error line
    assert.equal(other.status, 200);
    const last = JSON.parse(other.body.trim().split('\n').at(-1)!) as {
      error?: string;
      errorDetail?: { message: string };
    };
    assert.match(last.error ?? '', /linux\/s390x/);
    assert.equal(last.errorDetail?.message, last.error);
    await b.ok(['rmi', `${reg!.host}/bb:latest`]);
  });

  test('bad requests are Docker JSON errors before any stream', async () => {
    const bad = await raw('POST', '/images/create?fromImage=UPPER/Case&tag=latest');
    assert.equal(bad.status, 400);
    assert.ok((JSON.parse(bad.body) as { message: string }).message);
    const src = await raw('POST', '/images/create?fromSrc=-');
    assert.equal(src.status, 400);
    assert.match(src.body, /fromSrc/);
    const unknown = await raw('POST', `/images/create?fromImage=${reg!.host}/nope&tag=latest`);
    assert.equal(unknown.status, 404);
    assert.match((JSON.parse(unknown.body) as { message: string }).message, /nope/);
    const noRegistry = await raw('POST', '/images/create?fromImage=127.0.0.1:1/x&tag=latest');
    assert.equal(noRegistry.status, 500);
    assert.match((JSON.parse(noRegistry.body) as { message: string }).message, /127\.0\.0\.1:1/);
  });

  for (const client of DOCKER_CLIENTS) {
    test(`${client}: pull, images, tag, history, system df; an unknown image fails clearly`, async () => {
      const ref = `${reg!.host}/bb:latest`;
      const out = await dockerOut(client, ['pull', ref]);
      assert.match(out, /latest: Pulling from bb/);
      assert.match(out, /Digest: sha256:[0-9a-f]{64}/);
      assert.match(out, new RegExp(`Status: (Downloaded newer image|Image is up to date) for ${ref}`));
      assert.match(
        await dockerOut(client, ['images']),
        new RegExp(`${reg!.host}/bb\\s+latest\\s+[0-9a-f]{12}`),
      );

      await dockerOut(client, ['tag', ref, 'local/tagged:v1']);
      assert.match(await dockerOut(client, ['images']), /local\/tagged\s+v1\s+[0-9a-f]{12}/);
      assert.match(await b.ok(['images']), /local\/tagged/);

      const history = await dockerOut(client, ['history', '--no-trunc', 'local/tagged:v1']);
      assert.match(history, /IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT/);
      assert.match(history, /sha256:[0-9a-f]{64}/);

      const df = await dockerOut(client, ['system', 'df']);
      assert.match(df, /Images\s+1\s+0\s+\S+/);
      assert.match(df, /Containers\s+0\s+0/);
      assert.match(df, /Local Volumes\s+0\s+0/);

      const bad = await api.docker(client, ['pull', `${reg!.host}/nope:latest`]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /nope/);

      await dockerOut(client, ['rmi', 'local/tagged:v1', ref]);
    });
  }
});
