/*
 * Security probes run inside test containers. `probe NAME [ARG]` tries one thing and prints
 * `OK` or `ERR <errno name>` (a few probes print a value instead). Every probe is harmless on
 * the host too: kexec passes invalid flags, bpf creates a one-entry map and closes it, etc.
 * Build: gcc -static -O2 -o probe probe.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

static const char *errno_name(int e) {
  switch (e) {
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case ESRCH: return "ESRCH";
  case EINTR: return "EINTR";
  case EIO: return "EIO";
  case E2BIG: return "E2BIG";
  case EBADF: return "EBADF";
  case ECHILD: return "ECHILD";
  case EAGAIN: return "EAGAIN";
  case ENOMEM: return "ENOMEM";
  case EACCES: return "EACCES";
  case EFAULT: return "EFAULT";
  case EBUSY: return "EBUSY";
  case EEXIST: return "EEXIST";
  case ENODEV: return "ENODEV";
  case ENOTDIR: return "ENOTDIR";
  case EISDIR: return "EISDIR";
  case EINVAL: return "EINVAL";
  case ENFILE: return "ENFILE";
  case EMFILE: return "EMFILE";
  case ENOSPC: return "ENOSPC";
  case EROFS: return "EROFS";
  case ENOSYS: return "ENOSYS";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case ESTALE: return "ESTALE";
  case ENOTTY: return "ENOTTY";
  default: return NULL;
  }
}

static int report(long rc) {
  if (rc >= 0) {
    puts("OK");
    return 0;
  }
  int e = errno;
  const char *name = errno_name(e);
  if (name) printf("ERR %s\n", name);
  else printf("ERR E%d\n", e);
  return 1;
}

static int fail_with(int e) {
  errno = e;
  return report(-1);
}

static int print_status_line(const char *key, int value_only) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return report(-1);
  char line[256];
  size_t n = strlen(key);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, key, n) == 0 && line[n] == ':') {
      fclose(f);
      if (value_only) {
        char *v = line + n + 1;
        while (*v == ' ' || *v == '\t') v++;
        fputs(v, stdout);
      } else {
        fputs(line, stdout);
      }
      return 0;
    }
  }
  fclose(f);
  return fail_with(ENOENT);
}

static int probe_clone_newns(void) {
  /* Raw clone with a namespace flag and no new stack: fork semantics. */
#if defined(__s390x__)
  long pid = syscall(SYS_clone, 0, CLONE_NEWNS | SIGCHLD, 0, 0, 0);
#else
  long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
#endif
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return report(pid);
}

static int probe_clone3(void) {
#ifdef SYS_clone3
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  } args;
  memset(&args, 0, sizeof args);
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return report(pid);
#else
  return fail_with(ENOSYS);
#endif
}

static int probe_bpf(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
  if (fd >= 0) close((int)fd);
  return report(fd);
}

static int probe_io_uring(void) {
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  long fd = syscall(SYS_io_uring_setup, 1, &params);
  if (fd >= 0) close((int)fd);
  return report(fd);
}

static int probe_open_by_handle_at(void) {
  struct {
    struct file_handle h;
    unsigned char bytes[MAX_HANDLE_SZ];
  } buf;
  memset(&buf, 0, sizeof buf);
  buf.h.handle_bytes = MAX_HANDLE_SZ;
  int mount_id;
  int root = open("/", O_RDONLY | O_DIRECTORY);
  if (root < 0) return report(-1);
  if (name_to_handle_at(AT_FDCWD, "/", &buf.h, &mount_id, 0) < 0) {
    /* No handle for this filesystem: a made-up one still shows whether the call is permitted. */
    buf.h.handle_bytes = 8;
    buf.h.handle_type = 1;
  }
  long fd = open_by_handle_at(root, &buf.h, O_RDONLY);
  int saved = errno;
  close(root);
  if (fd >= 0) close((int)fd);
  errno = saved;
  return report(fd);
}

static int probe_read_kcore(void) {
  int fd = open("/proc/kcore", O_RDONLY);
  if (fd < 0) return report(-1);
  char buf[16];
  ssize_t n = read(fd, buf, sizeof buf);
  int saved = errno;
  close(fd);
  if (n < 0) return fail_with(saved);
  if (n == 0) {
    /* Masked: /dev/null bound over it. */
    puts("ERR EMPTY");
    return 1;
  }
  return report(0);
}

static int probe_write_proc_sys(void) {
  /* The UTS namespace makes this harmless where it succeeds. */
  int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
  if (fd < 0) return report(-1);
  ssize_t n = write(fd, "probe", 5);
  int saved = errno;
  close(fd);
  if (n < 0) return fail_with(saved);
  return report(0);
}

static int probe_ptrace(void) {
  pid_t child = fork();
  if (child < 0) return report(-1);
  if (child == 0) {
    for (;;) pause();
  }
  long rc = ptrace(PTRACE_ATTACH, child, NULL, NULL);
  int saved = errno;
  if (rc == 0) {
    waitpid(child, NULL, 0);
    ptrace(PTRACE_DETACH, child, NULL, NULL);
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  errno = saved;
  return report(rc);
}

/* Touch `mib` MiB of memory, one MiB at a time; an OOM kill ends the process before OK. */
static int probe_hog(const char *arg) {
  long mib = arg ? atol(arg) : 1024;
  for (long i = 0; i < mib; i++) {
    char *p = malloc(1 << 20);
    if (!p) return fail_with(ENOMEM);
    memset(p, 0xa5, 1 << 20);
  }
  return report(0);
}

/* Fork up to `n` children that wait; print how many forks succeeded. */
static int probe_forks(const char *arg) {
  long n = arg ? atol(arg) : 100;
  int pipefd[2];
  if (pipe(pipefd) < 0) return report(-1);
  long made = 0;
  int err = 0;
  for (long i = 0; i < n; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      err = errno;
      break;
    }
    if (pid == 0) {
      char c;
      close(pipefd[1]);
      while (read(pipefd[0], &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
    made++;
  }
  close(pipefd[1]);
  while (wait(NULL) > 0) {
  }
  close(pipefd[0]);
  if (err) {
    const char *name = errno_name(err);
    printf("ERR %s forked=%ld\n", name ? name : "E?", made);
    return 1;
  }
  printf("OK forked=%ld\n", made);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: probe NAME [ARG]\n");
    return 2;
  }
  const char *p = argv[1];
  const char *arg = argc > 2 ? argv[2] : NULL;
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!strcmp(p, "keyctl")) return report(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL));
  if (!strcmp(p, "unshare-user")) return report(unshare(CLONE_NEWUSER));
  if (!strcmp(p, "clone-newns")) return probe_clone_newns();
  if (!strcmp(p, "clone3")) return probe_clone3();
  if (!strcmp(p, "mount")) return report(mount("tmpfs", "/mnt", "tmpfs", 0, "size=64k"));
  /* Flag bit 0x100 is undefined: a permitted call fails with EINVAL and loads nothing. */
  if (!strcmp(p, "kexec")) return report(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0x100UL));
  if (!strcmp(p, "bpf")) return probe_bpf();
  if (!strcmp(p, "userfaultfd")) {
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC);
    if (fd >= 0) close((int)fd);
    return report(fd);
  }
  if (!strcmp(p, "io_uring")) return probe_io_uring();
  if (!strcmp(p, "open_by_handle_at")) return probe_open_by_handle_at();
  if (!strcmp(p, "read-kcore")) return probe_read_kcore();
  if (!strcmp(p, "write-proc-sys")) return probe_write_proc_sys();
  if (!strcmp(p, "ptrace")) return probe_ptrace();
  if (!strcmp(p, "capeff")) return print_status_line("CapEff", 1);
  if (!strcmp(p, "seccomp-mode")) return print_status_line("Seccomp", 0);
  if (!strcmp(p, "hog")) return probe_hog(arg);
  if (!strcmp(p, "forks")) return probe_forks(arg);
  fprintf(stderr, "probe: unknown probe %s\n", p);
  return 2;
}
