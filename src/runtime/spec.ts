import { type BigIntStats, existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors/index.js';
import type {
  LinuxDevice,
  LinuxDeviceCgroup,
  LinuxNamespace,
  LinuxResources,
  LinuxSeccomp,
  RuntimeHook,
  RuntimeMount,
  RuntimeSpec,
} from '../oci/index.js';
import { validateRuntimeSpec } from './_validate.js';
import { hostBoundingCapabilities, resolveCapabilities } from './capabilities.js';
import { type CgroupMode, detectCgroups } from './cgroups.js';
import { containerRlimits, hostLimitTable, type Limit } from './rlimits.js';
import { defaultSeccompProfile, hostGoArch, seccompFromDockerProfile } from './seccomp.js';
import { lookPath } from './select.js';

export interface SpecMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export type SpecNetwork = { mode: 'none' } | { mode: 'host' } | { mode: 'path'; path: string };

export interface ContainerSpecOptions {
  /** Absolute path of the prepared (mounted) rootfs. */
  rootfs: string;
  readonlyRootfs?: boolean;
  /** Final argv: entrypoint + cmd already resolved. */
  args: string[];
  env: string[];
  /** Default `/`. */
  cwd?: string;
  user: { uid: number; gid: number; additionalGids?: number[] };
  terminal?: boolean;
  hostname?: string;
  domainname?: string;
  /** Join this UTS namespace (`--network container:NAME` shares it) instead of a new one. */
  utsPath?: string;
  /** Capability names with or without CAP_, any case; `ALL` allowed (Docker's semantics). */
  capAdd?: string[];
  capDrop?: string[];
  /** All capabilities, no seccomp, no masked/read-only paths, all host devices, rw /sys. */
  privileged?: boolean;
  /** `{ profile }` is a parsed Docker-format seccomp JSON document. */
  seccomp?: 'default' | 'unconfined' | { profile: unknown };
  noNewPrivileges?: boolean;
  ulimits?: { name: string; soft: number; hard: number }[];
  resources?: ResourceLimits;
  /** e.g. `/berth/<id>` (cgroupfs driver). */
  cgroupsPath: string;
  network: SpecNetwork;
  /** Volumes, binds, tmpfs, and the /etc/hosts, /etc/hostname, /etc/resolv.conf binds. */
  mounts?: SpecMount[];
  /** Default 64 MiB. */
  shmSize?: number;
  annotations?: Record<string, string>;
  oomScoreAdj?: number;
  /**
   * Name of the OCI runtime that will run the spec ('runc', 'crun', a binary's basename), so
   * the spec can work around what a runtime gets wrong; see `readonlyPathFlagHooks`.
   */
  runtime?: string;
}

/** Docker's resource flags, as numbers (bytes, CFS microseconds) and cpuset lists. */
export interface ResourceLimits {
  memory?: number;
  memorySwap?: number;
  memoryReservation?: number;
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  /** cpuset lists such as `0-2,4`. */
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  /** 10..1000; only where the blkio (v1) or io (v2) controller has weights. */
  blkioWeight?: number;
}

/** The facts about the host a spec depends on; detectSpecHost() reads them, tests fake them. */
export interface SpecHost {
  cgroupMode: CgroupMode;
  /** This process's limits by --ulimit name (nofile, nproc, ...). */
  limits: Readonly<Record<string, Limit>>;
  /** Capabilities this process may hand on (its bounding set). */
  boundingCapabilities: readonly string[];
  /** Whether the memory cgroup can limit swap (memsw on v1, memory.swap.max on v2). */
  swapLimit: boolean;
  /** Host architecture (Go names) and kernel release, for seccomp includes/excludes. */
  arch?: string;
  kernel?: string;
  /** The host's device nodes, given to privileged containers. */
  devices: () => LinuxDevice[];
  /** perl, else util-linux `mount`, runs the hook that restores read-only /proc paths' flags. */
  perlBinary?: string | undefined;
  mountBinary?: string | undefined;
  /** Whether this kernel's procfs has an entry (`/proc/sysrq-trigger` is a build option). */
  procHas?: (path: string) => boolean;
}

export const OCI_VERSION = '1.0.2';
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
/** Docker refuses memory limits below this: the runtime itself would not start. */
export const MIN_MEMORY_LIMIT = 6 * 1024 * 1024;

/** Docker's masked paths: files that leak host information or control the host. */
export const MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Docker's read-only paths: kernel tunables that are not namespaced. */
export const READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/**
 * The device cgroup of an unprivileged container: nothing but mknod and the character
 * devices every program expects (null, zero, full, random, urandom, tty, console, ptmx, pts).
 */
export const DEFAULT_DEVICE_RULES: readonly LinuxDeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
];

function swapLimitSupported(mode: CgroupMode): boolean {
  if (mode !== 'v2') return existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
  try {
    const own = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    if (own && own !== '/') return existsSync(join('/sys/fs/cgroup', own, 'memory.swap.max'));
  } catch {
    // fall through
  }
  return existsSync('/sys/fs/cgroup/init.scope/memory.swap.max');
}

/** Reads the host facts buildRuntimeSpec needs: cgroup layout, limits, capabilities. */
export function detectSpecHost(): SpecHost {
  const cgroupMode = detectCgroups().mode;
  return {
    cgroupMode,
    limits: hostLimitTable(),
    boundingCapabilities: hostBoundingCapabilities(),
    swapLimit: swapLimitSupported(cgroupMode),
    devices: hostDevices,
    mountBinary: binary('mount'),
    perlBinary: binary('perl'),
    procHas: (path) => existsSync(path),
  };
}

const foundBinaries = new Map<string, string | undefined>();
function binary(name: string): string | undefined {
  if (!foundBinaries.has(name)) foundBinaries.set(name, lookPath(name));
  return foundBinaries.get(name);
}

/** The options Docker's read-only /proc paths carry (`ro,nosuid,nodev,noexec` in /proc/mounts). */
export const READONLY_PATH_OPTIONS = 'remount,bind,ro,nosuid,nodev,noexec';

/** MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC */
const READONLY_PATH_FLAGS = 32 | 4096 | 1 | 2 | 4 | 8;

/** mount(2)'s number by Go architecture name (a stable part of each kernel ABI). */
const MOUNT_SYSCALL: Readonly<Record<string, number>> = {
  amd64: 165,
  '386': 21,
  arm: 21,
  arm64: 40,
  riscv64: 40,
  loong64: 40,
  ppc64le: 21,
  ppc64: 21,
  s390x: 21,
};

/**
 * crun (1.8 at least) makes each readonlyPaths entry read-only with a bare
 * MS_REMOUNT|MS_BIND|MS_RDONLY, which clears the nosuid,nodev,noexec the bind inherited from
 * /proc; runc carries them over, as Docker's containers show. The runtime spec has no field for
 * those flags, so under crun one createContainer hook remounts each path with them. crun runs
 * such hooks in the container's mount namespace after its mounts (read-only paths included)
 * and before pivot_root, so a path is the rootfs path plus the entry. Only crun: runc makes
 * the paths read-only after its hooks, and another runtime's order is unknown. Paths this
 * kernel's /proc lacks are left out (the runtime skips them too, and a remount would fail).
 *
 * The hook first reads to the end the state the runtime writes on its stdin: crun 1.8 fails the
 * container ("writing to pipe: Broken pipe") when a hook exits before taking it. It is one
 * perl process calling mount(2) per path where perl (Essential on Debian) is there, which
 * costs about half of the fallback: a shell running util-linux `mount` per path.
 */
export function readonlyPathFlagHooks(
  options: Pick<ContainerSpecOptions, 'rootfs' | 'runtime'>,
  host: Pick<SpecHost, 'mountBinary' | 'perlBinary' | 'procHas' | 'arch'>,
): RuntimeHook[] {
  if (options.runtime !== 'crun') return [];
  const has = host.procHas ?? existsSync;
  const rootfs = options.rootfs.replace(/\/+$/, '');
  const targets = READONLY_PATHS.filter((p) => has(p)).map((p) => `${rootfs}${p}`);
  if (targets.length === 0) return [];
  const syscallNumber = MOUNT_SYSCALL[host.arch ?? hostGoArch()];
  if (host.perlBinary && syscallNumber !== undefined) {
    const script = `local $/; <STDIN>; for (@ARGV) { syscall(${syscallNumber}, 0, $_, 0, ${READONLY_PATH_FLAGS}, 0) == 0 or die "cannot remount $_: $!\\n" }`;
    return [{ path: host.perlBinary, args: ['perl', '-e', script, ...targets] }];
  }
  if (host.mountBinary) {
    const script =
      'while read -r _; do :; done; m=$1; o=$2; shift 2; for p; do "$m" -o "$o" "$p" || exit 1; done';
    return [
      {
        path: '/bin/sh',
        args: ['sh', '-c', script, 'sh', host.mountBinary, READONLY_PATH_OPTIONS, ...targets],
      },
    ];
  }
  return [];
}

// Directories under /dev that hold mounts or runtime state, not devices a container should get.
const SKIP_DEV_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** Every block and character device under /dev, as Docker gives them to --privileged. */
export function hostDevices(root = '/dev'): LinuxDevice[] {
  const out: LinuxDevice[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      let st: BigIntStats;
      try {
        st = lstatSync(path, { bigint: true });
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (depth < 8 && !(dir === root && SKIP_DEV_DIRS.has(name))) walk(path, depth + 1);
        continue;
      }
      if (!st.isCharacterDevice() && !st.isBlockDevice()) continue;
      if (path === '/dev/console') continue;
      const rdev = st.rdev;
      const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
      const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
      out.push({
        path,
        type: st.isCharacterDevice() ? 'c' : 'b',
        major,
        minor,
        fileMode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
      });
    }
  };
  walk(root, 0);
  return out;
}

function defaultMounts(options: ContainerSpecOptions, shmSize: number): RuntimeMount[] {
  const sysMode = options.privileged ? 'rw' : 'ro';
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', sysMode] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', sysMode],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`],
    },
  ];
}

function depth(path: string): number {
  return path.split('/').filter(Boolean).length;
}

function mounts(options: ContainerSpecOptions, shmSize: number): RuntimeMount[] {
  const user = (options.mounts ?? []).map((m, i) => {
    if (typeof m.destination !== 'string' || !m.destination.startsWith('/')) {
      throw new InvalidArgumentError(`invalid mount: destination "${m.destination}" is not an absolute path`);
    }
    if (m.destination.split('/').includes('..')) {
      throw new InvalidArgumentError(`invalid mount: destination "${m.destination}" contains ".."`);
    }
    return { mount: m, i };
  });
  const taken = new Set(user.map(({ mount }) => mount.destination.replace(/\/+$/, '') || '/'));
  const out = defaultMounts(options, shmSize).filter((m) => !taken.has(m.destination));
  // Parents before children, so that a volume inside another volume is not hidden by it.
  user.sort((a, b) => depth(a.mount.destination) - depth(b.mount.destination) || a.i - b.i);
  for (const { mount } of user) {
    const m: RuntimeMount = { destination: mount.destination, type: mount.type, source: mount.source };
    if (mount.options) m.options = [...mount.options];
    out.push(m);
  }
  return out;
}

function namespaces(network: SpecNetwork, cgroupMode: CgroupMode, utsPath?: string): LinuxNamespace[] {
  if (utsPath !== undefined && !utsPath.startsWith('/'))
    throw new InvalidArgumentError(`invalid UTS namespace path "${utsPath}": not absolute`);
  const out: LinuxNamespace[] = [
    { type: 'pid' },
    { type: 'ipc' },
    utsPath ? { type: 'uts', path: utsPath } : { type: 'uts' },
    { type: 'mount' },
  ];
  switch (network.mode) {
    case 'none':
      out.push({ type: 'network' });
      break;
    case 'host':
      break;
    case 'path':
      if (typeof network.path !== 'string' || !network.path.startsWith('/')) {
        throw new InvalidArgumentError(`invalid network namespace path "${network.path}": not absolute`);
      }
      out.push({ type: 'network', path: network.path });
      break;
    default:
      throw new InvalidArgumentError(`unknown network mode "${(network as { mode: string }).mode}"`);
  }
  // Docker's default on cgroup v2; on v1 a cgroup namespace hides nothing useful.
  if (cgroupMode === 'v2') out.push({ type: 'cgroup' });
  return out;
}

function integerOption(name: string, value: number | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(`invalid ${name} ${value}: must be an integer of at least ${min}`);
  }
  return value;
}

const CPUSET_LIST = /^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/;

/**
 * The cgroup limits of `limits` as the runtime spec's linux.resources (devices aside), checked
 * as Docker checks them. `update` hands the same object to `<runtime> update`.
 */
export function resourceLimits(limits: ResourceLimits, host: Pick<SpecHost, 'swapLimit'>): LinuxResources {
  const r = limits;
  const out: LinuxResources = {};
  const memory = integerOption('--memory', r.memory, 0);
  const swap = integerOption('--memory-swap', r.memorySwap, -1);
  if (memory !== undefined && memory > 0) {
    if (memory < MIN_MEMORY_LIMIT) {
      throw new InvalidArgumentError('invalid --memory: Minimum memory limit allowed is 6MB');
    }
    out.memory = { limit: memory };
    if (host.swapLimit) {
      // Docker's --memory-swap is memory + swap, like the OCI field: unset means twice the
      // memory, -1 means unlimited swap.
      if (swap === undefined || swap === 0) out.memory.swap = memory * 2;
      else if (swap === -1) out.memory.swap = -1;
      else if (swap < memory) {
        throw new InvalidArgumentError(
          `invalid --memory-swap ${swap}: Minimum memoryswap limit should be larger than memory limit ${memory}`,
        );
      } else out.memory.swap = swap;
    }
  } else if (swap !== undefined && swap > 0) {
    throw new InvalidArgumentError(
      'invalid --memory-swap: You should always set the Memory limit when using Memoryswap limit',
    );
  }
  const shares = integerOption('--cpu-shares', r.cpuShares, 0);
  const quota = integerOption('CPU quota', r.cpuQuota, 0);
  const period = integerOption('CPU period', r.cpuPeriod, 0);
  if (quota !== undefined && quota > 0 && quota < 1000) {
    throw new InvalidArgumentError(
      `invalid CPU quota ${quota}: CPU cfs quota can not be less than 1ms (i.e. 1000)`,
    );
  }
  if (period !== undefined && period > 0 && (period < 1000 || period > 1000000)) {
    throw new InvalidArgumentError(
      `invalid CPU period ${period}: CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)`,
    );
  }
  if ((shares ?? 0) > 0 || (quota ?? 0) > 0 || (period ?? 0) > 0) {
    out.cpu = {};
    if (shares) out.cpu.shares = shares;
    if (quota) out.cpu.quota = quota;
    if (period) out.cpu.period = period;
  }
  for (const [flag, list] of [
    ['--cpuset-cpus', r.cpusetCpus],
    ['--cpuset-mems', r.cpusetMems],
  ] as const) {
    if (list !== undefined && list !== '' && !CPUSET_LIST.test(list)) {
      throw new InvalidArgumentError(`invalid ${flag} "${list}": expected a list such as 0-2,4`);
    }
  }
  if (r.cpusetCpus) out.cpu = { ...out.cpu, cpus: r.cpusetCpus };
  if (r.cpusetMems) out.cpu = { ...out.cpu, mems: r.cpusetMems };
  const reservation = integerOption('--memory-reservation', r.memoryReservation, 0);
  if (reservation !== undefined && reservation > 0) {
    if (reservation < MIN_MEMORY_LIMIT) {
      throw new InvalidArgumentError('invalid --memory-reservation: Minimum memory limit allowed is 6MB');
    }
    if (memory !== undefined && memory > 0 && memory < reservation) {
      throw new InvalidArgumentError(
        'Minimum memory limit can not be less than memory reservation limit, see usage',
      );
    }
    out.memory = { ...out.memory, reservation };
  }
  const pids = integerOption('--pids-limit', r.pidsLimit, -1);
  if (pids !== undefined && pids > 0) out.pids = { limit: pids };
  const weight = integerOption('--blkio-weight', r.blkioWeight, 0);
  if (weight !== undefined && weight > 0) {
    if (weight < 10 || weight > 1000) {
      throw new InvalidArgumentError(
        `invalid --blkio-weight ${weight}: Range of blkio weight is from 10 to 1000`,
      );
    }
    out.blockIO = { weight };
  }
  return out;
}

function resources(options: ContainerSpecOptions, host: SpecHost): LinuxResources {
  const out = resourceLimits(options.resources ?? {}, host);
  out.devices = options.privileged
    ? [{ allow: true, access: 'rwm' }]
    : DEFAULT_DEVICE_RULES.map((d) => ({ ...d }));
  return out;
}

function seccomp(options: ContainerSpecOptions, caps: string[], host: SpecHost): LinuxSeccomp | undefined {
  const choice = options.seccomp ?? 'default';
  const where = { arch: host.arch, kernel: host.kernel };
  const seccompHost = Object.fromEntries(Object.entries(where).filter(([, v]) => v !== undefined));
  if (choice === 'unconfined') return undefined;
  if (choice === 'default') {
    // Docker runs privileged containers unconfined unless a profile is named explicitly.
    return options.privileged ? undefined : defaultSeccompProfile({ capabilities: caps, ...seccompHost });
  }
  if (typeof choice === 'object' && choice !== null && 'profile' in choice) {
    return seccompFromDockerProfile(choice.profile, caps, seccompHost);
  }
  throw new InvalidArgumentError(`invalid seccomp option ${JSON.stringify(choice)}`);
}

/**
 * The OCI runtime spec (config.json) for a container, with Docker's security defaults:
 * its 14 capabilities, its seccomp profile, masked and read-only /proc and /sys paths, a
 * device cgroup, new pid/ipc/uts/mount/network namespaces, and rlimits the host can grant.
 * Throws InvalidArgumentError for user input Docker would refuse.
 */
export function buildRuntimeSpec(
  options: ContainerSpecOptions,
  host: SpecHost = detectSpecHost(),
): RuntimeSpec {
  if (typeof options.rootfs !== 'string' || !options.rootfs.startsWith('/')) {
    throw new InvalidArgumentError(`invalid rootfs "${options.rootfs}": not an absolute path`);
  }
  if (!Array.isArray(options.args) || options.args.length === 0) {
    throw new InvalidArgumentError('no command specified');
  }
  const cwd = options.cwd || '/';
  if (!cwd.startsWith('/')) {
    throw new InvalidArgumentError(
      `the working directory "${cwd}" is invalid: it needs to be an absolute path`,
    );
  }
  const shmSize = integerOption('--shm-size', options.shmSize, 1) ?? DEFAULT_SHM_SIZE;
  const oomScoreAdj = options.oomScoreAdj;
  if (
    oomScoreAdj !== undefined &&
    (!Number.isInteger(oomScoreAdj) || oomScoreAdj < -1000 || oomScoreAdj > 1000)
  ) {
    throw new InvalidArgumentError(`invalid --oom-score-adj ${oomScoreAdj}: must be between -1000 and 1000`);
  }

  const caps = resolveCapabilities(options, host.boundingCapabilities);
  const user: RuntimeSpec['process']['user'] = { uid: options.user.uid, gid: options.user.gid };
  if (options.user.additionalGids?.length) user.additionalGids = [...options.user.additionalGids];

  const spec: RuntimeSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: options.terminal ?? false,
      user,
      args: [...options.args],
      env: [...options.env],
      cwd,
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: containerRlimits(options.ulimits ?? [], host.limits),
      noNewPrivileges: options.noNewPrivileges ?? false,
    },
    root: { path: options.rootfs, readonly: options.readonlyRootfs ?? false },
    hostname: options.hostname ?? '',
    mounts: mounts(options, shmSize),
    linux: {
      namespaces: namespaces(options.network, host.cgroupMode, options.utsPath),
      cgroupsPath: options.cgroupsPath,
      resources: resources(options, host),
    },
  };
  if (oomScoreAdj !== undefined) spec.process.oomScoreAdj = oomScoreAdj;
  // a joined UTS namespace keeps its owner's names: runtimes refuse to set them there
  if (!options.hostname || options.utsPath) delete spec.hostname;
  if (options.domainname && !options.utsPath) spec.domainname = options.domainname;
  const linux = spec.linux!;
  if (options.network.mode !== 'host') {
    // Docker's defaults for a container's own network namespace: binding low ports and
    // ICMP sockets need no capability there.
    linux.sysctl = {
      'net.ipv4.ip_unprivileged_port_start': '0',
      'net.ipv4.ping_group_range': '0 2147483647',
    };
  }
  const filter = seccomp(options, caps, host);
  if (filter) linux.seccomp = filter;
  if (options.privileged) {
    linux.devices = host.devices();
  } else {
    linux.maskedPaths = [...MASKED_PATHS];
    linux.readonlyPaths = [...READONLY_PATHS];
    const hooks = readonlyPathFlagHooks(options, host);
    if (hooks.length > 0) spec.hooks = { createContainer: hooks };
  }
  if (options.annotations && Object.keys(options.annotations).length > 0) {
    spec.annotations = { ...options.annotations };
  }
  return validateRuntimeSpec(spec);
}
