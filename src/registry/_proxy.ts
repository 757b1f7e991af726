// Proxies from the environment, with the rules of Go's golang.org/x/net/http/httpproxy (what
// docker and podman use): HTTPS_PROXY for https URLs, HTTP_PROXY for http URLs, NO_PROXY
// exemptions, and localhost / loopback IPs never proxied. https goes through a CONNECT tunnel
// with TLS to the origin on top; http sends the absolute URI to the proxy.

import http, { type ClientRequestArgs } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { domainToASCII } from 'node:url';
import { InvalidArgumentError, NetworkError } from '../errors/index.js';
import { oneLine, PeerTimeoutError } from './_http.js';

/** A proxy to send requests through. Its credentials live only in `authorization`. */
export interface ProxyServer {
  /** `http:` or `https:` (TLS to the proxy itself). */
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
  /** `host:port` as in a URL (IPv6 in brackets). */
  host: string;
  /** `Basic …` from the proxy URL's user:pass, if any. */
  authorization?: string;
  /** The proxy for messages: scheme, host and port; never the credentials. */
  display: string;
}

type ProxySetting = { proxy: ProxyServer } | { invalid: string };

export interface ProxyConfig {
  http?: ProxySetting;
  https?: ProxySetting;
  noProxy: NoProxyRules;
}

interface DomainRule {
  /** Always starts with a dot: `.example.com`. */
  suffix: string;
  /** The rule was `example.com` (not `.example.com`): the name itself matches too. */
  matchHost: boolean;
  port: string;
}

interface NoProxyRules {
  all: boolean;
  cidrs: { bytes: Uint8Array; bits: number }[];
  ips: { ip: string; port: string }[];
  domains: DomainRule[];
}

export type ProxyEnv = Record<string, string | undefined>;

/** First non-empty of the names, upper case first (as Go does). */
function getEnvAny(env: ProxyEnv, ...names: string[]): string {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') return v;
  }
  return '';
}

/** The proxy settings of an environment (process.env by default). */
export function proxyConfigFromEnv(env: ProxyEnv = process.env): ProxyConfig {
  const config: ProxyConfig = {
    noProxy: parseNoProxy(getEnvAny(env, 'NO_PROXY', 'no_proxy')),
  };
  const httpValue = getEnvAny(env, 'HTTP_PROXY', 'http_proxy');
  const httpsValue = getEnvAny(env, 'HTTPS_PROXY', 'https_proxy');
  if (httpValue) config.http = parseProxySetting(httpValue, 'HTTP_PROXY');
  if (httpsValue) config.https = parseProxySetting(httpsValue, 'HTTPS_PROXY');
  return config;
}

function parseProxySetting(value: string, name: string): ProxySetting {
  try {
    return { proxy: parseProxyUrl(value) };
  } catch (err) {
    return { invalid: `${name}: ${(err as Error).message}` };
  }
}

/** `http://user:pass@proxy:3128`, or a bare `proxy:3128` (taken as http, as Go does). */
export function parseProxyUrl(value: string): ProxyServer {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {}
  if (!url || url.host === '' || !/^[a-z][a-z0-9+.-]*:$/i.test(url.protocol) || !value.includes('://')) {
    try {
      url = new URL(`http://${value}`);
    } catch {
      throw new InvalidArgumentError('the proxy is not a valid URL');
    }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(
      `proxy scheme ${oneLine(url.protocol, 20)} is not supported (use http:// or https://)`,
    );
  }
  if (url.hostname === '') throw new InvalidArgumentError('the proxy URL has no host');
  const protocol = url.protocol;
  const port = url.port ? Number(url.port) : protocol === 'https:' ? 443 : 80;
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const host = `${url.hostname}:${port}`;
  const proxy: ProxyServer = { protocol, hostname, port, host, display: `${protocol}//${host}` };
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    proxy.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  return proxy;
}

function parseIp(text: string): Uint8Array | undefined {
  const kind = isIP(text);
  if (kind === 4) return Uint8Array.from(text.split('.').map(Number));
  if (kind !== 6) return undefined;
  // expand `::`, and a trailing dotted quad, into 16 bytes
  let s = text.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    s = `${s.slice(0, -v4[1]!.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

/** 16-byte form of an address, so an IPv4 rule also matches its IPv4-mapped IPv6 form. */
function to16(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 16) return bytes;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(bytes, 12);
  return out;
}

function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  const x = to16(a);
  const y = to16(b);
  return x.every((v, i) => v === y[i]);
}

function inCidr(ip: Uint8Array, cidr: { bytes: Uint8Array; bits: number }): boolean {
  // compare in the network's own family (an IPv4 network matches IPv4 and IPv4-mapped addresses)
  let addr = ip;
  if (cidr.bytes.length === 4) {
    const mapped = to16(ip);
    if (!mapped.slice(0, 12).every((v, i) => v === (i >= 10 ? 0xff : 0))) return false;
    addr = mapped.slice(12);
  } else addr = to16(ip);
  for (let bit = 0; bit < cidr.bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((addr[byte]! & mask) !== (cidr.bytes[byte]! & mask)) return false;
  }
  return true;
}

function parseCidr(text: string): { bytes: Uint8Array; bits: number } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const bytes = parseIp(m[1]!);
  const bits = Number(m[2]);
  if (!bytes || bits > bytes.length * 8) return undefined;
  return { bytes, bits };
}

/** Go's NO_PROXY grammar; entries it cannot read are ignored, as Go does. */
export function parseNoProxy(value: string): NoProxyRules {
  const rules: NoProxyRules = { all: false, cidrs: [], ips: [], domains: [] };
  for (const raw of value.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return { all: true, cidrs: [], ips: [], domains: [] };
    const cidr = parseCidr(entry);
    if (cidr) {
      rules.cidrs.push(cidr);
      continue;
    }
    let host = entry;
    let port = '';
    const hp = /^(\[[^\]]*\]|[^:[\]]*):(\d*)$/.exec(entry);
    if (hp) {
      if (hp[1] === '') continue; // `:80` alone names no host
      host = hp[1]!.replace(/^\[|\]$/g, '');
      port = hp[2]!;
    } else if (entry.startsWith('[') && entry.endsWith(']')) {
      host = entry.slice(1, -1);
    }
    if (isIP(host)) {
      rules.ips.push({ ip: host, port });
      continue;
    }
    if (host === '') continue;
    if (host.startsWith('*.')) host = host.slice(1);
    const matchHost = !host.startsWith('.');
    if (matchHost) host = `.${host}`;
    const ascii = domainToASCII(host.slice(1));
    if (ascii !== '') host = `.${ascii}`;
    rules.domains.push({ suffix: host, matchHost, port });
  }
  return rules;
}

/** Whether a request to `hostname:port` goes through a proxy at all (Go's useProxy). */
export function useProxy(rules: NoProxyRules, hostname: string, port: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost') return false;
  const ip = parseIp(host);
  if (ip) {
    const v4 = to16(ip);
    const isV4Loopback = v4.slice(0, 12).every((v, i) => v === (i >= 10 ? 0xff : 0)) && v4[12] === 127;
    const isV6Loopback = ip.length === 16 && ip.every((v, i) => v === (i === 15 ? 1 : 0));
    if (isV4Loopback || isV6Loopback) return false;
  }
  if (rules.all) return false;
  if (ip) {
    if (rules.cidrs.some((c) => inCidr(ip, c))) return false;
    for (const rule of rules.ips) {
      if (sameIp(ip, parseIp(rule.ip)!) && (rule.port === '' || rule.port === port)) return false;
    }
  }
  for (const rule of rules.domains) {
    if (host.endsWith(rule.suffix) || (rule.matchHost && host === rule.suffix.slice(1))) {
      if (rule.port === '' || rule.port === port) return false;
    }
  }
  return true;
}

/** The proxy for `url`, or undefined to connect directly. A malformed variable that applies throws. */
export function proxyFor(config: ProxyConfig, url: URL): ProxyServer | undefined {
  const setting =
    url.protocol === 'https:' ? config.https : url.protocol === 'http:' ? config.http : undefined;
  if (!setting) return undefined;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (!useProxy(config.noProxy, url.hostname, port)) return undefined;
  if ('invalid' in setting) throw new InvalidArgumentError(`invalid proxy setting ${setting.invalid}`);
  return setting.proxy;
}

/** Append the proxy to a connection error, keeping its code (retries look at it). */
export function viaProxy(err: unknown, proxy: ProxyServer): unknown {
  if (err instanceof Error && !err.message.includes(proxy.display) && err.name !== 'AbortError') {
    err.message = `${err.message} (through proxy ${proxy.display})`;
  }
  return err;
}

export interface TunnelOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Don't check the certificate of an https:// proxy. */
  insecureProxyTls: boolean;
  lookup?: LookupFunction | undefined;
}

/** A raw TCP stream to `hostname:port` through the proxy's CONNECT method. */
export function openTunnel(
  proxy: ProxyServer,
  hostname: string,
  port: number,
  o: TunnelOptions,
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const authority = `${isIP(hostname) === 6 ? `[${hostname}]` : hostname}:${port}`;
    const headers: Record<string, string> = { host: authority };
    if (proxy.authorization) headers['proxy-authorization'] = proxy.authorization;
    const args: https.RequestOptions = {
      host: proxy.hostname,
      port: proxy.port,
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.lookup ? { lookup: o.lookup } : {}),
    };
    if (proxy.protocol === 'https:') {
      args.rejectUnauthorized = !o.insecureProxyTls;
      if (!isIP(proxy.hostname)) args.servername = proxy.hostname;
    }
    const req = (proxy.protocol === 'https:' ? https : http).request(args);
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(viaProxy(err, proxy));
    };
    let raw: Socket | undefined;
    const onTimeout = (): void =>
      fail(new PeerTimeoutError(`no answer to CONNECT ${authority} within ${o.timeoutMs} ms`));
    req.on('socket', (s) => {
      raw = s;
      s.setTimeout(o.timeoutMs);
      s.once('timeout', onTimeout);
    });
    req.on('error', fail);
    req.on('connect', (res: http.IncomingMessage, socket: Socket, head: Buffer) => {
      raw?.off('timeout', onTimeout);
      socket.off('timeout', onTimeout);
      socket.setTimeout(0);
      if (settled) {
        socket.destroy();
        return;
      }
      settled = true;
      if (res.statusCode !== 200) {
        socket.destroy();
        const status = res.statusCode ?? 0;
        const text = res.statusMessage ? ` ${oneLine(res.statusMessage, 60)}` : '';
        reject(
          new NetworkError(
            `proxy ${proxy.display} refused to tunnel to ${authority}: HTTP ${status}${text}`,
            status === 407
              ? { hint: 'check the user and password in the proxy URL (HTTPS_PROXY / HTTP_PROXY)' }
              : {},
          ),
        );
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.end();
  });
}

/** What a tunnelled request carries down to the agent (request options reach createConnection). */
export interface TunnelRequestOptions {
  berthTunnel: { timeoutMs: number; signal?: AbortSignal | undefined };
}

/**
 * An https agent whose connections are CONNECT tunnels through one proxy, with TLS to the
 * origin on top (certificate checked against the origin's name unless `insecure`). Keep-alive
 * pools are per origin, as with a direct agent.
 */
export class TunnelAgent extends https.Agent {
  constructor(
    readonly proxy: ProxyServer,
    private readonly tunnel: { insecureOrigin: boolean; insecureProxyTls: boolean; lookup?: LookupFunction },
    options: https.AgentOptions,
  ) {
    super({ ...options, rejectUnauthorized: !tunnel.insecureOrigin });
  }

  override createConnection(
    options: ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const extra = (options as Partial<TunnelRequestOptions>).berthTunnel;
    const hostname = (options.hostname ?? options.host ?? '').replace(/^\[|\]$/g, '');
    const port = Number(options.port ?? 443);
    openTunnel(this.proxy, hostname, port, {
      timeoutMs: extra?.timeoutMs ?? 60_000,
      signal: extra?.signal,
      insecureProxyTls: this.tunnel.insecureProxyTls,
      lookup: this.tunnel.lookup,
    }).then(
      (socket) => {
        const secure = tls.connect({
          socket,
          host: hostname,
          ...(isIP(hostname) ? {} : { servername: hostname }),
          rejectUnauthorized: !this.tunnel.insecureOrigin,
        });
        callback?.(null, secure);
      },
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/** The agents for one proxy: forwarding (plain http) and tunnels (https, strict or insecure). */
export interface ProxyAgents {
  forward: http.Agent;
  tunnel: TunnelAgent;
  tunnelInsecure: TunnelAgent;
}

export function createProxyAgents(
  proxy: ProxyServer,
  o: { insecureProxyTls: boolean; lookup?: LookupFunction | undefined },
): ProxyAgents {
  const common = { keepAlive: true, maxSockets: 32, scheduling: 'lifo' as const };
  const lookup = o.lookup ? { lookup: o.lookup } : {};
  const forward =
    proxy.protocol === 'https:'
      ? new https.Agent({ ...common, rejectUnauthorized: !o.insecureProxyTls })
      : new http.Agent(common);
  return {
    forward,
    tunnel: new TunnelAgent(
      proxy,
      { insecureOrigin: false, insecureProxyTls: o.insecureProxyTls, ...lookup },
      common,
    ),
    tunnelInsecure: new TunnelAgent(
      proxy,
      { insecureOrigin: true, insecureProxyTls: o.insecureProxyTls, ...lookup },
      common,
    ),
  };
}

export function destroyProxyAgents(agents: ProxyAgents): void {
  agents.forward.destroy();
  agents.tunnel.destroy();
  agents.tunnelInsecure.destroy();
}
