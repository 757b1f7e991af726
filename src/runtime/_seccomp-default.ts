// berth's default seccomp profile, written in Docker's profile format so that it goes through
// the same conversion as a user's `--security-opt seccomp=FILE`. Its effect matches Docker's
// default (moby 25+): an allow-list with EPERM for everything else, ENOSYS for clone3 so that
// libcs fall back to clone, namespace-creating clone flags and the mount/ptrace/module/...
// families only with the capability that makes them meaningful, and io_uring kept out.

/** Syscalls every container may make. */
const ALLOWED = `
accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat
dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2
epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group
faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat
fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork
fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64
futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat
getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32
getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority
getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage
getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr
inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy
io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit
ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32
lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr
lstat lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir
mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify
mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink
mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at
nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal
pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv
preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2
read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg
remap_file_pages removexattr rename renameat renameat2 restart_syscall rmdir rseq
rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr
sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr
sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32
setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask
sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat
sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete
timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create
timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate
truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes
vfork vmsplice wait4 waitid waitpid write writev
`;

/** Syscall families that only make sense with a capability, and are allowed only with it. */
const BY_CAPABILITY: [string, string][] = [
  ['CAP_DAC_READ_SEARCH', 'open_by_handle_at'],
  [
    'CAP_SYS_ADMIN',
    'bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr ' +
      'move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns ' +
      'syslog umount umount2 unshare',
  ],
  ['CAP_SYS_BOOT', 'reboot'],
  ['CAP_SYS_CHROOT', 'chroot'],
  ['CAP_SYS_MODULE', 'delete_module init_module finit_module'],
  ['CAP_SYS_PACCT', 'acct'],
  ['CAP_SYS_PTRACE', 'kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace'],
  ['CAP_SYS_RAWIO', 'iopl ioperm'],
  ['CAP_SYS_TIME', 'settimeofday stime clock_settime clock_settime64'],
  ['CAP_SYS_TTY_CONFIG', 'vhangup'],
  ['CAP_SYS_NICE', 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node'],
  ['CAP_SYSLOG', 'syslog'],
  ['CAP_BPF', 'bpf'],
  ['CAP_PERFMON', 'perf_event_open'],
];

/** Syscalls that exist only on some architectures (Go's GOARCH names, as Docker's profile uses). */
const BY_ARCH: [string[], string][] = [
  [['ppc64le'], 'sync_file_range2 swapcontext'],
  [['arm', 'arm64'], 'arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls'],
  [['amd64', 'x32'], 'arch_prctl'],
  [['amd64', 'x32', 'x86'], 'modify_ldt'],
  [['s390', 's390x'], 's390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr'],
  [['riscv64'], 'riscv_flush_icache'],
];

const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
/** clone flags that create namespaces; without CAP_SYS_ADMIN, clone must have none of them. */
export const CLONE_NAMESPACE_FLAGS =
  CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

/** personality(2) personas a container may switch to: Linux, UNAME26, ADDR_NO_RANDOMIZE, and the query. */
const PERSONAS = [0x0, 0x0008, 0x20000, 0x20008, 0xffffffff];

const AF_VSOCK = 40;
const EPERM = 1;
const ENOSYS = 38;

const words = (s: string) => s.split(/\s+/).filter(Boolean);

/** The default profile as a Docker-format document (input to seccompFromDockerProfile). */
export function defaultDockerProfile(): Record<string, unknown> {
  const syscalls: Record<string, unknown>[] = [{ names: words(ALLOWED), action: 'SCMP_ACT_ALLOW' }];
  syscalls.push({
    names: ['process_vm_readv', 'process_vm_writev', 'ptrace'],
    action: 'SCMP_ACT_ALLOW',
    // Before 4.8, ptrace could be used to get around seccomp.
    includes: { minKernel: '4.8' },
  });
  syscalls.push({
    names: ['socket'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }],
  });
  for (const persona of PERSONAS) {
    syscalls.push({
      names: ['personality'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: persona, op: 'SCMP_CMP_EQ' }],
    });
  }
  for (const [arches, names] of BY_ARCH) {
    syscalls.push({ names: words(names), action: 'SCMP_ACT_ALLOW', includes: { arches } });
  }
  for (const [cap, names] of BY_CAPABILITY) {
    syscalls.push({ names: words(names), action: 'SCMP_ACT_ALLOW', includes: { caps: [cap] } });
  }
  // clone's flags are its first argument, except on s390 where they are the second.
  syscalls.push({
    names: ['clone'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ', valueTwo: 0 }],
    excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
  });
  syscalls.push({
    names: ['clone'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ', valueTwo: 0 }],
    includes: { arches: ['s390', 's390x'] },
    excludes: { caps: ['CAP_SYS_ADMIN'] },
  });
  // clone3 passes its flags in memory, where seccomp cannot look: refuse it with ENOSYS so
  // that glibc falls back to clone, whose flags the rule above checks.
  syscalls.push({
    names: ['clone3'],
    action: 'SCMP_ACT_ERRNO',
    errnoRet: ENOSYS,
    excludes: { caps: ['CAP_SYS_ADMIN'] },
  });
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
      { architecture: 'SCMP_ARCH_PPC64LE', subArchitectures: null },
      { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
      { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: null },
    ],
    syscalls,
  };
}
