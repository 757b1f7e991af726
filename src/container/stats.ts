// `top` and `stats`: what a running container's cgroup holds, read from cgroupfs and /proc on
// the host (docker reads the same files). Every container's cgroupsPath is `/berth/<id>`; on
// v1 and hybrid hosts each controller has its own hierarchy, on v2 one directory has it all.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { ConflictError, errnoCode, InvalidArgumentError } from '../errors/index.js';
import { detectCgroups, isActiveState } from '../runtime/index.js';
import { parseProcStat } from '../util/index.js';
import type { ContainerManager } from './manager.js';

const CGROUP_ROOT = '/sys/fs/cgroup';
/** USER_HZ: the unit of /proc/<pid>/stat times on every Linux architecture berth runs on. */
const CLOCK_TICKS = 100;

function cgroupPath(id: string): string {
  return `berth/${id}`;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'ESRCH' || code === 'EINVAL') return undefined;
    throw err;
  }
}

function readNumber(path: string): number | undefined {
  const t = readText(path)?.trim();
  if (t === undefined || t === '' || t === 'max') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** `key value` lines (memory.stat, cpu.stat) as a map. */
function readKeyed(path: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (readText(path) ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

function isV2(): boolean {
  return detectCgroups(CGROUP_ROOT).mode === 'v2';
}

/** The v1 directory of `controller` for the container; `cpuacct` may be co-mounted with `cpu`. */
function v1Dir(controller: string, id: string): string {
  const candidates = controller === 'cpuacct' ? ['cpuacct', 'cpu,cpuacct', 'cpuacct,cpu'] : [controller];
  for (const c of candidates) {
    const dir = join(CGROUP_ROOT, c, cgroupPath(id));
    if (readText(join(dir, 'cgroup.procs')) !== undefined) return dir;
  }
  return join(CGROUP_ROOT, candidates[0]!, cgroupPath(id));
}

/** The pids in the container's cgroup (its init, its children, exec'd processes). */
export function containerPids(id: string): number[] {
  const files = isV2()
    ? [join(CGROUP_ROOT, cgroupPath(id), 'cgroup.procs')]
    : ['pids', 'memory', 'cpuacct', 'freezer', 'devices'].map((c) => join(v1Dir(c, id), 'cgroup.procs'));
  for (const f of files) {
    const text = readText(f);
    if (text === undefined) continue;
    return text
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .map(Number)
      .sort((a, b) => a - b);
  }
  return [];
}

function runningRecord(manager: ContainerManager, idOrName: string, what: string) {
  const rec = manager.get(idOrName);
  if (!isActiveState(rec.state)) {
    throw new ConflictError(`cannot ${what} container ${rec.name}: it is not running`);
  }
  return rec;
}

// ---------------------------------------------------------------- top

interface ProcInfo {
  pid: number;
  ppid: number;
  uid: number;
  state: string;
  comm: string;
  args: string;
  ttyNr: number;
  cpuTicks: number;
  startTicks: number;
  rssPages: number;
  vsizeBytes: number;
}

function readProc(pid: number): ProcInfo | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  const status = readText(`/proc/${pid}/status`);
  if (!stat || !status) return undefined;
  // fields from the 3rd on: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss
  const { comm, fields: f } = parseProcStat(stat);
  const num = (i: number) => Number(f[i - 3] ?? 0);
  const uidLine = /^Uid:\s+(\d+)/m.exec(status);
  const cmdline = readText(`/proc/${pid}/cmdline`) ?? '';
  const args = cmdline.split('\0').filter(Boolean).join(' ');
  return {
    pid,
    ppid: num(4),
    uid: uidLine ? Number(uidLine[1]) : 0,
    state: f[0] ?? '?',
    comm,
    args: args || `[${comm}]`,
    ttyNr: num(7),
    cpuTicks: num(14) + num(15),
    startTicks: num(22),
    vsizeBytes: num(23),
    rssPages: num(24),
  };
}

function ttyName(ttyNr: number): string {
  if (ttyNr === 0) return '?';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major === 136) return `pts/${minor}`;
  if (major === 4) return `tty${minor}`;
  if (major === 5 && minor === 0) return 'tty';
  return '?';
}

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
  return days > 0 ? `${days}-${hms}` : hms;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function startTime(started: Date, now: Date): string {
  if (started.toDateString() === now.toDateString()) {
    return `${String(started.getHours()).padStart(2, '0')}:${String(started.getMinutes()).padStart(2, '0')}`;
  }
  return `${MONTHS[started.getMonth()]}${String(started.getDate()).padStart(2, '0')}`;
}

function hostUserNames(): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of (readText('/etc/passwd') ?? '').split('\n')) {
    const parts = line.split(':');
    if (parts.length > 2 && /^\d+$/.test(parts[2]!)) {
      const uid = Number(parts[2]);
      if (!out.has(uid)) out.set(uid, parts[0]!);
    }
  }
  return out;
}

interface Column {
  title: string;
  value: (
    p: ProcInfo,
    ctx: { now: Date; boot: number; uptime: number; users: Map<number, string> },
  ) => string;
}

const COLUMNS: Record<string, Column> = {
  uid: { title: 'UID', value: (p, c) => c.users.get(p.uid) ?? String(p.uid) },
  user: { title: 'USER', value: (p, c) => c.users.get(p.uid) ?? String(p.uid) },
  pid: { title: 'PID', value: (p) => String(p.pid) },
  ppid: { title: 'PPID', value: (p) => String(p.ppid) },
  c: {
    title: 'C',
    value: (p, c) => {
      const alive = c.uptime - p.startTicks / CLOCK_TICKS;
      return String(alive > 0 ? Math.floor((p.cpuTicks / CLOCK_TICKS / alive) * 100) : 0);
    },
  },
  stime: {
    title: 'STIME',
    value: (p, c) => startTime(new Date((c.boot + p.startTicks / CLOCK_TICKS) * 1000), c.now),
  },
  tty: { title: 'TTY', value: (p) => ttyName(p.ttyNr) },
  time: { title: 'TIME', value: (p) => clock(p.cpuTicks / CLOCK_TICKS) },
  stat: { title: 'STAT', value: (p) => p.state },
  rss: { title: 'RSS', value: (p) => String(p.rssPages * 4) },
  vsz: { title: 'VSZ', value: (p) => String(Math.floor(p.vsizeBytes / 1024)) },
  comm: { title: 'COMMAND', value: (p) => p.comm },
  args: { title: 'COMMAND', value: (p) => p.args },
  cmd: { title: 'CMD', value: (p) => p.args },
};

const DEFAULT_COLUMNS = ['uid', 'pid', 'ppid', 'c', 'stime', 'tty', 'time', 'cmd'];

/** The ps columns `psArgs` asks for: none / -e / -f / -ef give docker's default, -o / -eo pick. */
function parsePsArgs(psArgs: string[]): string[] {
  let columns: string[] | undefined;
  for (let i = 0; i < psArgs.length; i++) {
    const a = psArgs[i]!;
    if (/^-[ef]{1,2}$/.test(a) || a === '-A') continue;
    const o = /^-(?:[ef]*)o(.*)$/.exec(a);
    if (o) {
      const list = o[1] || psArgs[++i];
      if (!list) throw new InvalidArgumentError('top: -o needs a column list, e.g. -o pid,comm,args');
      columns = [...(columns ?? []), ...list.split(',').filter(Boolean)];
      continue;
    }
    throw new InvalidArgumentError(
      `top: unsupported ps option "${a}": use none, -ef, or -o with ${Object.keys(COLUMNS).join(',')}`,
    );
  }
  const out = (columns ?? DEFAULT_COLUMNS).map((c) => c.toLowerCase());
  for (const c of out) {
    if (!(c in COLUMNS)) {
      throw new InvalidArgumentError(
        `top: unknown ps column "${c}": known are ${Object.keys(COLUMNS).join(',')}`,
      );
    }
  }
  return out;
}

export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/** docker top: the processes in the container's cgroup as `ps` columns. */
export function containerTop(manager: ContainerManager, idOrName: string, psArgs: string[] = []): TopResult {
  const columns = parsePsArgs(psArgs);
  const rec = runningRecord(manager, idOrName, 'list the processes of');
  const procStat = readText('/proc/stat') ?? '';
  const boot = Number(/^btime\s+(\d+)/m.exec(procStat)?.[1] ?? 0);
  const uptime = Number((readText('/proc/uptime') ?? '0').split(/\s+/)[0]);
  const ctx = { now: new Date(), boot, uptime, users: hostUserNames() };
  const processes: string[][] = [];
  for (const pid of containerPids(rec.id)) {
    const p = readProc(pid);
    if (p) processes.push(columns.map((c) => COLUMNS[c]!.value(p, ctx)));
  }
  return { Titles: columns.map((c) => COLUMNS[c]!.title), Processes: processes };
}

// ---------------------------------------------------------------- stats

export interface ContainerStats {
  id: string;
  name: string;
  /** Percent of one CPU (200% = two CPUs busy), docker's CPU %. */
  cpuPercent: number;
  memoryUsage: number;
  memoryLimit: number;
  memoryPercent: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

interface Sample {
  cpuNs: number;
  at: bigint;
}

function cpuSample(id: string, v2: boolean): Sample {
  const at = process.hrtime.bigint();
  if (v2) {
    const usec = readKeyed(join(CGROUP_ROOT, cgroupPath(id), 'cpu.stat')).get('usage_usec') ?? 0;
    return { cpuNs: usec * 1000, at };
  }
  return { cpuNs: readNumber(join(v1Dir('cpuacct', id), 'cpuacct.usage')) ?? 0, at };
}

function memory(id: string, v2: boolean): { usage: number; limit: number } {
  const host = totalmem();
  if (v2) {
    const dir = join(CGROUP_ROOT, cgroupPath(id));
    const usage = readNumber(join(dir, 'memory.current')) ?? 0;
    const inactive = readKeyed(join(dir, 'memory.stat')).get('inactive_file') ?? 0;
    const limit = readNumber(join(dir, 'memory.max'));
    return { usage: Math.max(0, usage - inactive), limit: limit && limit < host ? limit : host };
  }
  const dir = v1Dir('memory', id);
  const usage = readNumber(join(dir, 'memory.usage_in_bytes')) ?? 0;
  const inactive = readKeyed(join(dir, 'memory.stat')).get('total_inactive_file') ?? 0;
  const limit = readNumber(join(dir, 'memory.limit_in_bytes'));
  // docker subtracts the page cache the kernel can drop at once
  return { usage: Math.max(0, usage - inactive), limit: limit && limit < host ? limit : host };
}

function blockIo(id: string, v2: boolean): { read: number; write: number } {
  let read = 0;
  let write = 0;
  if (v2) {
    for (const line of (readText(join(CGROUP_ROOT, cgroupPath(id), 'io.stat')) ?? '').split('\n')) {
      read += Number(/\brbytes=(\d+)/.exec(line)?.[1] ?? 0);
      write += Number(/\bwbytes=(\d+)/.exec(line)?.[1] ?? 0);
    }
    return { read, write };
  }
  const dir = v1Dir('blkio', id);
  const text =
    readText(join(dir, 'blkio.throttle.io_service_bytes_recursive')) ??
    readText(join(dir, 'blkio.io_service_bytes_recursive')) ??
    '';
  for (const line of text.split('\n')) {
    const [, op, n] = line.trim().split(/\s+/);
    if (op === 'Read') read += Number(n ?? 0);
    else if (op === 'Write') write += Number(n ?? 0);
  }
  return { read, write };
}

function pidCount(id: string, v2: boolean): number {
  const file = v2
    ? join(CGROUP_ROOT, cgroupPath(id), 'pids.current')
    : join(v1Dir('pids', id), 'pids.current');
  return readNumber(file) ?? containerPids(id).length;
}

/**
 * One stats report per container, CPU % measured over `intervalMs` (two samples). Containers
 * that are not running report zeros, as docker's do.
 */
export async function containerStats(
  manager: ContainerManager,
  idsOrNames: string[],
  options: { intervalMs?: number } = {},
): Promise<ContainerStats[]> {
  const v2 = isV2();
  const recs = idsOrNames.map((n) => manager.get(n));
  const live = (r: (typeof recs)[number]) => isActiveState(r.state);
  const first = new Map(recs.filter(live).map((r) => [r.id, cpuSample(r.id, v2)]));
  if (first.size > 0) await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  return recs.map((r) => {
    const zero: ContainerStats = {
      id: r.id,
      name: r.name,
      cpuPercent: 0,
      memoryUsage: 0,
      memoryLimit: 0,
      memoryPercent: 0,
      netRx: 0,
      netTx: 0,
      blockRead: 0,
      blockWrite: 0,
      pids: 0,
    };
    const before = first.get(r.id);
    if (!before) return zero;
    const after = cpuSample(r.id, v2);
    const wallNs = Number(after.at - before.at);
    const mem = memory(r.id, v2);
    const io = blockIo(r.id, v2);
    return {
      ...zero,
      cpuPercent: wallNs > 0 ? Math.max(0, ((after.cpuNs - before.cpuNs) / wallNs) * 100) : 0,
      memoryUsage: mem.usage,
      memoryLimit: mem.limit,
      memoryPercent: mem.limit > 0 ? (mem.usage / mem.limit) * 100 : 0,
      blockRead: io.read,
      blockWrite: io.write,
      pids: pidCount(r.id, v2),
    };
  });
}
