// `update` and `kill` against the restart policy, with real runc/crun and conmon: new limits
// land in the running container's cgroup (read from the cgroup fs), stay for its next start,
// and a refused change leaves the cgroup and the record as they were; `docker update` and
// `docker kill` through both docker clients against `berth system service`.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiService, apiLacking, DOCKER_CLIENTS } from '../helpers/api.js';
import { Berth, hasCommand } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { requireOrSkip, skipUnless } from '../helpers/prereq.js';
import { processesNaming, waitFor } from '../helpers/wait.js';

const lacking = apiLacking(['runc', 'conmon']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-update-it-'));
const b = new Berth();
const IMG = 'local/bb:update';
const api = new ApiService(b, work);
const MiB = 1024 * 1024;
/** A pid 1 that dies of HUP, TERM and USR1 (a pid 1 without handlers ignores them). */
const TRAPPING = ['sh', '-c', 'trap "exit 3" HUP TERM USR1; sleep 600 & wait'];

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

interface Inspect {
  Id: string;
  State: { Status: string; Pid: number; Running: boolean };
  RestartCount: number;
  HostConfig: Record<string, unknown> & { RestartPolicy: { Name: string; MaximumRetryCount: number } };
}

async function inspect(name: string): Promise<Inspect> {
  return (JSON.parse(await b.ok(['inspect', name])) as Inspect[])[0]!;
}

/**
 * A cgroup value of the container's main process, read from the cgroup fs through the path
 * /proc/PID/cgroup gives: `v1` names the v1 controller and file, `v2` the unified file.
 */
function cgroupValue(pid: number, v1: [string, string], v2: string): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const path = lines.find((l) => l.startsWith('0::'))!.slice(3);
    return readFileSync(join('/sys/fs/cgroup', path, v2), 'utf8').trim();
  }
  const [controller, file] = v1;
  const line = lines.find((l) => l.split(':')[1]!.split(',').includes(controller))!;
  return readFileSync(join('/sys/fs/cgroup', controller, line.split(':')[2]!, file), 'utf8').trim();
}

const V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
const limits = (pid: number) => ({
  memory: cgroupValue(pid, ['memory', 'memory.limit_in_bytes'], 'memory.max'),
  reservation: cgroupValue(pid, ['memory', 'memory.soft_limit_in_bytes'], 'memory.low'),
  quota: cgroupValue(pid, ['cpu', 'cpu.cfs_quota_us'], 'cpu.max').split(' ')[0],
  pids: cgroupValue(pid, ['pids', 'pids.max'], 'pids.max'),
  cpuset: cgroupValue(pid, ['cpuset', 'cpuset.cpus'], 'cpuset.cpus'),
  shares: V2 ? undefined : cgroupValue(pid, ['cpu', 'cpu.shares'], ''),
});

/** The container is down and no cleanup (which could restart it) is running for it. */
async function settledExited(name: string): Promise<Inspect> {
  const id = (await inspect(name)).Id;
  return waitFor(
    async () => {
      const i = await inspect(name);
      return i.State.Status === 'exited' && processesNaming(`cleanup\0${id}`) === 0 && i;
    },
    { what: `${name} to be down for good` },
  );
}

describe('update: limits on the running container, kept for its next start', { skip }, () => {
  for (const runtime of ['runc', 'crun']) {
    test(`${runtime}: berth update changes the cgroup now and after a restart`, async (t) => {
      if (!requireOrSkip(t, runtime, hasCommand(runtime))) return;
      const name = `upd-${runtime}`;
      await b.ok([
        'run',
        '-d',
        '--runtime',
        runtime,
        '--name',
        name,
        '--memory',
        '128m',
        IMG,
        'sleep',
        '600',
      ]);
      const pid = (await inspect(name)).State.Pid;
      assert.equal(limits(pid).memory, String(128 * MiB));
      await b.ok([
        'update',
        '--memory',
        '64m',
        '--memory-reservation',
        '32m',
        '--cpus',
        '0.5',
        '--cpu-shares',
        '512',
        '--pids-limit',
        '40',
        '--cpuset-cpus',
        '0',
        '--restart',
        'on-failure:3',
        name,
      ]);
      const expected = {
        memory: String(64 * MiB),
        reservation: String(32 * MiB),
        quota: '50000',
        pids: '40',
        cpuset: '0',
        shares: V2 ? undefined : '512',
      };
      assert.deepEqual(limits(pid), expected, 'the running container got the new limits');
      const hc = (await inspect(name)).HostConfig;
      assert.equal(hc.Memory, 64 * MiB);
      assert.equal(hc.NanoCpus, 500_000_000);
      assert.equal(hc.PidsLimit, 40);
      assert.deepEqual(hc.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });

      // refused values change nothing, in the cgroup or in the record
      for (const args of [
        ['--memory', '4m'],
        ['--cpuset-cpus', '0-4095'],
        ['--cpu-quota', '20000'],
        ['--memory-swap', '16m'],
      ]) {
        const r = await b.run(['update', ...args, name]);
        assert.notEqual(r.code, 0, `update ${args.join(' ')} is refused`);
        assert.match(r.stderr, /Minimum memory|not available|NanoCPUs|memoryswap/);
      }
      assert.deepEqual(limits(pid), expected);
      assert.equal((await inspect(name)).HostConfig.Memory, 64 * MiB);

      await b.ok(['restart', '-t', '1', name]);
      const again = await inspect(name);
      assert.notEqual(again.State.Pid, pid);
      assert.deepEqual(limits(again.State.Pid), expected, 'a restart keeps the updated limits');
      await b.ok(['rm', '-f', name]);
    });
  }

  test('a stopped container takes the update at its next start; pids-limit -1 lifts the limit', async () => {
    await b.ok(['create', '--name', 'upd-created', '--pids-limit', '30', IMG, 'sleep', '600']);
    await b.ok(['update', '--memory', '48m', '--pids-limit', '-1', 'upd-created']);
    await b.ok(['start', 'upd-created']);
    const pid = (await inspect('upd-created')).State.Pid;
    assert.equal(limits(pid).memory, String(48 * MiB));
    assert.equal(limits(pid).pids, 'max');
    await b.ok(['rm', '-f', 'upd-created']);
  });

  test('no flags, a missing container, and --restart with --rm are refused', async () => {
    const none = await b.run(['update', 'whatever']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /one or more flags/);
    const missing = await b.run(['update', '--memory', '64m', 'no-such-container']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no such container/);
    await b.ok(['run', '-d', '--rm', '--name', 'upd-rm', IMG, 'sleep', '600']);
    const r = await b.run(['update', '--restart', 'always', 'upd-rm']);
    assert.match(r.stderr, /AutoRemove is enabled/);
    await b.ok(['rm', '-f', 'upd-rm']);
  });

  for (const client of DOCKER_CLIENTS) {
    test(`${client} update: limits and restart policy through the API`, async () => {
      const name = `upd-docker-${DOCKER_CLIENTS.indexOf(client)}`;
      // created with --cpu-quota: the update may change it (a NanoCpus container could not)
      await api.dockerOk(client, ['run', '-d', '--name', name, '--cpu-quota', '40000', IMG, 'sleep', '600']);
      assert.equal(limits((await inspect(name)).State.Pid).quota, '40000');
      const r = await api.dockerOk(client, [
        'update',
        '--memory',
        '96m',
        '--memory-swap',
        '192m',
        '--cpu-quota',
        '30000',
        '--pids-limit',
        '25',
        '--restart',
        'unless-stopped',
        name,
      ]);
      assert.equal(r.stdout.trim(), name);
      const pid = (await inspect(name)).State.Pid;
      assert.equal(limits(pid).memory, String(96 * MiB));
      assert.equal(limits(pid).quota, '30000');
      assert.equal(limits(pid).pids, '25');
      const hc = (await inspect(name)).HostConfig;
      assert.equal(hc.RestartPolicy.Name, 'unless-stopped');
      assert.equal(hc.MemorySwap, 192 * MiB);
      assert.equal(hc.CpuQuota, 30000);
      assert.equal(hc.NanoCpus, 0);
      const bad = await api.docker(client, ['update', '--memory', '1m', name]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /Minimum memory limit allowed is 6MB/);
      await api.dockerOk(client, ['rm', '-f', name]);
    });
  }
});

describe('kill and the restart policy, as in Docker (moby daemon/kill.go)', { skip }, () => {
  test('kill (SIGKILL) of an always container: it stays down until started', async () => {
    await b.ok(['run', '-d', '--restart', 'always', '--name', 'k-always', IMG, 'sleep', '600']);
    await b.ok(['kill', 'k-always']);
    const i = await settledExited('k-always');
    assert.equal(i.RestartCount, 0);
    await b.ok(['start', 'k-always']);
    // the start re-armed the policy: an exit of its own now restarts it
    const pid = (await inspect('k-always')).State.Pid;
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await inspect('k-always')).RestartCount === 1, {
      what: 'the restart by policy',
    });
    await b.ok(['rm', '-f', 'k-always']);
  });

  test('kill -s HUP with no stop signal of its own cancels the policy too', async () => {
    await b.ok(['run', '-d', '--restart', 'always', '--name', 'k-hup', IMG, ...TRAPPING]);
    await b.ok(['kill', '-s', 'HUP', 'k-hup']);
    assert.equal((await settledExited('k-hup')).RestartCount, 0);
    await b.ok(['rm', '-f', 'k-hup']);
  });

  test('with --stop-signal USR1: kill -s HUP leaves always armed, but not unless-stopped', async () => {
    for (const policy of ['always', 'unless-stopped']) {
      const name = `k-own-${policy}`;
      await b.ok([
        'run',
        '-d',
        '--restart',
        policy,
        '--stop-signal',
        'USR1',
        '--name',
        name,
        IMG,
        ...TRAPPING,
      ]);
      await b.ok(['kill', '-s', 'HUP', name]);
      if (policy === 'always') {
        await waitFor(
          async () => (await inspect(name)).RestartCount === 1 && (await inspect(name)).State.Running,
          {
            what: 'the always container to come back',
          },
        );
      } else {
        assert.equal((await settledExited(name)).RestartCount, 0);
      }
      await b.ok(['rm', '-f', name]);
    }
  });

  for (const client of DOCKER_CLIENTS) {
    test(`${client} kill and kill -s: the restart policy does not bring it back`, async () => {
      const n = DOCKER_CLIENTS.indexOf(client);
      for (const [name, args] of [
        [`k-docker-${n}`, []],
        [`k-docker-s-${n}`, ['-s', 'TERM']],
      ] as const) {
        await api.dockerOk(client, ['run', '-d', '--restart', 'always', '--name', name, IMG, ...TRAPPING]);
        await api.dockerOk(client, ['kill', ...args, name]);
        assert.equal((await settledExited(name)).RestartCount, 0);
        const ps = await api.dockerOk(client, [
          'ps',
          '-a',
          '--filter',
          `name=${name}`,
          '--format',
          '{{.Status}}',
        ]);
        assert.match(ps.stdout, /^Exited \((137|3)\)/);
        await api.dockerOk(client, ['rm', name]);
      }
    });
  }
});
