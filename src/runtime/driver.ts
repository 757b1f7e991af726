// Drives an OCI runtime binary (runc, crun) with conmon as each container's monitor. berth keeps
// no daemon: `create` spawns conmon in its own session, conmon runs `<runtime> create`, reports
// the container's pid on a sync pipe, then stays to copy the container's output into the log
// file and onto its attach socket, and to write the exit code into `<stateDir>/exits/<id>`.
// Everything else (start, kill, pause, state, delete) is a direct call of the runtime binary.
import { execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  constants as fsConstants,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  watch,
  writeSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import {
  ConflictError,
  errnoCode,
  InvalidArgumentError,
  IOError,
  NotFoundError,
  RuntimeError,
} from '../errors/index.js';
import type { LinuxResources } from '../oci/index.js';
import { parseProcStat } from '../util/index.js';
import {
  conmonArgs,
  launchFailureCode,
  releaseConmon,
  runtimeMessage,
  type SpawnedConmon,
  spawnConmon,
} from './_conmon.js';
import { type AttachStreams, openAttachSocket } from './attach.js';
import { lookPath, type SelectedRuntime } from './select.js';
import type { RuntimeStatus } from './state.js';

/** A process the runtime could not launch; `exitCode` is docker's 127 (not found) or 126. */
export class CommandLaunchError extends RuntimeError {
  readonly exitCode: 126 | 127;
  constructor(message: string, exitCode: 126 | 127, options: { cause?: unknown } = {}) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

export interface CreateOptions {
  /** Directory holding config.json. conmon also puts `attach`, `ctl` and `winsz` here; when it
   * differs from `stateDir`, `stateDir` gets symlinks to the first two. */
  bundle: string;
  /** Per-container directory for conmon's files: pidfile, conmon.pid, exits/, oom, attach, ctl. */
  stateDir: string;
  /** conmon's k8s-file log; the path must not contain ':' (conmon splits its -l value on it). */
  /** The k8s-file log; omitted: the container keeps no log (`--log-driver none`). */
  logPath?: string;
  terminal: boolean;
  /** Keep a stdin pipe open, fed through the attach socket (docker -i). */
  stdin: boolean;
  /** Keep the container's stdin open when an attached client goes away. */
  leaveStdinOpen?: boolean;
  /** Absolute program + args conmon runs after the container exits (`berth container cleanup ID`). */
  exitCommand?: string[];
  /** Seconds conmon waits before running the exit command. */
  exitDelay?: number;
  /** Rotate the log past this many bytes. */
  logSizeMax?: number;
  /**
   * Open sockets conmon inherits and keeps for the container's life: the published host ports,
   * reserved so no host process can take them (Podman does the same). The runtime does not
   * hand them to the container (no --preserve-fds).
   */
  holdFds?: number[];
}

export interface CreateResult {
  pid: number;
  conmonPid: number;
}

export interface RuntimeState {
  status: RuntimeStatus;
  pid: number;
}

export interface ExecStdio {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

export interface ExecOptions {
  /** Run in the background: returns once the process started; its exit code lands in
   * `<stateDir>/exits/<id>` (read it with `exitCode(stateDir, id)`). */
  detach: boolean;
  tty: boolean;
  /** Feed stdin (attached only). */
  stdin: boolean;
  /** A fresh per-session directory: process.json, conmon's files, attach socket, ctl fifo. */
  stateDir: string;
  /** Where attached output goes and where stdin comes from; without it, output is collected
   * and returned. */
  stdio?: ExecStdio;
  /** Initial terminal size, applied before the process starts. */
  size?: TerminalSize;
}

export interface ExecResult {
  pid: number;
  /** Attached sessions only. */
  exitCode?: number;
  /** Collected output, when attached without `stdio.stdout` / `stdio.stderr`. */
  stdout?: Buffer;
  stderr?: Buffer;
}

export interface TerminalSize {
  rows: number;
  cols: number;
}

export interface RuntimeDriverOptions {
  runtime: SelectedRuntime;
  /** The runtime's --root, e.g. /run/berth/runc. */
  runtimeRoot: string;
  conmonPath?: string;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function checkId(id: string): void {
  if (!ID_PATTERN.test(id)) throw new InvalidArgumentError(`invalid container id "${id}"`);
}

/** A signal name ('TERM', 'SIGTERM', 'sigkill') or number, as the number runtimes accept. */
export function signalNumber(signal: string | number): number {
  if (typeof signal === 'number') {
    if (Number.isInteger(signal) && signal > 0 && signal < 65) return signal;
  } else {
    const s = signal.trim().toUpperCase();
    if (/^\d+$/.test(s)) return signalNumber(Number(s));
    const name = (s.startsWith('SIG') ? s : `SIG${s}`) as NodeJS.Signals;
    const n = constants.signals[name];
    if (n !== undefined) return n;
  }
  throw new InvalidArgumentError(`invalid signal: ${signal}`);
}

const EXIT_DIR = 'exits';

export class RuntimeDriver {
  readonly runtime: SelectedRuntime;
  readonly runtimeRoot: string;
  readonly conmonPath: string;

  constructor(options: RuntimeDriverOptions) {
    this.runtime = options.runtime;
    this.runtimeRoot = resolve(options.runtimeRoot);
    this.conmonPath = options.conmonPath ?? lookPath('conmon') ?? '/usr/bin/conmon';
  }

  /**
   * Create the container under conmon. Resolves once the runtime has created it (its init
   * waits for `start`); conmon and the container outlive this process.
   */
  async create(id: string, options: CreateOptions): Promise<CreateResult> {
    checkId(id);
    const what = `cannot create container "${id}"`;
    const stateDir = resolve(options.stateDir);
    const bundle = resolve(options.bundle);
    const logPath = options.logPath === undefined ? undefined : resolve(options.logPath);
    if (logPath?.includes(':')) throw new InvalidArgumentError(`${what}: log path ${logPath} contains ':'`);
    if (
      options.exitCommand &&
      (options.exitCommand.length === 0 || !isAbsolute(options.exitCommand[0] ?? ''))
    ) {
      throw new InvalidArgumentError(`${what}: the exit command must start with an absolute path`);
    }
    if (!existsSync(join(bundle, 'config.json'))) {
      throw new NotFoundError(`${what}: no config.json in ${bundle}`);
    }
    if (!existsSync(this.conmonPath)) {
      throw new NotFoundError(`${what}: conmon is not installed (${this.conmonPath})`, {
        hint: 'install the conmon package',
      });
    }
    mkdirSync(join(stateDir, EXIT_DIR), { recursive: true, mode: 0o700 });
    if (logPath) mkdirSync(dirname(logPath), { recursive: true });
    for (const name of ['pidfile', 'conmon.pid', 'oom', 'exit', join(EXIT_DIR, id)]) {
      rmSync(join(stateDir, name), { force: true });
    }
    if (bundle !== stateDir) {
      for (const name of ['attach', 'ctl']) {
        rmSync(join(stateDir, name), { force: true });
        symlinkSync(join(bundle, name), join(stateDir, name));
      }
    }

    const args = conmonArgs({
      id,
      cuuid: id,
      runtimePath: this.runtime.path,
      runtimeRoot: this.runtimeRoot,
      bundle,
      stateDir,
      exitDir: join(stateDir, EXIT_DIR),
      ...(logPath ? { logPath } : {}),
      ...(options.terminal ? { terminal: true } : {}),
      ...(options.stdin ? { stdin: true } : {}),
      ...(options.leaveStdinOpen ? { leaveStdinOpen: true } : {}),
      ...(options.logSizeMax !== undefined ? { logSizeMax: options.logSizeMax } : {}),
      ...(options.exitCommand ? { exitCommand: options.exitCommand } : {}),
      ...(options.exitDelay !== undefined ? { exitDelay: options.exitDelay } : {}),
    });

    const conmon = spawnConmon(this.conmonPath, args, {
      cwd: stateDir,
      pipeEnv: ['_OCI_SYNCPIPE'],
      ...(options.holdFds?.length ? { holdFds: options.holdFds } : {}),
    });
    try {
      const sync = conmon.pipes[0]!;
      const [message] = await Promise.all([sync.next(), conmon.exited]);
      if (!message) throw await this.conmonFailure(what, conmon);
      if (message.data < 0) throw this.runtimeFailure(what, message.message ?? '');
      const conmonPid = readPid(join(stateDir, 'conmon.pid'));
      return { pid: message.data, conmonPid: conmonPid ?? 0 };
    } finally {
      releaseConmon(conmon);
    }
  }

  async start(id: string): Promise<void> {
    checkId(id);
    await this.run(['start', id], `cannot start container "${id}"`, id);
  }

  /** What the runtime reports, or undefined when it does not know the container. */
  async state(id: string): Promise<RuntimeState | undefined> {
    checkId(id);
    if (!existsSync(join(this.runtimeRoot, id))) return undefined;
    let out: string;
    try {
      out = await this.run(['state', id], `cannot read the state of container "${id}"`, id);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    let parsed: { status?: unknown; pid?: unknown };
    try {
      parsed = JSON.parse(out) as { status?: unknown; pid?: unknown };
    } catch (err) {
      throw new RuntimeError(`${this.runtime.name} state ${id}: unreadable output`, { cause: err });
    }
    const status = parsed.status;
    if (status !== 'created' && status !== 'running' && status !== 'paused' && status !== 'stopped') {
      throw new RuntimeError(`${this.runtime.name} state ${id}: unknown status ${String(status)}`);
    }
    return { status, pid: typeof parsed.pid === 'number' ? parsed.pid : 0 };
  }

  async kill(id: string, signal: string | number, options: { all?: boolean } = {}): Promise<void> {
    checkId(id);
    const n = signalNumber(signal);
    const args = ['kill', ...(options.all ? ['--all'] : []), id, String(n)];
    await this.run(args, `cannot kill container "${id}"`, id);
  }

  /**
   * `<runtime> update`: apply cgroup limits to a running (or paused) container. The limits go
   * through a file in `stateDir` (runc and crun both read `--resources=FILE`).
   */
  async update(id: string, resources: LinuxResources, options: { stateDir: string }): Promise<void> {
    checkId(id);
    const file = join(options.stateDir, `resources-${process.pid}.json`);
    await writeFile(file, JSON.stringify(resources), { mode: 0o600 });
    try {
      await this.run(['update', `--resources=${file}`, id], `cannot update container "${id}"`, id);
    } finally {
      rmSync(file, { force: true });
    }
  }

  async pause(id: string): Promise<void> {
    checkId(id);
    await this.run(['pause', id], `cannot pause container "${id}"`, id);
  }

  async resume(id: string): Promise<void> {
    checkId(id);
    await this.run(['resume', id], `cannot unpause container "${id}"`, id);
  }

  /** Delete the runtime's record (and with `force`, kill the container first). Idempotent. */
  async delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    checkId(id);
    try {
      await this.run(
        ['delete', ...(options.force ? ['--force'] : []), id],
        `cannot delete container "${id}"`,
        id,
      );
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
  }

  /** The exit code conmon recorded, or undefined while the container has not exited. */
  exitCode(stateDir: string, id: string): number | undefined {
    let text: string;
    try {
      text = readFileSync(join(stateDir, EXIT_DIR, id), 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const code = Number.parseInt(text.trim(), 10);
    return Number.isNaN(code) ? undefined : code;
  }

  /**
   * The exit code conmon recorded; 137 when there is none because conmon is gone (killed). The
   * runtime reports a process stopped a moment before its conmon writes the exit file, so while
   * conmon lives the file is waited for (briefly): an inspect in that moment must not record a
   * `sh -c 'exit 7'` as killed.
   */
  async recordedExitCode(stateDir: string, id: string): Promise<number> {
    const code = this.exitCode(stateDir, id);
    if (code !== undefined || this.conmonPid(stateDir) === undefined) return code ?? 137;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 5000);
    try {
      return await this.waitExit(stateDir, id, ac.signal);
    } catch {
      return this.exitCode(stateDir, id) ?? 137;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether conmon saw the container's cgroup run out of memory. */
  oomKilled(stateDir: string): boolean {
    return existsSync(join(stateDir, 'oom'));
  }

  /** The pid of the container's conmon, if it is still alive. */
  conmonPid(stateDir: string): number | undefined {
    const pid = readPid(join(stateDir, 'conmon.pid'));
    return pid !== undefined && isConmon(pid) ? pid : undefined;
  }

  /**
   * Wait for conmon's exit file. Fails when conmon is gone without writing one (killed), and
   * with the signal's reason on abort.
   */
  async waitExit(stateDir: string, id: string, signal?: AbortSignal): Promise<number> {
    const dir = join(stateDir, EXIT_DIR);
    mkdirSync(dir, { recursive: true });
    let wake: (() => void) | undefined;
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watch(dir, { persistent: false }, () => wake?.());
    } catch {
      watcher = undefined; // polling alone
    }
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      let polls = 0;
      for (;;) {
        const code = this.exitCode(stateDir, id);
        if (code !== undefined) return code;
        if (signal?.aborted) throw signal.reason;
        // every few polls: is anyone left to write the file?
        if (
          polls++ % 4 === 3 &&
          this.conmonPid(stateDir) === undefined &&
          existsSync(join(stateDir, 'conmon.pid'))
        ) {
          const late = this.exitCode(stateDir, id);
          if (late !== undefined) return late;
          throw new RuntimeError(`container "${id}": conmon exited without recording an exit code`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 250);
          function done() {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
          wake = done;
        });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      watcher?.close();
    }
  }

  /**
   * Run a process in the running container through its own conmon (`conmon --exec`), which
   * records the exit code even when berth is gone. Attached: resolves with the exit code once
   * the process exits. Detached: resolves with the pid once it started.
   */
  async exec(id: string, processSpec: object, options: ExecOptions): Promise<ExecResult> {
    checkId(id);
    const what = `cannot exec in container "${id}"`;
    const stateDir = resolve(options.stateDir);
    const attached = !options.detach;
    mkdirSync(join(stateDir, EXIT_DIR), { recursive: true, mode: 0o700 });
    const specPath = join(stateDir, 'process.json');
    await writeFile(
      specPath,
      JSON.stringify({
        ...processSpec,
        terminal: options.tty,
        // the runtime sizes the new pty before the process runs; the ctl fifo can only race it
        ...(options.tty && options.size
          ? { consoleSize: { height: Math.floor(options.size.rows), width: Math.floor(options.size.cols) } }
          : {}),
      }),
      { mode: 0o600 },
    );

    const args = conmonArgs({
      id,
      cuuid: basename(stateDir),
      runtimePath: this.runtime.path,
      runtimeRoot: this.runtimeRoot,
      bundle: stateDir,
      stateDir,
      exitDir: join(stateDir, EXIT_DIR),
      execProcessSpec: specPath,
      ...(options.tty ? { terminal: true } : {}),
      ...(attached && options.stdin ? { stdin: true } : {}),
    });

    const conmon = spawnConmon(this.conmonPath, args, {
      cwd: stateDir,
      pipeEnv: ['_OCI_SYNCPIPE', '_OCI_STARTPIPE', '_OCI_ATTACHPIPE'],
    });
    const [sync, start, ready] = conmon.pipes as [
      SpawnedConmon['pipes'][0],
      SpawnedConmon['pipes'][0],
      SpawnedConmon['pipes'][0],
    ];
    let streams: AttachStreams | undefined;
    try {
      // 1: let conmon go ahead; 2: it says when the attach socket is up
      start.signal();
      const up = await ready.next();
      if (!up) {
        const failed = await sync.next().catch(() => undefined);
        if (failed && failed.data < 0) throw this.runtimeFailure(what, failed.message ?? '');
        throw await this.conmonFailure(what, conmon);
      }
      if (options.tty && options.size) this.resize(stateDir, id, options.size);
      if (attached) streams = openAttachSocket(join(stateDir, 'attach'), `exec session of "${id}"`);
      // 3: attached (or not), the runtime may start the process now
      start.signal();
      const started = await sync.next();
      if (!started) throw await this.conmonFailure(what, conmon);
      if (started.data < 0) throw this.runtimeFailure(what, started.message ?? '');
      const pid = started.data;
      if (!streams) return { pid };

      const collected = await this.pumpExec(streams, options);
      const finished = await sync.next();
      if (!finished) {
        const code = this.exitCode(stateDir, id);
        if (code !== undefined) return { pid, exitCode: code, ...collected };
        throw new RuntimeError(`${what}: conmon exited without reporting the exit code`);
      }
      if (finished.message) throw new RuntimeError(`${what}: ${finished.message}`);
      return { pid, exitCode: finished.data, ...collected };
    } finally {
      streams?.detach();
      releaseConmon(conmon);
    }
  }

  private async pumpExec(
    streams: AttachStreams,
    options: ExecOptions,
  ): Promise<{ stdout?: Buffer; stderr?: Buffer }> {
    const stdio = options.stdio ?? {};
    const collected: { stdout?: Buffer; stderr?: Buffer } = {};
    const drain = (from: Readable, to: Writable | undefined, key: 'stdout' | 'stderr') =>
      new Promise<void>((resolvePump, reject) => {
        if (to) {
          from.on('data', (chunk: Buffer) => {
            if (!to.write(chunk)) {
              from.pause();
              to.once('drain', () => from.resume());
            }
          });
        } else {
          const chunks: Buffer[] = [];
          from.on('data', (chunk: Buffer) => chunks.push(chunk));
          from.once('end', () => {
            collected[key] = Buffer.concat(chunks);
          });
        }
        from.once('end', () => resolvePump());
        from.once('error', reject);
      });
    if (options.stdin && stdio.stdin) {
      stdio.stdin.pipe(streams.stdin);
    } else if (options.stdin) {
      streams.stdin.end();
    }
    await Promise.all([
      drain(streams.stdout, stdio.stdout, 'stdout'),
      drain(streams.stderr, stdio.stderr, 'stderr'),
    ]);
    if (stdio.stdin) stdio.stdin.unpipe(streams.stdin);
    return collected;
  }

  /** Attach to the container's stdio through conmon's attach socket. */
  async attach(stateDir: string, id: string): Promise<AttachStreams> {
    checkId(id);
    return openAttachSocket(join(stateDir, 'attach'), `container "${id}"`);
  }

  /** Resize the container's (or exec session's) terminal through conmon's ctl fifo. */
  resize(stateDir: string, id: string, size: TerminalSize): void {
    const rows = Math.floor(size.rows);
    const cols = Math.floor(size.cols);
    if (!(rows > 0 && cols > 0 && rows < 65536 && cols < 65536)) {
      throw new InvalidArgumentError(`invalid terminal size ${size.rows}x${size.cols}`);
    }
    // conmon lingers a moment after writing the exit file; don't resize a finished process
    if (this.exitCode(stateDir, id) !== undefined) {
      throw new ConflictError(`cannot resize container "${id}": it is not running`);
    }
    let fd: number;
    try {
      // non-blocking: with no reader (conmon gone) open fails instead of hanging
      fd = openSync(join(stateDir, 'ctl'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    } catch (err) {
      if (errnoCode(err) === 'ENXIO')
        throw new ConflictError(`cannot resize container "${id}": it is not running`);
      if (errnoCode(err) === 'ENOENT')
        throw new NotFoundError(`cannot resize container "${id}": no control fifo`);
      throw new IOError(`cannot resize container "${id}": ${errnoCode(err) ?? String(err)}`, { cause: err });
    }
    try {
      writeSync(fd, `1 ${rows} ${cols}\n`);
    } finally {
      closeSync(fd);
    }
  }

  /** Run the runtime binary; on failure throw with its own message, classified. */
  private run(args: string[], what: string, id: string): Promise<string> {
    return new Promise((resolveRun, reject) => {
      execFile(
        this.runtime.path,
        ['--root', this.runtimeRoot, ...args],
        { maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (!err) {
            resolveRun(stdout);
            return;
          }
          const code = errnoCode(err);
          if (code === 'ENOENT' || code === 'EACCES') {
            reject(new NotFoundError(`${what}: cannot run ${this.runtime.path}: ${code}`, { cause: err }));
            return;
          }
          reject(this.runtimeFailure(what, stderr || err.message, id));
        },
      );
    });
  }

  private runtimeFailure(what: string, stderr: string, id?: string): Error {
    const message = runtimeMessage(stderr) || 'failed without a message';
    const text = `${what}: ${this.runtime.name}: ${message}`;
    const launch = launchFailureCode(message);
    if (launch !== undefined) return new CommandLaunchError(text, launch);
    if (/container does not exist|container .* does not exist/i.test(message)) return new NotFoundError(text);
    if (id && message.includes(join(this.runtimeRoot, id)) && /no such file or directory/i.test(message)) {
      return new NotFoundError(text); // crun: "error opening file `<root>/<id>/status`"
    }
    if (
      /not running|not stopped|is (running|paused|stopped|created)|already (paused|running)|cannot (exec|pause|resume)|no such process|not in `?\w+`? (or `?\w+`? )?state/i.test(
        message,
      )
    ) {
      return new ConflictError(text);
    }
    return new RuntimeError(text);
  }

  private async conmonFailure(what: string, conmon: SpawnedConmon): Promise<Error> {
    const code = await conmon.exited.catch((err: unknown) => err);
    if (code instanceof Error) return code;
    const output = (await conmon.output()).replace(/\s*\n\s*/g, '; ');
    return new RuntimeError(
      `${what}: conmon ${output ? `failed: ${output}` : `exited with code ${code} and no message`}`,
    );
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live conmon (not another process that reused the pid, nor a zombie). */
function isConmon(pid: number): boolean {
  try {
    // "<pid> (<comm>) <state> ..."
    const { comm, state } = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return comm === 'conmon' && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
