import type { IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, isBerthError, RegistryError } from '../errors/index.js';
import { hostConfig, parseMirror, type RegistriesConfig, registryKey } from './_config.js';
import { wrapFailure } from './_errors.js';
import {
  type Agents,
  BodySourceError,
  createAgents,
  destroyAgents,
  discard,
  header,
  isAbortError,
  isCertificateError,
  isLoopbackHost,
  isTransientNetworkError,
  oneLine,
  redactUrl,
  retryAfterMs,
  sendOnce,
} from './_http.js';
import {
  createProxyAgents,
  destroyProxyAgents,
  type ProxyAgents,
  type ProxyConfig,
  type ProxyEnv,
  type ProxyServer,
  proxyConfigFromEnv,
  proxyFor,
  viaProxy,
} from './_proxy.js';

/** Where requests for one registry (or one of its mirrors) go. */
export interface Endpoint {
  /** `host[:port]` to connect to. */
  host: string;
  /** Whose credentials apply here (canonical registry key). */
  credHost: string;
  /** Fixed by a mirror URL; otherwise chosen per host (https, or http fallback where allowed). */
  scheme: 'http' | 'https' | undefined;
  /** Repository path prefix on a mirror: '' or 'some/prefix/'. */
  prefix: string;
}

export interface RetryInfo {
  url: string;
  attempt: number;
  reason: string;
  delayMs: number;
}

export interface TransportOptions {
  tlsVerify: boolean;
  config: RegistriesConfig;
  userAgent: string;
  maxRetries: number;
  retryBaseMs: number;
  timeoutMs: number;
  onRetry?: (info: RetryInfo) => void;
  /** Where HTTP(S)_PROXY and NO_PROXY are read from; default process.env. */
  env?: ProxyEnv;
  /** Name resolution for direct connections (default dns.lookup). */
  lookup?: LookupFunction;
}

export interface SendRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Operation for messages: `fetch manifest for …`. */
  what: string;
  headers?: Record<string, string>;
  /** A Buffer, or a function that opens the body afresh for each attempt. */
  body?: Buffer | (() => Readable);
  signal?: AbortSignal;
  /** Default: true for GET and HEAD. */
  followRedirects?: boolean;
  /** Retry network failures, 429 and 502-504. Default true. */
  retry?: boolean;
  /** Sent only to the origin it belongs to, and never in clear text to a host that must use TLS. */
  authorization?: string;
  /** Idle timeout of this request (connect, headers, body); default the transport's. */
  timeoutMs?: number;
}

export type SendTarget = { ep: Endpoint; path: string } | { url: URL; authOrigin?: URL };

export interface SendResult {
  res: IncomingMessage;
  /** The URL that finally answered (after redirects). */
  url: URL;
  /** Whether the final request carried the authorization. */
  authorized: boolean;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const MAX_REDIRECTS = 5;
const MAX_BACKOFF_MS = 30_000;
const MAX_RETRY_AFTER_MS = 60_000;

const DOCKER_HUB_API = 'registry-1.docker.io';

function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.host === b.host;
}

/**
 * HTTP to registries: scheme choice per host, keep-alive agents, redirects (authorization stays
 * with its origin), and retries with backoff. Knows nothing of auth challenges or documents.
 */
export class Transport {
  readonly agents: Agents = createAgents();
  private readonly schemes = new Map<string, 'http' | 'https'>();
  private readonly proxyConfig: ProxyConfig;
  private readonly proxyAgents = new Map<string, ProxyAgents>();
  constructor(readonly options: TransportOptions) {
    this.proxyConfig = proxyConfigFromEnv(options.env ?? process.env);
  }

  close(): void {
    destroyAgents(this.agents);
    for (const a of this.proxyAgents.values()) destroyProxyAgents(a);
    this.proxyAgents.clear();
  }

  /** The proxy a request to `url` goes through, with its agents; undefined for a direct connection. */
  private proxyRoute(url: URL): { proxy: ProxyServer; agents: ProxyAgents } | undefined {
    const proxy = proxyFor(this.proxyConfig, url);
    if (!proxy) return undefined;
    const insecureProxyTls = proxy.protocol === 'https:' && this.insecure(proxy.host);
    const key = `${proxy.display}|${proxy.authorization ?? ''}|${insecureProxyTls}`;
    let agents = this.proxyAgents.get(key);
    if (!agents) {
      agents = createProxyAgents(proxy, { insecureProxyTls, lookup: this.options.lookup });
      this.proxyAgents.set(key, agents);
    }
    return { proxy, agents };
  }

  /** tlsVerify false, or `insecure: true` for the host: plain HTTP allowed, certificates not checked. */
  insecure(host: string): boolean {
    return !this.options.tlsVerify || hostConfig(this.options.config, host)?.insecure === true;
  }

  mayUseHttp(host: string): boolean {
    return isLoopbackHost(host) || this.insecure(host);
  }

  /** Credentials may travel to this URL: over TLS, or to a host where plain HTTP is allowed. */
  mayCarryCredentials(url: URL): boolean {
    return url.protocol === 'https:' || this.mayUseHttp(url.host);
  }

  upstream(domain: string): Endpoint {
    const key = registryKey(domain);
    return {
      host: key === 'docker.io' ? DOCKER_HUB_API : domain,
      credHost: key,
      scheme: undefined,
      prefix: '',
    };
  }

  mirrors(domain: string): Endpoint[] {
    const mirrors = hostConfig(this.options.config, domain)?.mirrors ?? [];
    return mirrors.map((m) => {
      const loc = parseMirror(m);
      return {
        host: loc.host,
        credHost: registryKey(loc.host),
        scheme: loc.scheme,
        prefix: loc.prefix ? `${loc.prefix}/` : '',
      };
    });
  }

  /** The scheme an endpoint is known (or bound) to use; undefined while https-then-http is undecided. */
  schemeOf(ep: Endpoint): 'http' | 'https' | undefined {
    return ep.scheme ?? this.schemes.get(ep.host) ?? (this.mayUseHttp(ep.host) ? undefined : 'https');
  }

  /** Send with retries on network failures, 429 and 502-504. */
  async send(target: SendTarget, req: SendRequest): Promise<SendResult> {
    const max = req.retry === false ? 0 : this.options.maxRetries;
    for (let attempt = 0; ; attempt++) {
      let result: SendResult;
      try {
        result = await this.sendResolvingScheme(target, req);
      } catch (err) {
        if (isBerthError(err) || isAbortError(err) || req.signal?.aborted) throw wrapFailure(err, req.what);
        if (attempt >= max || !isTransientNetworkError(err)) throw wrapFailure(err, req.what);
        const url =
          'url' in target
            ? target.url
            : new URL(`${this.schemeOf(target.ep) ?? 'https'}://${target.ep.host}${target.path}`);
        await this.backoff(attempt, {
          url,
          reason: oneLine((err as Error).message, 120),
          signal: req.signal,
          what: req.what,
        });
        continue;
      }
      const status = result.res.statusCode ?? 0;
      if (attempt < max && RETRY_STATUSES.has(status)) {
        const retryAfter = retryAfterMs(result.res);
        discard(result.res);
        await this.backoff(attempt, {
          url: result.url,
          reason: `HTTP ${status}`,
          retryAfter,
          signal: req.signal,
          what: req.what,
        });
        continue;
      }
      return result;
    }
  }

  /** Sleep before retry number `attempt + 1`: exponential with jitter, or what Retry-After asks, capped. */
  async backoff(
    attempt: number,
    o: {
      url: URL;
      reason: string;
      retryAfter?: number | undefined;
      signal?: AbortSignal | undefined;
      what: string;
    },
  ): Promise<void> {
    const exp = Math.min(MAX_BACKOFF_MS, this.options.retryBaseMs * 2 ** attempt);
    let delayMs = Math.round(exp * (0.5 + Math.random() * 0.5));
    if (o.retryAfter !== undefined) delayMs = Math.max(delayMs, Math.min(o.retryAfter, MAX_RETRY_AFTER_MS));
    this.options.onRetry?.({ url: redactUrl(o.url), attempt: attempt + 1, reason: o.reason, delayMs });
    try {
      await sleep(delayMs, undefined, o.signal ? { signal: o.signal } : undefined);
    } catch (err) {
      throw wrapFailure(err, o.what);
    }
  }

  private async sendResolvingScheme(target: SendTarget, req: SendRequest): Promise<SendResult> {
    if ('url' in target) return this.sendFollowing(target.url, target.authOrigin, req);
    const { ep, path } = target;
    const known = this.schemeOf(ep);
    if (known) {
      const url = new URL(`${known}://${ep.host}${path}`);
      return this.sendFollowing(url, url, req);
    }
    const httpsUrl = new URL(`https://${ep.host}${path}`);
    try {
      const result = await this.sendFollowing(httpsUrl, httpsUrl, req);
      this.schemes.set(ep.host, 'https');
      return result;
    } catch (err) {
      if (isBerthError(err) || isAbortError(err) || err instanceof BodySourceError || req.signal?.aborted)
        throw err;
      // No TLS there (or a certificate we won't accept on a host allowed plain HTTP): try HTTP.
      const httpUrl = new URL(`http://${ep.host}${path}`);
      let result: SendResult;
      try {
        result = await this.sendFollowing(httpUrl, httpUrl, req);
      } catch (httpErr) {
        // A server that speaks TLS with a bad certificate: its verdict is the useful one.
        throw isCertificateError(err) ? err : httpErr;
      }
      this.schemes.set(ep.host, 'http');
      return result;
    }
  }

  private async sendFollowing(
    start: URL,
    authOrigin: URL | undefined,
    req: SendRequest,
  ): Promise<SendResult> {
    const follow = req.followRedirects ?? (req.method === 'GET' || req.method === 'HEAD');
    let url = start;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.options.userAgent, ...req.headers };
      const authorized =
        req.authorization !== undefined &&
        authOrigin !== undefined &&
        sameOrigin(url, authOrigin) &&
        this.mayCarryCredentials(url);
      if (authorized) headers.authorization = req.authorization!;
      const route = this.proxyRoute(url);
      const body = typeof req.body === 'function' ? req.body() : req.body;
      let res: IncomingMessage;
      try {
        res = await sendOnce(this.agents, url, {
          method: req.method,
          headers,
          body,
          signal: req.signal,
          insecureTls: this.insecure(url.host),
          timeoutMs: req.timeoutMs ?? this.options.timeoutMs,
          proxy: route,
          lookup: this.options.lookup,
        });
      } catch (err) {
        throw route ? viaProxy(err, route.proxy) : err;
      }
      const status = res.statusCode ?? 0;
      if (!follow || !REDIRECT_STATUSES.has(status)) return { res, url, authorized };
      const location = header(res, 'location');
      discard(res);
      if (!location)
        throw new RegistryError(`cannot ${req.what}: redirect without a Location header`, { status });
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryError(`cannot ${req.what}: more than ${MAX_REDIRECTS} redirects`, { status });
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new RegistryError(`cannot ${req.what}: redirect to an invalid URL`, { status });
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new RegistryError(`cannot ${req.what}: redirect to unsupported scheme ${next.protocol}`, {
          status,
        });
      }
      if (next.protocol === 'http:' && !this.mayUseHttp(next.host)) {
        throw new RegistryError(`cannot ${req.what}: refusing redirect to plain HTTP ${redactUrl(next)}`, {
          status,
        });
      }
      next.username = '';
      next.password = '';
      url = next;
    }
  }
}

/** Validated `User-Agent`: printable ASCII only. */
export function checkUserAgent(ua: string): string {
  if (!/^[\x20-\x7e]{1,200}$/.test(ua)) throw new InvalidArgumentError('invalid user agent string');
  return ua;
}
