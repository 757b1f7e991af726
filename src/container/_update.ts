// `update`: new cgroup limits and restart policy for an existing container. Everything is
// checked first (Docker's rules and messages), then a running or paused container gets the
// limits through `<runtime> update`, and only then the record keeps them, so a restart applies
// them again and a refused change leaves nothing behind.
import { readFileSync } from 'node:fs';
import { ConflictError, InvalidArgumentError } from '../errors/index.js';
import type { LinuxResources } from '../oci/index.js';
import {
  blkioWeightSupported,
  type ContainerState,
  detectSpecHost,
  isActiveState,
  type ResourceLimits,
  type RuntimeDriver,
  resourceLimits,
} from '../runtime/index.js';
import type { ContainerCreateOptions } from './_config.js';
import type { RestartPolicy } from './_options.js';

/**
 * What `update` may change. As in Docker, an absent (or 0) value leaves the current one alone;
 * `pidsLimit` 0 or -1 removes the limit.
 */
export interface ContainerUpdate {
  memory?: number;
  /** memory + swap; -1 for unlimited swap. */
  memorySwap?: number;
  memoryReservation?: number;
  cpuShares?: number;
  /** `--cpus` as CFS quota/period (Docker's NanoCpus). */
  cpus?: { quota: number; period: number };
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  blkioWeight?: number;
  restart?: RestartPolicy;
}

export interface ContainerUpdateReport {
  /** Docker's warnings: settings this host cannot apply, which were dropped. */
  warnings: string[];
}

/** The facts about this host that `update` checks against (tests fake them). */
export interface UpdateHost {
  swapLimit: boolean;
  blkioWeight: boolean;
  /** Online CPUs and memory nodes, as cpuset lists. */
  cpus: string;
  mems: string;
}

export function detectUpdateHost(): UpdateHost {
  const read = (path: string, fallback: string) => {
    try {
      return readFileSync(path, 'utf8').trim() || fallback;
    } catch {
      return fallback;
    }
  };
  return {
    swapLimit: detectSpecHost().swapLimit,
    blkioWeight: blkioWeightSupported(),
    cpus: read('/sys/devices/system/cpu/online', '0'),
    mems: read('/sys/devices/system/node/online', '0'),
  };
}

/** The resource part of a container's options, as the runtime spec takes it. */
export function resourceLimitsOf(o: ContainerCreateOptions): ResourceLimits {
  const out: ResourceLimits = {};
  if (o.memory !== undefined) out.memory = o.memory;
  if (o.memorySwap !== undefined) out.memorySwap = o.memorySwap;
  if (o.memoryReservation !== undefined) out.memoryReservation = o.memoryReservation;
  if (o.cpuShares !== undefined) out.cpuShares = o.cpuShares;
  if (o.cpus) {
    out.cpuQuota = o.cpus.quota;
    out.cpuPeriod = o.cpus.period;
  } else {
    if (o.cpuQuota !== undefined) out.cpuQuota = o.cpuQuota;
    if (o.cpuPeriod !== undefined) out.cpuPeriod = o.cpuPeriod;
  }
  if (o.cpusetCpus !== undefined) out.cpusetCpus = o.cpusetCpus;
  if (o.cpusetMems !== undefined) out.cpusetMems = o.cpusetMems;
  if (o.pidsLimit !== undefined) out.pidsLimit = o.pidsLimit;
  if (o.blkioWeight !== undefined) out.blkioWeight = o.blkioWeight;
  return out;
}

/** `0-2,4` → {0,1,2,4}; undefined for a malformed list. */
export function parseCpuset(list: string): Set<number> | undefined {
  const out = new Set<number>();
  for (const part of list.split(',')) {
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(part.trim());
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to - from > 4096) return undefined;
    for (let i = from; i <= to; i++) out.add(i);
  }
  return out;
}

function checkCpuset(flag: string, kind: 'CPUs' | 'memory nodes', list: string, online: string): void {
  const wanted = parseCpuset(list);
  if (!wanted) throw new InvalidArgumentError(`invalid ${flag} "${list}": expected a list such as 0-2,4`);
  const have = parseCpuset(online) ?? new Set<number>();
  if ([...wanted].some((n) => !have.has(n))) {
    throw new InvalidArgumentError(
      `Requested ${kind} are not available - requested ${list}, available: ${online}`,
    );
  }
}

/**
 * The container's options with `changes` applied, and the warnings, after Docker's checks
 * (daemon/update.go and container.UpdateContainer): conflicts are ConflictErrors, bad values
 * InvalidArgumentErrors. Pure: nothing is applied.
 */
export function mergeUpdate(
  current: ContainerCreateOptions,
  changes: ContainerUpdate,
  host: UpdateHost,
): { options: ContainerCreateOptions; warnings: string[] } {
  const c = changes;
  const o: ContainerCreateOptions = { ...current };
  const warnings: string[] = [];
  const set = (v: number | undefined) => v !== undefined && v !== 0;
  if (c.cpus && (set(c.cpuQuota) || set(c.cpuPeriod))) {
    throw new InvalidArgumentError(
      `Conflicting options: Nano CPUs and CPU ${set(c.cpuPeriod) ? 'Period' : 'Quota'} cannot both be set`,
    );
  }
  if (c.cpus && current.cpuPeriod)
    throw new ConflictError(
      'Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set',
    );
  if (c.cpus && current.cpuQuota)
    throw new ConflictError(
      'Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set',
    );
  if (set(c.cpuPeriod) && current.cpus)
    throw new ConflictError(
      'Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set',
    );
  if (set(c.cpuQuota) && current.cpus)
    throw new ConflictError(
      'Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set',
    );
  if (c.cpus) {
    const available = parseCpuset(host.cpus)?.size ?? 1;
    if (!(c.cpus.quota > 0 && c.cpus.period > 0) || c.cpus.quota / c.cpus.period > available) {
      throw new InvalidArgumentError(
        `Range of CPUs is from 0.01 to ${available}.00, as there are only ${available} CPUs available`,
      );
    }
    o.cpus = c.cpus;
  }
  if (set(c.cpuQuota)) o.cpuQuota = c.cpuQuota;
  if (set(c.cpuPeriod)) o.cpuPeriod = c.cpuPeriod;
  if (set(c.cpuShares)) o.cpuShares = c.cpuShares;
  if (c.cpusetCpus) {
    checkCpuset('--cpuset-cpus', 'CPUs', c.cpusetCpus, host.cpus);
    o.cpusetCpus = c.cpusetCpus;
  }
  if (c.cpusetMems) {
    checkCpuset('--cpuset-mems', 'memory nodes', c.cpusetMems, host.mems);
    o.cpusetMems = c.cpusetMems;
  }
  if (set(c.memory)) {
    // an explicit swap limit below the new memory would be left behind (Docker's rule); an
    // implicit one (twice the memory) follows the memory
    const swap = current.memorySwap;
    if (!set(c.memorySwap) && swap !== undefined && swap > 0 && c.memory! > swap) {
      throw new ConflictError(
        'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time',
      );
    }
    o.memory = c.memory!;
  }
  if (set(c.memorySwap)) o.memorySwap = c.memorySwap!;
  if (set(c.memoryReservation)) o.memoryReservation = c.memoryReservation!;
  if (c.pidsLimit !== undefined) {
    if (c.pidsLimit > 0) o.pidsLimit = c.pidsLimit;
    else delete o.pidsLimit;
  }
  if (set(c.blkioWeight)) {
    if (!host.blkioWeight) {
      warnings.push(
        'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
      );
    } else o.blkioWeight = c.blkioWeight!;
  }
  if (c.restart) {
    if (current.autoRemove && c.restart.name !== 'no') {
      throw new ConflictError(
        'Restart policy cannot be updated because AutoRemove is enabled for the container',
      );
    }
    if (c.restart.name === 'no') delete o.restart;
    else o.restart = c.restart;
  }
  // the checks the runtime spec makes at start (6MB minimum, swap ≥ memory, quota ranges, …)
  resourceLimits(resourceLimitsOf(o), host);
  return { options: o, warnings };
}

/**
 * What `<runtime> update` gets: the whole set of limits, so the cgroup matches the record; a
 * pids limit that was removed is written as unlimited (-1), since runc and crun leave an
 * absent one as it was.
 */
export function runtimeUpdateResources(o: ContainerCreateOptions, host: UpdateHost): LinuxResources {
  const r = resourceLimits(resourceLimitsOf(o), host);
  if (!r.pids) r.pids = { limit: -1 };
  return r;
}

export interface UpdateTarget {
  id: string;
  name: string;
  state: ContainerState;
  options: ContainerCreateOptions;
  driver: RuntimeDriver;
  stateDir: string;
}

/**
 * Check, apply to the live container when it is running or paused, and hand back the options
 * to record. When the runtime refuses, the limits it may already have written are put back
 * and nothing is recorded.
 */
export async function applyUpdate(
  target: UpdateTarget,
  changes: ContainerUpdate,
  host: UpdateHost = detectUpdateHost(),
): Promise<{ options: ContainerCreateOptions; warnings: string[] }> {
  if (target.state === 'removing') {
    throw new ConflictError(`cannot update container ${target.name}: it is being removed`);
  }
  const merged = mergeUpdate(target.options, changes, host);
  if (!isActiveState(target.state)) return merged;
  const next = runtimeUpdateResources(merged.options, host);
  try {
    await target.driver.update(target.id, next, { stateDir: target.stateDir });
  } catch (err) {
    // runc and crun write one cgroup file after another: undo what went through
    const before = runtimeUpdateResources(target.options, host);
    await target.driver.update(target.id, before, { stateDir: target.stateDir }).catch(() => {});
    throw err;
  }
  return merged;
}
