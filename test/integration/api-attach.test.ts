// Attach and exec through HTTP upgrade with the real docker CLI (both clients on this machine)
// against `berth system service`: attached runs keep stdout and stderr apart and pass the exit
// code, `run -i` carries stdin to EOF, and `exec` returns output and exit codes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS } from '../helpers/api.js';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { skipUnless } from '../helpers/prereq.js';

const lacking = apiLacking(['runc', 'conmon']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-attach-it-'));
const b = new Berth();
const IMG = 'local/bb:apiattach';
const api = new ApiService(b, work);

before(async () => {
  if (skip) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG);
  await api.start();
});

after(async () => {
  await api.stop();
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('docker run (attached) and docker exec against berth system service', { skip }, () => {
  for (const client of DOCKER_CLIENTS) {
    describe(client, () => {
      test('run keeps stdout and stderr apart and exits with the container', async () => {
        const r = await api.docker(client, [
          'run',
          '--rm',
          IMG,
          'sh',
          '-c',
          'echo out; echo err >&2; exit 3',
        ]);
        assert.equal(r.code, 3, `${r.stderr}\nservice: ${api.log}`);
        assert.equal(r.stdout, 'out\n');
        assert.equal(r.stderr, 'err\n');
      });

      test('run -i carries stdin to EOF', async () => {
        const r = await api.docker(client, ['run', '-i', '--rm', IMG, 'cat'], 'hi\n');
        assert.equal(r.code, 0, `${r.stderr}\nservice: ${api.log}`);
        assert.equal(r.stdout, 'hi\n');
      });

      test('exec returns output and exit codes', async () => {
        const name = `ex-${DOCKER_CLIENTS.indexOf(client)}`;
        await b.ok(['run', '-d', '--name', name, IMG, 'sleep', '300']);
        try {
          const hi = await api.docker(client, ['exec', name, 'echo', 'hi']);
          assert.equal(hi.code, 0, `${hi.stderr}\nservice: ${api.log}`);
          assert.equal(hi.stdout, 'hi\n');
          const five = await api.docker(client, ['exec', name, 'sh', '-c', 'exit 5']);
          assert.equal(five.code, 5, `${five.stderr}\nservice: ${api.log}`);
          const cat = await api.docker(client, ['exec', '-i', name, 'cat'], 'in\n');
          assert.equal(cat.code, 0, `${cat.stderr}\nservice: ${api.log}`);
          assert.equal(cat.stdout, 'in\n');
        } finally {
          await b.run(['rm', '-f', name]);
        }
      });
    });
  }
});
