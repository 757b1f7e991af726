import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seccompVerdict } from '../../test/helpers/seccomp-verdict.js';
import { InvalidArgumentError } from '../errors/index.js';
import { CLONE_NAMESPACE_FLAGS } from './_seccomp-default.js';
import { DEFAULT_CAPABILITIES } from './capabilities.js';
import { defaultSeccompProfile, seccompFromDockerProfile } from './seccomp.js';

const X86 = { arch: 'amd64', kernel: '6.1.0' };
const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWNET = 0x40000000;
// What glibc's fork() and pthread_create() pass to clone.
const FORK_FLAGS = 0x01200011;
const THREAD_FLAGS = 0x003d0f00;

const BLOCKED = [
  'keyctl',
  'add_key',
  'request_key',
  'kexec_load',
  'kexec_file_load',
  'bpf',
  'userfaultfd',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'open_by_handle_at',
  'mount',
  'umount2',
  'unshare',
  'setns',
  'init_module',
  'finit_module',
  'delete_module',
  'reboot',
  'swapon',
  'settimeofday',
  'clock_settime',
  'perf_event_open',
  'acct',
  'iopl',
  'lookup_dcookie',
  'fsopen',
  'open_tree',
  'move_mount',
  'pivot_root',
  'quotactl',
  'sethostname',
  'syslog',
  'vhangup',
  'kcmp',
  'process_madvise',
];

function verdictOf(caps: readonly string[], syscall: string, args: number[] = []) {
  return seccompVerdict(defaultSeccompProfile({ capabilities: caps, ...X86 }), syscall, args);
}

test('the default profile denies with EPERM and allows the ordinary syscalls', () => {
  const p = defaultSeccompProfile(X86);
  assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(p.defaultErrnoRet, EPERM);
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  for (const ok of [
    'read',
    'write',
    'openat',
    'execve',
    'mmap',
    'futex',
    'epoll_wait',
    'chown',
    'setuid',
    'mknod',
  ]) {
    assert.equal(seccompVerdict(p, ok).action, 'SCMP_ACT_ALLOW', ok);
  }
  // ptrace itself is allowed on kernels >= 4.8 (seccomp cannot be bypassed with it there).
  assert.equal(seccompVerdict(p, 'ptrace').action, 'SCMP_ACT_ALLOW');
  assert.equal(
    seccompVerdict(defaultSeccompProfile({ arch: 'amd64', kernel: '4.4.0' }), 'ptrace').action,
    'SCMP_ACT_ERRNO',
  );
});

test('the default profile blocks the dangerous syscalls without the capabilities', () => {
  for (const name of BLOCKED) {
    assert.deepEqual(verdictOf(DEFAULT_CAPABILITIES, name), { action: 'SCMP_ACT_ERRNO', errno: EPERM }, name);
  }
  // AF_VSOCK sockets stay closed; others are fine.
  assert.equal(verdictOf(DEFAULT_CAPABILITIES, 'socket', [40]).action, 'SCMP_ACT_ERRNO');
  assert.equal(verdictOf(DEFAULT_CAPABILITIES, 'socket', [2]).action, 'SCMP_ACT_ALLOW');
  // personality: only the listed personas.
  assert.equal(verdictOf(DEFAULT_CAPABILITIES, 'personality', [0]).action, 'SCMP_ACT_ALLOW');
  assert.equal(verdictOf(DEFAULT_CAPABILITIES, 'personality', [0xffffffff]).action, 'SCMP_ACT_ALLOW');
  assert.equal(verdictOf(DEFAULT_CAPABILITIES, 'personality', [0x0040000]).action, 'SCMP_ACT_ERRNO');
});

test('clone with namespace flags needs CAP_SYS_ADMIN; clone3 is ENOSYS without it', () => {
  const d = DEFAULT_CAPABILITIES;
  assert.equal(verdictOf(d, 'clone', [FORK_FLAGS]).action, 'SCMP_ACT_ALLOW');
  assert.equal(verdictOf(d, 'clone', [THREAD_FLAGS]).action, 'SCMP_ACT_ALLOW');
  for (const flag of [CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET]) {
    assert.deepEqual(verdictOf(d, 'clone', [FORK_FLAGS | flag]), { action: 'SCMP_ACT_ERRNO', errno: EPERM });
  }
  assert.deepEqual(verdictOf(d, 'clone3'), { action: 'SCMP_ACT_ERRNO', errno: ENOSYS });
  const admin = [...d, 'CAP_SYS_ADMIN'];
  assert.equal(verdictOf(admin, 'clone', [FORK_FLAGS | CLONE_NEWUSER]).action, 'SCMP_ACT_ALLOW');
  assert.equal(verdictOf(admin, 'clone3').action, 'SCMP_ACT_ALLOW');
  assert.equal(CLONE_NAMESPACE_FLAGS, 0x7e020000);
  // s390x passes clone's flags second.
  const s390 = defaultSeccompProfile({ arch: 's390x', kernel: '6.1' });
  assert.equal(seccompVerdict(s390, 'clone', [0, FORK_FLAGS | CLONE_NEWUSER]).action, 'SCMP_ACT_ERRNO');
  assert.equal(seccompVerdict(s390, 'clone', [FORK_FLAGS | CLONE_NEWUSER, 0]).action, 'SCMP_ACT_ALLOW');
});

test('capability-gated groups open with their capability', () => {
  const d = DEFAULT_CAPABILITIES;
  const gates: [string, string[]][] = [
    ['CAP_SYS_ADMIN', ['mount', 'umount2', 'unshare', 'setns', 'sethostname', 'fsopen', 'bpf']],
    ['CAP_SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise']],
    ['CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
    ['CAP_SYS_BOOT', ['reboot']],
    ['CAP_SYS_TIME', ['settimeofday', 'clock_settime']],
    ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
    ['CAP_SYS_PACCT', ['acct']],
    ['CAP_SYS_NICE', ['mbind', 'set_mempolicy']],
    ['CAP_SYSLOG', ['syslog']],
    ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
    ['CAP_BPF', ['bpf']],
    ['CAP_PERFMON', ['perf_event_open']],
  ];
  for (const [cap, names] of gates) {
    for (const name of names) {
      assert.equal(verdictOf(d, name).action, 'SCMP_ACT_ERRNO', `${name} without ${cap}`);
      assert.equal(verdictOf([...d, cap], name).action, 'SCMP_ACT_ALLOW', `${name} with ${cap}`);
    }
  }
  // Capabilities never open what Docker keeps closed for everyone.
  const all = [...d, 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_PTRACE'];
  for (const name of ['keyctl', 'add_key', 'request_key', 'kexec_load', 'userfaultfd', 'io_uring_setup']) {
    assert.equal(verdictOf(all, name).action, 'SCMP_ACT_ERRNO', name);
  }
  // Names are accepted with or without CAP_, in any case.
  assert.equal(verdictOf([...d, 'sys_admin'], 'mount').action, 'SCMP_ACT_ALLOW');
});

test('a Docker-format profile converts: legacy name, includes/excludes, archMap, minKernel', () => {
  const profile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: null },
    ],
    flags: ['SECCOMP_FILTER_FLAG_LOG'],
    syscalls: [
      { name: 'read', action: 'SCMP_ACT_ALLOW', comment: 'old style' },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['SYS_ADMIN'] } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
      { names: ['cacheflush'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
      { names: ['newthing'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '6.5' } },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 9, op: 'SCMP_CMP_NE' }] },
      { names: ['notonx86'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['amd64'] } },
    ],
  };
  const out = seccompFromDockerProfile(profile, DEFAULT_CAPABILITIES, X86);
  assert.deepEqual(out.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
  assert.deepEqual(out.flags, ['SECCOMP_FILTER_FLAG_LOG']);
  assert.deepEqual(
    out.syscalls!.map((s) => s.names[0]),
    ['read', 'arch_prctl', 'clone3', 'kill'],
  );
  assert.deepEqual(out.syscalls![2], { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  assert.deepEqual(out.syscalls![3]!.args, [{ index: 1, value: 9, op: 'SCMP_CMP_NE' }]);
  const newer = seccompFromDockerProfile(profile, ['CAP_SYS_ADMIN'], { arch: 'arm64', kernel: '6.8.0-rc1' });
  assert.deepEqual(newer.architectures, ['SCMP_ARCH_AARCH64']);
  assert.deepEqual(
    newer.syscalls!.map((s) => s.names[0]),
    ['read', 'mount', 'cacheflush', 'newthing', 'kill', 'notonx86'],
  );
  // No archMap entry for the host: no architectures list (native only).
  assert.equal(
    seccompFromDockerProfile(profile, [], { arch: 'riscv64', kernel: '6.1' }).architectures,
    undefined,
  );
  // A minimal profile.
  assert.deepEqual(seccompFromDockerProfile({ defaultAction: 'SCMP_ACT_ALLOW' }, []), {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [],
  });
});

test('hostile or malformed profiles are refused with InvalidArgumentError', () => {
  const big = (n: number) => Array.from({ length: n }, (_, i) => `sc${i}`);
  const cases: [unknown, RegExp][] = [
    [null, /must be a JSON object/],
    [[], /must be a JSON object/],
    ['SCMP_ACT_ALLOW', /must be a JSON object/],
    [{}, /defaultAction is not a seccomp action/],
    [{ defaultAction: 'SCMP_ACT_EXPLODE' }, /defaultAction is not a seccomp action/],
    [{ defaultAction: 7 }, /defaultAction/],
    [{ defaultAction: 'SCMP_ACT_NOTIFY' }, /seccomp agent/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 }, /defaultErrnoRet does not go with/],
    [{ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: -1 }, /defaultErrnoRet/],
    [{ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1e9 }, /defaultErrnoRet/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: {} }, /syscalls must be an array/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [42] }, /syscalls\[0\] must be an object/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ action: 'SCMP_ACT_ALLOW' }] }, /names no syscall/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: 'read', action: 'SCMP_ACT_ALLOW' }] }, /names/],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [1], action: 'SCMP_ACT_ALLOW' }] },
      /not a valid name/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['../../etc'], action: 'SCMP_ACT_ALLOW' }] },
      /not a valid name/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'.repeat(100)], action: 'SCMP_ACT_ALLOW' }] },
      /not a valid name/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ name: 'read', names: ['write'], action: 'SCMP_ACT_ALLOW' }],
      },
      /both "name" and "names"/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'ALLOW' }] },
      /not a seccomp action/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }],
      },
      /errnoRet does not go with/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] },
        ],
      },
      /index must be an integer from 0 to 5/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0, op: 'SCMP_CMP_LIKE' }] },
        ],
      },
      /not a seccomp operator/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          {
            names: ['read'],
            action: 'SCMP_ACT_ERRNO',
            args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }],
          },
        ],
      },
      /below 2\^53/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] },
        ],
      },
      /non-negative/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          {
            names: ['read'],
            action: 'SCMP_ACT_ERRNO',
            args: Array(7).fill({ index: 0, value: 0, op: 'SCMP_CMP_EQ' }),
          },
        ],
      },
      /at most 6 arguments/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: [] }],
      },
      /includes must be an object/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: 'latest' } }],
      },
      /minKernel/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { caps: 'x' } }],
      },
      /caps must be an array/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', archMap: [{ architecture: 'SCMP_ARCH_Z80' }] },
      /not a seccomp architecture/,
    ],
    [{ defaultAction: 'SCMP_ACT_ALLOW', archMap: 'x86' }, /archMap must be an array/],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_Q'] }],
      },
      /unknown SCMP_ARCH_Q/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86'],
        archMap: [{ architecture: 'SCMP_ARCH_X86_64' }],
      },
      /both "architectures" and "archMap"/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_MAGIC'] },
      /unknown SECCOMP_FILTER_FLAG_MAGIC/,
    ],
    // Size limits: a huge document is refused before it is walked.
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: Array(5000).fill({ names: ['read'], action: 'SCMP_ACT_ALLOW' }),
      },
      /5000 rules/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: big(3000), action: 'SCMP_ACT_ALLOW' }] },
      /3000 entries/,
    ],
    [
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: Array(40).fill({ names: big(1000), action: 'SCMP_ACT_ALLOW' }),
      },
      /more than 32768 syscalls/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', archMap: Array(100).fill({ architecture: 'SCMP_ARCH_X86' }) },
      /archMap/,
    ],
  ];
  for (const [profile, message] of cases) {
    assert.throws(
      () => seccompFromDockerProfile(profile, DEFAULT_CAPABILITIES, X86),
      (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError, `${JSON.stringify(profile)?.slice(0, 100)}: ${err}`);
        assert.match(err.message, /^invalid seccomp profile: /);
        assert.match(err.message, message);
        return true;
      },
      JSON.stringify(profile)?.slice(0, 100),
    );
  }
  // __proto__ keys from JSON.parse are plain data, not a prototype change.
  const sneaky = JSON.parse('{"defaultAction":"SCMP_ACT_ALLOW","__proto__":{"syscalls":"boom"}}');
  assert.deepEqual(seccompFromDockerProfile(sneaky, []).syscalls, []);
});
