// Named network namespaces kept alive by a bind mount, like `ip netns add` but under a directory
// berth chooses. Node cannot unshare itself, so util-linux's `unshare --net=<file>` makes the
// namespace and bind-mounts it onto the file; deleting is a lazy unmount and an unlink.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AlreadyExistsError, errnoCode, InvalidArgumentError, IOError } from '../errors/index.js';
import { bindNewNetns, MNT_DETACH, umount } from '../util/index.js';

const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const CMD_TIMEOUT_MS = 10_000;

export interface CommandResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs argv with a timeout and bounded output (64 KiB a stream). */
export function runCommand(
  argv: string[],
  options: { timeoutMs?: number; input?: string; maxOutput?: number } = {},
): Promise<CommandResult> {
  const limit = options.maxOutput ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < limit) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < limit) stderr += d.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? CMD_TIMEOUT_MS);
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new IOError(`cannot run ${argv[0]}: ${e.message}`, { cause: e }));
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Creates a new network namespace (loopback up) bind-mounted at `<dir>/<name>`; returns that path. */
export async function createNetns(dir: string, name: string): Promise<string> {
  if (!NETNS_NAME.test(name)) throw new InvalidArgumentError(`invalid network namespace name "${name}"`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, name);
  try {
    closeSync(openSync(path, 'wx', 0o444));
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') throw new AlreadyExistsError(`network namespace ${path} already exists`);
    throw new IOError(`cannot create ${path}`, { cause: err });
  }
  // the runtime joins this namespace as it is, so its loopback must be up already
  try {
    bindNewNetns(path);
  } catch (err) {
    rmSync(path, { force: true });
    throw new IOError(`cannot create network namespace ${path}: ${(err as Error).message}`, { cause: err });
  }
  return path;
}

/** Is `path` a mount point (our netns bind mount)? */
export function isNetnsMounted(path: string): boolean {
  const escaped = path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === escaped);
}

/** Unmounts and removes a namespace made by createNetns. Missing is fine (idempotent). */
export function deleteNetns(path: string): void {
  // A file can carry several stacked mounts if something raced; bounded loop.
  for (let i = 0; i < 8 && isNetnsMounted(path); i++) {
    try {
      umount(path, MNT_DETACH);
    } catch (err) {
      if (errnoCode(err) === 'EINVAL' || errnoCode(err) === 'ENOENT') break;
      throw new IOError(`cannot unmount network namespace ${path}`, { cause: err });
    }
  }
  rmSync(path, { force: true });
}

/** Runs argv inside the network namespace at `path` (nsenter), bounded in time and output. */
export function execInNetns(
  path: string,
  argv: string[],
  options: { timeoutMs?: number; input?: string } = {},
): Promise<CommandResult> {
  return runCommand(['nsenter', `--net=${path}`, '--', ...argv], options);
}
