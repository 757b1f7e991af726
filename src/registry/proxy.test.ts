// HTTP(S)_PROXY and NO_PROXY: Go's httpproxy rules, a CONNECT + absolute-URI proxy written
// here (on 127.0.0.1) that counts what passes through it, and registries reached by a name
// that is not loopback (the proxy resolves it; direct connections use an injected lookup).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http, { type ServerResponse } from 'node:http';
import https from 'node:https';
import { connect, type LookupFunction, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  type FakeServer,
  type SeenRequest,
  sendError,
  startFakeServer,
} from '../../test/helpers/fake-http.js';
import { selfSignedCert } from '../../test/helpers/tls.js';
import { InvalidArgumentError, NetworkError, SizeLimitError } from '../errors/index.js';
import { MediaType, parseReference, sha256Digest } from '../oci/index.js';
import { parseNoProxy, parseProxyUrl, proxyConfigFromEnv, proxyFor, useProxy } from './_proxy.js';
import { RegistryClient, type RegistryClientOptions } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'berth-proxy-unit-'));
const closers: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(closers.map((c) => c()));
  rmSync(work, { recursive: true, force: true });
});

/** A name that is not loopback-looking, so Go's rules let it go through the proxy. */
const NAME = 'registry.test';

/** Resolves NAME to 127.0.0.1 for direct connections (the NO_PROXY case); the rest as usual. */
const lookup: LookupFunction = (hostname, options, callback) => {
  if (hostname !== NAME) return dnsLookup(hostname, options, callback);
  if (options.all) return process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }]);
  process.nextTick(callback, null, '127.0.0.1', 4);
};

interface TestProxy {
  url: string;
  port: number;
  /** `CONNECT host:port` lines received. */
  connects: string[];
  /** Absolute URIs received. */
  forwarded: string[];
  /** Proxy-Authorization values seen. */
  auth: (string | undefined)[];
}

/**
 * A forward proxy on 127.0.0.1: CONNECT opens a tunnel, an absolute URI is forwarded; every
 * destination host is dialled at 127.0.0.1 (the proxy does the name resolution, as real ones do).
 */
async function startProxy(
  mode: 'ok' | 'refuse' | 'silent' = 'ok',
  creds?: { user: string; pass: string },
  tls?: { key: Buffer; cert: Buffer },
): Promise<TestProxy> {
  const connects: string[] = [];
  const forwarded: string[] = [];
  const auth: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  const onRequest = (req: http.IncomingMessage, res: ServerResponse): void => {
    auth.push(req.headers['proxy-authorization']);
    forwarded.push(req.url ?? '');
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      return void res.writeHead(400).end();
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: target.port || 80,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
  server.on(tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    connects.push(req.url ?? '');
    auth.push(req.headers['proxy-authorization']);
    client.on('error', () => {});
    if (mode === 'silent') return;
    if (mode === 'refuse') {
      return void client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    }
    const port = Number((req.url ?? '').split(':').pop());
    const upstream = connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const userinfo = creds ? `${creds.user}:${creds.pass}@` : '';
  return {
    url: `${tls ? 'https' : 'http'}://${userinfo}127.0.0.1:${addr.port}`,
    port: addr.port,
    connects,
    forwarded,
    auth,
  };
}

async function serve(
  handler: (req: SeenRequest, res: ServerResponse) => void,
  options: Parameters<typeof startFakeServer>[1] = {},
): Promise<FakeServer> {
  const s = await startFakeServer(handler, options);
  closers.push(() => s.close());
  return s;
}

function portOf(s: FakeServer): string {
  return s.host.split(':')[1]!;
}

let fileCounter = 0;
function client(options: RegistryClientOptions): RegistryClient {
  const c = new RegistryClient({
    authFile: join(work, `auth-${++fileCounter}.json`),
    retryBaseMs: 1,
    lookup,
    ...options,
  });
  closers.push(async () => c.close());
  return c;
}

const CONFIG = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256Digest(CONFIG), size: CONFIG.length },
    layers: [],
  }),
);
const MANIFEST_DIGEST = sha256Digest(MANIFEST);
const configDesc = { mediaType: MediaType.ociConfig, digest: sha256Digest(CONFIG), size: CONFIG.length };

function registry(req: SeenRequest, res: ServerResponse): void {
  if (req.path === '/v2/') return void res.writeHead(200).end('{}');
  if (req.path === '/v2/x/manifests/latest') {
    res.writeHead(200, {
      'content-type': MediaType.ociManifest,
      'content-length': String(MANIFEST.length),
      'docker-content-digest': MANIFEST_DIGEST,
    });
    return void res.end(MANIFEST);
  }
  if (req.path === `/v2/x/blobs/${configDesc.digest}`) return void res.writeHead(200).end(CONFIG);
  sendError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
}

let certs: { key: Buffer; cert: Buffer } | undefined;
function selfSigned(): { key: Buffer; cert: Buffer } {
  certs ??= selfSignedCert(work, { cn: NAME, subjectAltName: `DNS:${NAME}` });
  return certs;
}

describe('proxy rules (Go httpproxy semantics)', () => {
  const rules = parseNoProxy(
    'example.com, .sub.org,*.wild.net, 10.0.0.0/8, 192.168.1.7, [2001:db8::1]:8443, port.io:8080, ,:80, fd00::/8',
  );
  const cases: [string, string, boolean][] = [
    // always direct, whatever NO_PROXY says
    ['localhost', '5000', false],
    ['127.0.0.1', '80', false],
    ['127.9.9.9', '80', false],
    ['::1', '443', false],
    ['foo.localhost', '80', true], // only the exact name localhost is special
    // `example.com`: the name and its subdomains, any port
    ['example.com', '443', false],
    ['a.b.example.com', '80', false],
    ['notexample.com', '443', true],
    // `.sub.org`: subdomains only
    ['sub.org', '443', true],
    ['x.sub.org', '443', false],
    // `*.wild.net` is `.wild.net`
    ['a.wild.net', '443', false],
    ['wild.net', '443', true],
    // CIDR and single IPs
    ['10.1.2.3', '443', false],
    ['11.1.2.3', '443', true],
    ['192.168.1.7', '80', false],
    ['192.168.1.8', '80', true],
    ['fd12::5', '443', false],
    // host:port entries match that port only
    ['2001:db8::1', '8443', false],
    ['2001:db8::1', '443', true],
    ['port.io', '8080', false],
    ['port.io', '443', true],
    ['Example.COM', '443', false],
  ];
  for (const [host, port, proxied] of cases) {
    test(`${host}:${port} ${proxied ? 'goes through the proxy' : 'is direct'}`, () => {
      assert.equal(useProxy(rules, host, port), proxied);
    });
  }

  test('`*` exempts everything; upper case wins over lower case; https does not fall back to HTTP_PROXY', () => {
    assert.equal(useProxy(parseNoProxy('*'), 'anything.example', '443'), false);
    const config = proxyConfigFromEnv({
      HTTP_PROXY: 'http://upper:3128',
      http_proxy: 'http://lower:3128',
      no_proxy: 'skip.example',
    });
    assert.equal(proxyFor(config, new URL('http://reg.example/v2/'))?.host, 'upper:3128');
    assert.equal(proxyFor(config, new URL('https://reg.example/v2/')), undefined);
    assert.equal(proxyFor(config, new URL('http://a.skip.example/')), undefined);
    // NO_PROXY matches the URL's default port too
    const byPort = proxyConfigFromEnv({ HTTPS_PROXY: 'proxy:3128', NO_PROXY: 'reg.example:443' });
    assert.equal(proxyFor(byPort, new URL('https://reg.example/v2/')), undefined);
    assert.equal(proxyFor(byPort, new URL('https://reg.example:5000/v2/'))?.display, 'http://proxy:3128');
  });

  test('proxy URLs: bare host:port is http, credentials become Basic and never the display', () => {
    const p = parseProxyUrl('http://us%40er:p%3Ass@proxy.lan:8080');
    assert.equal(p.display, 'http://proxy.lan:8080');
    assert.equal(p.authorization, `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
    assert.equal(parseProxyUrl('proxy.lan:3128').display, 'http://proxy.lan:3128');
    assert.equal(parseProxyUrl('https://proxy.lan').port, 443);
    assert.throws(() => parseProxyUrl('socks5://proxy.lan:1080'), InvalidArgumentError);
    // a bad variable only matters when it applies, and its message carries no credentials
    const config = proxyConfigFromEnv({ HTTPS_PROXY: 'socks5://user:secret@proxy.lan:1080' });
    assert.equal(proxyFor(config, new URL('https://127.0.0.1:5000/')), undefined);
    assert.throws(
      () => proxyFor(config, new URL('https://reg.example/')),
      (err: Error) => err instanceof InvalidArgumentError && !/secret|user/.test(err.message),
    );
  });
});

describe('requests through a proxy', () => {
  test('http: manifest and blob go to the proxy as absolute URIs, with Proxy-Authorization', async () => {
    const reg = await serve(registry);
    const proxy = await startProxy('ok', { user: 'pu', pass: 'pp' });
    const host = `${NAME}:${portOf(reg)}`;
    const c = client({
      env: { HTTP_PROXY: proxy.url },
      config: { registries: { [host]: { insecure: true } } },
    });
    const ref = parseReference(`${host}/x:latest`);
    assert.equal((await c.getManifest(ref)).digest, MANIFEST_DIGEST);
    assert.deepEqual(await c.fetchBlobBytes(ref, configDesc), CONFIG);
    assert.ok(proxy.forwarded.includes(`http://${host}/v2/x/manifests/latest`), String(proxy.forwarded));
    assert.ok(proxy.forwarded.includes(`http://${host}/v2/x/blobs/${configDesc.digest}`));
    assert.ok(proxy.auth.length > 0);
    for (const a of proxy.auth) assert.equal(a, `Basic ${Buffer.from('pu:pp').toString('base64')}`);
    // the registry saw its own name as Host, and no proxy credentials
    const seen = reg.requests.find((r) => r.path === '/v2/x/manifests/latest');
    assert.equal(seen?.headers.host, host);
    assert.equal(seen?.headers['proxy-authorization'], undefined);
  });

  test('https: a CONNECT tunnel, with TLS to the origin checked against the origin', async () => {
    const reg = await serve(registry, { tls: selfSigned() });
    const proxy = await startProxy('ok', { user: 'pu', pass: 'pp' });
    const host = `${NAME}:${portOf(reg)}`;
    const ref = parseReference(`${host}/x:latest`);
    // the origin's self-signed certificate is refused through the tunnel as it is directly
    const strict = client({ env: { HTTPS_PROXY: proxy.url } });
    const err = await strict.getManifest(ref).catch((e: unknown) => e);
    assert.ok(err instanceof NetworkError, String(err));
    assert.match(err.message, /TLS certificate not accepted/);
    assert.equal(reg.requests.length, 0);
    // marked insecure, it is reached through the tunnel
    const before = proxy.connects.length;
    const c = client({
      env: { HTTPS_PROXY: proxy.url },
      config: { registries: { [host]: { insecure: true } } },
    });
    assert.equal((await c.getManifest(ref)).digest, MANIFEST_DIGEST);
    assert.deepEqual(await c.fetchBlobBytes(ref, configDesc), CONFIG);
    assert.ok(proxy.connects.length > before);
    assert.ok(
      proxy.connects.every((line) => line === host),
      String(proxy.connects),
    );
    assert.equal(proxy.forwarded.length, 0, 'https never goes to the proxy in clear');
    assert.ok(proxy.auth.every((a) => a === `Basic ${Buffer.from('pu:pp').toString('base64')}`));
    assert.ok(reg.requests.some((r) => r.path === '/v2/x/manifests/latest'));
  });

  test('an https:// proxy: TLS to the proxy, and TLS to the origin inside it', async () => {
    const plain = await serve(registry);
    const secure = await serve(registry, { tls: selfSigned() });
    const proxy = await startProxy('ok', undefined, selfSigned());
    const proxyHost = `127.0.0.1:${proxy.port}`;
    const plainHost = `${NAME}:${portOf(plain)}`;
    const secureHost = `${NAME}:${portOf(secure)}`;
    const env = { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url };
    // the proxy's certificate is checked like any other: refused unless its host is insecure
    const strict = client({ env, config: { registries: { [secureHost]: { insecure: true } } } });
    const err = await strict.getManifest(parseReference(`${secureHost}/x:latest`)).catch((e: unknown) => e);
    assert.ok(err instanceof NetworkError, String(err));
    assert.match(err.message, /TLS certificate not accepted.*through proxy https:\/\/127\.0\.0\.1/);
    const c = client({
      env,
      config: {
        registries: {
          [proxyHost]: { insecure: true },
          [secureHost]: { insecure: true },
          [plainHost]: { insecure: true },
        },
      },
    });
    assert.equal((await c.getManifest(parseReference(`${secureHost}/x:latest`))).digest, MANIFEST_DIGEST);
    assert.ok(proxy.connects.includes(secureHost));
    const viaPlain = await c.downloadToFile(`http://${plainHost}/v2/`, join(work, 'via-https-proxy'), {
      maxBytes: 100,
    });
    assert.equal(viaPlain.size, 2);
    assert.deepEqual(proxy.forwarded, [`http://${plainHost}/v2/`]);
  });

  test('NO_PROXY and loopback addresses bypass the proxy', async () => {
    const reg = await serve(registry);
    const proxy = await startProxy();
    const host = `${NAME}:${portOf(reg)}`;
    const config = { registries: { [host]: { insecure: true } } };
    const exempt = client({
      env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: `.other,${NAME}` },
      config,
    });
    assert.equal((await exempt.getManifest(parseReference(`${host}/x:latest`))).digest, MANIFEST_DIGEST);
    const loopback = client({ env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url } });
    assert.equal(
      (await loopback.getManifest(parseReference(`${reg.host}/x:latest`))).digest,
      MANIFEST_DIGEST,
    );
    assert.deepEqual(proxy.connects, []);
    assert.deepEqual(proxy.forwarded, []);
    assert.ok(reg.requests.length >= 2);
  });

  test('a proxy refusing CONNECT: a clear error naming the proxy, credentials redacted', async () => {
    const reg = await serve(registry, { tls: selfSigned() });
    const proxy = await startProxy('refuse', { user: 'alice', pass: 's3cr3t' });
    const host = `${NAME}:${portOf(reg)}`;
    const c = client({
      env: { HTTPS_PROXY: proxy.url },
      config: { registries: { [host]: { insecure: true } } },
    });
    const err = await c.getManifest(parseReference(`${host}/x:latest`)).catch((e: unknown) => e);
    assert.ok(err instanceof NetworkError, String(err));
    assert.match(
      err.message,
      new RegExp(
        `proxy http://127\\.0\\.0\\.1:${proxy.port} refused to tunnel to registry\\.test:\\d+: HTTP 403`,
      ),
    );
    assert.doesNotMatch(`${err.message} ${err.hint ?? ''}`, /alice|s3cr3t/);
    assert.equal(proxy.connects.length, 1, 'a refusal is not retried');
    assert.equal(reg.requests.length, 0);
  });

  test('a proxy that never answers CONNECT hits the timeout', async () => {
    const proxy = await startProxy('silent');
    const c = client({ env: { HTTPS_PROXY: proxy.url }, timeoutMs: 150, maxRetries: 0 });
    const err = await c.getManifest(parseReference(`${NAME}:5000/x:latest`)).catch((e: unknown) => e);
    assert.ok(err instanceof NetworkError, String(err));
    assert.match(err.message, /no answer to CONNECT registry\.test:5000 within 150 ms/);
    assert.match(err.message, /through proxy http:\/\/127\.0\.0\.1:\d+/);
  });
});

describe('downloadToFile (ADD <url>) through a proxy', () => {
  const body = Buffer.alloc(5000, 'z');
  function fileServer(req: SeenRequest, res: ServerResponse): void {
    if (req.path !== '/file.bin') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(body.length) });
    res.end(body);
  }

  test('http and https downloads go through the proxy, and the byte cap still holds', async () => {
    const plain = await serve(fileServer);
    const secure = await serve(fileServer, { tls: selfSigned() });
    const proxy = await startProxy();
    const secureHost = `${NAME}:${portOf(secure)}`;
    const c = client({
      env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url },
      config: { registries: { [secureHost]: { insecure: true } } },
    });
    const sha = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const a = await c.downloadToFile(`http://${NAME}:${portOf(plain)}/file.bin`, join(work, 'a.bin'), {
      maxBytes: 10_000,
    });
    assert.equal(a.digest, sha);
    assert.deepEqual(proxy.forwarded, [`http://${NAME}:${portOf(plain)}/file.bin`]);
    const b = await c.downloadToFile(`https://${secureHost}/file.bin`, join(work, 'b.bin'), {
      maxBytes: 10_000,
    });
    assert.equal(b.digest, sha);
    assert.deepEqual(proxy.connects, [secureHost]);
    await assert.rejects(
      c.downloadToFile(`https://${secureHost}/file.bin`, join(work, 'c.bin'), { maxBytes: 100 }),
      SizeLimitError,
    );
    assert.ok(!readdirSync(work).includes('c.bin'));
  });

  test('a server stalling mid-body through a tunnel hits the idle timeout', async () => {
    const stalling = await serve(
      (_req, res) => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('0123456789'); // and then nothing
      },
      { tls: selfSigned() },
    );
    const proxy = await startProxy();
    const host = `${NAME}:${portOf(stalling)}`;
    const c = client({
      env: { HTTPS_PROXY: proxy.url },
      config: { registries: { [host]: { insecure: true } } },
    });
    await assert.rejects(
      c.downloadToFile(`https://${host}/file.bin`, join(work, 'stalled.bin'), {
        maxBytes: 1000,
        idleTimeoutMs: 150,
      }),
      (err: Error) => {
        assert.ok(err instanceof NetworkError, String(err));
        assert.match(err.message, /no data for 150 ms after 10 bytes/);
        return true;
      },
    );
    assert.deepEqual(proxy.connects, [host]);
    assert.ok(!readdirSync(work).includes('stalled.bin'));
  });
});
