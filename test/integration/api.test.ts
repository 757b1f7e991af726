// `berth system service` driven by the real docker CLI (both clients on this machine: Debian's
// 20.10 at API 1.41 and the 28.x one, downgraded to 1.45), over a private root that the berth
// CLI uses at the same time: what one creates, the other sees.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS, importBusybox, removeAll } from '../helpers/api.js';
import { Berth, runProcess } from '../helpers/berth.js';
import { skipUnless } from '../helpers/prereq.js';
import { selfSignedCert } from '../helpers/tls.js';
import { waitFor } from '../helpers/wait.js';

const lacking = apiLacking(['runc', 'conmon', 'openssl']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-it-'));
const b = new Berth();
const IMG = 'local/bb:api';
const api = new ApiService(b, work);
const { sock } = api;
const dockerOut = async (client: string, args: string[]) => (await api.dockerOk(client, args)).stdout;

function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, path }, (res) => {
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

/** Send a request and resolve with its status once the headers arrive; `body` with the rest. */
function rawPost(path: string): Promise<{ status: number; body: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, path, method: 'POST' }, (res) => {
      const body = new Promise<string>((done) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => done(text));
      });
      resolve({ status: res.statusCode ?? 0, body });
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  if (skip) return;
  await importBusybox(b, work, IMG);
  await api.start();
});

after(async () => {
  await api.stop();
  await removeAll(b, work);
});

describe('the docker CLI against berth system service', { skip }, () => {
  for (const client of DOCKER_CLIENTS) {
    describe(client, () => {
      test('version, info, images and network ls', async () => {
        const version = await dockerOut(client, ['version']);
        assert.match(version, /Server: berth/);
        assert.match(version, /API version:\s+1\.4[1-5]/);
        assert.match(await dockerOut(client, ['info']), /Storage Driver: overlay/);
        const images = await dockerOut(client, ['images']);
        assert.match(images, /local\/bb\s+api\s+[0-9a-f]{12}/);
        assert.match(await dockerOut(client, ['network', 'ls']), /\sberth\s+bridge\s+local/);
        assert.match(await dockerOut(client, ['image', 'inspect', '--format', '{{.Id}}', IMG]), /^sha256:/);
      });

      test('volume create, ls, inspect and rm; the berth CLI sees the same volumes', async () => {
        assert.equal(
          (await dockerOut(client, ['volume', 'create', '--label', 'k=v', 'apivol'])).trim(),
          'apivol',
        );
        assert.match(await dockerOut(client, ['volume', 'ls']), /local\s+apivol/);
        assert.match(await b.ok(['volume', 'ls']), /apivol/);
        assert.equal(
          (await dockerOut(client, ['volume', 'inspect', '--format', '{{.Labels.k}}', 'apivol'])).trim(),
          'v',
        );
        assert.equal((await dockerOut(client, ['volume', 'rm', 'apivol'])).trim(), 'apivol');
        assert.doesNotMatch(await b.ok(['volume', 'ls']), /apivol/);
        const again = await api.docker(client, ['volume', 'rm', 'apivol']);
        assert.notEqual(again.code, 0);
        assert.match(again.stderr, /apivol/);
      });

      test('network create, inspect and rm', async () => {
        const id = (
          await dockerOut(client, ['network', 'create', '--subnet', '10.231.81.0/24', 'apinet'])
        ).trim();
        assert.match(id, /^[0-9a-f]{64}$/);
        assert.match(await b.ok(['network', 'ls']), /apinet/);
        const subnet = await dockerOut(client, [
          'network',
          'inspect',
          '--format',
          '{{(index .IPAM.Config 0).Subnet}}',
          'apinet',
        ]);
        assert.equal(subnet.trim(), '10.231.81.0/24');
        await dockerOut(client, ['network', 'rm', 'apinet']);
        assert.doesNotMatch(await b.ok(['network', 'ls']), /apinet/);
      });

      test('containers made by the berth CLI: ps, inspect, stop, start, wait, rm -f', async () => {
        const name = `apic${DOCKER_CLIENTS.indexOf(client)}`;
        await b.ok(['run', '-d', '--name', name, IMG, 'sleep', '300']);
        const ps = await dockerOut(client, ['ps']);
        assert.match(ps, new RegExp(`local/bb:api\\s+"sleep 300"\\s+.*Up .*\\s${name}\\n`));
        assert.equal(
          (await dockerOut(client, ['inspect', '--format', '{{.State.Running}}', name])).trim(),
          'true',
        );
        await dockerOut(client, ['stop', '-t', '1', name]);
        assert.match(await dockerOut(client, ['ps', '-a', '--filter', `name=${name}`]), /Exited \(\d+\)/);
        assert.doesNotMatch(await dockerOut(client, ['ps']), new RegExp(name));
        assert.equal((await b.ok(['inspect', '--format', '{{.State.Status}}', name])).trim(), 'exited');
        await dockerOut(client, ['start', name]);
        assert.equal((await b.ok(['inspect', '--format', '{{.State.Status}}', name])).trim(), 'running');
        await dockerOut(client, ['rm', '-f', name]);
        assert.equal((await b.run(['inspect', name])).code, 1);

        const exits = `${name}x`;
        await b.ok(['run', '-d', '--name', exits, IMG, 'sh', '-c', 'exit 3']);
        assert.equal((await dockerOut(client, ['wait', exits])).trim(), '3');
        await dockerOut(client, ['rm', exits]);
      });

      test('run -d (create + start) with ports, env, labels, binds and a restart policy', async () => {
        const i = DOCKER_CLIENTS.indexOf(client);
        const name = `apirun${i}`;
        const id = (
          await dockerOut(client, [
            'run',
            '-d',
            '--name',
            name,
            '-p',
            `127.0.0.1:${18590 + i}:80`,
            '-e',
            'A=b',
            '-l',
            'k=v',
            '-v',
            `${work}:/host:ro`,
            '--restart',
            'on-failure:2',
            IMG,
            'sleep',
            '300',
          ])
        ).trim();
        assert.match(id, /^[0-9a-f]{64}$/);
        assert.match(
          await dockerOut(client, ['ps']),
          new RegExp(`127\\.0\\.0\\.1:${18590 + i}->80/tcp\\s+${name}`),
        );
        const seen = await b.ok([
          'inspect',
          '--format',
          '{{.Config.Env}} {{.HostConfig.RestartPolicy.Name}} {{.Config.Labels.k}}',
          name,
        ]);
        assert.match(seen, /A=b.*on-failure v/);
        assert.match(await b.ok(['exec', name, 'sh', '-c', 'test -d /host && echo bound']), /bound/);

        await dockerOut(client, ['rm', '-f', name]);

        // without a restart policy, so the kill below leaves it exited
        await dockerOut(client, ['run', '-d', '--name', name, IMG, 'sleep', '300']);
        await dockerOut(client, ['pause', name]);
        assert.match(await dockerOut(client, ['ps']), /\(Paused\)/);
        await dockerOut(client, ['unpause', name]);
        await dockerOut(client, ['rename', name, `${name}b`]);
        await dockerOut(client, ['kill', `${name}b`]);
        assert.match(await dockerOut(client, ['ps', '-a', '--filter', `name=${name}b`]), /Exited \(137\)/);
        await dockerOut(client, ['rm', `${name}b`]);

        const missingImage = await api.docker(client, ['create', '--memory-swappiness', '10', IMG]);
        assert.notEqual(missingImage.code, 0);
        assert.match(missingImage.stderr, /MemorySwappiness is not supported/);
      });

      test('network connect and disconnect; prunes; rmi', async () => {
        const i = DOCKER_CLIENTS.indexOf(client);
        const net = `apinet${i}`;
        await dockerOut(client, ['network', 'create', net]);
        await dockerOut(client, ['create', '--name', `apiconn${i}`, IMG, 'true']);
        await dockerOut(client, ['network', 'connect', '--alias', 'al', net, `apiconn${i}`]);
        assert.match(
          await b.ok(['inspect', '--format', '{{json .NetworkSettings.Networks}}', `apiconn${i}`]),
          new RegExp(net),
        );
        await dockerOut(client, ['network', 'disconnect', net, `apiconn${i}`]);
        assert.match(await dockerOut(client, ['container', 'prune', '-f']), /Total reclaimed space/);
        assert.equal((await b.run(['inspect', `apiconn${i}`])).code, 1);
        assert.match(await dockerOut(client, ['network', 'prune', '-f']), new RegExp(net));
        await dockerOut(client, ['volume', 'create', `apiprune${i}`]);
        await dockerOut(client, ['volume', 'prune', '-f', '--filter', 'all=true']);
        assert.doesNotMatch(await b.ok(['volume', 'ls']), new RegExp(`apiprune${i}`));
        await dockerOut(client, ['image', 'prune', '-f']);
        await b.ok(['tag', IMG, `local/extra:${i}`]);
        assert.match(
          await dockerOut(client, ['rmi', `local/extra:${i}`]),
          new RegExp(`Untagged: local/extra:${i}`),
        );
        const gone = await api.docker(client, ['rmi', 'local/nothing:1']);
        assert.notEqual(gone.code, 0);
      });

      test('ps --filter since= / before= and --last', async () => {
        const i = DOCKER_CLIENTS.indexOf(client);
        const first = (await b.ok(['create', '--name', `apifirst${i}`, IMG, 'true'])).trim();
        const second = (await b.ok(['create', '--name', `apisecond${i}`, IMG, 'true'])).trim();
        const ids = async (args: string[]) =>
          (await dockerOut(client, ['ps', '-q', '--no-trunc', ...args])).trim().split('\n');
        assert.deepEqual(await ids(['--filter', `since=apifirst${i}`]), [second]);
        assert.deepEqual(await ids(['--filter', `before=apisecond${i}`, '--filter', `name=apifirst${i}`]), [
          first,
        ]);
        assert.deepEqual(await ids(['-n', '1']), [second]);
        await dockerOut(client, ['rm', first, second]);
      });

      test('errors: a missing container is docker’s "No such container", exit 1', async () => {
        const r = await api.docker(client, ['inspect', '--type', 'container', 'nothing-here']);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /No such container|no such container|not found/i);
      });
    });
  }

  test('an unknown API version is a 400 with docker’s message, and the server goes on', async () => {
    const r = await rawGet('/v1.99/version');
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).message, /client version 1\.99 is too new/);
    assert.equal((await rawGet('/_ping')).body, 'OK');
  });

  test('wait with next-exit on a container not started yet, and removed, answer after the event', async () => {
    await b.ok(['create', '--name', 'apiwait', IMG, 'sh', '-c', 'exit 7']);
    const next = await rawPost('/v1.45/containers/apiwait/wait?condition=next-exit');
    const removed = await rawPost('/v1.45/containers/apiwait/wait?condition=removed');
    assert.equal(next.status, 200);
    assert.equal(removed.status, 200);
    await b.ok(['start', 'apiwait']);
    assert.deepEqual(JSON.parse(await next.body), { StatusCode: 7, Error: null });
    let settled = false;
    void removed.body.then(() => {
      settled = true;
    });
    // exited but still there: a removed-wait must still be pending once the exit is recorded
    await waitFor(
      async () => (await b.ok(['inspect', '--format', '{{.State.Status}}', 'apiwait'])).trim() === 'exited',
    );
    assert.equal(settled, false);
    await b.ok(['rm', 'apiwait']);
    assert.deepEqual(JSON.parse(await removed.body), { StatusCode: 7, Error: null });
  });

  test('without --socket it serves <runroot>/berth.sock; --timeout exits when idle and removes it', async () => {
    const idle = b.start(['system', 'service', '--timeout', '1']);
    const path = join(b.runroot, 'berth.sock');
    await waitFor(() => existsSync(path), { what: 'the default socket' });
    const r = await runProcess(
      DOCKER_CLIENTS[0]!,
      ['-H', `unix://${path}`, 'version', '--format', '{{.Server.APIVersion}}'],
      {
        env: { DOCKER_CONFIG: join(work, 'docker-config') },
      },
    );
    assert.equal(r.stdout.trim(), '1.45');
    assert.equal(await idle.closed, 0);
    assert.equal(existsSync(path), false);
  });

  test('--tcp is refused without mutual TLS, with the reason', async () => {
    const r = await b.run(['system', 'service', '--tcp', '127.0.0.1:0']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /--tcp needs --tls-cert, --tls-key and --tls-ca .*root-equivalent/);
  });

  test('--tcp with mutual TLS: the docker CLI with a client certificate gets in, without one it does not', async () => {
    const certs = join(work, 'certs');
    mkdirSync(certs);
    const server = selfSignedCert(certs, { cn: 'localhost', subjectAltName: 'IP:127.0.0.1', name: 'server' });
    const client = selfSignedCert(certs, { cn: 'client', name: 'client' });
    const tcp = b.start([
      'system',
      'service',
      '--tcp',
      '127.0.0.1:0',
      '--tls-cert',
      server.certPath,
      '--tls-key',
      server.keyPath,
      '--tls-ca',
      client.certPath,
    ]);
    let log = '';
    tcp.child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    try {
      const address = await waitFor(() => /listening on (tcp:\/\/\S+)/.exec(log)?.[1], {
        what: 'the TCP address',
      });
      const tls = ['--tlsverify', '--tlscacert', server.certPath, '-H', address];
      for (const docker of DOCKER_CLIENTS) {
        const ok = await runProcess(
          docker,
          [
            ...tls,
            '--tlscert',
            client.certPath,
            '--tlskey',
            client.keyPath,
            'version',
            '--format',
            '{{.Server.APIVersion}}',
          ],
          {
            env: { DOCKER_CONFIG: join(work, 'docker-config') },
          },
        );
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /^1\.4[1-5]$/m);
        const refused = await runProcess(docker, [...tls, 'version'], {
          env: { DOCKER_CONFIG: join(work, 'docker-config') },
        });
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /certificate/);
      }
    } finally {
      tcp.child.kill('SIGTERM');
      assert.equal(await tcp.closed, 0);
    }
  });

  test('SIGTERM closes the service and removes its socket', async () => {
    assert.equal(await api.stop(), 0);
    assert.equal(existsSync(sock), false);
  });
});
