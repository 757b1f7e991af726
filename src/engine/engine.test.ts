// The Engine's use-cases that need no runtime: filters checked on an empty store, the volume
// prune rule, the inspect shape. Container lifecycles are in test/integration/containers.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { StoredContainerConfig } from '../container/index.js';
import { hasCode } from '../errors/index.js';
import type { ContainerRecord } from '../store/index.js';
import { formatContainerInspect } from './_format.js';
import { isPrunableVolume } from './_volumes.js';
import { Engine } from './engine.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-engine-'));
const engine = new Engine({ root: join(dir, 'root'), runroot: join(dir, 'run') });
after(() => {
  engine.close();
  rmSync(dir, { recursive: true, force: true });
});

const isInvalid = (err: unknown) => hasCode(err, 'INVALID_ARGUMENT');

test('a bad filter is an InvalidArgument error even with nothing to list', async () => {
  assert.deepEqual(await engine.listContainers({ all: true }), []);
  await assert.rejects(engine.listContainers({ filters: ['bogus=1'] }), isInvalid);
  await assert.rejects(engine.listContainers({ filters: ['status=sleeping'] }), isInvalid);
  await assert.rejects(engine.listContainers({ filters: { name: ['('] } }), isInvalid);
  assert.deepEqual(await engine.listContainers({ filters: ['status=exited'] }), []);
  assert.deepEqual(engine.listImages(), []);
  assert.throws(() => engine.listImages({ filters: ['dangling=maybe'] }), isInvalid);
  assert.throws(() => engine.listImages({ filters: ['label=a'] }), isInvalid);
  assert.deepEqual(engine.listVolumes(), []);
  assert.throws(() => engine.listVolumes({ filters: ['bogus=1'] }), isInvalid);
});

test('the volume prune rule: unused anonymous volumes go; named ones only with all; used ones never', async () => {
  assert.ok(isPrunableVolume({ labels: { 'berth.anonymous': 'true' }, usedBy: [] }, {}));
  assert.ok(!isPrunableVolume({ labels: {}, usedBy: [] }, {}));
  assert.ok(isPrunableVolume({ labels: {}, usedBy: [] }, { all: true }));
  assert.ok(!isPrunableVolume({ labels: { 'berth.anonymous': 'true' }, usedBy: ['c1'] }, { all: true }));

  engine.createVolume('named', { labels: { keep: 'yes' } });
  const anon = engine.createVolume(undefined, { labels: { 'berth.anonymous': 'true' } });
  assert.equal(anon.Driver, 'local');
  assert.match(anon.Name, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    engine.listVolumes({ filters: ['label=keep'] }).map((v) => v.Name),
    ['named'],
  );
  assert.deepEqual(engine.pruneVolumes().deleted, [anon.Name]);
  assert.deepEqual(
    engine.listVolumes().map((v) => v.Name),
    ['named'],
  );
  assert.deepEqual(engine.pruneVolumes({ all: true }).deleted, ['named']);
  assert.deepEqual(engine.listVolumes(), []);
  assert.throws(
    () => engine.inspectVolume('named'),
    (err) => hasCode(err, 'NOT_FOUND'),
  );
});

test('system prune on an empty store reports nothing removed', async () => {
  const r = await engine.pruneSystem({ all: true, volumes: true });
  assert.deepEqual(r.containers.deleted, []);
  assert.deepEqual(r.volumes?.deleted, []);
  assert.deepEqual(r.images.deleted, []);
  assert.equal(typeof r.reclaimed, 'number');
  // plain data: what the API will send as JSON
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
});

test('container inspect is Docker-shaped plain data', () => {
  const config: StoredContainerConfig = {
    options: {
      image: 'bb',
      tty: true,
      interactive: false,
      mounts: [
        { type: 'bind', source: '/srv', target: '/data', readOnly: true, options: [] },
        { type: 'volume', source: 'vol1', target: '/v', readOnly: false, options: [] },
      ],
      restart: { name: 'on-failure', maxRetries: 3 },
      cpus: { quota: 150000, period: 100000 },
    },
    imageId: `sha256:${'b'.repeat(64)}`,
    imageName: 'docker.io/library/bb:latest',
    args: ['sh', '-c', 'true'],
    env: ['PATH=/bin'],
    workdir: '/',
    hostname: 'abc',
    stopSignal: 'SIGTERM',
    stopTimeout: 10,
  };
  const rec: ContainerRecord = {
    id: 'a'.repeat(64),
    name: 'web',
    imageId: `sha256:${'b'.repeat(64)}` as ContainerRecord['imageId'],
    state: 'exited',
    config,
    createdAt: '2026-01-01T00:00:00Z',
    startedAt: '2026-01-01T00:00:01Z',
    finishedAt: null,
    exitCode: 3,
    pid: 1234,
    conmonPid: null,
    restartCount: 2,
    labels: { a: 'b' },
    volumes: ['vol1'],
    layers: [],
  };
  const info = formatContainerInspect(rec, {
    userdataDir: '/run/x/userdata',
    logPath: '/run/x/ctr.log',
    volumePath: (n) => `/var/lib/berth/volumes/${n}/_data`,
  });
  assert.equal(info.Name, '/web');
  assert.equal(info.Path, 'sh');
  assert.deepEqual(info.Args, ['-c', 'true']);
  assert.deepEqual(
    { ...info.State },
    {
      Status: 'exited',
      Running: false,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 0, // not running: no pid, whatever the record kept
      ExitCode: 3,
      Error: '',
      StartedAt: '2026-01-01T00:00:01Z',
      FinishedAt: '0001-01-01T00:00:00Z',
    },
  );
  assert.equal(info.ResolvConfPath, '/run/x/userdata/resolv.conf');
  assert.equal(info.LogPath, '/run/x/ctr.log');
  assert.equal(info.RestartCount, 2);
  assert.deepEqual(info.HostConfig.Binds, ['/srv:/data:ro']);
  assert.deepEqual(info.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(info.HostConfig.NanoCpus, 1_500_000_000);
  assert.equal(info.HostConfig.NetworkMode, 'none');
  assert.deepEqual(info.Mounts[1], {
    Type: 'volume',
    Name: 'vol1',
    Source: '/var/lib/berth/volumes/vol1/_data',
    Destination: '/v',
    RW: true,
  });
  assert.equal(info.Config.Tty, true);
  assert.equal(info.Config.OpenStdin, false);
  assert.equal(info.Config.Image, 'docker.io/library/bb:latest');
  assert.equal(info.Config.Cmd, null);
  assert.deepEqual(info.Config.Labels, { a: 'b' });
  // JSON round trip keeps everything but the undefined Name of a bind mount
  const json = JSON.parse(JSON.stringify(info));
  assert.equal(json.Mounts[0].Name, undefined);
  assert.deepEqual(json.State, info.State);
});

test('inspect of a missing container is NotFound', async () => {
  await assert.rejects(engine.inspectContainer('nope'), (err) => hasCode(err, 'NOT_FOUND'));
  await assert.rejects(engine.restartContainer('nope'), (err) => hasCode(err, 'NOT_FOUND'));
});
