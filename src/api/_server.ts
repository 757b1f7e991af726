// The unix-socket server: one node:http server over the engine, an idle timeout, and a socket
// file that is replaced when stale and refused when another server still answers on it.
import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Engine } from '../engine/index.js';
import { ConflictError, InvalidArgumentError } from '../errors/index.js';
import { HijackRegistry } from './_hijack.js';
import {
  API_VERSION,
  errorReply,
  HttpError,
  MAX_JSON_BODY,
  type Reply,
  type Request,
  splitVersion,
} from './_http.js';
import { buildRouter } from './_routes.js';

/** TCP with mutual TLS: clients must present a certificate that chains to `ca`. */
export interface TcpListen {
  host: string;
  /** 0 = any free port (see ApiServer.address). */
  port: number;
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

export interface ServeOptions {
  /** The unix socket (mode 0660); exactly one of `socket` and `tcp`. */
  socket?: string;
  /** The socket's group (a gid), so members can use the API without root. */
  group?: number;
  tcp?: TcpListen;
  /**
   * A listening socket handed over already bound (systemd socket activation: fd 3). The
   * service is then started on demand and, with an idle timeout, exits until the next client.
   */
  listenFd?: number;
  /** Seconds without a request (and none in flight) before the server closes; 0 = never. */
  idleTimeout?: number;
  /** The version berth reports (`Server:` header, /version). */
  serverVersion: string;
}

export interface ApiServer {
  /** `unix:///run/berth/berth.sock` or `tcp://127.0.0.1:2376`. */
  readonly address: string;
  /** Resolves when the server has closed (idle timeout or close()). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Make room for the socket: refuse a live one, remove a stale one, create the parent dir. */
async function prepareSocket(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new InvalidArgumentError(`${path} exists and is not a socket; not replacing it`);
  if (await socketAnswers(path)) throw new ConflictError(`another server is already listening on ${path}`);
  unlinkSync(path);
}

export async function serveApi(engine: Engine, options: ServeOptions): Promise<ApiServer> {
  const socket = options.socket;
  const ways = [socket, options.tcp, options.listenFd].filter((w) => w !== undefined).length;
  if (ways !== 1) {
    throw new InvalidArgumentError(
      'serve on exactly one of a unix socket, a TCP address and a passed socket',
    );
  }
  if (socket !== undefined) await prepareSocket(socket);
  const hijack = new HijackRegistry();
  const router = buildRouter(engine, options.serverVersion, hijack);
  const serverHeader = `Berth/${options.serverVersion} (linux)`;
  let inFlight = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const idleMs = (options.idleTimeout ?? 0) * 1000;

  const onRequest = (raw: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    if (idleTimer) clearTimeout(idleTimer);
    res.on('close', () => {
      inFlight--;
      armIdle();
    });
    res.setHeader('Server', serverHeader);
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    void handle(raw, res);
  };
  const tcp = options.tcp;
  const server: Server = tcp
    ? createTlsServer(
        { cert: tcp.cert, key: tcp.key, ca: tcp.ca, requestCert: true, rejectUnauthorized: true },
        onRequest,
      )
    : createServer(onRequest);
  // Node ends a request not received in whole within 5 minutes; a build context or an image
  // archive may take longer to upload. Headers must still come within a minute.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  // attach and exec start: `Connection: Upgrade` requests do not reach onRequest
  const hijacked = new Set<Duplex>();
  server.on('upgrade', (raw: IncomingMessage, sock: Duplex, head: Buffer) => {
    hijacked.add(sock);
    inFlight++;
    if (idleTimer) clearTimeout(idleTimer);
    sock.on('close', () => {
      hijacked.delete(sock);
      inFlight--;
      armIdle();
    });
    void hijack.handleUpgrade(engine, raw, sock, head);
  });

  const controllers = new Set<AbortController>();
  async function handle(raw: IncomingMessage, res: ServerResponse) {
    const abort = new AbortController();
    controllers.add(abort);
    res.on('close', () => {
      abort.abort();
      controllers.delete(abort);
    });
    try {
      const url = new URL(raw.url ?? '/', 'http://berth');
      const { version, path } = splitVersion(url.pathname);
      const method = raw.method ?? 'GET';
      const found = router.match(method, path);
      if (!('handler' in found)) {
        if (found.allowed.length) throw new HttpError(405, `method ${method} not allowed on ${path}`);
        throw new HttpError(404, `page not found: ${path}`);
      }
      // no endpoint yet takes a streamed upload: anything larger than a JSON body is refused unread
      if (!found.streamBody && Number(raw.headers['content-length'] ?? 0) > MAX_JSON_BODY) {
        throw new HttpError(413, `request body too large (over ${MAX_JSON_BODY} bytes)`);
      }
      const req: Request = {
        method,
        path,
        version,
        params: found.params,
        query: url.searchParams,
        raw,
        res,
        signal: abort.signal,
      };
      const reply = await found.handler(req);
      if (reply) send(res, reply, method === 'HEAD');
    } catch (err) {
      const { status, message } = errorReply(err);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // a refused upload is answered before its body is read; close so the rest is not parsed
      if (status === 413) res.setHeader('Connection', 'close');
      send(res, { status, body: { message } }, raw.method === 'HEAD');
    }
  }

  function armIdle() {
    if (idleMs <= 0 || inFlight > 0) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => void api.close(), idleMs);
    idleTimer.unref();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (tcp) server.listen(tcp.port, tcp.host, done);
    else if (options.listenFd !== undefined) server.listen({ fd: options.listenFd }, done);
    else server.listen(socket, done);
  });
  if (socket !== undefined) {
    chmodSync(socket, 0o660);
    if (options.group !== undefined) chownSync(socket, -1, options.group);
  }
  const bound = server.address() as AddressInfo | string | null;
  const address =
    options.listenFd !== undefined
      ? `fd://${options.listenFd}`
      : typeof bound === 'string' || bound === null
        ? `unix://${bound}`
        : `tcp://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  armIdle();

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  let closing: Promise<void> | undefined;
  const api: ApiServer = {
    address,
    closed,
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (idleTimer) clearTimeout(idleTimer);
        for (const c of controllers) c.abort();
        server.close(() => {
          try {
            if (socket !== undefined) unlinkSync(socket);
          } catch {
            // already gone
          }
          resolveClosed();
          resolve();
        });
        server.closeAllConnections();
        // upgraded connections left the http server's books: end them here
        for (const sock of hijacked) sock.destroy();
      });
      return closing;
    },
  };
  return api;
}

function send(res: ServerResponse, reply: Reply, head: boolean) {
  if (reply.text !== undefined) {
    res.writeHead(reply.status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(head ? undefined : reply.text);
    return;
  }
  if (reply.body === undefined) {
    res.writeHead(reply.status);
    res.end();
    return;
  }
  const data = `${JSON.stringify(reply.body)}\n`;
  res.writeHead(reply.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(data),
  });
  res.end(head ? undefined : data);
}
