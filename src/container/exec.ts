// `exec`: run one more process in a running container through its conmon. The process spec is
// the container's own (capabilities, no_new_privileges, rlimits, apparmor/selinux labels as its
// config.json has them) with only args, env, cwd, user and terminal replaced, so an exec'd
// process never has more privilege than the container's init.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, hasCode, InvalidArgumentError, NotFoundError } from '../errors/index.js';
import type { ExecResult, ExecStdio, TerminalSize } from '../runtime/index.js';
import { mergeEnv } from './_env.js';
import { resolveUser } from './_users.js';
import type { ContainerManager } from './manager.js';

export interface ExecRequest {
  args: string[];
  /** KEY=VALUE entries added to (and overriding) the container's environment. */
  env?: string[];
  /** `user[:group]`, resolved against the container's /etc/passwd and /etc/group. */
  user?: string;
  workdir?: string;
  tty?: boolean;
  stdin?: boolean;
  detach?: boolean;
  stdio?: ExecStdio;
  size?: TerminalSize;
}

/** How long a resize waits for the session's control fifo to appear. */
const RESIZE_RETRY_MS = 5_000;

export interface ExecSession {
  /** Resolves with the exit code (attached) or the pid once started (detached). */
  result: Promise<ExecResult>;
  /** Resize the session's terminal; a finished session ignores it. */
  resize(size: TerminalSize): void;
  /**
   * A detached session's exit code once its process has ended (conmon records it); null when
   * its conmon is gone without a record; undefined while it runs (or for an attached session).
   */
  exitCode(): number | null | undefined;
}

interface ProcessSpec {
  args?: string[];
  env?: string[];
  cwd?: string;
  user?: { uid: number; gid: number; additionalGids?: number[] };
  terminal?: boolean;
  consoleSize?: unknown;
  [key: string]: unknown;
}

/** Start an exec session; throws before anything runs when the container is not running. */
export function startExec(manager: ContainerManager, idOrName: string, request: ExecRequest): ExecSession {
  const rec = manager.get(idOrName);
  if (rec.state === 'paused') {
    throw new ConflictError(`container ${rec.name} is paused, unpause the container before exec`);
  }
  if (rec.state !== 'running') throw new ConflictError(`container ${rec.name} is not running`);
  if (request.args.length === 0) throw new InvalidArgumentError('exec needs a command to run');
  const base = readProcessSpec(manager, rec.id);
  const rootfs = join(manager.store.containerDir(rec.id), 'merged');
  const user = request.user ? resolveUser(rootfs, request.user) : undefined;
  const env = mergeEnv(base.env ?? [], [...(request.tty ? ['TERM=xterm'] : []), ...(request.env ?? [])]);
  const { consoleSize: _size, ...rest } = base;
  const processSpec: ProcessSpec = {
    ...rest,
    args: request.args,
    env,
    cwd: request.workdir || base.cwd || '/',
    ...(user ? { user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids } } : {}),
    terminal: request.tty === true,
  };
  const driver = manager.driverFor(manager.config(rec));
  const sessionDir = join(manager.stateDir(rec.id), 'exec', randomBytes(8).toString('hex'));
  const detach = request.detach === true;
  const result = driver
    .exec(rec.id, processSpec, {
      detach,
      tty: request.tty === true,
      stdin: request.stdin === true,
      stateDir: sessionDir,
      ...(request.stdio ? { stdio: request.stdio } : {}),
      ...(request.size ? { size: request.size } : {}),
    })
    .finally(() => {
      // a detached session's conmon still needs its directory; the container's next start clears it
      if (!detach) rmSync(sessionDir, { recursive: true, force: true });
    });
  // A resize can come before conmon made the session's control fifo (the docker client sends
  // one right after it started the exec): keep the newest size and try again until the fifo is
  // there, as dockerd waits for the exec to start before it resizes.
  let pending: TerminalSize | undefined;
  let retry: NodeJS.Timeout | undefined;
  let settled = false;
  const apply = (): boolean => {
    if (!pending || settled) return true;
    try {
      driver.resize(sessionDir, rec.id, pending);
    } catch (err) {
      if (hasCode(err, 'NOT_FOUND')) return false;
      // finished, or a bad size: nothing to retry
    }
    pending = undefined;
    return true;
  };
  const stopRetry = () => {
    settled = true;
    if (retry) clearInterval(retry);
  };
  result.then(stopRetry, stopRetry);
  return {
    result,
    exitCode() {
      if (!detach) return undefined;
      try {
        const code = driver.exitCode(sessionDir, rec.id);
        if (code !== undefined || driver.conmonPid(sessionDir) !== undefined) return code;
        // conmon is gone: it wrote the code before it exited, or never will
        return driver.exitCode(sessionDir, rec.id) ?? null;
      } catch {
        return undefined;
      }
    },
    resize(size) {
      pending = size;
      if (apply() || retry) return;
      const deadline = Date.now() + RESIZE_RETRY_MS;
      retry = setInterval(() => {
        if (apply() || Date.now() > deadline) {
          clearInterval(retry);
          retry = undefined;
        }
      }, 20);
      retry.unref();
    },
  };
}

function readProcessSpec(manager: ContainerManager, id: string): ProcessSpec {
  const path = join(manager.userdataDir(id), 'config.json');
  let parsed: { process?: ProcessSpec };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as { process?: ProcessSpec };
  } catch (err) {
    throw new NotFoundError(`cannot exec in container ${id.slice(0, 12)}: no runtime spec`, { cause: err });
  }
  if (!parsed.process || typeof parsed.process !== 'object') {
    throw new NotFoundError(`cannot exec in container ${id.slice(0, 12)}: its runtime spec has no process`);
  }
  return parsed.process;
}
