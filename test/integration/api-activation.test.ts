// `berth system service` started on demand by systemd socket activation (systemd's own
// systemd-socket-activate, which passes the listening socket as fd 3 the way systemd does):
// the first client starts it, an idle timeout ends it, and a container it ran outlives it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiLacking, DOCKER_CLIENTS } from '../helpers/api.js';
import { BERTH_BIN, Berth, runProcess } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const lacking = apiLacking(['runc', 'conmon', 'systemd-socket-activate']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-activation-it-'));
const b = new Berth();
const IMG = 'local/bb:activation';

before(async () => {
  if (skip) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), IMG);
});

after(async () => {
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe('socket activation', { skip }, () => {
  test('the first client starts the service; it exits when idle; its container runs on', async () => {
    const sock = join(work, 'activated.sock');
    const activator = spawn(
      'systemd-socket-activate',
      [
        '-l',
        sock,
        process.execPath,
        BERTH_BIN,
        '--root',
        b.root,
        '--runroot',
        b.runroot,
        'system',
        'service',
        '--timeout',
        '2',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    activator.stderr.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => activator.on('close', resolve));
    try {
      await waitFor(() => existsSync(sock), { what: 'systemd-socket-activate to listen' });
      assert.doesNotMatch(log, /berth API listening/, 'nothing runs before a client comes');
      const docker = (args: string[]) =>
        runProcess(DOCKER_CLIENTS[0]!, ['-H', `unix://${sock}`, ...args], {
          env: { DOCKER_CONFIG: join(work, 'docker-config') },
          timeoutMs: 60_000,
        });
      const v = await docker(['version', '--format', '{{.Server.APIVersion}}']);
      assert.equal(v.stdout.trim(), '1.45', `${v.stderr}\n${log}`);
      assert.match(log, /berth API listening on fd:\/\/3/);
      const run = await docker(['run', '-d', '--name', 'outlives', IMG, 'sleep', '300']);
      assert.equal(run.code, 0, `${run.stderr}\n${log}`);
      // idle for 2 s: the service exits, and with it the activator it replaced
      assert.equal(await exited, 0, log);
      const [info] = JSON.parse(await b.ok(['inspect', 'outlives']));
      assert.equal(info.State.Running, true, 'the container runs on under conmon');
    } finally {
      activator.kill();
      await b.run(['rm', '-f', 'outlives']);
    }
  });

  test('an activation that passes more than one socket is refused', async () => {
    const r = await runProcess(
      'sh',
      [
        '-c',
        'LISTEN_PID=$$ LISTEN_FDS=2 exec "$@"',
        'sh',
        process.execPath,
        BERTH_BIN,
        '--root',
        b.root,
        '--runroot',
        b.runroot,
        'system',
        'service',
      ],
      { timeoutMs: 30_000 },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /LISTEN_FDS=2; berth serves exactly one socket/);
  });
});
