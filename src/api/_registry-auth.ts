// Registry credentials over the API: the X-Registry-Auth header that pull and push carry (decoded
// here and nowhere else), and POST /auth, which checks credentials against the registry and
// stores nothing (the docker client keeps them in its own config).
import type { Engine, RegistryCredentials } from '../engine/index.js';
import { HttpError, onlyParams, type Request, type Router, readObject } from './_http.js';

/** Longer headers are refused before decoding (dockerd's whole header block is 1 MiB). */
const MAX_HEADER_CHARS = 64 * 1024;
const MAX_FIELD_CHARS = 16 * 1024;
const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;
/** What may go into an Authorization header as a token. */
const TOKEN_RE = /^[\x21-\x7e]+$/;
const AUTH_FIELDS = [
  'username',
  'password',
  'auth',
  'email',
  'serveraddress',
  'identitytoken',
  'registrytoken',
];

export interface RegistryAuth {
  credentials?: RegistryCredentials;
  serverAddress?: string;
}

function invalid(why: string): HttpError {
  return new HttpError(400, `invalid X-Registry-Auth header: ${why}`);
}

/**
 * The fields of a docker AuthConfig object (lower-cased keys: Go matches JSON names without
 * regard to case), each a string, as credentials: a registry token, an identity token, a
 * username and password, or `auth` (base64 `user:password`). Nothing usable is undefined.
 */
export function authConfigCredentials(
  doc: Record<string, unknown>,
  bad: (why: string) => Error,
): RegistryAuth {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc)) {
    const k = key.toLowerCase();
    if (!AUTH_FIELDS.includes(k)) continue; // newer clients may add fields; dockerd ignores them too
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string') throw bad(`"${k}" must be a string`);
    if (value.length > MAX_FIELD_CHARS) throw bad(`"${k}" is too long`);
    fields[k] = value;
  }
  const out: RegistryAuth = {};
  if (fields.serveraddress) out.serverAddress = fields.serveraddress;
  if (fields.registrytoken) {
    if (!TOKEN_RE.test(fields.registrytoken)) throw bad('"registrytoken" has characters a token cannot have');
    out.credentials = { registryToken: fields.registrytoken };
  } else if (fields.identitytoken) {
    out.credentials = { identityToken: fields.identitytoken };
  } else if (fields.username || fields.password) {
    out.credentials = { username: fields.username ?? '', password: fields.password ?? '' };
  } else if (fields.auth) {
    const decoded = decodeBase64(fields.auth, () => bad('"auth" is not base64'));
    const colon = decoded.indexOf(':');
    if (colon < 0) throw bad('"auth" is not "username:password"');
    out.credentials = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const c = out.credentials;
  if (c && 'username' in c && /[\0\r\n]/.test(c.username)) throw bad('the username has control characters');
  return out;
}

function decodeBase64(text: string, bad: () => Error): string {
  const t = text.trim();
  if (!BASE64_RE.test(t) || t.replace(/=+$/, '').length % 4 === 1) throw bad();
  return Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
}

/**
 * X-Registry-Auth as the docker clients send it: base64url (padded or not; the standard
 * alphabet is accepted too) of a JSON AuthConfig. Absent, empty, `{}` and credential-less
 * objects mean "use the stored login". Anything malformed is a 400.
 */
export function decodeRegistryAuth(header: string | string[] | undefined): RegistryAuth {
  if (Array.isArray(header)) throw invalid('sent more than once');
  if (header === undefined || header.trim() === '') return {};
  if (header.length > MAX_HEADER_CHARS) throw invalid('too long');
  const json = decodeBase64(header, () => invalid('not base64url'));
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw invalid('not JSON');
  }
  if (doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw invalid('not a JSON object');
  return authConfigCredentials(doc as Record<string, unknown>, invalid);
}

/** The request's X-Registry-Auth credentials (undefined: the stored login). */
export function requestCredentials(req: Request): RegistryCredentials | undefined {
  return decodeRegistryAuth(req.raw.headers['x-registry-auth']).credentials;
}

/** POST /auth: Docker's AuthConfig body; 200 "Login Succeeded" or the registry's refusal as a 401. */
async function postAuth(engine: Engine, req: Request) {
  onlyParams(req.query, []);
  const body = await readObject(req);
  const bad = (why: string) => new HttpError(400, `invalid auth request: ${why}`);
  const auth = authConfigCredentials(body, bad);
  const creds = auth.credentials;
  if (!creds || !('username' in creds) || !creds.username || !creds.password) {
    throw bad('username and password are required');
  }
  await engine.checkLogin(auth.serverAddress ?? 'docker.io', {
    username: creds.username,
    password: creds.password,
  });
  return { status: 200, body: { Status: 'Login Succeeded', IdentityToken: '' } };
}

export function addAuthRoutes(r: Router, engine: Engine): void {
  r.add('POST', '/auth', (req) => postAuth(engine, req));
}
