// POST /containers/{id}/update: Docker's UpdateConfig (the Resources fields and RestartPolicy)
// into Engine.updateContainer's changes. Zero values mean "leave as it is", as in Docker; a
// field berth cannot apply is refused when it is set, never ignored.
import { type ContainerUpdate, type Engine, flags } from '../engine/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { onlyParams, type Router, readObject } from './_http.js';

type Obj = Record<string, unknown>;

const INTEGER_FIELDS = {
  Memory: 'memory',
  MemorySwap: 'memorySwap',
  MemoryReservation: 'memoryReservation',
  CpuShares: 'cpuShares',
  CpuQuota: 'cpuQuota',
  CpuPeriod: 'cpuPeriod',
  BlkioWeight: 'blkioWeight',
} as const;

/** Fields of Docker's Resources berth does not apply: accepted only at their zero value. */
const UNSUPPORTED_FIELDS = [
  'CgroupParent',
  'BlkioWeightDevice',
  'BlkioDeviceReadBps',
  'BlkioDeviceWriteBps',
  'BlkioDeviceReadIOps',
  'BlkioDeviceWriteIOps',
  'CpuRealtimePeriod',
  'CpuRealtimeRuntime',
  'Devices',
  'DeviceCgroupRules',
  'DeviceRequests',
  'KernelMemory',
  'KernelMemoryTCP',
  'MemorySwappiness',
  'OomKillDisable',
  'Ulimits',
  'CpuCount',
  'CpuPercent',
  'IOMaximumIOps',
  'IOMaximumBandwidth',
];

/** The period Docker gives NanoCpus (100ms), in microseconds. */
const NANO_CPU_PERIOD = 100_000;

function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as Obj).every(isZero);
  return false;
}

function integer(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new InvalidArgumentError(`"${field}" must be an integer`);
  }
  return v;
}

function cpuset(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`"${field}" must be a string`);
  return v;
}

/** Docker's UpdateConfig body → the engine's changes; unknown and unsupported fields are 400s. */
export function updateFromBody(body: Obj): ContainerUpdate {
  const u: ContainerUpdate = {};
  for (const [key, value] of Object.entries(body)) {
    if (key in INTEGER_FIELDS) {
      const n = integer(value, key);
      if (n !== undefined) u[INTEGER_FIELDS[key as keyof typeof INTEGER_FIELDS]] = n;
    } else if (key === 'NanoCpus' || key === 'NanoCPUs') {
      const nano = integer(value, key);
      if (nano !== undefined) {
        if (nano < 0) throw new InvalidArgumentError(`"${key}" must not be negative`);
        u.cpus = { quota: Math.round((nano * NANO_CPU_PERIOD) / 1e9), period: NANO_CPU_PERIOD };
      }
    } else if (key === 'CpusetCpus' || key === 'CpusetMems') {
      const list = cpuset(value, key);
      if (list !== undefined) u[key === 'CpusetCpus' ? 'cpusetCpus' : 'cpusetMems'] = list;
    } else if (key === 'PidsLimit') {
      // null leaves it; 0 and -1 both lift the limit
      if (value !== null && value !== undefined) {
        if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
          throw new InvalidArgumentError('"PidsLimit" must be an integer');
        }
        u.pidsLimit = value;
      }
    } else if (key === 'RestartPolicy') {
      const policy = restartPolicy(value);
      if (policy) u.restart = policy;
    } else if (UNSUPPORTED_FIELDS.includes(key)) {
      if (!isZero(value)) throw new InvalidArgumentError(`${key} is not supported by berth's update yet`);
    } else {
      throw new InvalidArgumentError(`unknown field "${key}" in the update request`);
    }
  }
  return u;
}

function restartPolicy(v: unknown): ContainerUpdate['restart'] {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new InvalidArgumentError('"RestartPolicy" must be an object');
  }
  const { Name: name, MaximumRetryCount: retries, ...rest } = v as Obj;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw new InvalidArgumentError(`unknown field "RestartPolicy.${extra}"`);
  if (name === undefined || name === null || name === '') return undefined;
  if (typeof name !== 'string') throw new InvalidArgumentError('"RestartPolicy.Name" must be a string');
  const count = integer(retries, 'RestartPolicy.MaximumRetryCount');
  if (count !== undefined && name !== 'on-failure') {
    throw new InvalidArgumentError(
      `invalid restart policy: maximum retry count can only be used with 'on-failure'`,
    );
  }
  if (count !== undefined && count < 0) {
    throw new InvalidArgumentError('invalid restart policy: maximum retry count cannot be negative');
  }
  return flags.parseRestartPolicy(count ? `${name}:${count}` : name);
}

export function addUpdateRoute(r: Router, engine: Engine): void {
  r.add('POST', '/containers/{id}/update', async (req) => {
    onlyParams(req.query, []);
    const changes = updateFromBody(await readObject(req));
    const report = await engine.updateContainer(req.params[0]!, changes);
    return { status: 200, body: { Warnings: report.warnings } };
  });
}
