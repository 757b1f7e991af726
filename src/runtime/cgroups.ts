import { existsSync, readdirSync, readFileSync, statfsSync } from 'node:fs';

const CGROUP2_SUPER_MAGIC = 0x63677270;
const TMPFS_MAGIC = 0x01021994;

export type CgroupMode = 'v2' | 'hybrid' | 'v1';

export interface CgroupInfo {
  mode: CgroupMode;
  /** Controllers the cgroup2 hierarchy holds (empty on pure v1). */
  v2Controllers: string[];
}

/**
 * Which cgroup layout the host has: unified v2 (`/sys/fs/cgroup` is cgroup2), hybrid (v1
 * controllers with cgroup2 at `/sys/fs/cgroup/unified`), or pure v1.
 */
export function detectCgroups(base = '/sys/fs/cgroup'): CgroupInfo {
  const type = fsType(base);
  if (type === CGROUP2_SUPER_MAGIC)
    return { mode: 'v2', v2Controllers: controllers(`${base}/cgroup.controllers`) };
  if (type === TMPFS_MAGIC && fsType(`${base}/unified`) === CGROUP2_SUPER_MAGIC) {
    return { mode: 'hybrid', v2Controllers: controllers(`${base}/unified/cgroup.controllers`) };
  }
  return { mode: 'v1', v2Controllers: [] };
}

function fsType(path: string): number | undefined {
  try {
    return Number(statfsSync(path).type);
  } catch {
    return undefined;
  }
}

function controllers(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Whether containers can get a block I/O weight here: the v1 blkio controller's
 * `blkio.weight` (CFQ) or `blkio.bfq.weight`, or on v2 the `io` controller's weight files.
 * Docker discards the weight with a warning where there is none.
 */
export function blkioWeightSupported(base = '/sys/fs/cgroup'): boolean {
  const { mode, v2Controllers } = detectCgroups(base);
  if (mode === 'v2') {
    return v2Controllers.includes('io') && ['io.weight', 'io.bfq.weight'].some((f) => hasChildFile(base, f));
  }
  return ['blkio.weight', 'blkio.bfq.weight'].some((f) => existsSync(`${base}/blkio/${f}`));
}

/** Weight files exist in child cgroups only, never in the root: look one level down. */
function hasChildFile(base: string, file: string): boolean {
  try {
    return readdirSync(base, { withFileTypes: true }).some(
      (d) => d.isDirectory() && existsSync(`${base}/${d.name}/${file}`),
    );
  } catch {
    return false;
  }
}
