// Attach and exec through HTTP upgrade (Docker's "hijack"): after `101 UPGRADED` the connection
// carries the process's output (8-byte multiplexed without a TTY, raw with one) and the client's
// stdin. The docker CLI attaches before it starts a container, so an attach to a created
// container waits here until the start route attaches it between runtime create and start.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { PassThrough, Writable } from 'node:stream';
import type { AttachStreams, Engine } from '../engine/index.js';
import { errorReply, HttpError, splitVersion } from './_http.js';

type Write = (stream: 1 | 2, chunk: Buffer) => void;

interface PendingAttach {
  stdin: boolean;
  /** Output from the container's log rather than conmon's attach socket (see logAttach). */
  fromLog: boolean;
  connect(streams: AttachStreams): void;
  /** The container is gone: end the client's connection. */
  drop(): void;
}

/** An attach fed from the log: it follows once the start went through, or ends. */
interface LogAttach {
  streams: AttachStreams;
  started(ok: boolean): void;
}

/** An exec created by POST /containers/{id}/exec, kept in memory (the engine has one-shot exec only). */
export interface ExecEntry {
  id: string;
  container: string;
  args: string[];
  env?: string[];
  user?: string;
  workdir?: string;
  tty: boolean;
  stdin: boolean;
  state: 'created' | 'running' | 'done';
  exitCode: number | null;
  pid: number;
  resize?: (size: { rows: number; cols: number }) => void;
  expires: number;
}

const EXEC_TTL_MS = 10 * 60_000;
/** What an attach's client may send before the container starts and takes it as stdin. */
const MAX_EARLY_STDIN = 1 << 20;
const MAX_EXECS = 1000;

export class HijackRegistry {
  readonly #pending = new Map<string, PendingAttach[]>();
  readonly #fromLog = new Map<string, LogAttach[]>();
  readonly #execs = new Map<string, ExecEntry>();

  /** Whether an attach fed from the log waits for container `id` to start. */
  followsLog(id: string): boolean {
    return this.#pending.get(id)?.some((p) => p.fromLog) === true;
  }

  /**
   * Start hook: connect every pending attach of container `id`; undefined when none waits.
   * `recordsExit`: the start went without conmon's exit command, so the log followers record
   * the exit, and one that leaves early hands that to a wait of the service's own.
   */
  beforeStart(
    engine: Engine,
    id: string,
    options: { recordsExit?: boolean } = {},
  ): (() => Promise<void>) | undefined {
    if (!this.#pending.get(id)?.length) return undefined;
    return async () => {
      const waiting = this.#pending.get(id) ?? [];
      this.#pending.delete(id);
      for (const p of waiting) {
        if (p.fromLog) {
          const a = logAttach(engine, id, options.recordsExit === true);
          this.#fromLog.set(id, [...(this.#fromLog.get(id) ?? []), a]);
          p.connect(a.streams);
        } else {
          p.connect(await engine.attachContainer(id));
        }
      }
    };
  }

  /** Container `id` was removed: attaches still waiting for its start end. */
  removed(id: string): void {
    const waiting = this.#pending.get(id) ?? [];
    this.#pending.delete(id);
    for (const p of waiting) p.drop();
  }

  /** The start route's startContainer settled (`ok`: it started): log-fed attaches follow or end. */
  afterStart(id: string, ok: boolean): void {
    const list = this.#fromLog.get(id) ?? [];
    this.#fromLog.delete(id);
    for (const a of list) a.started(ok);
  }

  addExec(entry: Omit<ExecEntry, 'id' | 'state' | 'exitCode' | 'pid' | 'expires'>): ExecEntry {
    this.#sweep();
    if (this.#execs.size >= MAX_EXECS) throw new HttpError(503, 'too many exec sessions; try again later');
    const e: ExecEntry = {
      ...entry,
      id: randomBytes(32).toString('hex'),
      state: 'created',
      exitCode: null,
      pid: 0,
      expires: Date.now() + EXEC_TTL_MS,
    };
    this.#execs.set(e.id, e);
    return e;
  }

  exec(id: string): ExecEntry {
    this.#sweep();
    const e = this.#execs.get(id);
    if (!e) throw new HttpError(404, `No such exec instance: ${id}`);
    return e;
  }

  #sweep() {
    const now = Date.now();
    for (const [id, e] of this.#execs) if (e.state !== 'running' && e.expires < now) this.#execs.delete(id);
  }

  #addPending(id: string, p: PendingAttach) {
    const list = this.#pending.get(id) ?? [];
    list.push(p);
    this.#pending.set(id, list);
    return () => {
      const l = this.#pending.get(id);
      const i = l?.indexOf(p) ?? -1;
      if (l && i >= 0) l.splice(i, 1);
      if (l && !l.length) this.#pending.delete(id);
    };
  }

  /** The server's 'upgrade' listener. */
  async handleUpgrade(engine: Engine, raw: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    try {
      const url = new URL(raw.url ?? '/', 'http://berth');
      const { path } = splitVersion(url.pathname);
      const attach = /^\/containers\/([^/]+)\/attach$/.exec(path);
      const exec = /^\/exec\/([^/]+)\/start$/.exec(path);
      if (raw.method === 'POST' && attach) {
        await this.#attach(engine, decodeURIComponent(attach[1]!), url.searchParams, socket, head);
      } else if (raw.method === 'POST' && exec) {
        const { body, rest } = await readBody(raw, socket, head);
        await this.#execStart(engine, decodeURIComponent(exec[1]!), body, socket, rest);
      } else {
        throw new HttpError(404, `page not found: ${path}`);
      }
    } catch (err) {
      if (socket.destroyed) return;
      const { status, message } = errorReply(err);
      const data = `${JSON.stringify({ message })}\n`;
      socket.end(
        `HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(data)}\r\nConnection: close\r\n\r\n${data}`,
      );
    }
  }

  async #attach(engine: Engine, ref: string, q: URLSearchParams, socket: Duplex, head: Buffer) {
    const c = await engine.inspectContainer(ref);
    const flag = (k: string) => ['1', 'true', 'True'].includes(q.get(k) ?? '');
    const want = { stdin: flag('stdin'), stdout: flag('stdout'), stderr: flag('stderr') };
    const tty = c.Config.Tty === true;
    const write = upgraded(socket, tty);
    // The socket is read from the start, so a client that closes is seen ('close' needs the
    // read side's EOF too); until the start connects stdin, what it sends is kept for it (up to
    // a bound). A client gone from a silent container is let go when it exits or is removed.
    const early: Buffer[] = head.length ? [head] : [];
    let earlyBytes = head.length;
    let earlyEnd = false;
    const onEarly = (d: Buffer) => {
      if (!want.stdin) return;
      early.push(d);
      earlyBytes += d.length;
      if (earlyBytes > MAX_EARLY_STDIN) socket.destroy();
    };
    // the docker CLI half-closes at once when it sends no stdin: that is not a leave
    const onEarlyEnd = () => {
      earlyEnd = true;
    };
    socket.on('data', onEarly);
    socket.on('end', onEarlyEnd);
    const connect = (streams: AttachStreams) => {
      if (want.stdout) forward(streams.stdout, 1, write);
      else streams.stdout.resume();
      if (want.stderr) forward(streams.stderr, 2, write);
      else streams.stderr.resume();
      // without stdin the early listeners stay: they drop what comes and notice the client leave
      if (want.stdin) {
        socket.off('data', onEarly);
        socket.off('end', onEarlyEnd);
        pipeStdin(socket, Buffer.concat(early), streams.stdin);
        if (earlyEnd) streams.stdin.end();
      }
      if (socket.destroyed) streams.detach();
      else socket.on('close', () => streams.detach());
      void streams.done.then(() => socket.end());
    };
    if (c.State.Running) {
      connect(await engine.attachContainer(c.Id));
      return;
    }
    // Without stdin or a TTY the output comes from the log, as `berth run` reads it: conmon
    // sends to an attach socket only once it has accepted it, which can be after a short-lived
    // process wrote everything, and then the client would see no output at all.
    // (`--log-driver none` keeps no log: the attach socket is all there is)
    const logType = (c.HostConfig as { LogConfig?: { Type?: string } }).LogConfig?.Type;
    const fromLog = !want.stdin && !tty && logType !== 'none';
    const remove = this.#addPending(c.Id, {
      stdin: want.stdin,
      fromLog,
      connect,
      drop: () => socket.destroy(),
    });
    socket.on('close', remove);
  }

  async #execStart(engine: Engine, id: string, body: Record<string, unknown>, socket: Duplex, head: Buffer) {
    const e = this.exec(id);
    if (e.state !== 'created') throw new HttpError(409, `exec ${id} has already been started`);
    const tty = typeof body.Tty === 'boolean' ? body.Tty : e.tty;
    const write = upgraded(socket, tty);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    forward(stdout, 1, write);
    forward(stderr, 2, write);
    let stdin: PassThrough | undefined;
    if (e.stdin) {
      stdin = new PassThrough();
      pipeStdin(socket, head, stdin);
    }
    e.state = 'running';
    try {
      const session = engine.execInContainer(e.container, {
        args: e.args,
        ...(e.env ? { env: e.env } : {}),
        ...(e.user ? { user: e.user } : {}),
        ...(e.workdir ? { workdir: e.workdir } : {}),
        tty,
        stdin: e.stdin,
        stdio: { stdout, stderr, ...(stdin ? { stdin } : {}) },
      });
      e.resize = (size) => session.resize(size);
      const result = await session.result;
      e.pid = result.pid;
      e.exitCode = result.exitCode ?? null;
    } catch (err) {
      e.exitCode =
        typeof (err as { exitCode?: unknown }).exitCode === 'number'
          ? (err as { exitCode: number }).exitCode
          : 126;
      const msg = `${errorReply(err).message}\n`;
      write(2, Buffer.from(msg));
    } finally {
      e.state = 'done';
      e.expires = Date.now() + EXEC_TTL_MS;
      delete e.resize;
      socket.end();
    }
  }
}

/**
 * Attach streams fed from the container's log, from the start on (entries since now); the
 * follow begins once the container runs and ends at its exit (the engine's log follow waits
 * for it, and so records the exit at once). stdin is not connected. With `recordsExit`, a
 * client that leaves first leaves the exit to a wait of the service's.
 */
function logAttach(engine: Engine, id: string, recordsExit: boolean): LogAttach {
  const since = new Date();
  const stop = new AbortController();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = () => {
      stdout.end();
      stderr.end();
      resolve();
    };
  });
  const follow = async () => {
    try {
      for await (const e of engine.containerLogs(id, { follow: true, since, signal: stop.signal })) {
        (e.stream === 'stderr' ? stderr : stdout).write(e.partial ? e.line : Buffer.concat([e.line, NL]));
      }
    } catch {
      // a log that cannot be read ends the attach, as a closed attach socket would
    }
    finish();
  };
  let running = false;
  const handOver = () => {
    if (recordsExit) void engine.waitContainer(id).catch(() => {});
  };
  const streams: AttachStreams = {
    stdin: new Writable({ write: (_chunk, _enc, cb) => cb() }),
    stdout,
    stderr,
    done,
    detach: () => {
      if (stop.signal.aborted) return;
      stop.abort();
      if (running) handOver();
    },
  };
  return {
    streams,
    started: (ok) => {
      running = ok;
      if (ok && !stop.signal.aborted) void follow();
      else {
        finish();
        if (ok) handOver();
      }
    },
  };
}

const NL = Buffer.from('\n');

/** An upgrade request's body: node hands it over unparsed, in `head` and then on the socket. */
function readBody(
  raw: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<{ body: Record<string, unknown>; rest: Buffer }> {
  const len = Number(raw.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(len) || len < 0 || len > 1 << 20) {
    return Promise.reject(new HttpError(400, 'bad Content-Length for exec start'));
  }
  const parse = (all: Buffer) => {
    if (!len) return { body: {}, rest: all };
    try {
      const v = JSON.parse(all.subarray(0, len).toString('utf8')) as unknown;
      const body = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
      return { body, rest: all.subarray(len) };
    } catch {
      throw new HttpError(400, 'malformed JSON body');
    }
  };
  if (head.length >= len) return Promise.resolve(parse(head));
  return new Promise((resolve, reject) => {
    let all = head;
    const onData = (d: Buffer) => {
      all = Buffer.concat([all, d]);
      if (all.length < len) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      try {
        resolve(parse(all));
      } catch (err) {
        reject(err);
      }
    };
    const onClose = () => reject(new HttpError(400, 'connection closed before the request body'));
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** Answer 101 and return a writer: multiplexed frames without a TTY, raw bytes with one. */
function upgraded(socket: Duplex, tty: boolean): Write {
  const type = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  socket.write(
    `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
  );
  return (stream, chunk) => {
    if (socket.destroyed || socket.writableEnded || !chunk.length) return;
    if (tty) {
      socket.write(chunk);
      return;
    }
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(chunk.length, 4);
    socket.write(Buffer.concat([header, chunk]));
  };
}

function forward(from: Readable, stream: 1 | 2, write: Write) {
  from.on('data', (d: Buffer) => write(stream, d));
  from.on('error', () => {});
}

/** The client's bytes after the upgrade go to stdin; its half-close ends stdin (EOF). */
function pipeStdin(socket: Duplex, head: Buffer, stdin: NodeJS.WritableStream) {
  if (head.length) stdin.write(head);
  socket.on('data', (d: Buffer) => stdin.write(d));
  socket.on('end', () => stdin.end());
  (stdin as unknown as Readable).on?.('error', () => {});
}
