// Runs the bundled berth CLI as a child process against a private storage root.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BERTH_BIN = join(REPO, 'dist', 'berth.mjs');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface BerthOptions {
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Pipe stdout somewhere instead of capturing it (e.g. a file path via shell). */
  timeoutMs?: number;
  /** Working directory of the process (default: the test's). */
  cwd?: string;
}

/** A berth under test: its own root and runroot under a temp dir, removed by cleanup(). */
export class Berth {
  readonly dir: string;
  readonly root: string;
  readonly runroot: string;
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'berth-it-'));
    this.root = join(this.dir, 'root');
    this.runroot = join(this.dir, 'run');
  }

  run(args: string[], options: BerthOptions = {}): Promise<RunResult> {
    return runProcess(
      process.execPath,
      [BERTH_BIN, '--root', this.root, '--runroot', this.runroot, ...args],
      options,
    );
  }

  /** Run and assert exit 0, returning stdout. */
  async ok(args: string[], options: BerthOptions = {}): Promise<string> {
    const r = await this.run(args, options);
    if (r.code !== 0) {
      throw new Error(`berth ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return r.stdout;
  }

  /**
   * Start berth in the background (for tests that kill it mid-command). `closed` is listened
   * for at once, so a command that finishes before the test kills it is not missed.
   */
  start(args: string[], env?: NodeJS.ProcessEnv) {
    const child = spawn(
      process.execPath,
      [BERTH_BIN, '--root', this.root, '--runroot', this.runroot, ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(env ? { env: { ...process.env, ...env } } : {}),
      },
    );
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    return { child, closed };
  }

  /** Tar a root filesystem dir (system tar, numeric owners) into `tarPath` and import it as `name`. */
  async importRootfs(
    rootfs: string,
    tarPath: string,
    name: string,
    changes: string[] = ['CMD ["sh"]'],
  ): Promise<void> {
    execFileSync('tar', ['--numeric-owner', '-C', rootfs, '-cf', tarPath, '.']);
    await this.ok(['import', ...changes.flatMap((c) => ['--change', c]), tarPath, name]);
  }

  /**
   * Removes the berth's directory, once (bounded, 60 s) no process names it on its command line:
   * the exit commands conmon runs (`berth --root … container cleanup`) write under the root
   * after an `rm -f` has returned, and a root removed under them is made again.
   */
  cleanup(): void {
    const deadline = Date.now() + 60_000;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (Date.now() < deadline && processesUsing(this.dir).length > 0) Atomics.wait(nap, 0, 0, 50);
    // a container's exit command (`berth container cleanup`, run by conmon) may still be
    // writing under the root as the test ends: ENOTEMPTY then, so Node retries (bounded)
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
}

export function runProcess(cmd: string, args: string[], options: BerthOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...(options.env ?? {}) },
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code: code ?? (signal ? 128 + 9 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {});
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** Is a command on PATH on this machine? (prereq.ts's, re-exported for the tests that use it here.) */
export { hasCommand } from './prereq.js';

/** Pids of processes (not this one) whose command line mentions `path`. */
function processesUsing(path: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(path)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
