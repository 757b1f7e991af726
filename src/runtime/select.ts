import { accessSync, constants, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../errors/index.js';
import { type CgroupInfo, detectCgroups } from './cgroups.js';

export type RuntimeName = 'runc' | 'crun';

export interface SelectedRuntime {
  name: string;
  path: string;
}

// runc lives in /usr/sbin on Debian, which a non-root PATH often lacks.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Find an executable by name on PATH, then in the usual system directories. */
export function lookPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const p = join(dir, name);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

/**
 * Whether crun can manage cgroups on this host. crun 1.x refuses a hybrid layout whose cgroup2
 * hierarchy holds controllers (it cannot tell which hierarchy owns them); unified v2, and
 * hybrid with an empty cgroup2, work.
 */
export function crunCanWork(cgroups: CgroupInfo): boolean {
  if (cgroups.mode === 'v2') return true;
  if (cgroups.mode === 'hybrid') return cgroups.v2Controllers.length === 0;
  return false;
}

export interface SelectRuntimeOptions {
  /** The host's cgroup layout; detected when omitted. */
  cgroups?: CgroupInfo;
  /** Resolves a binary name to a path; `lookPath` when omitted. */
  lookPath?: (name: string) => string | undefined;
}

/**
 * Pick the OCI runtime. An explicit name ('runc', 'crun') or absolute path wins; 'auto' (or
 * nothing) prefers crun where it can work here and falls back to runc. Never returns a binary
 * that is not installed.
 */
export function selectRuntime(requested = 'auto', options: SelectRuntimeOptions = {}): SelectedRuntime {
  const find = options.lookPath ?? lookPath;
  const wanted = requested.trim() || 'auto';
  if (isAbsolute(wanted)) {
    if (!isExecutableFile(wanted)) throw new NotFoundError(`OCI runtime ${wanted} is not an executable file`);
    return { name: basename(wanted), path: wanted };
  }
  if (wanted === 'runc' || wanted === 'crun') {
    const path = find(wanted);
    if (!path) {
      throw new NotFoundError(`OCI runtime "${wanted}" is not installed`, {
        hint: `install the ${wanted} package or pass --runtime with another runtime`,
      });
    }
    return { name: wanted, path };
  }
  if (wanted !== 'auto') {
    throw new InvalidArgumentError(
      `unknown OCI runtime "${requested}": use runc, crun, an absolute path, or auto`,
    );
  }
  const cgroups = options.cgroups ?? detectCgroups();
  const crun = crunCanWork(cgroups) ? find('crun') : undefined;
  if (crun) return { name: 'crun', path: crun };
  const runc = find('runc');
  if (runc) return { name: 'runc', path: runc };
  if (find('crun')) {
    throw new NotFoundError(
      `no usable OCI runtime: runc is not installed, and crun cannot run with this cgroup layout (${describeCgroups(cgroups)})`,
      { hint: 'install runc, or free the cgroup2 hierarchy of controllers' },
    );
  }
  throw new NotFoundError('no OCI runtime found: neither runc nor crun is installed', {
    hint: 'install the runc or crun package',
  });
}

function describeCgroups(cgroups: CgroupInfo): string {
  if (cgroups.mode === 'hybrid') {
    return `hybrid cgroups whose cgroup2 holds ${cgroups.v2Controllers.join(', ')}`;
  }
  return cgroups.mode === 'v1' ? 'cgroup v1' : 'cgroup v2';
}
