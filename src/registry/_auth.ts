import { RegistryError, UnauthorizedError } from '../errors/index.js';
import type { Credentials } from './_authfile.js';
import { type Challenge, parseWwwAuthenticate } from './_challenge.js';
import { errorForStatus, errorFromBody, errorFromResponse, parseErrorBody } from './_errors.js';
import { MAX_ERROR_BODY_BYTES, MAX_TOKEN_RESPONSE_BYTES, oneLine, readBody, readTruncated } from './_http.js';
import type { Endpoint, SendRequest, SendResult, Transport } from './_transport.js';

export type CredentialLookup = (credHost: string) => Promise<Credentials | undefined>;

export interface AuthedRequest extends Omit<SendRequest, 'authorization'> {
  /** Token scopes this request needs, e.g. `repository:library/busybox:pull`. */
  scopes: string[];
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

const MIN_TOKEN_LIFETIME_S = 60;
const TOKEN_SAFETY_MARGIN_MS = 10_000;
const TOKEN_RE = /^[\x21-\x7e]+$/;

/**
 * Authentication against one or more registries: learns each host's challenge (Basic or
 * Bearer) from its first 401, fetches and caches bearer tokens per (host, scopes), and
 * retries the request once with fresh authorization.
 */
export class AuthSession {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly credentials = new Map<string, Promise<Credentials | undefined>>();

  constructor(
    private readonly transport: Transport,
    private readonly lookup: CredentialLookup,
  ) {}

  private creds(credHost: string): Promise<Credentials | undefined> {
    let p = this.credentials.get(credHost);
    if (!p) {
      p = this.lookup(credHost);
      this.credentials.set(credHost, p);
      p.catch(() => this.credentials.delete(credHost));
    }
    return p;
  }

  /** Send to a registry endpoint, authenticating as its challenge requires. */
  async send(ep: Endpoint, path: string, req: AuthedRequest): Promise<SendResult> {
    return this.sendTo({ ep, path }, ep, req);
  }

  /** Send to an absolute URL the registry gave us (upload location); authorization only if same origin. */
  async sendUrl(ep: Endpoint, url: URL, req: AuthedRequest): Promise<SendResult> {
    return this.sendTo({ url, authOrigin: this.baseUrl(ep) }, ep, req);
  }

  private baseUrl(ep: Endpoint): URL {
    return new URL(`${this.transport.schemeOf(ep) ?? 'https'}://${ep.host}/`);
  }

  private async sendTo(
    target: { ep: Endpoint; path: string } | { url: URL; authOrigin: URL },
    ep: Endpoint,
    req: AuthedRequest,
  ): Promise<SendResult> {
    const { scopes, ...rest } = req;
    const first = await this.authorization(ep, scopes, req, false);
    let result = await this.transport.send(target, { ...rest, authorization: first });
    if (result.res.statusCode !== 401) return result;

    // Read the 401 now: its socket must not wait on the token exchange below.
    const denied = result.res;
    const deniedBody = await readTruncated(denied, MAX_ERROR_BODY_BYTES);
    const challenges = parseWwwAuthenticate(denied.headersDistinct['www-authenticate']);
    const challenge =
      challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    const hadCreds = (await this.creds(ep.credHost)) !== undefined;
    const refusal = () =>
      errorFromBody(denied, deniedBody, req.what, { host: ep.credHost, hadCredentials: hadCreds });
    if (!challenge || !hostMatches(result.url, ep)) {
      // No usable challenge, or the 401 came from another host (a redirect target): its challenge
      // must not decide where this registry's credentials go.
      throw refusal();
    }
    this.challenges.set(ep.host, challenge);
    const fresh = await this.authorization(ep, scopes, req, true, challenge);
    if (fresh === undefined || fresh === first) throw refusal();
    result = await this.transport.send(target, { ...rest, authorization: fresh });
    if (result.res.statusCode === 401) {
      throw await errorFromResponse(result.res, req.what, { host: ep.credHost, hadCredentials: hadCreds });
    }
    return result;
  }

  /** The Authorization value for a request, from what we know of the host; undefined for anonymous. */
  private async authorization(
    ep: Endpoint,
    scopes: string[],
    req: AuthedRequest,
    refresh: boolean,
    fromChallenge?: Challenge,
  ): Promise<string | undefined> {
    const challenge = fromChallenge ?? this.challenges.get(ep.host);
    if (!challenge) return undefined;
    const scheme = this.transport.schemeOf(ep);
    const base = new URL(`${scheme ?? 'https'}://${ep.host}/`);
    const creds = this.transport.mayCarryCredentials(base) ? await this.creds(ep.credHost) : undefined;
    if (creds && 'registryToken' in creds) {
      if (!TOKEN_RE.test(creds.registryToken))
        throw new RegistryError(`cannot ${req.what}: invalid registry token`);
      return `Bearer ${creds.registryToken}`;
    }
    if (challenge.scheme === 'basic') {
      if (!creds || !('username' in creds)) return undefined;
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64')}`;
    }
    const token = await this.bearerToken(ep, challenge, scopes, creds, refresh, req);
    return `Bearer ${token}`;
  }

  private async bearerToken(
    ep: Endpoint,
    challenge: Challenge,
    scopes: string[],
    creds: Credentials | undefined,
    refresh: boolean,
    req: AuthedRequest,
  ): Promise<string> {
    const what = req.what;
    const realmRaw = challenge.params.realm;
    if (!realmRaw) throw new RegistryError(`cannot ${what}: bearer challenge from ${ep.host} has no realm`);
    let realm: URL;
    try {
      realm = new URL(realmRaw);
    } catch {
      throw new RegistryError(`cannot ${what}: bearer challenge from ${ep.host} has an invalid realm`);
    }
    if ((realm.protocol !== 'https:' && realm.protocol !== 'http:') || realm.username || realm.password) {
      throw new RegistryError(`cannot ${what}: bearer realm of ${ep.host} is not a plain http(s) URL`);
    }
    const service = challenge.params.service;
    const wanted = [
      ...new Set([...scopes, ...(challenge.params.scope ?? '').split(' ').filter(Boolean)]),
    ].sort();
    const key = JSON.stringify([ep.host, realm.href, service ?? '', [...scopes].sort()]);
    const cached = this.tokens.get(key);
    if (!refresh && cached && cached.expiresAt > Date.now()) return cached.value;

    // Credentials go to the realm the registry named, but never in clear text to a host that must use TLS.
    const sendCreds = creds !== undefined && this.transport.mayCarryCredentials(realm);
    const url = new URL(realm.href);
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: Buffer | undefined;
    let authorization: string | undefined;
    if (sendCreds && 'identityToken' in creds) {
      const form = new URLSearchParams();
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', creds.identityToken);
      form.set('client_id', 'berth');
      if (service) form.set('service', service);
      if (wanted.length) form.set('scope', wanted.join(' '));
      body = Buffer.from(form.toString());
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(body.length);
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of wanted) url.searchParams.append('scope', s);
      if (sendCreds && 'username' in creds) {
        url.searchParams.set('account', creds.username);
        authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64')}`;
      }
    }
    const tokenWhat = `${what} (token from ${realm.host})`;
    const { res } = await this.transport.send(
      { url, authOrigin: new URL(realm.href) },
      {
        method: body ? 'POST' : 'GET',
        what: tokenWhat,
        headers,
        body,
        signal: req.signal,
        authorization,
        followRedirects: false,
      },
    );
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const errBody = await readTruncated(res, MAX_ERROR_BODY_BYTES);
      let detail = parseErrorBody(errBody)?.text ?? `HTTP ${status}`;
      detail = scrub(detail, creds);
      if (status === 401 || status === 403) {
        throw new UnauthorizedError(`cannot ${tokenWhat}: ${detail}`, {
          hint: sendCreds
            ? `check the credentials stored for ${ep.credHost}`
            : `run "berth login ${ep.credHost}"`,
        });
      }
      throw errorForStatus(status, `cannot ${tokenWhat}: ${detail}`, []);
    }
    const raw = await readBody(res, MAX_TOKEN_RESPONSE_BYTES, 'token response');
    let doc: unknown;
    try {
      doc = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new RegistryError(`cannot ${tokenWhat}: response is not JSON`);
    }
    if (typeof doc !== 'object' || doc === null)
      throw new RegistryError(`cannot ${tokenWhat}: malformed response`);
    const d = doc as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const value = typeof d.token === 'string' && d.token !== '' ? d.token : d.access_token;
    if (typeof value !== 'string' || !TOKEN_RE.test(value)) {
      throw new RegistryError(`cannot ${tokenWhat}: response has no valid token`);
    }
    const lifetime =
      typeof d.expires_in === 'number' && Number.isFinite(d.expires_in) && d.expires_in > MIN_TOKEN_LIFETIME_S
        ? Math.min(d.expires_in, 24 * 3600)
        : MIN_TOKEN_LIFETIME_S;
    this.tokens.set(key, { value, expiresAt: Date.now() + lifetime * 1000 - TOKEN_SAFETY_MARGIN_MS });
    return value;
  }
}

function hostMatches(url: URL, ep: Endpoint): boolean {
  try {
    return url.host === new URL(`${url.protocol}//${ep.host}`).host;
  } catch {
    return false;
  }
}

function scrub(text: string, creds: Credentials | undefined): string {
  let out = text;
  const secret =
    creds &&
    ('password' in creds
      ? creds.password
      : 'identityToken' in creds
        ? creds.identityToken
        : creds.registryToken);
  if (secret && secret.length >= 4) out = out.split(secret).join('***');
  return oneLine(out);
}
