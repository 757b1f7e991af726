// Attach and exec through HTTP upgrade with the real docker CLI (both clients on this machine)
// against `berth system service`: attached runs keep stdout and stderr apart and pass the exit
// code, `run -i` carries stdin to EOF, and `exec` returns output and exit codes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth, runProcess } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { missing, skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const CLIENTS = ['/usr/local/bin/docker', '/usr/bin/docker'].filter((p) => existsSync(p));
const lacking =
  missing({ root: true, commands: ['runc', 'conmon'] }) ?? (CLIENTS.length ? undefined : 'docker');
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-attach-it-'));
const b = new Berth();
const IMG = 'local/bb:apiattach';
const sock = join(work, 'api', 'berth.sock');
let service: ReturnType<Berth['start']> | undefined;
let serviceLog = '';

function docker(client: string, args: string[], input?: string) {
  const env = { DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(work, 'docker-config') };
  if (input === undefined) return runProcess(client, args, { env, timeoutMs: 60_000 });
  return runProcess('sh', ['-c', `printf '%s' "$IN" | "$0" "$@"`, client, ...args], {
    env: { ...env, IN: input },
    timeoutMs: 60_000,
  });
}

function ping(): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, path: '/_ping' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  if (skip) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG);
  service = b.start(['system', 'service', '--socket', sock]);
  service.child.stderr?.on('data', (d: Buffer) => {
    serviceLog += d.toString();
  });
  await waitFor(async () => (await ping().catch(() => '')) === 'OK', { what: 'the API socket to answer' });
});

after(async () => {
  if (service) {
    service.child.kill('SIGTERM');
    await service.closed;
  }
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('docker run (attached) and docker exec against berth system service', { skip }, () => {
  for (const client of CLIENTS) {
    describe(client, () => {
      test('run keeps stdout and stderr apart and exits with the container', async () => {
        const r = await docker(client, ['run', '--rm', IMG, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
        assert.equal(r.code, 3, `${r.stderr}\nservice: ${serviceLog}`);
        assert.equal(r.stdout, 'out\n');
        assert.equal(r.stderr, 'err\n');
      });

      test('run -i carries stdin to EOF', async () => {
        const r = await docker(client, ['run', '-i', '--rm', IMG, 'cat'], 'hi\n');
        assert.equal(r.code, 0, `${r.stderr}\nservice: ${serviceLog}`);
        assert.equal(r.stdout, 'hi\n');
      });

      test('exec returns output and exit codes', async () => {
        const name = `ex-${CLIENTS.indexOf(client)}`;
        await b.ok(['run', '-d', '--name', name, IMG, 'sleep', '300']);
        try {
          const hi = await docker(client, ['exec', name, 'echo', 'hi']);
          assert.equal(hi.code, 0, `${hi.stderr}\nservice: ${serviceLog}`);
          assert.equal(hi.stdout, 'hi\n');
          const five = await docker(client, ['exec', name, 'sh', '-c', 'exit 5']);
          assert.equal(five.code, 5, `${five.stderr}\nservice: ${serviceLog}`);
          const cat = await docker(client, ['exec', '-i', name, 'cat'], 'in\n');
          assert.equal(cat.code, 0, `${cat.stderr}\nservice: ${serviceLog}`);
          assert.equal(cat.stdout, 'in\n');
        } finally {
          await b.run(['rm', '-f', name]);
        }
      });
    });
  }
});
