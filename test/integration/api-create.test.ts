// The HostConfig the docker CLI sends for the create flags beyond the basics — tmpfs and
// --mount, ulimits, security options (a seccomp profile arrives as its JSON text), --cpus and
// the log driver with its options — through both docker clients against `berth system service`,
// checked inside the running container and in `docker inspect`.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS } from '../helpers/api.js';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { skipUnless } from '../helpers/prereq.js';

const lacking = apiLacking(['runc', 'conmon']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-create-it-'));
const b = new Berth();
const IMG = 'local/bb:apicreate';
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

describe('docker run with the wider HostConfig against berth system service', { skip }, () => {
  for (const [i, client] of DOCKER_CLIENTS.entries()) {
    describe(client, () => {
      test('tmpfs, --mount, ulimit, no-new-privileges, a seccomp profile file, --cpus, log options', async () => {
        const dir = join(work, `c${i}`);
        mkdirSync(dir, { recursive: true });
        const profile = join(dir, 'deny-mkdir.json');
        writeFileSync(
          profile,
          JSON.stringify({
            defaultAction: 'SCMP_ACT_ALLOW',
            syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
          }),
        );
        writeFileSync(join(dir, 'ro.txt'), 'from the host\n');
        const name = `wide${i}`;
        const script = [
          'grep "Max open files" /proc/self/limits',
          'grep NoNewPrivs /proc/self/status',
          'grep -E " /(scratch|t2) " /proc/mounts | cut -d" " -f2,3',
          'cat /host/ro.txt',
          'echo x > /host/ro.txt 2>/dev/null || echo ro-refused',
          'mkdir /tmp/d 2>/dev/null && echo made || echo denied',
        ].join('; ');
        const r = await api.docker(client, [
          'run',
          '--name',
          name,
          '--tmpfs',
          '/scratch:size=1m',
          '--mount',
          'type=tmpfs,target=/t2,tmpfs-size=65536',
          '--mount',
          `type=bind,source=${dir},target=/host,readonly`,
          '--ulimit',
          'nofile=512:1024',
          '--security-opt',
          'no-new-privileges',
          '--security-opt',
          `seccomp=${profile}`,
          '--cpus',
          '0.5',
          '--log-driver',
          'json-file',
          '--log-opt',
          'max-size=64k',
          IMG,
          'sh',
          '-c',
          script,
        ]);
        assert.equal(r.code, 0, `${r.stderr}\nservice: ${api.log}`);
        const lines = r.stdout.trim().split('\n');
        assert.match(lines[0]!, /Max open files\s+512\s+1024/);
        assert.match(lines[1]!, /NoNewPrivs:\s+1/);
        assert.deepEqual(lines.slice(2, 4).sort(), ['/scratch tmpfs', '/t2 tmpfs']);
        assert.deepEqual(lines.slice(4), ['from the host', 'ro-refused', 'denied']);
        const [info] = JSON.parse((await api.dockerOk(client, ['inspect', name])).stdout);
        assert.equal(info.HostConfig.NanoCpus, 500_000_000);
        assert.deepEqual(info.HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-size': '65536' } });
        // every tmpfs mount, --tmpfs and --mount type=tmpfs alike (berth keeps no origin)
        assert.deepEqual(info.HostConfig.Tmpfs, { '/scratch': 'size=1m', '/t2': 'size=65536' });
        assert.deepEqual(info.HostConfig.Ulimits, [{ Name: 'nofile', Soft: 512, Hard: 1024 }]);
        await api.dockerOk(client, ['rm', name]);
      });

      test('--log-driver none keeps no log, and docker logs says so; unsupported options fail clearly', async () => {
        const name = `nolog${i}`;
        await api.dockerOk(client, ['run', '--name', name, '--log-driver', 'none', IMG, 'echo', 'hidden']);
        const logs = await api.docker(client, ['logs', name]);
        assert.notEqual(logs.code, 0);
        assert.match(logs.stderr, /configured logging driver does not support reading/);
        await api.dockerOk(client, ['rm', name]);
        const syslog = await api.docker(client, ['run', '--rm', '--log-driver', 'syslog', IMG, 'true']);
        assert.notEqual(syslog.code, 0);
        assert.match(syslog.stderr, /log driver "syslog" is not supported/);
        const maxFile = await api.docker(client, ['run', '--rm', '--log-opt', 'max-file=3', IMG, 'true']);
        assert.notEqual(maxFile.code, 0);
        assert.match(maxFile.stderr, /max-file=3 is not supported/);
      });
    });
  }
});
