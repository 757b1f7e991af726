// Test helpers for the runtime driver: a busybox bundle from `runc spec`, and a sandbox that
// removes every container, conmon, cgroup and temp dir it made, even when a test fails.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CreateOptions, RuntimeDriver } from './driver.js';
import { lookPath, type SelectedRuntime } from './select.js';

export const CGROUP_PARENT = 'berth-driver-test';

/** Root, runc, conmon and busybox are all here: the real-runtime tests can run. */
export function canRunContainers(): boolean {
  return (
    process.getuid?.() === 0 &&
    lookPath('runc') !== undefined &&
    lookPath('conmon') !== undefined &&
    existsSync('/bin/busybox')
  );
}

let applets: string[] | undefined;

function busyboxApplets(): string[] {
  applets ??= execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => /^[a-z0-9_.[-]+$/i.test(s) && s !== 'busybox');
  return applets;
}

export interface BundleOptions {
  args: string[];
  terminal?: boolean;
  env?: string[];
}

/** A bundle in `dir`: rootfs with busybox and its applet links, config.json from `runc spec`. */
export function makeBundle(dir: string, id: string, options: BundleOptions): string {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'tmp', 'proc', 'sys', 'dev', 'etc'])
    mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const name of busyboxApplets()) {
    const link = join(rootfs, 'bin', name);
    if (!existsSync(link)) symlinkSync('busybox', link);
  }
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  rmSync(join(dir, 'config.json'), { force: true });
  execFileSync(lookPath('runc') ?? 'runc', ['spec', '--bundle', dir]);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.process.terminal = options.terminal ?? false;
  config.process.args = options.args;
  if (options.env) config.process.env = [...config.process.env, ...options.env];
  // never ask for more than the host's hard limit (20000 here)
  config.process.rlimits = [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }];
  config.root = { path: rootfs, readonly: false };
  config.linux.cgroupsPath = `/${CGROUP_PARENT}/${id}`;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/** A temp dir, a driver, and cleanup for everything created through it. */
export class Sandbox {
  readonly dir: string;
  readonly driver: RuntimeDriver;
  private readonly ids = new Set<string>();
  private readonly stateDirs = new Set<string>();
  private seq = 0;

  constructor(runtime: SelectedRuntime) {
    this.dir = mkdtempSync(join(tmpdir(), 'berth-rt-'));
    this.driver = new RuntimeDriver({ runtime, runtimeRoot: join(this.dir, 'runtime-root') });
  }

  /** A unique container id, registered for cleanup. */
  id(prefix = 'c'): string {
    const id = `${prefix}-${process.pid}-${Date.now().toString(36)}-${this.seq++}`;
    this.ids.add(id);
    return id;
  }

  /** Bundle + state dir + log path for a new container; register them for cleanup. */
  container(id: string, bundle: BundleOptions, create: Partial<CreateOptions> = {}): CreateOptions {
    const base = join(this.dir, id);
    const stateDir = join(base, 'state');
    this.stateDirs.add(stateDir);
    makeBundle(join(base, 'bundle'), id, bundle);
    return {
      bundle: join(base, 'bundle'),
      stateDir,
      logPath: join(base, 'ctr.log'),
      terminal: bundle.terminal ?? false,
      stdin: false,
      ...create,
    };
  }

  /** Track a state dir made outside `container()` (exec sessions) so its conmon is reaped. */
  track(stateDir: string): string {
    this.stateDirs.add(stateDir);
    return stateDir;
  }

  async cleanup(): Promise<void> {
    for (const id of this.ids) {
      await this.driver.delete(id, { force: true }).catch(() => undefined);
    }
    for (const stateDir of this.stateDirs) {
      const pid = this.driver.conmonPid(stateDir);
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const id of this.ids) await removeCgroups(id);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** rmdir the container's cgroup in every hierarchy, and the test parent when it is empty. */
async function removeCgroups(id: string): Promise<void> {
  const base = '/sys/fs/cgroup';
  let hierarchies: string[] = [];
  try {
    hierarchies = readdirSync(base).map((h) => join(base, h));
  } catch {
    return;
  }
  hierarchies.push(base); // unified v2
  for (const h of hierarchies) {
    const mine = join(h, CGROUP_PARENT, id);
    // EBUSY while the last process is still being reaped
    for (let attempt = 0; attempt < 40 && existsSync(mine); attempt++) {
      try {
        rmdirSync(mine);
      } catch {
        await sleep(50);
      }
    }
    const parent = join(h, CGROUP_PARENT);
    try {
      // a cgroup with child cgroups answers EBUSY, not ENOTEMPTY: look first
      const children = readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory());
      if (children.length === 0) rmdirSync(parent);
    } catch {
      // absent, or another test's container just moved in
    }
  }
}

/** Poll `check` until it returns a value other than undefined. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
