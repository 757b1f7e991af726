import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RuntimeDriver } from '../runtime/index.js';
import type { ContainerCreateOptions, StoredContainerConfig } from './_config.js';
import { applyUpdate, mergeUpdate, parseCpuset, runtimeUpdateResources, type UpdateHost } from './_update.js';
import { killMark } from './manager.js';

const MiB = 1024 * 1024;
const HOST: UpdateHost = { swapLimit: true, blkioWeight: true, cpus: '0-1', mems: '0' };
const base: ContainerCreateOptions = { image: 'bb' };

test('mergeUpdate: zero values leave a setting alone, set ones replace it', () => {
  const current = { ...base, memory: 64 * MiB, cpuShares: 512, pidsLimit: 50 };
  const { options, warnings } = mergeUpdate(current, { memory: 0, cpuShares: 1024 }, HOST);
  assert.deepEqual(warnings, []);
  assert.equal(options.memory, 64 * MiB);
  assert.equal(options.cpuShares, 1024);
  assert.equal(options.pidsLimit, 50);
  assert.equal(current.cpuShares, 512, 'the current options are not changed');
});

test('mergeUpdate: pids limit 0 or -1 lifts it, and the runtime gets -1 (unlimited)', () => {
  for (const n of [0, -1]) {
    const { options } = mergeUpdate({ ...base, pidsLimit: 50 }, { pidsLimit: n }, HOST);
    assert.equal(options.pidsLimit, undefined);
    assert.deepEqual(runtimeUpdateResources(options, HOST).pids, { limit: -1 });
  }
});

test("mergeUpdate: Docker's refusals, as InvalidArgument or Conflict", () => {
  const bad: [ContainerCreateOptions, Parameters<typeof mergeUpdate>[1], RegExp, string][] = [
    [base, { memory: 4 * MiB }, /Minimum memory limit allowed is 6MB/, 'INVALID_ARGUMENT'],
    [
      { ...base, memory: 64 * MiB, memorySwap: 100 * MiB },
      { memory: 200 * MiB },
      /smaller than already set memoryswap/,
      'CONFLICT',
    ],
    [
      base,
      { memory: 64 * MiB, memorySwap: 32 * MiB },
      /memoryswap limit should be larger/,
      'INVALID_ARGUMENT',
    ],
    [
      { ...base, memory: 64 * MiB },
      { memoryReservation: 128 * MiB },
      /can not be less than memory reservation/,
      'INVALID_ARGUMENT',
    ],
    [
      { ...base, cpus: { quota: 50_000, period: 100_000 } },
      { cpuQuota: 20_000 },
      /NanoCPUs has already/,
      'CONFLICT',
    ],
    [
      { ...base, cpuPeriod: 50_000 },
      { cpus: { quota: 50_000, period: 100_000 } },
      /CPU Period has already/,
      'CONFLICT',
    ],
    [
      base,
      { cpus: { quota: 50_000, period: 100_000 }, cpuQuota: 1 },
      /cannot both be set/,
      'INVALID_ARGUMENT',
    ],
    [base, { cpus: { quota: 300_000, period: 100_000 } }, /only 2 CPUs available/, 'INVALID_ARGUMENT'],
    [base, { cpuQuota: 500 }, /can not be less than 1ms/, 'INVALID_ARGUMENT'],
    [base, { cpuPeriod: 2_000_000 }, /larger than 1s/, 'INVALID_ARGUMENT'],
    [base, { cpusetCpus: '0-7' }, /Requested CPUs are not available/, 'INVALID_ARGUMENT'],
    [base, { cpusetCpus: 'x' }, /expected a list/, 'INVALID_ARGUMENT'],
    [base, { blkioWeight: 5 }, /from 10 to 1000/, 'INVALID_ARGUMENT'],
    [{ ...base, autoRemove: true }, { restart: { name: 'always' } }, /AutoRemove is enabled/, 'CONFLICT'],
  ];
  for (const [current, changes, message, code] of bad) {
    assert.throws(() => mergeUpdate(current, changes, HOST), { message, code }, JSON.stringify(changes));
  }
});

test('mergeUpdate: without a blkio weight controller the weight is dropped with a warning', () => {
  const { options, warnings } = mergeUpdate(base, { blkioWeight: 300 }, { ...HOST, blkioWeight: false });
  assert.equal(options.blkioWeight, undefined);
  assert.match(warnings[0]!, /does not support Block I\/O weight/);
});

test('mergeUpdate: restart policy "no" clears it; the runtime gets every limit at once', () => {
  const { options } = mergeUpdate(
    { ...base, restart: { name: 'always' } },
    {
      restart: { name: 'no' },
      memory: 64 * MiB,
      cpusetCpus: '1',
      cpuShares: 256,
      memoryReservation: 32 * MiB,
    },
    HOST,
  );
  assert.equal(options.restart, undefined);
  const r = runtimeUpdateResources(options, HOST);
  assert.deepEqual(r.memory, { limit: 64 * MiB, swap: 128 * MiB, reservation: 32 * MiB });
  assert.deepEqual(r.cpu, { shares: 256, cpus: '1' });
  assert.equal(r.devices, undefined, 'update leaves the device rules alone');
});

test('parseCpuset: lists and ranges; malformed is undefined', () => {
  assert.deepEqual([...parseCpuset('0-2,5')!], [0, 1, 2, 5]);
  assert.equal(parseCpuset('2-1'), undefined);
  assert.equal(parseCpuset('a'), undefined);
});

test('killMark: SIGKILL or the stop signal cancel the restart policy; other signals only unless-stopped', () => {
  const config = (stopSignal: string, explicit: boolean): StoredContainerConfig => ({
    options: { image: 'bb', ...(explicit ? { stopSignal } : {}) },
    imageId: 'x',
    imageName: 'bb',
    args: ['sh'],
    env: [],
    workdir: '/',
    hostname: 'h',
    stopSignal,
    stopTimeout: 10,
  });
  // no stop signal of its own: any signal cancels (moby's killWithSignal "else" branch)
  assert.equal(killMark(config('SIGTERM', false), 1).stoppedByUser, true);
  assert.equal(killMark(config('SIGTERM', false), 9).stoppedByUser, true);
  // its own stop signal: that one and SIGKILL cancel, others do not
  assert.equal(killMark(config('SIGUSR1', true), 10).stoppedByUser, true);
  assert.equal(killMark(config('SIGUSR1', true), 9).stoppedByUser, true);
  const hup = killMark(config('SIGUSR1', true), 1);
  assert.equal(hup.stoppedByUser, undefined);
  assert.equal(hup.manuallyStopped, true);
});

test('applyUpdate: a runtime refusal puts the old limits back and nothing is returned to record', async () => {
  const calls: unknown[] = [];
  const driver = {
    async update(_id: string, resources: unknown) {
      calls.push(resources);
      if (calls.length === 1) throw new Error('runc: cannot set memory limit: device or resource busy');
    },
  } as unknown as RuntimeDriver;
  const options = { ...base, memory: 64 * MiB };
  const target = {
    id: 'c1',
    name: 'c1',
    state: 'running' as const,
    options,
    driver,
    stateDir: '/nonexistent',
  };
  await assert.rejects(applyUpdate(target, { memory: 32 * MiB }, HOST), /device or resource busy/);
  assert.deepEqual((calls[0] as { memory: unknown }).memory, { limit: 32 * MiB, swap: 64 * MiB });
  assert.deepEqual((calls[1] as { memory: unknown }).memory, { limit: 64 * MiB, swap: 128 * MiB });
  assert.equal(options.memory, 64 * MiB);
  // a container that is not running gets no runtime call at all
  calls.length = 0;
  const stopped = await applyUpdate({ ...target, state: 'exited' }, { memory: 32 * MiB }, HOST);
  assert.equal(stopped.options.memory, 32 * MiB);
  assert.equal(calls.length, 0);
});
