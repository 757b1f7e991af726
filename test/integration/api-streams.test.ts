// The streamed endpoints of `berth system service` through the real docker CLI (both clients on
// this machine): `docker logs` (plain, --tail, -t, --since, -f to the container's exit, a TTY's
// raw stream) and `docker events` bounded by --since/--until, for containers the berth CLI runs
// on the same root.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS, importBusybox, removeAll } from '../helpers/api.js';
import { Berth } from '../helpers/berth.js';
import { skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const lacking = apiLacking(['runc', 'conmon']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-streams-it-'));
const b = new Berth();
const IMG = 'local/bb:apistreams';
const api = new ApiService(b, work);
const { sock } = api;

before(async () => {
  if (skip) return;
  await importBusybox(b, work, IMG);
  await api.start();
});

after(async () => {
  await api.stop();
  await removeAll(b, work);
});

describe('docker logs and docker events against berth system service', { skip }, () => {
  test('a client that leaves in the middle of a follow leaves no file descriptor behind', async () => {
    const name = 'leaver';
    await b.ok(['run', '-d', '--name', name, IMG, 'sh', '-c', 'echo here; sleep 300']);
    const fdDir = `/proc/${api.pid}/fd`;
    const links = () =>
      readdirSync(fdDir).map((f) => {
        try {
          return readlinkSync(join(fdDir, f));
        } catch {
          return '';
        }
      });
    const follow = async () => {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(
          { socketPath: sock, path: `/v1.45/containers/${name}/logs?follow=1&stdout=1` },
          resolve,
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(res.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
      const first = await new Promise<Buffer>((resolve) => res.once('data', resolve));
      assert.equal(first[0], 1);
      assert.equal(first.subarray(8).toString(), 'here\n');
      res.destroy();
    };
    // the first one opens what the service keeps for good (the store, libuv's one inotify fd)
    await follow();
    await waitFor(() => !links().some((l) => l.endsWith('ctr.log')), { what: 'the log file closed' });
    const idle = links().length;
    for (let round = 0; round < 3; round++) await follow();
    await waitFor(() => links().length <= idle && !links().some((l) => l.endsWith('ctr.log')), {
      what: `the service's fds back to ${idle}, the log file closed`,
    });
    assert.equal(await api.ping(), 'OK');
    await b.ok(['rm', '-f', name]);
  });

  DOCKER_CLIENTS.forEach((client, i) => {
    describe(client, () => {
      test('docker logs: stdout and stderr apart, --tail, -t and --since', async () => {
        const name = `logs${i}`;
        await b.ok(['run', '--name', name, IMG, 'sh', '-c', 'echo one; echo two >&2; echo three']);
        const all = await api.dockerOk(client, ['logs', name]);
        assert.equal(all.stdout, 'one\nthree\n');
        assert.equal(all.stderr, 'two\n');
        // conmon reads stdout and stderr apart, so their order is not fixed: --tail on stdout alone
        await b.ok(['run', '--name', `${name}-out`, IMG, 'sh', '-c', 'echo one; echo two; echo three']);
        const tail = await api.dockerOk(client, ['logs', '--tail', '2', `${name}-out`]);
        assert.equal(tail.stdout, 'two\nthree\n');
        assert.equal(
          (await api.dockerOk(client, ['logs', '--tail', 'all', `${name}-out`])).stdout,
          'one\ntwo\nthree\n',
        );
        const stamped = await api.dockerOk(client, ['logs', '-t', name]);
        assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z one\n\S+ three\n$/);
        const future = await api.dockerOk(client, [
          'logs',
          '--since',
          String(Math.floor(Date.now() / 1000) + 3600),
          name,
        ]);
        assert.equal(future.stdout + future.stderr, '');
        const before = String(Math.floor(Date.now() / 1000) - 3600);
        const untilBefore = await api.dockerOk(client, ['logs', '--until', before, name]);
        assert.equal(untilBefore.stdout + untilBefore.stderr, '');
        const untilLater = await api.dockerOk(client, [
          'logs',
          '--until',
          String(Math.floor(Date.now() / 1000) + 3600),
          name,
        ]);
        assert.equal(untilLater.stdout, 'one\nthree\n');
        const past = await api.dockerOk(client, ['logs', '--since', '1h', name]);
        assert.equal(past.stdout, 'one\nthree\n');
        const gone = await api.docker(client, ['logs', 'no-such-container']);
        assert.notEqual(gone.code, 0);
        assert.match(gone.stderr, /no-such-container/);
      });

      test('docker logs -f ends when the container exits', async () => {
        const name = `follow${i}`;
        await b.ok(['run', '-d', '--name', name, IMG, 'sh', '-c', 'echo first; sleep 2; echo last']);
        const r = await api.dockerOk(client, ['logs', '-f', name]);
        assert.equal(r.stdout, 'first\nlast\n');
      });

      test('a TTY container’s logs are its raw bytes', async () => {
        const name = `tty${i}`;
        await b.ok(['run', '-d', '-t', '--name', name, IMG, 'sh', '-c', 'echo on-a-tty']);
        const r = await api.dockerOk(client, ['logs', '-f', name]);
        assert.equal(r.stdout.replace(/\r/g, ''), 'on-a-tty\n');
      });

      test('docker events --since --until --filter type=container: create, start, die', async () => {
        const name = `events${i}`;
        const since = (Date.now() / 1000 - 1).toFixed(3);
        await b.ok(['run', '--name', name, IMG, 'true']);
        const until = (Date.now() / 1000 + 1).toFixed(3);
        const r = await api.dockerOk(client, [
          'events',
          '--since',
          since,
          '--until',
          until,
          '--filter',
          'type=container',
          '--filter',
          `container=${name}`,
          '--format',
          '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}',
        ]);
        const lines = r.stdout.trim().split('\n');
        for (const action of ['create', 'start', 'die']) {
          assert.ok(lines.includes(`container ${action} ${name}`), `${action} in:\n${r.stdout}`);
        }
        assert.ok(lines.indexOf(`container create ${name}`) < lines.indexOf(`container die ${name}`));
        const bad = await api.docker(client, [
          'events',
          '--since',
          since,
          '--until',
          until,
          '--filter',
          'type=nothing',
        ]);
        assert.notEqual(bad.code, 0);
      });
    });
  });
});
