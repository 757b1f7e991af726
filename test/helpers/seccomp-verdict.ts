// Evaluates an OCI seccomp filter for one syscall the way libseccomp would for these
// profiles: the first rule that names the syscall and whose argument conditions all hold
// decides; otherwise the default action does. Lets unit tests ask "is mount blocked?".
import type { LinuxSeccomp, LinuxSeccompArg } from '../../src/oci/index.js';

export interface Verdict {
  action: string;
  errno: number | undefined;
}

function holds(cond: LinuxSeccompArg, args: readonly (number | bigint)[]): boolean {
  const arg = BigInt(args[cond.index] ?? 0);
  const value = BigInt(cond.value);
  switch (cond.op) {
    case 'SCMP_CMP_NE':
      return arg !== value;
    case 'SCMP_CMP_LT':
      return arg < value;
    case 'SCMP_CMP_LE':
      return arg <= value;
    case 'SCMP_CMP_EQ':
      return arg === value;
    case 'SCMP_CMP_GE':
      return arg >= value;
    case 'SCMP_CMP_GT':
      return arg > value;
    case 'SCMP_CMP_MASKED_EQ':
      return (arg & value) === BigInt(cond.valueTwo ?? 0);
  }
}

export function seccompVerdict(
  filter: LinuxSeccomp,
  syscall: string,
  args: readonly (number | bigint)[] = [],
): Verdict {
  for (const rule of filter.syscalls ?? []) {
    if (!rule.names.includes(syscall)) continue;
    if ((rule.args ?? []).every((c) => holds(c, args))) {
      return {
        action: rule.action,
        errno: rule.action === 'SCMP_ACT_ERRNO' ? (rule.errnoRet ?? 1) : undefined,
      };
    }
  }
  const action = filter.defaultAction;
  return { action, errno: action === 'SCMP_ACT_ERRNO' ? (filter.defaultErrnoRet ?? 1) : undefined };
}
