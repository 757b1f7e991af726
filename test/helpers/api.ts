// `berth system service` under test: started on a private socket over a Berth's root, and the
// real docker CLI (both clients on this machine) pointed at it.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { type Berth, type RunResult, runProcess } from './berth.js';
import { makeBusyboxBundle } from './bundle.js';
import { missing } from './prereq.js';
import { waitFor } from './wait.js';

/** Debian's docker 20.10 (API 1.41) and the newer one (API 1.45), where present. */
export const DOCKER_CLIENTS = ['/usr/local/bin/docker', '/usr/bin/docker'].filter((p) => existsSync(p));

/** What an API test lacks on this machine: root, the given commands, or any docker client. */
export function apiLacking(commands: string[]): string | undefined {
  return missing({ root: true, commands }) ?? (DOCKER_CLIENTS.length ? undefined : 'docker');
}

export class ApiService {
  readonly sock: string;
  /** The service's TMPDIR. */
  readonly tmp: string;
  /** What the service printed on stderr, for failure messages. */
  log = '';
  #service: ReturnType<Berth['start']> | undefined;

  constructor(
    private readonly b: Berth,
    private readonly work: string,
  ) {
    this.sock = join(work, 'api', 'berth.sock');
    this.tmp = join(work, 'api-tmp');
  }

  /** Starts the service and waits until /_ping answers. */
  async start(): Promise<void> {
    // its own temp dir (build contexts, staged uploads): what it leaves there is its own
    mkdirSync(this.tmp, { recursive: true });
    this.#service = this.b.start(['system', 'service', '--socket', this.sock], { TMPDIR: this.tmp });
    this.#service.child.stderr?.on('data', (d: Buffer) => {
      this.log += d.toString();
    });
    await waitFor(async () => (await this.ping().catch(() => '')) === 'OK', {
      what: 'the API socket to answer',
    });
  }

  /** The service's process id while it runs. */
  get pid(): number | undefined {
    return this.#service?.child.pid;
  }

  /** SIGTERM, then its exit code (undefined when it was not running). */
  async stop(): Promise<number | null | undefined> {
    const service = this.#service;
    if (!service) return undefined;
    this.#service = undefined;
    service.child.kill('SIGTERM');
    return service.closed;
  }

  ping(): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.sock, path: '/_ping' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** A docker CLI command against the service; `input` is fed to its stdin. */
  docker(client: string, args: string[], input?: string): Promise<RunResult> {
    const env = { DOCKER_HOST: `unix://${this.sock}`, DOCKER_CONFIG: join(this.work, 'docker-config') };
    if (input === undefined) return runProcess(client, args, { env, timeoutMs: 60_000 });
    return runProcess('sh', ['-c', `printf '%s' "$IN" | "$0" "$@"`, client, ...args], {
      env: { ...env, IN: input },
      timeoutMs: 60_000,
    });
  }

  /** As `docker`, failing (with the service's log) unless it exits 0. */
  async dockerOk(client: string, args: string[]): Promise<RunResult> {
    const r = await this.docker(client, args);
    if (r.code !== 0) {
      throw new Error(
        `docker ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}\nservice: ${this.log}`,
      );
    }
    return r;
  }
}

/** The busybox image most API test files run, imported into `b` as `name` (built under `work`). */
export async function importBusybox(b: Berth, work: string, name: string): Promise<void> {
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  await b.importRootfs(bundle.rootfs, join(work, 'rootfs.tar'), name);
}

/** A test file's end: every container of `b` removed, then its root and the work dir. */
export async function removeAll(b: Berth, work: string): Promise<void> {
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
}
