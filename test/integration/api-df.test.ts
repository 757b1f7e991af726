// GET /system/df with real sizes: a container that wrote a known number of bytes and a volume
// holding a known number, through the API and `docker system df -v` of both docker clients.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS } from '../helpers/api.js';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const lacking = apiLacking(['runc', 'conmon']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-df-it-'));
const b = new Berth();
const IMG = 'local/bb:apidf';
const api = new ApiService(b, work);
const RW_BYTES = 3 * 1024 * 1024;
const VOLUME_BYTES = 2 * 1024 * 1024;

function getJson(path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: api.sock, path }, async (res) => {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode} ${text}`));
      else resolve(JSON.parse(text));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Df {
  Images?: { Id: string; Containers: number; Size: number; VirtualSize?: number }[];
  Containers?: { Id: string; Names: string[]; SizeRw: number; SizeRootFs: number }[];
  Volumes?: { Name: string; UsageData: { Size: number; RefCount: number } }[];
}

before(async () => {
  if (skip) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG);
  await api.start();
  await b.ok([
    'run',
    '-d',
    '--name',
    'dfwriter',
    '-v',
    'dfvol:/data',
    IMG,
    'sh',
    '-c',
    `head -c ${RW_BYTES} /dev/zero > /written && head -c ${VOLUME_BYTES} /dev/zero > /data/f && touch /done && sleep 600`,
  ]);
  await waitFor(async () => (await b.run(['exec', 'dfwriter', 'test', '-e', '/done'])).code === 0, {
    what: 'the writes in the container',
  });
});

after(async () => {
  await api.stop();
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('system df with real sizes', { skip }, () => {
  test('GET /system/df: SizeRw, SizeRootFs, the volume UsageData and the image Containers count', async () => {
    const df = (await getJson('/v1.45/system/df')) as Df;
    const c = df.Containers!.find((x) => x.Names[0] === '/dfwriter')!;
    // the written file, plus the /done marker and the mount points the runtime made
    assert.ok(c.SizeRw >= RW_BYTES && c.SizeRw < RW_BYTES + 64 * 1024, `SizeRw ${c.SizeRw}`);
    const image = df.Images!.find((i) => i.Containers === 1)!;
    assert.ok(image, 'the image counts its one container');
    assert.equal(c.SizeRootFs, c.SizeRw + image.Size);
    assert.equal('VirtualSize' in image, false, 'no VirtualSize from 1.44 on');
    const v = df.Volumes!.find((x) => x.Name === 'dfvol')!;
    assert.deepEqual(v.UsageData, { Size: VOLUME_BYTES, RefCount: 1 });
    // 1.43 still gets VirtualSize, and `type` narrows the answer
    const old = (await getJson('/v1.43/system/df')) as Df;
    assert.equal(old.Images![0]!.VirtualSize, old.Images![0]!.Size);
    const volumesOnly = (await getJson('/v1.45/system/df?type=volume')) as Df;
    assert.equal(volumesOnly.Containers, undefined);
    assert.equal(volumesOnly.Volumes!.length, 1);
  });

  for (const client of DOCKER_CLIENTS) {
    test(`${client} system df -v shows the sizes`, async () => {
      const out = (await api.dockerOk(client, ['system', 'df', '-v'])).stdout;
      // docker prints decimal units with 4 significant digits: 2 MiB = 2.097MB, 3 MiB and a bit 3.1xMB
      assert.match(out, /^dfvol\s+1\s+2\.097MB\s*$/m, out);
      const row = out.split('\n').find((l) => l.includes('dfwriter'));
      assert.match(row ?? '', /\s3\.1\d*MB\s/, out);
      assert.match(out, new RegExp(`${IMG.split(':')[0]}\\s+apidf\\s.*\\s1\\s*$`, 'm'), out);
    });
  }
});
