// The docker CLI lifecycle commands the other API tests do not drive, with both docker clients
// against `berth system service`: `port`, `restart`, `wait` on a running container, `kill -s`
// with a signal the container handles, and `pause`/`unpause`/`rename` on a running one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

const work = mkdtempSync(join(tmpdir(), 'berth-api-life-it-'));
const b = new Berth();
const IMG = 'local/bb:apilife';
const api = new ApiService(b, work);
/** Exits 3 on USR1 (a pid 1 without a handler ignores it), and says when the trap is set. */
const TRAPPING = ['sh', '-c', 'trap "exit 3" USR1; touch /armed; sleep 600 & wait'];

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

const inspect = async (format: string, name: string) =>
  (await b.ok(['inspect', '--format', format, name])).trim();

describe('docker port, restart, wait, kill -s, pause and rename against berth system service', {
  skip,
}, () => {
  for (const [n, client] of DOCKER_CLIENTS.entries()) {
    describe(client, () => {
      test('port lists the published ports, all or one', async () => {
        const name = `life-port-${n}`;
        await api.dockerOk(client, [
          'run',
          '-d',
          '--name',
          name,
          '-p',
          '127.0.0.1::8080',
          '-p',
          '127.0.0.1::53/udp',
          IMG,
          'sleep',
          '600',
        ]);
        const all = (await api.dockerOk(client, ['port', name])).stdout;
        const tcp = /^8080\/tcp -> 127\.0\.0\.1:(\d+)$/m.exec(all);
        assert.ok(tcp, all);
        assert.match(all, /^53\/udp -> 127\.0\.0\.1:\d+$/m);
        const one = (await api.dockerOk(client, ['port', name, '8080/tcp'])).stdout.trim();
        assert.equal(one, `127.0.0.1:${tcp[1]}`);
        const none = await api.docker(client, ['port', name, '9999']);
        assert.notEqual(none.code, 0);
        await api.dockerOk(client, ['rm', '-f', name]);
      });

      test('restart runs the container again (a new process, a new start time)', async () => {
        const name = `life-restart-${n}`;
        await api.dockerOk(client, ['run', '-d', '--name', name, IMG, 'sleep', '600']);
        const [pid, started] = (await inspect('{{.State.Pid}} {{.State.StartedAt}}', name)).split(' ');
        await api.dockerOk(client, ['restart', '-t', '1', name]);
        const [pid2, started2, running] = (
          await inspect('{{.State.Pid}} {{.State.StartedAt}} {{.State.Running}}', name)
        ).split(' ');
        assert.equal(running, 'true');
        assert.notEqual(pid2, pid);
        assert.notEqual(started2, started);
        // a stopped container restarts too
        await api.dockerOk(client, ['stop', '-t', '1', name]);
        await api.dockerOk(client, ['restart', name]);
        assert.equal(await inspect('{{.State.Running}}', name), 'true');
        await api.dockerOk(client, ['rm', '-f', name]);
      });

      test('wait blocks on a running container and prints the code kill -s USR1 made it exit with', async () => {
        const name = `life-wait-${n}`;
        await api.dockerOk(client, ['run', '-d', '--name', name, IMG, ...TRAPPING]);
        await waitFor(async () => (await b.run(['exec', name, 'test', '-e', '/armed'])).code === 0, {
          what: 'the trap to be set',
        });
        const env = {
          ...process.env,
          DOCKER_HOST: `unix://${api.sock}`,
          DOCKER_CONFIG: join(work, 'docker-config'),
        };
        const waiter = spawn(client, ['wait', name], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        waiter.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        const exited = new Promise<number | null>((resolve) => waiter.on('close', resolve));
        // whether the waiter's request lands before or after the exit, it prints the code
        await api.dockerOk(client, ['kill', '-s', 'USR1', name]);
        assert.equal(await exited, 0);
        assert.equal(out.trim(), '3');
        assert.match(
          (await api.dockerOk(client, ['ps', '-a', '--filter', `name=${name}`])).stdout,
          /Exited \(3\)/,
        );
        await api.dockerOk(client, ['rm', name]);
      });

      test('pause, unpause and rename of a running container', async () => {
        const name = `life-pause-${n}`;
        await api.dockerOk(client, ['run', '-d', '--name', name, IMG, 'sleep', '600']);
        await api.dockerOk(client, ['pause', name]);
        assert.equal(await inspect('{{.State.Status}}', name), 'paused');
        const busy = await api.docker(client, ['exec', name, 'true']);
        assert.notEqual(busy.code, 0, 'no exec in a paused container');
        await api.dockerOk(client, ['unpause', name]);
        assert.equal(await inspect('{{.State.Status}}', name), 'running');
        await api.dockerOk(client, ['rename', name, `${name}-new`]);
        assert.equal(await inspect('{{.Name}}', `${name}-new`), `/${name}-new`);
        const old = await api.docker(client, ['inspect', name]);
        assert.notEqual(old.code, 0);
        const taken = await api.docker(client, ['rename', `${name}-new`, `${name}-new`]);
        assert.notEqual(taken.code, 0, 'a name in use is refused');
        await api.dockerOk(client, ['rm', '-f', `${name}-new`]);
      });
    });
  }
});
