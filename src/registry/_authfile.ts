import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { errnoCode, InvalidArgumentError, IOError } from '../errors/index.js';
import { atomicWriteFile } from '../util/index.js';
import { registryKey } from './_config.js';
import { oneLine } from './_http.js';

/** A registry token (`registryToken`) is sent as it is, as a bearer token, with no token exchange. */
export type Credentials =
  | { username: string; password: string }
  | { identityToken: string }
  | { registryToken: string };

const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';
const MAX_AUTH_FILE_BYTES = 4 * 1024 * 1024;
const MAX_HELPER_OUTPUT = 1024 * 1024;
const HELPER_TIMEOUT_MS = 60_000;

/** options.authFile, else $REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
export function authFilePath(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.REGISTRY_AUTH_FILE) return process.env.REGISTRY_AUTH_FILE;
  if (process.env.DOCKER_CONFIG) return join(process.env.DOCKER_CONFIG, 'config.json');
  return join(homedir(), '.docker', 'config.json');
}

/**
 * The registry host an auth-file key or a user's `login` argument names, in canonical form:
 * `https://index.docker.io/v1/` → `docker.io`, `http://host:5000` → `host:5000`, `host/v1/` → `host`.
 * Undefined for keys that scope credentials to a repository path (we do not use those).
 */
export function normalizeAuthHost(key: string): string | undefined {
  let rest = key.trim();
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  const host = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1).replace(/\/+$/, '') : '';
  if (!host || (path !== '' && !/^v[12]$/.test(path))) return undefined;
  return registryKey(host);
}

/** The key berth writes, and the server URL helpers are given: Docker Hub keeps its historic URL. */
function canonicalKey(host: string): string {
  return host === 'docker.io' ? DOCKER_HUB_SERVER : host;
}

function requireHost(host: string): string {
  const h = normalizeAuthHost(host);
  if (!h || !/^[A-Za-z0-9.\-[\]:]+$/.test(h))
    throw new InvalidArgumentError(`invalid registry host "${oneLine(host, 100)}"`);
  return h;
}

interface AuthDoc {
  file: string;
  doc: Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function readAuthDoc(file: string): Promise<AuthDoc> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { file, doc: {} };
    throw new IOError(`cannot read auth file ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (raw.length > MAX_AUTH_FILE_BYTES) throw new InvalidArgumentError(`auth file ${file} is too large`);
  if (raw.toString('utf8').trim() === '') return { file, doc: {} };
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`auth file ${file} is not valid JSON`, { cause: err });
  }
  if (!isObject(doc)) throw new InvalidArgumentError(`auth file ${file} is not a JSON object`);
  return { file, doc };
}

/** credHelpers[host] (matching any spelling of the host), else credsStore. */
function helperFor(auth: AuthDoc, host: string): string | undefined {
  const { doc, file } = auth;
  let name: unknown;
  if (isObject(doc.credHelpers)) {
    for (const [k, v] of Object.entries(doc.credHelpers)) {
      if (normalizeAuthHost(k) === host) {
        name = v;
        break;
      }
    }
  }
  if (name === undefined && doc.credsStore !== undefined && doc.credsStore !== '') name = doc.credsStore;
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new InvalidArgumentError(`auth file ${file} names an invalid credential helper for ${host}`);
  }
  return name;
}

/** auths keys for a host, the canonical spelling first. */
function authKeysFor(doc: Record<string, unknown>, host: string): string[] {
  if (!isObject(doc.auths)) return [];
  const keys = Object.keys(doc.auths).filter((k) => normalizeAuthHost(k) === host);
  const canonical = canonicalKey(host);
  return keys.sort((a, b) => Number(b === canonical || b === host) - Number(a === canonical || a === host));
}

interface HelperResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runHelper(name: string, action: 'get' | 'store' | 'erase', input: string): Promise<HelperResult> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'], timeout: HELPER_TIMEOUT_MS });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes <= MAX_HELPER_OUTPUT) out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      errBytes += b.length;
      if (errBytes <= 64 * 1024) err.push(b);
    });
    child.on('error', (e) => {
      if (errnoCode(e) === 'ENOENT') {
        reject(
          new InvalidArgumentError(`credential helper ${program} is not installed`, {
            cause: e,
            hint: 'install it, or remove it from credHelpers/credsStore in the auth file',
          }),
        );
      } else reject(new IOError(`cannot run credential helper ${program}: ${e.message}`, { cause: e }));
    });
    child.stdin.on('error', () => {}); // a helper that exits without reading stdin
    child.on('close', (code, signal) => {
      if (outBytes > MAX_HELPER_OUTPUT) {
        reject(new IOError(`credential helper ${program} wrote more than ${MAX_HELPER_OUTPUT} bytes`));
        return;
      }
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.end(input);
  });
}

function helperFailure(
  name: string,
  action: string,
  host: string,
  r: HelperResult,
  secret?: string,
): IOError {
  let said = oneLine(r.stderr || r.stdout, 200);
  if (secret) said = said.split(secret).join('***');
  return new IOError(
    `credential helper docker-credential-${name} failed to ${action} credentials for ${host} (exit ${r.code})${said ? `: ${said}` : ''}`,
  );
}

function isNotFound(r: HelperResult): boolean {
  return /credentials not found|not found in native keychain|no credentials/i.test(`${r.stdout} ${r.stderr}`);
}

function decodeAuthField(value: string, host: string, file: string): { username: string; password: string } {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new InvalidArgumentError(`auth file ${file} has an invalid "auth" entry for ${host}`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Credentials for a registry host: credHelpers[host], then credsStore (via
 * `docker-credential-NAME get`), then auths entries (`auth` = base64 user:pass, or `identitytoken`).
 */
export async function getCredentials(
  host: string,
  options: { authFile?: string } = {},
): Promise<Credentials | undefined> {
  const h = requireHost(host);
  const auth = await readAuthDoc(authFilePath(options.authFile));
  const helper = helperFor(auth, h);
  if (helper) {
    const r = await runHelper(helper, 'get', canonicalKey(h));
    if (r.code === 0) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(r.stdout);
      } catch {
        throw new IOError(`credential helper docker-credential-${helper} returned malformed output for ${h}`);
      }
      if (!isObject(parsed) || typeof parsed.Username !== 'string' || typeof parsed.Secret !== 'string') {
        throw new IOError(`credential helper docker-credential-${helper} returned malformed output for ${h}`);
      }
      if (parsed.Username === '<token>') return { identityToken: parsed.Secret };
      if (parsed.Username !== '' || parsed.Secret !== '') {
        return { username: parsed.Username, password: parsed.Secret };
      }
    } else if (!isNotFound(r)) {
      throw helperFailure(helper, 'get', h, r);
    }
  }
  const auths = auth.doc.auths as Record<string, unknown> | undefined;
  for (const key of authKeysFor(auth.doc, h)) {
    const entry = auths?.[key];
    if (!isObject(entry)) continue;
    if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
      return { identityToken: entry.identitytoken };
    }
    if (typeof entry.auth === 'string' && entry.auth !== '') return decodeAuthField(entry.auth, h, auth.file);
    if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.username !== '') {
      return { username: entry.username, password: entry.password };
    }
  }
  return undefined;
}

async function writeAuthDoc(auth: AuthDoc): Promise<void> {
  await mkdir(dirname(auth.file), { recursive: true, mode: 0o700 });
  await atomicWriteFile(auth.file, `${JSON.stringify(auth.doc, null, '\t')}\n`, { mode: 0o600 });
}

/**
 * Store credentials: through the host's credential helper or credsStore when one is configured,
 * else as an `auths` entry. Other keys of the file are kept; the write is atomic, mode 0600.
 */
export async function saveCredentials(
  host: string,
  credentials: { username: string; password: string },
  options: { authFile?: string } = {},
): Promise<void> {
  const h = requireHost(host);
  if (credentials.username.includes(':')) throw new InvalidArgumentError('a username may not contain ":"');
  const auth = await readAuthDoc(authFilePath(options.authFile));
  const helper = helperFor(auth, h);
  if (helper) {
    const input = JSON.stringify({
      ServerURL: canonicalKey(h),
      Username: credentials.username,
      Secret: credentials.password,
    });
    const r = await runHelper(helper, 'store', input);
    if (r.code !== 0) throw helperFailure(helper, 'store', h, r, credentials.password);
    return;
  }
  const auths: Record<string, unknown> = isObject(auth.doc.auths) ? auth.doc.auths : {};
  for (const key of authKeysFor(auth.doc, h)) delete auths[key];
  auths[canonicalKey(h)] = {
    auth: Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64'),
  };
  auth.doc.auths = auths;
  await writeAuthDoc(auth);
}

/** Forget a host's credentials (helper `erase` and every `auths` spelling). True if anything was removed. */
export async function removeCredentials(host: string, options: { authFile?: string } = {}): Promise<boolean> {
  const h = requireHost(host);
  const auth = await readAuthDoc(authFilePath(options.authFile));
  let removed = false;
  const helper = helperFor(auth, h);
  if (helper) {
    const r = await runHelper(helper, 'erase', canonicalKey(h));
    if (r.code === 0) removed = true;
    else if (!isNotFound(r)) throw helperFailure(helper, 'erase', h, r);
  }
  const keys = authKeysFor(auth.doc, h);
  if (keys.length > 0) {
    const auths = auth.doc.auths as Record<string, unknown>;
    for (const key of keys) delete auths[key];
    await writeAuthDoc(auth);
    removed = true;
  }
  return removed;
}
