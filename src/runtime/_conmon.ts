// conmon's side of the conversation: its command line, the JSON lines it writes on the sync and
// attach pipes (`{"data": N, "message": "..."}` with --api-version 1), and the runtime's error
// text it relays. conmon double-forks, so the process we spawn exits at once and the monitor
// lives on in its own session, holding our pipes' far ends.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { RuntimeError } from '../errors/index.js';

/** conmon's --api-version 1 sync message: a pid, an exit code, or a negative number and a message. */
export interface SyncMessage {
  data: number;
  message?: string;
}

/** Reads newline-separated JSON messages from one of conmon's pipes. */
export class SyncPipe {
  private buffered = '';
  private ended = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;

  constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (err) => {
      this.failure = err;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next message, or undefined when conmon closed the pipe without one. */
  async next(): Promise<SyncMessage | undefined> {
    for (;;) {
      const nl = this.buffered.indexOf('\n');
      if (nl >= 0 || (this.ended && this.buffered.trim())) {
        const line = nl >= 0 ? this.buffered.slice(0, nl) : this.buffered;
        this.buffered = nl >= 0 ? this.buffered.slice(nl + 1) : '';
        if (!line.trim()) continue;
        return parseSyncMessage(line);
      }
      if (this.failure) throw new RuntimeError('reading from conmon failed', { cause: this.failure });
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  /** Write a byte to a start pipe, which conmon waits on before going ahead. */
  signal(): void {
    this.socket.write('0');
  }

  close(): void {
    this.socket.destroy();
  }
}

export function parseSyncMessage(line: string): SyncMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new RuntimeError(`conmon sent a malformed message: ${line.slice(0, 200)}`, { cause: err });
  }
  const obj = parsed as { data?: unknown; message?: unknown };
  if (!obj || typeof obj !== 'object' || typeof obj.data !== 'number') {
    throw new RuntimeError(`conmon sent a malformed message: ${line.slice(0, 200)}`);
  }
  return typeof obj.message === 'string' ? { data: obj.data, message: obj.message } : { data: obj.data };
}

/** What one conmon invocation monitors: a container's init (`create`) or an exec session. */
export interface ConmonArgsOptions {
  /** Container id (`--cid`, `--name`). */
  id: string;
  /** Unique id of this monitor: the container id, or the exec session's directory name. */
  cuuid: string;
  runtimePath: string;
  /** The runtime's `--root` (its state directory). */
  runtimeRoot: string;
  /** Bundle directory (config.json, or the exec session dir). */
  bundle: string;
  /** Directory for the pidfiles and conmon's persistent files. */
  stateDir: string;
  exitDir: string;
  /** k8s-file log path; omitted: no log (`--log-path none`). It must not contain ':'. */
  logPath?: string;
  terminal?: boolean;
  stdin?: boolean;
  leaveStdinOpen?: boolean;
  logSizeMax?: number;
  /** Program + args conmon runs after the container exits. */
  exitCommand?: string[];
  /** Seconds conmon waits before running the exit command. */
  exitDelay?: number;
  /** Run a process in the existing container (`--exec`) from this process.json. */
  execProcessSpec?: string;
}

/** The one conmon command line, for both `create` and `exec`. */
export function conmonArgs(o: ConmonArgsOptions): string[] {
  // biome-ignore format: flag/value pairs
  const args = [
    '--api-version', '1',
    '--cid', o.id,
    '--cuuid', o.cuuid,
    '--name', o.id,
    '--runtime', o.runtimePath,
    '--bundle', o.bundle,
    '--container-pidfile', join(o.stateDir, 'pidfile'),
    '--conmon-pidfile', join(o.stateDir, 'conmon.pid'),
    '--exit-dir', o.exitDir,
    '--persist-dir', o.stateDir,
    '--full-attach',
    '--log-path', o.logPath === undefined ? 'none' : `k8s-file:${o.logPath}`,
    '--runtime-arg=--root',
    `--runtime-arg=${o.runtimeRoot}`,
  ];
  if (o.execProcessSpec !== undefined) {
    args.push('--exec', '--exec-attach', '--exec-process-spec', o.execProcessSpec);
  }
  if (o.terminal) args.push('--terminal');
  if (o.stdin) args.push('--stdin');
  if (o.leaveStdinOpen) args.push('--leave-stdin-open');
  if (o.logSizeMax !== undefined) args.push('--log-size-max', String(Math.floor(o.logSizeMax)));
  if (o.exitCommand && o.exitCommand.length > 0) {
    const [program, ...rest] = o.exitCommand;
    args.push('--exit-command', program as string);
    // `=` keeps an argument that starts with '-' from being read as a conmon option
    for (const arg of rest) args.push(`--exit-command-arg=${arg}`);
    if (o.exitDelay) args.push('--exit-delay', String(Math.max(0, Math.floor(o.exitDelay))));
  }
  return args;
}

export interface SpawnedConmon {
  child: ChildProcess;
  /** Resolves with the exit code of the process we spawned (conmon's first fork parent). */
  exited: Promise<number>;
  /** Whatever conmon printed before it detached from our pipes (option errors). */
  output(): Promise<string>;
  pipes: SyncPipe[];
}

/**
 * Spawn conmon in its own session with extra pipes at fd 3, 4, ... named by `pipeEnv`
 * (e.g. `['_OCI_SYNCPIPE', '_OCI_STARTPIPE']`). Its stdin is /dev/null, so berth can exit
 * while the container keeps running.
 */
export function spawnConmon(
  conmonPath: string,
  args: string[],
  options: { cwd: string; pipeEnv: string[]; holdFds?: number[] },
): SpawnedConmon {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // runc would hand these to the container as its own (sd-notify, socket activation)
  delete env.NOTIFY_SOCKET;
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  options.pipeEnv.forEach((name, i) => {
    env[name] = String(3 + i);
  });
  const child = spawn(conmonPath, args, {
    cwd: options.cwd,
    env,
    detached: true,
    // held fds go after the pipes: conmon keeps what it inherits open for its whole life
    stdio: [
      'ignore',
      'pipe',
      'pipe',
      ...options.pipeEnv.map(() => 'pipe' as const),
      ...(options.holdFds ?? []),
    ],
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', (err) => {
      reject(new RuntimeError(`cannot run conmon (${conmonPath}): ${err.message}`, { cause: err }));
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
  });
  exited.catch(() => undefined);
  const text: string[] = [];
  const collect = (stream: Readable | null) => {
    stream?.setEncoding('utf8');
    stream?.on('data', (s: string) => {
      if (text.join('').length < 64 * 1024) text.push(s);
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const streamsClosed = Promise.all(
    [child.stdout, child.stderr].map(
      (s) => new Promise<void>((resolve) => (s ? s.once('close', () => resolve()) : resolve())),
    ),
  );
  const pipes = options.pipeEnv.map((_, i) => new SyncPipe(child.stdio[3 + i] as Socket));
  return {
    child,
    exited,
    async output() {
      // conmon points its stdio at /dev/null early; an error exit closes them too
      await Promise.race([streamsClosed, new Promise((r) => setTimeout(r, 2000).unref())]);
      return text.join('').trim();
    },
    pipes,
  };
}

/** Let berth exit without waiting for conmon: drop our ends of its pipes. */
export function releaseConmon(conmon: SpawnedConmon): void {
  for (const p of conmon.pipes) p.close();
  conmon.child.stdout?.destroy();
  conmon.child.stderr?.destroy();
  conmon.child.unref();
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (constants.signals[signal] ?? 0) : 0;
}

/**
 * One line out of an OCI runtime's stderr: runc logs `level=error msg="..."` (logrus text),
 * crun writes plain lines. Warnings are dropped when there is an error to show.
 */
export function runtimeMessage(stderr: string): string {
  const errors: string[] = [];
  const others: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const logrus = /level=(\w+)\s+msg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (logrus) {
      const text = unquote(logrus[2] ?? '');
      if (/^(error|fatal|panic)$/.test(logrus[1] ?? '')) errors.push(text);
      else others.push(text);
      continue;
    }
    if (line.startsWith('{')) {
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string };
        if (typeof entry.msg === 'string') {
          if (/^(error|fatal|panic)$/.test(entry.level ?? 'error')) errors.push(entry.msg);
          else others.push(entry.msg);
          continue;
        }
      } catch {
        // not JSON after all
      }
    }
    errors.push(line);
  }
  const chosen = errors.length > 0 ? errors : others;
  return [...new Set(chosen)].join('; ').replace(/\s*\n\s*/g, ' ');
}

function unquote(s: string): string {
  try {
    return JSON.parse(`"${s}"`) as string;
  } catch {
    return s.replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
}

/**
 * Docker's exit code for a process the runtime could not launch: 127 when the command is not
 * found, 126 when it cannot be invoked. Undefined for other failures. Matches runc's
 * `exec: "x": stat x: no such file or directory` / `executable file not found in $PATH` and
 * crun's `executable file \`x\` not found` / `open executable: Permission denied`.
 */
export function launchFailureCode(message: string): 126 | 127 | undefined {
  if (
    /executable file .*not found|exec: "[^"]*": stat [^:]*: no such file or directory|open executable: no such file/i.test(
      message,
    )
  ) {
    return 127;
  }
  if (
    /exec: "[^"]*": (permission denied|is a directory)|open executable: (permission denied|operation not permitted|is a directory)|exec format error|chdir to cwd .* failed|chdir `[^`]*`: /i.test(
      message,
    )
  ) {
    return 126;
  }
  return undefined;
}
