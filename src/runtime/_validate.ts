import { InvalidArgumentError } from '../errors/index.js';
import {
  LINUX_NAMESPACE_TYPES,
  type LinuxNamespaceType,
  RLIMIT_TYPES,
  type RuntimeSpec,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_OPERATORS,
  type SeccompAction,
  type SeccompOperator,
} from '../oci/index.js';
import { isKnownCapability } from './capabilities.js';

type Json = Record<string, unknown>;

const UINT32_MAX = 0xffffffff;

function fail(field: string, what: string): never {
  throw new InvalidArgumentError(`invalid runtime spec: ${field} ${what}`);
}

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function object(v: unknown, field: string): Json {
  if (!isObject(v)) fail(field, 'must be an object');
  return v;
}

function optionalObject(v: unknown, field: string): Json | undefined {
  return v === undefined ? undefined : object(v, field);
}

function array(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) fail(field, 'must be an array');
  return v;
}

function string(v: unknown, field: string): string {
  if (typeof v !== 'string') fail(field, `must be a string, not ${show(v)}`);
  return v;
}

function optionalString(v: unknown, field: string): void {
  if (v !== undefined) string(v, field);
}

function boolean(v: unknown, field: string): void {
  if (v !== undefined && typeof v !== 'boolean') fail(field, `must be a boolean, not ${show(v)}`);
}

function integer(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (v === undefined) return;
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
    fail(field, `must be an integer from ${min} to ${max}, not ${show(v)}`);
  }
}

function absolutePath(v: unknown, field: string): string {
  const p = string(v, field);
  if (!p.startsWith('/')) fail(field, `${show(p)} is not an absolute path`);
  if (p.includes('\0')) fail(field, 'contains a NUL byte');
  return p;
}

function stringArray(v: unknown, field: string): string[] {
  return array(v, field).map((s, i) => string(s, `${field}[${i}]`));
}

function stringRecord(v: unknown, field: string): void {
  if (v === undefined) return;
  for (const [k, value] of Object.entries(object(v, field))) string(value, `${field}.${k}`);
}

function validateProcess(p: Json): void {
  const args = array(p.args, 'process.args');
  if (args.length === 0) fail('process.args', 'must name a program to run');
  stringArray(args, 'process.args');
  absolutePath(p.cwd, 'process.cwd');
  if (p.env !== undefined) {
    stringArray(p.env, 'process.env').forEach((e, i) => {
      if (!e.includes('=') || e.startsWith('=')) fail(`process.env[${i}]`, `${show(e)} is not NAME=value`);
    });
  }
  boolean(p.terminal, 'process.terminal');
  boolean(p.noNewPrivileges, 'process.noNewPrivileges');
  optionalString(p.apparmorProfile, 'process.apparmorProfile');
  integer(p.oomScoreAdj, 'process.oomScoreAdj', -1000, 1000);
  const user = object(p.user, 'process.user');
  integer(user.uid, 'process.user.uid', 0, UINT32_MAX);
  integer(user.gid, 'process.user.gid', 0, UINT32_MAX);
  if (user.uid === undefined) fail('process.user.uid', 'is required');
  if (user.gid === undefined) fail('process.user.gid', 'is required');
  integer(user.umask, 'process.user.umask', 0, 0o777);
  if (user.additionalGids !== undefined) {
    array(user.additionalGids, 'process.user.additionalGids').forEach((g, i) => {
      integer(g, `process.user.additionalGids[${i}]`, 0, UINT32_MAX);
    });
  }
  const caps = optionalObject(p.capabilities, 'process.capabilities');
  if (caps) {
    for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
      if (caps[set] === undefined) continue;
      stringArray(caps[set], `process.capabilities.${set}`).forEach((c, i) => {
        if (!isKnownCapability(c))
          fail(`process.capabilities.${set}[${i}]`, `${show(c)} is not a capability`);
      });
    }
  }
  if (p.rlimits !== undefined) {
    const seen = new Set<string>();
    array(p.rlimits, 'process.rlimits').forEach((r, i) => {
      const field = `process.rlimits[${i}]`;
      const rl = object(r, field);
      const type = string(rl.type, `${field}.type`);
      if (!RLIMIT_TYPES.includes(type)) fail(`${field}.type`, `${show(type)} is not an rlimit`);
      if (seen.has(type)) fail(`${field}.type`, `${type} appears twice`);
      seen.add(type);
      if (rl.soft === undefined || rl.hard === undefined) fail(field, 'needs soft and hard');
      integer(rl.soft, `${field}.soft`, 0);
      integer(rl.hard, `${field}.hard`, 0);
      if ((rl.soft as number) > (rl.hard as number)) fail(field, `soft ${rl.soft} is above hard ${rl.hard}`);
    });
  }
}

function validateResources(r: Json): void {
  const memory = optionalObject(r.memory, 'linux.resources.memory');
  if (memory) {
    for (const k of ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP']) {
      integer(memory[k], `linux.resources.memory.${k}`, -1);
    }
    integer(memory.swappiness, 'linux.resources.memory.swappiness', 0, 100);
    boolean(memory.disableOOMKiller, 'linux.resources.memory.disableOOMKiller');
    const { limit, swap } = memory as { limit?: number; swap?: number };
    if (limit !== undefined && swap !== undefined && limit > 0 && swap > 0 && swap < limit) {
      fail(
        'linux.resources.memory.swap',
        `${swap} is below the memory limit ${limit} (it counts memory + swap)`,
      );
    }
  }
  const cpu = optionalObject(r.cpu, 'linux.resources.cpu');
  if (cpu) {
    integer(cpu.shares, 'linux.resources.cpu.shares', 0);
    integer(cpu.quota, 'linux.resources.cpu.quota', -1);
    integer(cpu.period, 'linux.resources.cpu.period', 0);
    integer(cpu.realtimeRuntime, 'linux.resources.cpu.realtimeRuntime', -1);
    integer(cpu.realtimePeriod, 'linux.resources.cpu.realtimePeriod', 0);
    for (const k of ['cpus', 'mems']) {
      if (cpu[k] !== undefined && !/^[0-9,-]*$/.test(string(cpu[k], `linux.resources.cpu.${k}`))) {
        fail(`linux.resources.cpu.${k}`, `${show(cpu[k])} is not a list like "0-3,5"`);
      }
    }
  }
  const pids = optionalObject(r.pids, 'linux.resources.pids');
  if (pids) {
    if (pids.limit === undefined) fail('linux.resources.pids.limit', 'is required');
    integer(pids.limit, 'linux.resources.pids.limit', -1);
  }
  if (r.devices !== undefined) {
    array(r.devices, 'linux.resources.devices').forEach((d, i) => {
      const field = `linux.resources.devices[${i}]`;
      const dev = object(d, field);
      if (typeof dev.allow !== 'boolean') fail(`${field}.allow`, 'must be a boolean');
      if (dev.type !== undefined && !['a', 'b', 'c'].includes(dev.type as string)) {
        fail(`${field}.type`, `${show(dev.type)} is not one of a, b, c`);
      }
      integer(dev.major, `${field}.major`, -1);
      integer(dev.minor, `${field}.minor`, -1);
      if (dev.access !== undefined && !/^[rwm]{0,3}$/.test(string(dev.access, `${field}.access`))) {
        fail(`${field}.access`, `${show(dev.access)} is not a combination of r, w, m`);
      }
    });
  }
  stringRecord(r.unified, 'linux.resources.unified');
}

function validateSeccomp(s: Json): void {
  const act = (v: unknown, field: string) => {
    if (!SECCOMP_ACTIONS.includes(v as SeccompAction)) fail(field, `${show(v)} is not a seccomp action`);
  };
  act(s.defaultAction, 'linux.seccomp.defaultAction');
  integer(s.defaultErrnoRet, 'linux.seccomp.defaultErrnoRet', 0, 4095);
  if (s.architectures !== undefined) {
    stringArray(s.architectures, 'linux.seccomp.architectures').forEach((a, i) => {
      if (!SECCOMP_ARCHES.includes(a))
        fail(`linux.seccomp.architectures[${i}]`, `${show(a)} is not an architecture`);
    });
  }
  if (s.flags !== undefined) stringArray(s.flags, 'linux.seccomp.flags');
  if (s.syscalls === undefined) return;
  array(s.syscalls, 'linux.seccomp.syscalls').forEach((c, i) => {
    const field = `linux.seccomp.syscalls[${i}]`;
    const call = object(c, field);
    const names = stringArray(call.names, `${field}.names`);
    if (names.length === 0) fail(`${field}.names`, 'must not be empty');
    act(call.action, `${field}.action`);
    integer(call.errnoRet, `${field}.errnoRet`, 0, 4095);
    if (call.args === undefined) return;
    array(call.args, `${field}.args`).forEach((a, j) => {
      const af = `${field}.args[${j}]`;
      const arg = object(a, af);
      integer(arg.index, `${af}.index`, 0, 5);
      integer(arg.value, `${af}.value`, 0);
      integer(arg.valueTwo, `${af}.valueTwo`, 0);
      if (arg.index === undefined || arg.value === undefined) fail(af, 'needs index and value');
      if (!SECCOMP_OPERATORS.includes(arg.op as SeccompOperator))
        fail(`${af}.op`, `${show(arg.op)} is not an operator`);
    });
  });
}

function validateLinux(l: Json): void {
  if (l.namespaces !== undefined) {
    const seen = new Set<string>();
    array(l.namespaces, 'linux.namespaces').forEach((n, i) => {
      const field = `linux.namespaces[${i}]`;
      const ns = object(n, field);
      if (!LINUX_NAMESPACE_TYPES.includes(ns.type as LinuxNamespaceType)) {
        fail(`${field}.type`, `${show(ns.type)} is not a namespace type`);
      }
      if (seen.has(ns.type as string)) fail(`${field}.type`, `${ns.type} appears twice`);
      seen.add(ns.type as string);
      if (ns.path !== undefined) absolutePath(ns.path, `${field}.path`);
    });
  }
  optionalString(l.cgroupsPath, 'linux.cgroupsPath');
  const resources = optionalObject(l.resources, 'linux.resources');
  if (resources) validateResources(resources);
  stringRecord(l.sysctl, 'linux.sysctl');
  for (const k of ['maskedPaths', 'readonlyPaths']) {
    if (l[k] === undefined) continue;
    array(l[k], `linux.${k}`).forEach((p, i) => {
      absolutePath(p, `linux.${k}[${i}]`);
    });
  }
  if (l.devices !== undefined) {
    array(l.devices, 'linux.devices').forEach((d, i) => {
      const field = `linux.devices[${i}]`;
      const dev = object(d, field);
      absolutePath(dev.path, `${field}.path`);
      if (!['c', 'b', 'u', 'p'].includes(dev.type as string))
        fail(`${field}.type`, `${show(dev.type)} is not one of c, b, u, p`);
      integer(dev.major, `${field}.major`, 0);
      integer(dev.minor, `${field}.minor`, 0);
      integer(dev.fileMode, `${field}.fileMode`, 0, 0o7777);
      integer(dev.uid, `${field}.uid`, 0, UINT32_MAX);
      integer(dev.gid, `${field}.gid`, 0, UINT32_MAX);
    });
  }
  const seccomp = optionalObject(l.seccomp, 'linux.seccomp');
  if (seccomp) validateSeccomp(seccomp);
}

/**
 * Checks the essentials of an OCI runtime spec (config.json) before it is handed to runc or
 * crun, so that a mistake is reported with the field that holds it instead of as a runtime's
 * cryptic failure. Throws InvalidArgumentError naming the field.
 */
export function validateRuntimeSpec(spec: unknown): RuntimeSpec {
  const s = object(spec, 'document');
  const version = string(s.ociVersion, 'ociVersion');
  if (!/^1\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version))
    fail('ociVersion', `${show(version)} is not a 1.x version`);
  const root = object(s.root, 'root');
  if (string(root.path, 'root.path') === '') fail('root.path', 'must not be empty');
  boolean(root.readonly, 'root.readonly');
  validateProcess(object(s.process, 'process'));
  optionalString(s.hostname, 'hostname');
  if (s.mounts !== undefined) {
    array(s.mounts, 'mounts').forEach((m, i) => {
      const field = `mounts[${i}]`;
      const mount = object(m, field);
      absolutePath(mount.destination, `${field}.destination`);
      optionalString(mount.type, `${field}.type`);
      optionalString(mount.source, `${field}.source`);
      if (mount.options !== undefined) stringArray(mount.options, `${field}.options`);
    });
  }
  stringRecord(s.annotations, 'annotations');
  const hooks = optionalObject(s.hooks, 'hooks');
  if (hooks) {
    for (const [kind, list] of Object.entries(hooks)) {
      array(list, `hooks.${kind}`).forEach((h, i) => {
        const field = `hooks.${kind}[${i}]`;
        const hook = object(h, field);
        absolutePath(hook.path, `${field}.path`);
        if (hook.args !== undefined) stringArray(hook.args, `${field}.args`);
        if (hook.env !== undefined) stringArray(hook.env, `${field}.env`);
        integer(hook.timeout, `${field}.timeout`, 1);
      });
    }
  }
  const linux = optionalObject(s.linux, 'linux');
  if (linux) validateLinux(linux);
  return s as unknown as RuntimeSpec;
}
