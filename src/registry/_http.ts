import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { SizeLimitError } from '../errors/index.js';
import type { ProxyAgents, ProxyServer, TunnelRequestOptions } from './_proxy.js';

/** Error bodies are only read this far; the rest is dropped. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Token server answers larger than this are refused. */
export const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

export interface Agents {
  http: http.Agent;
  https: https.Agent;
  httpsInsecure: https.Agent;
}

export function createAgents(): Agents {
  const common = { keepAlive: true, maxSockets: 32, scheduling: 'lifo' as const };
  return {
    http: new http.Agent(common),
    https: new https.Agent(common),
    httpsInsecure: new https.Agent({ ...common, rejectUnauthorized: false }),
  };
}

export function destroyAgents(agents: Agents): void {
  agents.http.destroy();
  agents.https.destroy();
  agents.httpsInsecure.destroy();
}

/** A request timed out waiting for the peer (no bytes for `timeoutMs`). */
export class PeerTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/** The request body source failed (not the network): never retried, never a fallback reason. */
export class BodySourceError extends Error {}

export interface SendOnceOptions {
  method: string;
  headers: Record<string, string>;
  body?: Buffer | Readable;
  signal?: AbortSignal;
  insecureTls: boolean;
  timeoutMs: number;
  /** Send through this proxy (absolute URI for http, CONNECT tunnel for https). */
  proxy?: { proxy: ProxyServer; agents: ProxyAgents } | undefined;
  /** Name resolution for direct connections (default dns.lookup). */
  lookup?: LookupFunction | undefined;
}

/** The request for one exchange: direct, forwarded to a proxy, or tunnelled through one. */
function openRequest(url: URL, options: SendOnceOptions, agents: Agents): http.ClientRequest {
  const isHttps = url.protocol === 'https:';
  const common = {
    method: options.method,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const via = options.proxy;
  if (!via) {
    const agent = isHttps ? (options.insecureTls ? agents.httpsInsecure : agents.https) : agents.http;
    return (isHttps ? https : http).request(url, {
      ...common,
      headers: options.headers,
      agent,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
  }
  const { proxy } = via;
  if (isHttps) {
    const tunnel: TunnelRequestOptions = {
      berthTunnel: { timeoutMs: options.timeoutMs, signal: options.signal },
    };
    return https.request(url, {
      ...common,
      headers: options.headers,
      agent: options.insecureTls ? via.agents.tunnelInsecure : via.agents.tunnel,
      ...tunnel,
    });
  }
  // plain http: the proxy gets the absolute URI (never the userinfo) and the origin's Host
  const headers: Record<string, string> = { ...options.headers, host: url.host };
  if (proxy.authorization) headers['proxy-authorization'] = proxy.authorization;
  return (proxy.protocol === 'https:' ? https : http).request({
    ...common,
    host: proxy.hostname,
    port: proxy.port,
    path: `${url.protocol}//${url.host}${url.pathname}${url.search}`,
    headers,
    agent: via.agents.forward,
    ...(options.lookup ? { lookup: options.lookup } : {}),
  });
}

/** One HTTP exchange up to the response headers. The caller owns the response body. */
export function sendOnce(agents: Agents, url: URL, options: SendOnceOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = openRequest(url, options, agents);
    let settled = false;
    request.setTimeout(options.timeoutMs, () => {
      request.destroy(new PeerTimeoutError(`no answer within ${options.timeoutMs} ms`));
    });
    request.on('response', (res) => {
      settled = true;
      resolve(res);
    });
    request.on('error', (err) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    const body = options.body;
    if (body === undefined) request.end();
    else if (Buffer.isBuffer(body)) request.end(body);
    else {
      body.on('error', (err) => request.destroy(new BodySourceError(err.message, { cause: err })));
      body.pipe(request);
    }
  });
}

/** Read a response body into memory, refusing more than `limit` bytes (by header and while reading). */
export async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const declared = contentLength(res);
  if (declared !== undefined && declared > limit) {
    res.destroy();
    throw new SizeLimitError(`${what} is ${declared} bytes, over the ${limit}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res) {
      const b = chunk as Buffer;
      total += b.length;
      if (total > limit) {
        throw new SizeLimitError(`${what} exceeds the ${limit}-byte limit`);
      }
      chunks.push(b);
    }
  } catch (err) {
    res.destroy();
    throw err;
  }
  return Buffer.concat(chunks);
}

/** Read at most `limit` bytes of a body and drop the rest (for error messages). */
export async function readTruncated(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res) {
      const b = chunk as Buffer;
      chunks.push(b.subarray(0, Math.max(0, limit - total)));
      total += b.length;
      if (total >= limit) break;
    }
  } catch {
    // a broken error body is no worse than an empty one
  } finally {
    res.destroy();
  }
  return Buffer.concat(chunks);
}

/**
 * Throw away a body we don't need. A small (or already complete) body is drained so the
 * keep-alive socket goes back to the pool; it is only released once 'end' has been consumed.
 */
export function discard(res: IncomingMessage): void {
  if (res.destroyed) return;
  const declared = contentLength(res);
  if (res.complete || (declared !== undefined && declared <= 64 * 1024)) {
    res.on('error', () => {});
    res.resume();
  } else {
    res.destroy();
  }
}

export function contentLength(res: IncomingMessage): number | undefined {
  const raw = res.headers['content-length'];
  if (raw === undefined || !/^\d{1,16}$/.test(raw)) return undefined;
  return Number(raw);
}

export function header(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Split `host[:port]` (brackets for IPv6) into hostname and port. */
export function splitHostPort(host: string): { hostname: string; port: string | undefined } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (m) return { hostname: m[1]!, port: m[2] };
  const colon = host.lastIndexOf(':');
  if (colon > 0 && host.indexOf(':') === colon)
    return { hostname: host.slice(0, colon), port: host.slice(colon + 1) };
  return { hostname: host, port: undefined };
}

/** localhost, 127.0.0.0/8 and ::1: the only hosts plain HTTP is used for without being asked. */
export function isLoopbackHost(host: string): boolean {
  let { hostname } = splitHostPort(host);
  hostname = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  if (isIP(hostname) === 4) return hostname.startsWith('127.');
  if (isIP(hostname) === 6) return hostname === '::1' || hostname === '0:0:0:0:0:0:0:1';
  return false;
}

/** A URL safe to put in a message: no userinfo, no query (presigned URLs carry secrets there). */
export function redactUrl(url: URL | string): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return '<invalid URL>';
  }
  const query = u.search ? '?…' : '';
  return `${u.protocol}//${u.host}${u.pathname}${query}`;
}

/** One printable line of at most `max` characters from untrusted text. */
export function oneLine(text: string, max = 300): string {
  const flat = text
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Parse Retry-After (seconds or HTTP date) into milliseconds. */
export function retryAfterMs(res: IncomingMessage): number | undefined {
  const raw = header(res, 'retry-after');
  if (!raw) return undefined;
  if (/^\d{1,9}$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
]);

/** Worth retrying: the connection broke or timed out, as opposed to a TLS or DNS verdict. */
export function isTransientNetworkError(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof BodySourceError) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  return /socket hang up|aborted/i.test(err.message) && err.name !== 'AbortError';
}

/** The TLS handshake failed on the peer's certificate (as opposed to no TLS at all). */
export function isCertificateError(err: unknown): boolean {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return (
    typeof code === 'string' &&
    (/^(CERT_|ERR_TLS_CERT)/.test(code) ||
      [
        'DEPTH_ZERO_SELF_SIGNED_CERT',
        'SELF_SIGNED_CERT_IN_CHAIN',
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        'UNABLE_TO_GET_ISSUER_CERT',
        'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
        'HOSTNAME_MISMATCH',
      ].includes(code))
  );
}

export function isAbortError(err: unknown): boolean {
  return (
    err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR')
  );
}
