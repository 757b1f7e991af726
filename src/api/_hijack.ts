// Attach and exec through HTTP upgrade (Docker's "hijack"): after `101 UPGRADED` the connection
// carries the process's output (8-byte multiplexed without a TTY, raw with one) and the client's
// stdin. The docker CLI attaches before it starts a container, so an attach to a created
// container waits here until the start route attaches it between runtime create and start.
// The same two endpoints also answer a plain POST (no upgrade), as dockerd does for
// `docker exec -d` and for clients that read the output as the response body: there is no stdin
// then. Output is written with backpressure (a slow client pauses the source, not the heap), and
// with a TTY and stdin the detach keys (default ctrl-p,ctrl-q) leave the process running.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { PassThrough, Writable } from 'node:stream';
import type { AttachStreams, Engine } from '../engine/index.js';
import { drained, errorReply, HttpError, splitVersion } from './_http.js';

/** Writes one chunk of a stream; false when the client's buffer is full (wait for 'drain'). */
type Write = (stream: 1 | 2, chunk: Buffer) => boolean;

/** Where the output goes: the upgraded socket, or a plain response body. */
type Out = Duplex | ServerResponse;

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
  stdout: boolean;
  stderr: boolean;
  /** The detach sequence for a TTY session ('' turns it off); undefined is ctrl-p,ctrl-q. */
  detachKeys?: string;
  /** The terminal size to start with (API 1.42+ `ConsoleSize`: rows, cols). */
  size?: { rows: number; cols: number };
  /** A detached exec (`Detach: true`): its exit code as conmon recorded it, once it ended. */
  detachedExit?: () => number | null | undefined;
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
    settleDetached(e);
    return e;
  }

  #sweep() {
    const now = Date.now();
    for (const [id, e] of this.#execs) {
      settleDetached(e);
      if (e.state !== 'running' && e.expires < now) this.#execs.delete(id);
    }
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

  /** POST /containers/{id}/attach without an upgrade: the output is the response body. */
  async attachPlain(engine: Engine, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
    await this.#attach(engine, ref, q, res, Buffer.alloc(0), false);
  }

  /** POST /exec/{id}/start without an upgrade: detached, or the output as the response body. */
  async execStartPlain(engine: Engine, id: string, body: Record<string, unknown>, res: ServerResponse) {
    await this.#execStart(engine, id, body, res, Buffer.alloc(0), false);
  }

  async #attach(engine: Engine, ref: string, q: URLSearchParams, out: Out, head: Buffer, upgrade = true) {
    const c = await engine.inspectContainer(ref);
    const flag = (k: string) => ['1', 'true', 'True'].includes(q.get(k) ?? '');
    const want = {
      stdin: upgrade && flag('stdin'),
      stdout: flag('stdout'),
      stderr: flag('stderr'),
      logs: flag('logs'),
      stream: flag('stream') || !q.has('stream'),
    };
    const tty = c.Config.Tty === true;
    const keys = tty && want.stdin ? parseDetachKeys(q.get('detachKeys') ?? undefined) : undefined;
    const write = begin(out, tty, upgrade);
    // An upgraded socket is read from the start, so a client that closes is seen ('close' needs
    // the read side's EOF too); until the start connects stdin, what it sends is kept for it (up
    // to a bound). A client gone from a silent container is let go when it exits or is removed.
    const early: Buffer[] = head.length ? [head] : [];
    let earlyBytes = head.length;
    let earlyEnd = false;
    const onEarly = (d: Buffer) => {
      if (!want.stdin) return;
      early.push(d);
      earlyBytes += d.length;
      if (earlyBytes > MAX_EARLY_STDIN) out.destroy();
    };
    // the docker CLI half-closes at once when it sends no stdin: that is not a leave
    const onEarlyEnd = () => {
      earlyEnd = true;
    };
    if (upgrade) {
      out.on('data', onEarly);
      out.on('end', onEarlyEnd);
    }
    if (want.logs) {
      for await (const e of engine.containerLogs(c.Id, {})) {
        const line = e.partial ? e.line : Buffer.concat([e.line, Buffer.from('\n')]);
        const n = e.stream === 'stderr' ? 2 : 1;
        if ((n === 1 ? want.stdout : want.stderr) && !write(n, line)) await drained(out);
      }
    }
    if (!want.stream) {
      out.end();
      return;
    }
    const connect = (streams: AttachStreams) => {
      if (want.stdout) forward(streams.stdout, 1, write, out);
      else streams.stdout.resume();
      if (want.stderr) forward(streams.stderr, 2, write, out);
      else streams.stderr.resume();
      // without stdin the early listeners stay: they drop what comes and notice the client leave
      if (want.stdin) {
        out.off('data', onEarly);
        out.off('end', onEarlyEnd);
        pipeStdin(out as Duplex, Buffer.concat(early), streams.stdin, keys, () => {
          streams.detach();
          out.end();
        });
        if (earlyEnd) streams.stdin.end();
      }
      if (out.destroyed) streams.detach();
      else out.on('close', () => streams.detach());
      void streams.done.then(() => out.end());
    };
    if (c.State.Running) {
      connect(await engine.attachContainer(c.Id));
      return;
    }
    // Without stdin or a TTY the output comes from the log, as `berth run` reads it: conmon
    // sends to an attach socket only once it has accepted it, which can be after a short-lived
    // process wrote everything, and then the client would see no output at all.
    // (`--log-driver none` keeps no log: the attach socket is all there is)
    const fromLog = !want.stdin && !tty && c.HostConfig.LogConfig?.Type !== 'none';
    const remove = this.#addPending(c.Id, {
      stdin: want.stdin,
      fromLog,
      connect,
      drop: () => out.destroy(),
    });
    out.on('close', remove);
  }

  async #execStart(
    engine: Engine,
    id: string,
    body: Record<string, unknown>,
    out: Out,
    head: Buffer,
    upgrade = true,
  ) {
    const e = this.exec(id);
    if (e.state !== 'created') throw new HttpError(409, `exec ${id} has already been started`);
    const tty = typeof body.Tty === 'boolean' ? body.Tty : e.tty;
    const size = consoleSize(body.ConsoleSize) ?? e.size;
    if (body.Detach === true) {
      e.state = 'running';
      try {
        const session = engine.execInContainer(e.container, {
          ...execRequest(e),
          tty,
          stdin: false,
          detach: true,
          ...(size ? { size } : {}),
        });
        e.pid = (await session.result).pid;
        e.detachedExit = () => session.exitCode();
      } catch (err) {
        e.state = 'done';
        throw err;
      }
      out.end();
      return;
    }
    const stdinWanted = upgrade && e.stdin;
    const keys = tty && stdinWanted ? parseDetachKeys(e.detachKeys) : undefined;
    const write = begin(out, tty, upgrade);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (e.stdout) forward(stdout, 1, write, out);
    else stdout.resume();
    if (e.stderr) forward(stderr, 2, write, out);
    else stderr.resume();
    let stdin: PassThrough | undefined;
    if (stdinWanted) {
      stdin = new PassThrough();
      // detaching from an exec leaves it running with its stdin closed
      pipeStdin(out as Duplex, head, stdin, keys, () => out.end());
    }
    e.state = 'running';
    try {
      const session = engine.execInContainer(e.container, {
        ...execRequest(e),
        tty,
        stdin: stdinWanted,
        stdio: { stdout, stderr, ...(stdin ? { stdin } : {}) },
        ...(size ? { size } : {}),
      });
      e.resize = (s) => session.resize(s);
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
      out.end();
    }
  }
}

/** A detached exec that ended: its exit code from conmon's record (null: conmon gone without one). */
function settleDetached(e: ExecEntry): void {
  if (!e.detachedExit || e.state !== 'running') return;
  const code = e.detachedExit();
  if (code === undefined) return;
  e.exitCode = code;
  e.state = 'done';
  e.expires = Date.now() + EXEC_TTL_MS;
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

function execRequest(e: ExecEntry) {
  return {
    args: e.args,
    ...(e.env ? { env: e.env } : {}),
    ...(e.user ? { user: e.user } : {}),
    ...(e.workdir ? { workdir: e.workdir } : {}),
  };
}

/** API 1.42+ `ConsoleSize`: `[rows, cols]`; absent or zeros is none. */
export function consoleSize(v: unknown): { rows: number; cols: number } | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length !== 2 || v.some((n) => !Number.isInteger(n) || n < 0 || n > 0xffff)) {
    throw new HttpError(400, 'ConsoleSize must be [height, width] with whole numbers');
  }
  const [rows, cols] = v as [number, number];
  return rows && cols ? { rows, cols } : undefined;
}

const CTRL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/**
 * Docker's detach-key syntax: comma-separated keys, each one character or `ctrl-<a-z @ [ \\ ] ^ _>`.
 * undefined means the default, ctrl-p,ctrl-q; '' turns detaching off (undefined result).
 */
export function parseDetachKeys(spec: string | undefined): Buffer | undefined {
  const text = spec ?? 'ctrl-p,ctrl-q';
  if (text === '') return undefined;
  const bytes: number[] = [];
  for (const key of text.split(',')) {
    const ctrl = /^ctrl-(.)$/.exec(key);
    if (ctrl) {
      const k = ctrl[1]!;
      const code = /^[a-z]$/.test(k) ? k.charCodeAt(0) - 96 : CTRL[k];
      if (code === undefined) throw new HttpError(400, `Invalid detach keys (${text}) provided`);
      bytes.push(code);
    } else if (key.length === 1 && key.charCodeAt(0) < 128) {
      bytes.push(key.charCodeAt(0));
    } else {
      throw new HttpError(400, `Invalid detach keys (${text}) provided`);
    }
  }
  return Buffer.from(bytes);
}

/**
 * A filter over stdin chunks that watches for `keys`: bytes that might start the sequence are
 * held back until it is complete (then `onDetach`, and nothing after it passes) or broken (then
 * they pass, as typed).
 */
export function escapeFilter(keys: Buffer, onDetach: () => void): (chunk: Buffer) => Buffer {
  let matched = 0;
  let done = false;
  return (chunk) => {
    if (done) return Buffer.alloc(0);
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === keys[matched]) {
        matched++;
        if (matched === keys.length) {
          done = true;
          onDetach();
          break;
        }
        continue;
      }
      if (matched) {
        out.push(...keys.subarray(0, matched));
        matched = 0;
        if (byte === keys[0]) {
          matched = 1;
          if (matched === keys.length) {
            done = true;
            onDetach();
            break;
          }
          continue;
        }
      }
      out.push(byte);
    }
    return Buffer.from(out);
  };
}

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

/**
 * Start the output: `101 UPGRADED` on a socket, or `200` on a plain response; then a writer of
 * multiplexed frames without a TTY, raw bytes with one.
 */
function begin(out: Out, tty: boolean, upgrade: boolean): Write {
  const type = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  if (upgrade) {
    out.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
    );
  } else {
    // sent now, not with the first output: dockerode's attach waits for the headers before it
    // starts the container (docker.run), so held headers would never see any output
    (out as ServerResponse).writeHead(200, { 'Content-Type': type }).flushHeaders();
  }
  return (stream, chunk) => {
    if (out.destroyed || out.writableEnded || !chunk.length) return true;
    if (tty) return out.write(chunk);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(chunk.length, 4);
    return out.write(Buffer.concat([header, chunk]));
  };
}

/** Output to the client; a full client buffer pauses the source until it drains (or closes). */
function forward(from: Readable, stream: 1 | 2, write: Write, out: Out) {
  from.on('data', (d: Buffer) => {
    if (write(stream, d) || out.destroyed) return;
    from.pause();
    void drained(out).then(() => from.resume());
  });
  from.on('error', () => {});
}

/**
 * The client's bytes after the upgrade go to stdin; its half-close ends stdin (EOF). With
 * `keys`, the detach sequence calls `onDetach` instead of reaching the process.
 */
function pipeStdin(
  socket: Duplex,
  head: Buffer,
  stdin: Writable,
  keys: Buffer | undefined,
  onDetach: () => void,
) {
  const filter = keys ? escapeFilter(keys, onDetach) : (b: Buffer) => b;
  const feed = (d: Buffer) => {
    const pass = filter(d);
    if (pass.length && !stdin.writableEnded) stdin.write(pass);
  };
  if (head.length) feed(head);
  socket.on('data', feed);
  socket.on('end', () => stdin.end());
  stdin.on?.('error', () => {});
}
