// Attach and exec through HTTP upgrade (Docker's "hijack"): after `101 UPGRADED` the connection
// carries the process's output (8-byte multiplexed without a TTY, raw with one) and the client's
// stdin. The docker CLI attaches before it starts a container, so an attach to a created
// container waits here until the start route attaches it between runtime create and start.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import type { AttachStreams, Engine } from '../engine/index.js';
import { errorReply, HttpError, splitVersion } from './_http.js';

type Write = (stream: 1 | 2, chunk: Buffer) => void;

interface PendingAttach {
  stdin: boolean;
  connect(streams: AttachStreams): void;
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
const MAX_EXECS = 1000;

export class HijackRegistry {
  readonly #pending = new Map<string, PendingAttach[]>();
  readonly #execs = new Map<string, ExecEntry>();

  /** Start hook: connect every pending attach of container `id`; undefined when none waits. */
  beforeStart(engine: Engine, id: string): (() => Promise<void>) | undefined {
    if (!this.#pending.get(id)?.length) return undefined;
    return async () => {
      const waiting = this.#pending.get(id) ?? [];
      this.#pending.delete(id);
      for (const p of waiting) p.connect(await engine.attachContainer(id));
    };
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
    const connect = (streams: AttachStreams) => {
      if (want.stdout) forward(streams.stdout, 1, write);
      else streams.stdout.resume();
      if (want.stderr) forward(streams.stderr, 2, write);
      else streams.stderr.resume();
      if (want.stdin) pipeStdin(socket, head, streams.stdin);
      socket.on('close', () => streams.detach());
      void streams.done.then(() => socket.end());
    };
    if (c.State.Running) {
      connect(await engine.attachContainer(c.Id));
      return;
    }
    const remove = this.#addPending(c.Id, { stdin: want.stdin, connect });
    socket.on('close', remove);
  }

  /**
   * POST /containers/{id}/attach without an upgrade (dockerode's default): the output is the
   * response body and there is no stdin; for a container not running yet it flows once the
   * start route attaches it.
   */
  async attachPlain(engine: Engine, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
    const c = await engine.inspectContainer(ref);
    const flag = (k: string) => ['1', 'true', 'True'].includes(q.get(k) ?? '');
    const tty = c.Config.Tty === true;
    res.writeHead(200, { 'Content-Type': streamType(tty) });
    res.flushHeaders();
    const write = framed((data) => {
      if (!res.destroyed && !res.writableEnded) res.write(data);
    }, tty);
    const connect = (streams: AttachStreams) => {
      if (flag('stdout')) forward(streams.stdout, 1, write);
      else streams.stdout.resume();
      if (flag('stderr')) forward(streams.stderr, 2, write);
      else streams.stderr.resume();
      res.on('close', () => streams.detach());
      void streams.done.then(() => res.end());
    };
    if (c.State.Running) {
      connect(await engine.attachContainer(c.Id));
      return;
    }
    const remove = this.#addPending(c.Id, { stdin: false, connect });
    res.on('close', remove);
  }

  async #execStart(engine: Engine, id: string, body: Record<string, unknown>, socket: Duplex, head: Buffer) {
    const e = this.#startable(id);
    const tty = typeof body.Tty === 'boolean' ? body.Tty : e.tty;
    const write = upgraded(socket, tty);
    let stdin: PassThrough | undefined;
    if (e.stdin) {
      stdin = new PassThrough();
      pipeStdin(socket, head, stdin);
    }
    try {
      await this.#runExec(engine, e, { tty, write, ...(stdin ? { stdin } : {}) });
    } finally {
      socket.end();
    }
  }

  /**
   * POST /exec/{id}/start without an upgrade, as dockerode sends it by default and docker-py for
   * a detached exec: `Detach` starts it and answers at once; otherwise the output is the
   * response body (multiplexed, or raw with a TTY), with no stdin.
   */
  async execStartPlain(engine: Engine, id: string, body: Record<string, unknown>, res: ServerResponse) {
    const e = this.#startable(id);
    const tty = typeof body.Tty === 'boolean' ? body.Tty : e.tty;
    if (body.Detach === true) {
      void this.#runExec(engine, e, { tty, write: () => {} });
      res.writeHead(200).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': streamType(tty) });
    res.flushHeaders();
    try {
      await this.#runExec(engine, e, {
        tty,
        write: framed((chunk) => {
          if (!res.destroyed && !res.writableEnded) res.write(chunk);
        }, tty),
      });
    } finally {
      res.end();
    }
  }

  #startable(id: string): ExecEntry {
    const e = this.exec(id);
    if (e.state !== 'created') throw new HttpError(409, `exec ${id} has already been started`);
    return e;
  }

  /** Runs a created exec to its end, recording its pid and exit code; never throws. */
  async #runExec(
    engine: Engine,
    e: ExecEntry,
    io: { tty: boolean; write: Write; stdin?: PassThrough },
  ): Promise<void> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    forward(stdout, 1, io.write);
    forward(stderr, 2, io.write);
    e.state = 'running';
    try {
      const session = engine.execInContainer(e.container, {
        args: e.args,
        ...(e.env ? { env: e.env } : {}),
        ...(e.user ? { user: e.user } : {}),
        ...(e.workdir ? { workdir: e.workdir } : {}),
        tty: io.tty,
        stdin: io.stdin !== undefined,
        stdio: { stdout, stderr, ...(io.stdin ? { stdin: io.stdin } : {}) },
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
      io.write(2, Buffer.from(msg));
    } finally {
      e.state = 'done';
      e.expires = Date.now() + EXEC_TTL_MS;
      delete e.resize;
    }
  }
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

function streamType(tty: boolean): string {
  return tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
}

/** A writer of the process's output: 8-byte multiplexed frames without a TTY, raw bytes with one. */
function framed(send: (data: Buffer) => void, tty: boolean): Write {
  return (stream, chunk) => {
    if (!chunk.length) return;
    if (tty) {
      send(chunk);
      return;
    }
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(chunk.length, 4);
    send(Buffer.concat([header, chunk]));
  };
}

/** Answer 101 and return a writer: multiplexed frames without a TTY, raw bytes with one. */
function upgraded(socket: Duplex, tty: boolean): Write {
  socket.write(
    `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${streamType(tty)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
  );
  return framed((data) => {
    if (!socket.destroyed && !socket.writableEnded) socket.write(data);
  }, tty);
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
