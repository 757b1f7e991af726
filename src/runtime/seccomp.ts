import { endianness, release } from 'node:os';
import { InvalidArgumentError } from '../errors/index.js';
import {
  type LinuxSeccomp,
  type LinuxSeccompArg,
  type LinuxSyscall,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
  type SeccompAction,
  type SeccompOperator,
} from '../oci/index.js';
import { defaultDockerProfile } from './_seccomp-default.js';
import { DEFAULT_CAPABILITIES } from './capabilities.js';

// Bounds for a user's profile: Docker's own default has ~50 rules and ~400 names.
const MAX_RULES = 4096;
const MAX_NAMES_PER_RULE = 2048;
const MAX_TOTAL_NAMES = 32768;
const MAX_LIST = 64;
const MAX_ARGS = 6;
const MAX_ERRNO = 4095;
const SYSCALL_NAME = /^[a-z_][a-z0-9_]{0,63}$/;
const CAP_NAME = /^(CAP_)?[A-Za-z_]{1,40}$/;
const ARCH_NAME = /^[a-z0-9_]{1,32}$/;
const KERNEL_VERSION = /^(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?$/;

export interface SeccompHost {
  /** Go's name for the host architecture (`amd64`, `arm64`, ...), as Docker profiles use it. */
  arch?: string;
  /** Kernel release, e.g. `6.1.0-18-amd64`. */
  kernel?: string;
}

const GO_ARCH: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  arm: 'arm',
  arm64: 'arm64',
  ppc64: endianness() === 'LE' ? 'ppc64le' : 'ppc64',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64el: 'mips64le',
  loong64: 'loong64',
};

const NATIVE_SCMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  '386': 'SCMP_ARCH_X86',
  arm: 'SCMP_ARCH_ARM',
  arm64: 'SCMP_ARCH_AARCH64',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  ppc64: 'SCMP_ARCH_PPC64',
  s390x: 'SCMP_ARCH_S390X',
  riscv64: 'SCMP_ARCH_RISCV64',
  mips64le: 'SCMP_ARCH_MIPSEL64',
};

export function hostGoArch(): string {
  return GO_ARCH[process.arch] ?? process.arch;
}

function kernelVersion(text: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

function kernelAtLeast(kernel: string, min: string): boolean {
  const have = kernelVersion(kernel);
  const want = kernelVersion(min)!;
  if (!have) return false;
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}

/**
 * The default seccomp profile, with the same effect as Docker's, for a container holding
 * `capabilities` (default: Docker's 14): rules gated on a capability are kept only when the
 * container has it.
 */
export function defaultSeccompProfile(
  options: { capabilities?: readonly string[] } & SeccompHost = {},
): LinuxSeccomp {
  const { capabilities = DEFAULT_CAPABILITIES, ...host } = options;
  return seccompFromDockerProfile(defaultDockerProfile(), capabilities, host);
}

type Json = Record<string, unknown>;

/** Only these actions carry a return value (the runtimes refuse errnoRet with any other). */
function takesErrno(a: SeccompAction): boolean {
  return a === 'SCMP_ACT_ERRNO' || a === 'SCMP_ACT_TRACE';
}

function bad(where: string, what: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid seccomp profile: ${where} ${what}`);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, where: string, pattern: RegExp, max = MAX_LIST): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(where, 'must be an array of strings');
  if (v.length > max) throw bad(where, `has ${v.length} entries, more than the ${max} berth accepts`);
  return v.map((s, i) => {
    if (typeof s !== 'string' || !pattern.test(s)) {
      throw bad(`${where}[${i}]`, `is not a valid name: ${JSON.stringify(s)?.slice(0, 80)}`);
    }
    return s;
  });
}

function action(v: unknown, where: string): SeccompAction {
  if (typeof v !== 'string' || !SECCOMP_ACTIONS.includes(v as SeccompAction)) {
    throw bad(where, `is not a seccomp action: ${JSON.stringify(v)?.slice(0, 80)}`);
  }
  if (v === 'SCMP_ACT_NOTIFY')
    throw bad(where, 'is SCMP_ACT_NOTIFY, which needs a seccomp agent berth does not run');
  return v as SeccompAction;
}

function errno(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > MAX_ERRNO) {
    throw bad(where, `must be an errno between 0 and ${MAX_ERRNO}`);
  }
  return v as number;
}

function argValue(v: unknown, where: string): number {
  // JSON numbers past 2^53 have already lost their low bits; refuse rather than filter on a
  // value the author did not write.
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    throw bad(where, 'must be a non-negative integer below 2^53');
  }
  return v as number;
}

interface Conditions {
  caps: string[];
  arches: string[];
  minKernel: string | undefined;
}

function conditions(v: unknown, where: string): Conditions {
  if (v === undefined || v === null) return { caps: [], arches: [], minKernel: undefined };
  if (!isObject(v)) throw bad(where, 'must be an object');
  const caps = stringList(v.caps, `${where}.caps`, CAP_NAME).map((c) => {
    const upper = c.toUpperCase();
    return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  });
  const arches = stringList(v.arches, `${where}.arches`, ARCH_NAME);
  let minKernel: string | undefined;
  if (v.minKernel !== undefined && v.minKernel !== null && v.minKernel !== '') {
    if (typeof v.minKernel !== 'string' || !KERNEL_VERSION.test(v.minKernel)) {
      throw bad(`${where}.minKernel`, 'must look like "4.8"');
    }
    minKernel = v.minKernel;
  }
  return { caps, arches, minKernel };
}

function args(v: unknown, where: string): LinuxSeccompArg[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw bad(where, 'must be an array');
  if (v.length > MAX_ARGS)
    throw bad(where, `has ${v.length} entries; a syscall has at most ${MAX_ARGS} arguments`);
  return v.map((a, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(a)) throw bad(at, 'must be an object');
    if (!Number.isInteger(a.index) || (a.index as number) < 0 || (a.index as number) >= MAX_ARGS) {
      throw bad(`${at}.index`, `must be an integer from 0 to ${MAX_ARGS - 1}`);
    }
    if (typeof a.op !== 'string' || !SECCOMP_OPERATORS.includes(a.op as SeccompOperator)) {
      throw bad(`${at}.op`, `is not a seccomp operator: ${JSON.stringify(a.op)?.slice(0, 80)}`);
    }
    const out: LinuxSeccompArg = {
      index: a.index as number,
      value: argValue(a.value, `${at}.value`),
      op: a.op as SeccompOperator,
    };
    if (a.valueTwo !== undefined && a.valueTwo !== null)
      out.valueTwo = argValue(a.valueTwo, `${at}.valueTwo`);
    return out;
  });
}

/**
 * Converts a Docker-format seccomp profile (`--security-opt seccomp=FILE`, already parsed
 * from JSON) into the OCI `linux.seccomp` object for a container holding `capabilities`.
 * `includes`/`excludes` are resolved here against the capabilities, the host architecture
 * and the kernel version, as Docker does. Anything malformed is an InvalidArgumentError.
 */
export function seccompFromDockerProfile(
  profile: unknown,
  capabilities: readonly string[],
  host: SeccompHost = {},
): LinuxSeccomp {
  if (!isObject(profile)) throw bad('document', 'must be a JSON object');
  const arch = host.arch ?? hostGoArch();
  const kernel = host.kernel ?? release();
  const caps = new Set(
    capabilities.map((c) => {
      const upper = c.toUpperCase();
      return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
    }),
  );

  const out: LinuxSeccomp = { defaultAction: action(profile.defaultAction, 'defaultAction') };
  const defaultErrno = errno(profile.defaultErrnoRet, 'defaultErrnoRet');
  if (defaultErrno !== undefined) {
    if (!takesErrno(out.defaultAction)) throw bad('defaultErrnoRet', `does not go with ${out.defaultAction}`);
    out.defaultErrnoRet = defaultErrno;
  }

  const legacyArches = stringList(profile.architectures, 'architectures', /^SCMP_ARCH_[A-Z0-9_]+$/);
  for (const a of legacyArches)
    if (!SECCOMP_ARCHES.includes(a)) throw bad('architectures', `names unknown ${a}`);
  const hasArchMap = profile.archMap !== undefined && profile.archMap !== null;
  if (legacyArches.length > 0 && hasArchMap) throw bad('document', 'has both "architectures" and "archMap"');
  let architectures = legacyArches;
  if (hasArchMap) {
    if (!Array.isArray(profile.archMap)) throw bad('archMap', 'must be an array');
    if (profile.archMap.length > MAX_LIST) throw bad('archMap', `has more than ${MAX_LIST} entries`);
    const native = NATIVE_SCMP_ARCH[arch];
    architectures = [];
    profile.archMap.forEach((entry, i) => {
      const at = `archMap[${i}]`;
      if (!isObject(entry)) throw bad(at, 'must be an object');
      const main = entry.architecture;
      if (typeof main !== 'string' || !SECCOMP_ARCHES.includes(main)) {
        throw bad(
          `${at}.architecture`,
          `is not a seccomp architecture: ${JSON.stringify(main)?.slice(0, 80)}`,
        );
      }
      const subs = stringList(entry.subArchitectures, `${at}.subArchitectures`, /^SCMP_ARCH_[A-Z0-9_]+$/);
      for (const s of subs)
        if (!SECCOMP_ARCHES.includes(s)) throw bad(`${at}.subArchitectures`, `names unknown ${s}`);
      if (main === native) architectures.push(main, ...subs);
    });
  }
  if (architectures.length > 0) out.architectures = [...new Set(architectures)];

  const flags = stringList(profile.flags, 'flags', /^SECCOMP_FILTER_FLAG_[A-Z_]+$/);
  for (const f of flags) if (!SECCOMP_FLAGS.includes(f)) throw bad('flags', `names unknown ${f}`);
  if (flags.length > 0) out.flags = flags;

  const rules = profile.syscalls ?? [];
  if (!Array.isArray(rules)) throw bad('syscalls', 'must be an array');
  if (rules.length > MAX_RULES)
    throw bad('syscalls', `has ${rules.length} rules, more than the ${MAX_RULES} berth accepts`);
  let totalNames = 0;
  const syscalls: LinuxSyscall[] = [];
  rules.forEach((rule, i) => {
    const at = `syscalls[${i}]`;
    if (!isObject(rule)) throw bad(at, 'must be an object');
    const hasName = rule.name !== undefined && rule.name !== null && rule.name !== '';
    const hasNames = Array.isArray(rule.names) && rule.names.length > 0;
    if (hasName && hasNames) throw bad(at, 'has both "name" and "names"');
    let names: string[];
    if (hasName) {
      if (typeof rule.name !== 'string' || !SYSCALL_NAME.test(rule.name)) {
        throw bad(`${at}.name`, `is not a syscall name: ${JSON.stringify(rule.name)?.slice(0, 80)}`);
      }
      names = [rule.name];
    } else {
      names = stringList(rule.names, `${at}.names`, SYSCALL_NAME, MAX_NAMES_PER_RULE);
    }
    if (names.length === 0) throw bad(at, 'names no syscall');
    totalNames += names.length;
    if (totalNames > MAX_TOTAL_NAMES)
      throw bad('syscalls', `name more than ${MAX_TOTAL_NAMES} syscalls in all`);
    const act = action(rule.action, `${at}.action`);
    const ret = errno(rule.errnoRet, `${at}.errnoRet`);
    if (ret !== undefined && !takesErrno(act)) throw bad(`${at}.errnoRet`, `does not go with ${act}`);
    const argList = args(rule.args, `${at}.args`);
    const inc = conditions(rule.includes, `${at}.includes`);
    const exc = conditions(rule.excludes, `${at}.excludes`);
    if (rule.comment !== undefined && typeof rule.comment !== 'string')
      throw bad(`${at}.comment`, 'must be a string');

    if (inc.arches.length > 0 && !inc.arches.includes(arch)) return;
    if (inc.caps.some((c) => !caps.has(c))) return;
    if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return;
    if (exc.arches.includes(arch)) return;
    if (exc.caps.some((c) => caps.has(c))) return;
    if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) return;

    const out: LinuxSyscall = { names, action: act };
    if (ret !== undefined) out.errnoRet = ret;
    if (argList && argList.length > 0) out.args = argList;
    syscalls.push(out);
  });
  out.syscalls = syscalls;
  return out;
}
