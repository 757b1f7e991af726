import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors/index.js';
import type { PosixRlimit } from '../oci/index.js';

export interface Limit {
  soft: number;
  hard: number;
}

/** Docker's --ulimit names and the row titles of /proc/<pid>/limits. */
const ULIMIT_ROWS: Record<string, string> = {
  cpu: 'Max cpu time',
  fsize: 'Max file size',
  data: 'Max data size',
  stack: 'Max stack size',
  core: 'Max core file size',
  rss: 'Max resident set',
  nproc: 'Max processes',
  nofile: 'Max open files',
  memlock: 'Max locked memory',
  as: 'Max address space',
  locks: 'Max file locks',
  sigpending: 'Max pending signals',
  msgqueue: 'Max msgqueue size',
  nice: 'Max nice priority',
  rtprio: 'Max realtime priority',
  rttime: 'Max realtime timeout',
};

/** A container's nofile when the user asks for nothing: Docker's value, if the host allows it. */
export const DEFAULT_NOFILE = 1048576;

/**
 * Every limit of this process, by --ulimit name, from `/proc/self/limits`; `unlimited` is
 * Infinity. Rows the file lacks are absent.
 */
export function readHostLimits(path = '/proc/self/limits'): Record<string, Limit> {
  const out: Record<string, Limit> = {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return out;
  }
  const rows = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (m) rows.set(m[1]!, `${m[2]} ${m[3]}`);
  }
  for (const [name, title] of Object.entries(ULIMIT_ROWS)) {
    const row = rows.get(title);
    if (!row) continue;
    const [soft, hard] = row.split(' ').map(parseLimit);
    if (soft !== undefined && hard !== undefined) out[name] = { soft, hard };
  }
  return out;
}

function parseLimit(text: string | undefined): number | undefined {
  if (text === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function readPidMax(path = '/proc/sys/kernel/pid_max'): number {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    if (Number.isSafeInteger(n) && n > 0) return n;
  } catch {
    // fall through to the kernel's default
  }
  return 32768;
}

export interface HostRlimits {
  nofile: Limit;
  nproc: Limit;
}

/**
 * This process's nofile and nproc limits: the most a container may get (raising a hard limit
 * needs CAP_SYS_RESOURCE, which berth does not assume). nproc is capped at pid_max, since no
 * more processes can exist anyway. Unlimited values come back as Number.MAX_SAFE_INTEGER.
 */
export function hostRlimits(): HostRlimits {
  const all = readHostLimits();
  const pidMax = readPidMax();
  const finite = (n: number) => (Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER);
  const nofile = all.nofile ?? { soft: 1024, hard: 1024 };
  const nproc = all.nproc ?? { soft: pidMax, hard: pidMax };
  const nprocHard = Math.min(nproc.hard, pidMax);
  return {
    nofile: { soft: finite(nofile.soft), hard: finite(nofile.hard) },
    nproc: { soft: Math.min(nproc.soft, nprocHard), hard: nprocHard },
  };
}

export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

function describe(u: Ulimit): string {
  return u.soft === u.hard ? `${u.name}=${u.soft}` : `${u.name}=${u.soft}:${u.hard}`;
}

/**
 * The rlimits of a container's process: nofile soft=hard=min(1048576, host hard), then the
 * user's --ulimit values, each checked against the host's hard limit (`hostLimits` holds the
 * limits by --ulimit name; nofile and nproc from hostRlimits() at least).
 */
export function containerRlimits(
  ulimits: readonly Ulimit[],
  hostLimits: Readonly<Record<string, Limit>>,
): PosixRlimit[] {
  const byName = new Map<string, Limit>();
  const hostNofile = hostLimits.nofile?.hard ?? DEFAULT_NOFILE;
  const nofile = Math.min(DEFAULT_NOFILE, hostNofile);
  byName.set('nofile', { soft: nofile, hard: nofile });
  for (const u of ulimits) {
    const text = describe(u);
    if (typeof u.name !== 'string' || !(u.name in ULIMIT_ROWS)) {
      throw new InvalidArgumentError(`invalid --ulimit "${text}": unknown resource "${u.name}"`);
    }
    for (const [which, value] of [
      ['soft', u.soft],
      ['hard', u.hard],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new InvalidArgumentError(
          `invalid --ulimit "${text}": ${which} limit must be a non-negative integer`,
        );
      }
    }
    if (u.soft > u.hard) {
      throw new InvalidArgumentError(
        `invalid --ulimit "${text}": soft limit ${u.soft} is above hard limit ${u.hard}`,
      );
    }
    const host = hostLimits[u.name];
    if (host && u.hard > host.hard) {
      throw new InvalidArgumentError(
        `invalid --ulimit "${text}": hard limit ${u.hard} is above this host's hard limit ${host.hard}`,
      );
    }
    byName.set(u.name, { soft: u.soft, hard: u.hard });
  }
  return [...byName].map(([name, l]) => ({
    type: `RLIMIT_${name.toUpperCase()}`,
    soft: l.soft,
    hard: l.hard,
  }));
}

/** Host limits by --ulimit name, with nofile/nproc as hostRlimits() reports them. */
export function hostLimitTable(): Record<string, Limit> {
  const table = readHostLimits();
  const { nofile, nproc } = hostRlimits();
  return { ...table, nofile, nproc };
}
