// Real registries for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1, with no
// auth, htpasswd basic auth, or bearer tokens from a small token server written here. Each
// registry lives in its own temp dir and is killed on stop() or when the test process exits.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createPrivateKey, randomBytes, randomUUID, sign, X509Certificate } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { selfSignedCert } from './tls.js';

const execFileP = promisify(execFile);

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  auth: 'none' | 'basic' | 'token';
  username?: string;
  password?: string;
  dataDir: string;
  stop(): Promise<void>;
}

interface Live {
  child: ChildProcess;
  dir: string;
  tokenServer?: http.Server;
}

const live = new Set<Live>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const l of live) {
      try {
        l.child.kill('SIGKILL');
      } catch {}
      try {
        rmSync(l.dir, { recursive: true, force: true });
      } catch {}
    }
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const TOKEN_SERVICE = 'berth-test-registry';
const TOKEN_ISSUER = 'berth-test-issuer';

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

interface Grant {
  type: string;
  name: string;
  actions: string[];
}

/** Parse `repository:name:pull,push` scopes; names may contain ':' only before the last one. */
function parseScopes(values: string[]): Grant[] {
  const out: Grant[] = [];
  for (const v of values) {
    for (const s of v.split(' ').filter(Boolean)) {
      const first = s.indexOf(':');
      const last = s.lastIndexOf(':');
      if (first < 0 || last === first) continue;
      out.push({
        type: s.slice(0, first),
        name: s.slice(first + 1, last),
        actions: s.slice(last + 1).split(','),
      });
    }
  }
  return out;
}

/**
 * A bearer token server as distribution expects one: basic credentials in, an RS256 JWT out,
 * signed with a key whose self-signed certificate is the registry's rootcertbundle and travels
 * in the JWT header's x5c. Anonymous callers get a token with no access.
 */
async function startTokenServer(
  dir: string,
  username: string,
  password: string,
): Promise<{ server: http.Server; realm: string; certPath: string; requests: string[] }> {
  const { keyPath, certPath } = selfSignedCert(dir, {
    cn: 'berth-test-token-issuer',
    name: 'token',
    days: 2,
  });
  const key = createPrivateKey(readFileSync(keyPath));
  const certDer = new X509Certificate(readFileSync(certPath)).raw;
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}`);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (url.pathname !== '/token') {
        res.writeHead(404).end();
        return;
      }
      let authorized = false;
      const auth = req.headers.authorization;
      if (auth) {
        const m = /^Basic (.+)$/.exec(auth);
        const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
        if (decoded !== `${username}:${password}`) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] }),
          );
          return;
        }
        authorized = true;
      }
      const scopes = parseScopes(url.searchParams.getAll('scope'));
      const access = authorized
        ? scopes
            .filter((g) => g.type === 'repository')
            .map((g) => ({
              ...g,
              actions: g.actions.filter((a) => a === 'pull' || a === 'push' || a === '*'),
            }))
        : [];
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
      const claims = {
        iss: TOKEN_ISSUER,
        sub: authorized ? username : '',
        aud: url.searchParams.get('service') ?? TOKEN_SERVICE,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      };
      const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const signature = sign('sha256', Buffer.from(signingInput), key);
      const token = `${signingInput}.${b64url(signature)}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
      );
    });
  });
  const port = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
  server.unref();
  return { server, realm: `http://127.0.0.1:${port}/token`, certPath, requests };
}

async function waitForRegistry(url: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  for (;;) {
    if (exited !== null) {
      throw new Error(`docker-registry exited with ${exited}: ${readFileSync(logPath, 'utf8').slice(-2000)}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get(`${url}/v2/`, { agent: false }, (res) => {
        res.resume();
        resolve(true);
      });
      req.setTimeout(1000, () => req.destroy());
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`docker-registry did not come up at ${url}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Start a docker-registry on a free port of 127.0.0.1, optionally behind basic or token auth. */
export async function startRegistry(
  options: { auth?: 'none' | 'basic' | 'token' } = {},
): Promise<TestRegistry> {
  installExitHook();
  const auth = options.auth ?? 'none';
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const username = auth === 'none' ? undefined : 'berth';
  const password = auth === 'none' ? undefined : randomBytes(12).toString('hex');
  const entry: Live = { child: undefined as unknown as ChildProcess, dir };
  try {
    let authYaml = '';
    if (auth === 'basic') {
      const { stdout } = await execFileP('htpasswd', ['-Bbn', username!, password!]);
      writeFileSync(join(dir, 'htpasswd'), stdout);
      authYaml = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(dir, 'htpasswd')}\n`;
    } else if (auth === 'token') {
      const ts = await startTokenServer(dir, username!, password!);
      entry.tokenServer = ts.server;
      authYaml =
        `auth:\n  token:\n    realm: ${ts.realm}\n    service: ${TOKEN_SERVICE}\n` +
        `    issuer: ${TOKEN_ISSUER}\n    rootcertbundle: ${ts.certPath}\n`;
    }
    const config =
      `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n` +
      `storage:\n  filesystem:\n    rootdirectory: ${dataDir}\n  delete:\n    enabled: true\n` +
      `http:\n  addr: ${host}\n  secret: ${randomBytes(16).toString('hex')}\n` +
      authYaml;
    const configPath = join(dir, 'config.yml');
    writeFileSync(configPath, config);
    const logPath = join(dir, 'registry.log');
    const logFd = openSync(logPath, 'a');
    const child = spawn('docker-registry', ['serve', configPath], {
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
    });
    closeSync(logFd);
    child.unref();
    entry.child = child;
    live.add(entry);
    await waitForRegistry(`http://${host}`, child, logPath);
  } catch (err) {
    await stopEntry(entry);
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    host,
    url: `http://${host}`,
    auth,
    ...(username ? { username, password } : {}),
    dataDir,
    stop() {
      stopped ??= stopEntry(entry);
      return stopped;
    },
  };
}

async function stopEntry(entry: Live): Promise<void> {
  live.delete(entry);
  const child = entry.child;
  if (child && child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
  if (entry.tokenServer) {
    const srv = entry.tokenServer;
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
  rmSync(entry.dir, { recursive: true, force: true });
}

/** `skopeo copy` with TLS verification off on both sides (test registries speak plain HTTP). */
export async function skopeoCopy(
  src: string,
  dest: string,
  options: { destCreds?: string; srcCreds?: string; all?: boolean; format?: 'oci' | 'v2s2' } = {},
): Promise<void> {
  const args = ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false'];
  if (options.all) args.push('--all');
  if (options.format) args.push('--format', options.format);
  if (options.srcCreds) args.push('--src-creds', options.srcCreds);
  if (options.destCreds) args.push('--dest-creds', options.destCreds);
  args.push(src, dest);
  await runSkopeo(args, [options.srcCreds, options.destCreds]);
}

/** `skopeo inspect` (parsed JSON; `raw` gives the manifest as the registry serves it). */
export async function skopeoInspect(
  ref: string,
  options: { creds?: string; raw?: boolean } = {},
): Promise<Record<string, unknown>> {
  const args = ['inspect', '--tls-verify=false'];
  if (options.raw) args.push('--raw');
  if (options.creds) args.push('--creds', options.creds);
  args.push(ref);
  return JSON.parse(await runSkopeo(args, [options.creds]));
}

async function runSkopeo(args: string[], secrets: (string | undefined)[]): Promise<string> {
  try {
    const { stdout } = await execFileP('skopeo', args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    let msg = String((err as { stderr?: string }).stderr || (err as Error).message);
    let shown = args.join(' ');
    for (const s of secrets) {
      if (s) {
        msg = msg.split(s).join('***');
        shown = shown.split(s).join('***');
      }
    }
    throw new Error(`skopeo ${shown} failed: ${msg.trim()}`);
  }
}
