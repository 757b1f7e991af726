import assert from 'node:assert/strict';
import { test } from 'node:test';
import { updateFromBody } from './_routes-update.js';

/** What the docker CLI sends for `docker update --memory 64m --cpus 1.5 --restart on-failure:2`. */
const CLI_BODY = {
  BlkioWeight: 0,
  BlkioWeightDevice: null,
  CgroupParent: '',
  CpuShares: 0,
  Memory: 64 * 1024 * 1024,
  NanoCpus: 1_500_000_000,
  CpuPeriod: 0,
  CpuQuota: 0,
  CpuRealtimePeriod: 0,
  CpuRealtimeRuntime: 0,
  CpusetCpus: '',
  CpusetMems: '',
  Devices: null,
  DeviceCgroupRules: null,
  DeviceRequests: null,
  KernelMemory: 0,
  KernelMemoryTCP: 0,
  MemoryReservation: 0,
  MemorySwap: 0,
  MemorySwappiness: null,
  OomKillDisable: null,
  PidsLimit: null,
  Ulimits: null,
  CpuCount: 0,
  CpuPercent: 0,
  IOMaximumIOps: 0,
  IOMaximumBandwidth: 0,
  RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 },
};

test("updateFromBody: the docker CLI's body, zero values left out", () => {
  assert.deepEqual(updateFromBody(CLI_BODY), {
    memory: 64 * 1024 * 1024,
    cpus: { quota: 150_000, period: 100_000 },
    restart: { name: 'on-failure', maxRetries: 2 },
  });
  assert.deepEqual(updateFromBody({ RestartPolicy: { Name: '', MaximumRetryCount: 0 } }), {});
  assert.deepEqual(updateFromBody({ PidsLimit: -1, CpusetCpus: '0-1' }), {
    pidsLimit: -1,
    cpusetCpus: '0-1',
  });
});

test('updateFromBody: unknown fields, set unsupported ones and bad types are refused', () => {
  assert.throws(() => updateFromBody({ Bogus: 1 }), {
    code: 'INVALID_ARGUMENT',
    message: /unknown field "Bogus"/,
  });
  assert.throws(() => updateFromBody({ KernelMemory: 1024 }), /KernelMemory is not supported/);
  assert.throws(() => updateFromBody({ Memory: '64m' }), /"Memory" must be an integer/);
  assert.throws(() => updateFromBody({ Memory: 1.5 }), /"Memory" must be an integer/);
  assert.throws(() => updateFromBody({ NanoCpus: -1 }), /must not be negative/);
  assert.throws(
    () => updateFromBody({ RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } }),
    /only be used with 'on-failure'/,
  );
  assert.throws(() => updateFromBody({ RestartPolicy: { Name: 'sometimes' } }), /invalid --restart/);
  assert.throws(() => updateFromBody({ RestartPolicy: 'always' }), /must be an object/);
});
