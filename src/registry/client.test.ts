// RegistryClient against scripted in-process servers: auth flows, where credentials may go,
// hostile manifests, error lines, retries, mirrors and ranged reads.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import {
  type FakeServer,
  type SeenRequest,
  sendError,
  startFakeServer,
} from '../../test/helpers/fake-http.js';
import { selfSignedCert } from '../../test/helpers/tls.js';
import { waitFor } from '../../test/helpers/wait.js';
import {
  DeniedError,
  DigestMismatchError,
  InterruptedError,
  InvalidManifestError,
  IOError,
  NetworkError,
  NotFoundError,
  RegistryError,
  SizeLimitError,
  UnauthorizedError,
} from '../errors/index.js';
import { type Descriptor, type Digest, MediaType, parseReference, sha256Digest } from '../oci/index.js';
import { saveCredentials } from './_authfile.js';
import type { Transport } from './_transport.js';
import { RegistryClient, type RegistryClientOptions } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'berth-registry-unit-'));
const servers: FakeServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(work, { recursive: true, force: true });
});

let fileCounter = 0;
function emptyAuthFile(): string {
  return join(work, `auth-${++fileCounter}.json`);
}

async function serve(
  handler: (req: SeenRequest, res: ServerResponse) => void | Promise<void>,
  options: Parameters<typeof startFakeServer>[1] = {},
): Promise<FakeServer> {
  const s = await startFakeServer(handler, options);
  servers.push(s);
  return s;
}

function client(options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({ authFile: emptyAuthFile(), retryBaseMs: 1, ...options });
}

const CONFIG = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const LAYER = Buffer.from('pretend this is a gzipped tar, it is only bytes here'.repeat(10));
const configDesc: Descriptor = {
  mediaType: MediaType.ociConfig,
  digest: sha256Digest(CONFIG),
  size: CONFIG.length,
};
const layerDesc: Descriptor = {
  mediaType: MediaType.ociLayerGzip,
  digest: sha256Digest(LAYER),
  size: LAYER.length,
};
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDesc,
    layers: [layerDesc],
  }),
);
const MANIFEST_DIGEST = sha256Digest(MANIFEST);

function sendManifest(res: ServerResponse, body = MANIFEST, headers: Record<string, string> = {}): void {
  res.writeHead(200, {
    'content-type': MediaType.ociManifest,
    'content-length': String(body.length),
    ...headers,
  });
  res.end(body);
}

/** A registry serving one image at repository `x` (tag `latest`), optionally behind `guard`. */
function imageHandler(guard?: (req: SeenRequest, res: ServerResponse) => boolean) {
  return (req: SeenRequest, res: ServerResponse) => {
    if (guard && !guard(req, res)) return;
    if (req.path === '/v2/') return void res.writeHead(200).end('{}');
    if (req.path === '/v2/x/manifests/latest' || req.path === `/v2/x/manifests/${MANIFEST_DIGEST}`) {
      return sendManifest(res, MANIFEST, { 'docker-content-digest': MANIFEST_DIGEST });
    }
    if (req.path === `/v2/x/blobs/${configDesc.digest}`) return void res.writeHead(200).end(CONFIG);
    if (req.path === `/v2/x/blobs/${layerDesc.digest}`) return void res.writeHead(200).end(LAYER);
    sendError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
  };
}

async function sha256Of(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

describe('bearer and basic auth', () => {
  test('bearer: anonymous token fetched once, cached per scope, sent only to the registry', async () => {
    let issued = 0;
    const tokens = await serve((req, res) => {
      issued++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ access_token: `tok-${req.query.get('scope')?.split(':')[1]}`, expires_in: 300 }),
      );
    });
    const reg = await serve(
      imageHandler((req, res) => {
        const scope = `repository:${req.path.split('/')[2]}:pull`;
        if (req.headers.authorization === `Bearer tok-${req.path.split('/')[2]}`) return true;
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="${tokens.url}/token",service="fake, registry",scope="${scope}"`,
          'content-type': 'application/json',
        });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return false;
      }),
    );
    const c = client();
    const ref = parseReference(`${reg.host}/x:latest`);
    const m1 = await c.getManifest(ref);
    const m2 = await c.getManifest(ref);
    await c.fetchBlobBytes(ref, configDesc);
    assert.equal(m1.digest, MANIFEST_DIGEST);
    assert.equal(m2.digest, MANIFEST_DIGEST);
    assert.equal(issued, 1, 'one token for one scope');
    const tokenReq = tokens.requests[0]!;
    assert.equal(tokenReq.query.get('service'), 'fake, registry');
    assert.deepEqual(tokenReq.query.getAll('scope'), ['repository:x:pull']);
    assert.equal(tokenReq.headers.authorization, undefined, 'no credentials, no Authorization');
    assert.deepEqual(
      reg.requests.map((r) => r.headers.authorization ?? '-'),
      ['-', 'Bearer tok-x', 'Bearer tok-x', 'Bearer tok-x'],
    );
  });

  test('bearer: credentials go to the realm as basic auth, never to the registry', async () => {
    const tokens = await serve((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('alice:s3cret').toString('base64')}`) {
        return sendError(res, 401, 'UNAUTHORIZED', 'bad credentials');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'tok', expires_in: 300 }));
    });
    const reg = await serve(
      imageHandler((req, res) => {
        if (req.headers.authorization === 'Bearer tok') return true;
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url}/token",service="fake"` });
        res.end();
        return false;
      }),
    );
    const authFile = emptyAuthFile();
    await saveCredentials(reg.host, { username: 'alice', password: 's3cret' }, { authFile });
    const c = client({ authFile });
    const ref = parseReference(`${reg.host}/x:latest`);
    await c.getManifest(ref);
    assert.equal(tokens.requests[0]!.query.get('account'), 'alice');
    for (const r of reg.requests) assert.ok(!String(r.headers.authorization ?? '').startsWith('Basic'));

    const bad = emptyAuthFile();
    await saveCredentials(reg.host, { username: 'alice', password: 'wrong-pw' }, { authFile: bad });
    const err = await client({ authFile: bad })
      .getManifest(ref)
      .catch((e: unknown) => e);
    assert.ok(err instanceof UnauthorizedError, String(err));
    assert.match(err.message, /bad credentials/);
    assert.doesNotMatch(err.message, /wrong-pw/);
  });

  test('basic: challenge learned once, then credentials sent up front', async () => {
    const good = `Basic ${Buffer.from('bob:pw:with:colons').toString('base64')}`;
    const reg = await serve(
      imageHandler((req, res) => {
        if (req.headers.authorization === good) return true;
        res.writeHead(401, { 'www-authenticate': 'Basic realm="fake registry"' });
        res.end();
        return false;
      }),
    );
    const authFile = emptyAuthFile();
    await saveCredentials(reg.host, { username: 'bob', password: 'pw:with:colons' }, { authFile });
    const c = client({ authFile });
    const ref = parseReference(`${reg.host}/x:latest`);
    await c.getManifest(ref);
    await c.fetchBlobBytes(ref, configDesc);
    assert.deepEqual(
      reg.requests.map((r) => (r.headers.authorization ? 'auth' : '-')),
      ['-', 'auth', 'auth'],
    );
  });

  test('401 without credentials: UnauthorizedError with a login hint; 403: DeniedError', async () => {
    const reg = await serve((req, res) => {
      if (req.path.includes('/denied/'))
        return sendError(res, 403, 'DENIED', 'requested access to the resource is denied');
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"', 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    });
    const c = client();
    const err = await c.getManifest(parseReference(`${reg.host}/x:latest`)).catch((e: unknown) => e);
    assert.ok(err instanceof UnauthorizedError);
    assert.equal(
      err.message,
      `cannot fetch manifest for ${reg.host}/x:latest: authentication required (UNAUTHORIZED)`,
    );
    assert.match(err.hint ?? '', /berth login/);
    const denied = await c
      .getManifest(parseReference(`${reg.host}/denied/x:latest`))
      .catch((e: unknown) => e);
    assert.ok(denied instanceof DeniedError);
  });

  test('credentials are not sent to a registry they do not belong to, nor to its realm', async () => {
    const tokens = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'anon' }));
    });
    const other = await serve(
      imageHandler((req, res) => {
        if (req.headers.authorization === 'Bearer anon') return true;
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url}/token"` });
        res.end();
        return false;
      }),
    );
    const owner = await serve(imageHandler());
    const authFile = emptyAuthFile();
    await saveCredentials(owner.host, { username: 'carol', password: 'pw' }, { authFile });
    const c = client({ authFile });
    await c.getManifest(parseReference(`${other.host}/x:latest`));
    assert.equal(tokens.requests[0]!.headers.authorization, undefined);
    for (const r of other.requests) assert.ok(!String(r.headers.authorization ?? '').startsWith('Basic'));
  });

  test('a redirect to another host carries no Authorization', async () => {
    const blobs = await serve((_req, res) => void res.writeHead(200).end(LAYER));
    const good = `Basic ${Buffer.from('dave:pw').toString('base64')}`;
    const reg = await serve((req, res) => {
      if (req.headers.authorization !== good) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
        return void res.end();
      }
      res.writeHead(307, { location: `${blobs.url}/storage/blob?X-Signature=secret` });
      res.end();
    });
    const authFile = emptyAuthFile();
    await saveCredentials(reg.host, { username: 'dave', password: 'pw' }, { authFile });
    const { stream } = await client({ authFile }).fetchBlob(
      parseReference(`${reg.host}/x:latest`),
      layerDesc,
    );
    assert.equal(await sha256Of(stream), layerDesc.digest);
    assert.equal(blobs.requests.length, 1);
    assert.equal(blobs.requests[0]!.headers.authorization, undefined);
    assert.equal(reg.requests.at(-1)!.headers.authorization, good);
  });

  test('a 401 challenge from a redirect target does not send credentials to its realm', async () => {
    const evilRealm = await serve((_req, res) => void res.writeHead(200).end('{"token":"t"}'));
    const blobs = await serve((_req, res) => {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${evilRealm.url}/token"` });
      res.end();
    });
    const reg = await serve((_req, res) => void res.writeHead(302, { location: `${blobs.url}/b` }).end());
    const authFile = emptyAuthFile();
    await saveCredentials(reg.host, { username: 'erin', password: 'pw' }, { authFile });
    const err = await client({ authFile })
      .fetchBlob(parseReference(`${reg.host}/x:latest`), layerDesc)
      .catch((e: unknown) => e);
    assert.ok(err instanceof UnauthorizedError, String(err));
    assert.equal(evilRealm.requests.length, 0);
  });
});

describe('hostile manifests', () => {
  test('by digest: content must hash to the digest asked for', async () => {
    const other = Buffer.from(MANIFEST.toString().replace('"schemaVersion":2', '"schemaVersion":2 '));
    const reg = await serve((_req, res) => sendManifest(res, other));
    const ref = parseReference(`${reg.host}/x@${MANIFEST_DIGEST}`);
    const err = await client()
      .getManifest(ref)
      .catch((e: unknown) => e);
    assert.ok(err instanceof DigestMismatchError, String(err));
    const viaOption = await client()
      .getManifest(parseReference(`${reg.host}/x:latest`), { digest: MANIFEST_DIGEST })
      .catch((e: unknown) => e);
    assert.ok(viaOption instanceof DigestMismatchError);
  });

  test('by tag: a Docker-Content-Digest header that lies is an error', async () => {
    const lie = sha256Digest('something else');
    const reg = await serve((_req, res) => sendManifest(res, MANIFEST, { 'docker-content-digest': lie }));
    const err = await client()
      .getManifest(parseReference(`${reg.host}/x:latest`))
      .catch((e: unknown) => e);
    assert.ok(err instanceof DigestMismatchError);
    assert.match(err.message, /says the manifest is sha256:/);
  });

  test('over 4 MiB is refused, by Content-Length and while streaming a chunked body', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 10, 0x20);
    const reg = await serve((req, res) => {
      if (req.path.endsWith('/declared')) {
        res.writeHead(200, { 'content-type': MediaType.ociManifest, 'content-length': String(big.length) });
        return void res.end(big);
      }
      res.writeHead(200, { 'content-type': MediaType.ociManifest }); // chunked, no length
      for (let i = 0; i < big.length; i += 65536) res.write(big.subarray(i, i + 65536));
      res.end();
    });
    for (const tag of ['declared', 'chunked']) {
      const err = await client()
        .getManifest(parseReference(`${reg.host}/x:${tag}`))
        .catch((e: unknown) => e);
      assert.ok(err instanceof SizeLimitError, `${tag}: ${err}`);
      assert.match(err.message, /4194304-byte limit/);
    }
  });

  test('a document with both manifests and layers, and conflicting media types, are refused', async () => {
    const both = Buffer.from(
      JSON.stringify({ schemaVersion: 2, manifests: [], layers: [], config: configDesc }),
    );
    const reg = await serve((req, res) => {
      if (req.path.endsWith('/both')) return sendManifest(res, both, {});
      sendManifest(res, MANIFEST, { 'content-type': MediaType.dockerManifest });
    });
    const e1 = await client()
      .getManifest(parseReference(`${reg.host}/x:both`))
      .catch((e: unknown) => e);
    assert.ok(e1 instanceof InvalidManifestError);
    assert.match(e1.message, /both "manifests" and "layers"/);
    const e2 = await client()
      .getManifest(parseReference(`${reg.host}/x:conflict`))
      .catch((e: unknown) => e);
    assert.ok(e2 instanceof InvalidManifestError);
    assert.match(e2.message, /conflicting media types/);
  });

  test('a blob must match its descriptor in size and digest', async () => {
    const reg = await serve((req, res) => {
      if (req.path.endsWith(configDesc.digest)) return void res.writeHead(200).end(Buffer.from(`${CONFIG}x`));
      res.writeHead(200).end(Buffer.from(LAYER).fill(0x41, 0, 1));
    });
    const ref = parseReference(`${reg.host}/x:latest`);
    await assert.rejects(client().fetchBlobBytes(ref, configDesc), SizeLimitError);
    const tampered: Descriptor = { ...configDesc, digest: layerDesc.digest, size: LAYER.length };
    await assert.rejects(client().fetchBlobBytes(ref, tampered, { limit: 10_000 }), DigestMismatchError);
    await assert.rejects(
      client().fetchBlobBytes(ref, { ...configDesc, size: 100 }, { limit: 50 }),
      SizeLimitError,
    );
  });
});

describe('errors, retries, mirrors, ranges', () => {
  test('the registry error JSON becomes one line; 404 + MANIFEST_UNKNOWN is NotFoundError', async () => {
    const reg = await serve((req, res) => {
      if (req.path.includes('/multi/')) {
        res.writeHead(400, { 'content-type': 'application/json' });
        return void res.end(
          JSON.stringify({
            errors: [
              { code: 'TAG_INVALID', message: 'manifest tag did not match\nURI', detail: { x: 1 } },
              { code: 'MANIFEST_INVALID', message: 'manifest invalid' },
            ],
          }),
        );
      }
      sendError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
    });
    const c = client();
    const err = await c.getManifest(parseReference(`${reg.host}/bb:nosuch`)).catch((e: unknown) => e);
    assert.ok(err instanceof NotFoundError);
    assert.equal(
      err.message,
      `cannot fetch manifest for ${reg.host}/bb:nosuch: manifest unknown (MANIFEST_UNKNOWN)`,
    );
    const multi = await c.getManifest(parseReference(`${reg.host}/multi/x:1`)).catch((e: unknown) => e);
    assert.ok(multi instanceof RegistryError);
    assert.equal(multi.status, 400);
    assert.equal(
      multi.message,
      `cannot fetch manifest for ${reg.host}/multi/x:1: manifest tag did not match URI (TAG_INVALID); manifest invalid (MANIFEST_INVALID)`,
    );
  });

  test('503 twice then success is retried with backoff; 404 is not retried', async () => {
    let calls = 0;
    const reg = await serve((req, res) => {
      if (req.path.endsWith('/missing')) return sendError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      if (++calls <= 2) {
        res.writeHead(503, { 'retry-after': '0' });
        return void res.end();
      }
      sendManifest(res);
    });
    const retries: { attempt: number; reason: string }[] = [];
    const c = client({ onRetry: (i) => retries.push({ attempt: i.attempt, reason: i.reason }) });
    const m = await c.getManifest(parseReference(`${reg.host}/x:latest`));
    assert.equal(m.digest, MANIFEST_DIGEST);
    assert.deepEqual(retries, [
      { attempt: 1, reason: 'HTTP 503' },
      { attempt: 2, reason: 'HTTP 503' },
    ]);
    const before = reg.requests.length;
    await assert.rejects(c.getManifest(parseReference(`${reg.host}/x:missing`)), NotFoundError);
    assert.equal(reg.requests.length, before + 1);
    assert.equal(retries.length, 2);
  });

  test('retries give up after maxRetries; a dead host is a NetworkError', async () => {
    const reg = await serve((_req, res) => void res.writeHead(502).end());
    await assert.rejects(
      client({ maxRetries: 2 }).getManifest(parseReference(`${reg.host}/x:latest`)),
      (e) => {
        assert.ok(e instanceof RegistryError && e.status === 502);
        return true;
      },
    );
    assert.equal(reg.requests.length, 3);
    const dead = await serve(() => {});
    await dead.close();
    const err = await client({ maxRetries: 1 })
      .getManifest(parseReference(`${dead.host}/x:latest`))
      .catch((e: unknown) => e);
    assert.ok(err instanceof NetworkError, String(err));
    assert.match(err.message, new RegExp(`^cannot fetch manifest for ${dead.host}/x:latest: .*ECONNREFUSED`));
  });

  test('mirrors are tried in order; 5xx and 404 fall through to the registry', async () => {
    const broken = await serve((_req, res) => void res.writeHead(500).end());
    const empty = await serve((_req, res) => sendError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown'));
    const prefixed = await serve((req, res) => {
      if (req.path.startsWith('/v2/cache/x/'))
        return imageHandler()({ ...req, path: req.path.replace('/cache', '') }, res);
      sendError(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
    });
    const upstream = await serve(imageHandler());
    const ref = parseReference(`${upstream.host}/x:latest`);
    const viaUpstream = client({
      maxRetries: 0,
      config: { registries: { [upstream.host]: { mirrors: [broken.url, empty.host] } } },
    });
    assert.equal((await viaUpstream.getManifest(ref)).digest, MANIFEST_DIGEST);
    assert.equal(broken.requests.length, 1);
    assert.equal(empty.requests.length, 1);
    assert.equal(upstream.requests.length, 1);

    const viaMirror = client({
      config: { registries: { [upstream.host]: { mirrors: [`${prefixed.url}/cache`] } } },
    });
    const { stream } = await viaMirror.fetchBlob(ref, layerDesc);
    assert.equal(await sha256Of(stream), layerDesc.digest);
    assert.equal(prefixed.requests.at(-1)!.path, `/v2/cache/x/blobs/${layerDesc.digest}`);
    assert.equal(upstream.requests.length, 1, 'the mirror answered');
  });

  test('a ranged read resumes at the offset; a server that ignores Range starts at 0', async () => {
    let honour = true;
    const reg = await serve((req, res) => {
      const m = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
      if (honour && m) {
        const start = Number(m[1]);
        res.writeHead(206, {
          'content-range': `bytes ${start}-${LAYER.length - 1}/${LAYER.length}`,
          'content-length': String(LAYER.length - start),
        });
        return void res.end(LAYER.subarray(start));
      }
      res.writeHead(200, { 'content-length': String(LAYER.length) }).end(LAYER);
    });
    const ref = parseReference(`${reg.host}/x:latest`);
    const c = client();
    const r1 = await c.fetchBlob(ref, layerDesc, { offset: 100 });
    assert.equal(r1.offset, 100);
    const rest: Buffer[] = [];
    for await (const ch of r1.stream) rest.push(ch as Buffer);
    assert.equal(sha256Digest(Buffer.concat([LAYER.subarray(0, 100), ...rest])), layerDesc.digest);
    assert.equal(reg.requests.at(-1)!.headers.range, 'bytes=100-');
    honour = false;
    const r2 = await c.fetchBlob(ref, layerDesc, { offset: 100 });
    assert.equal(r2.offset, 0);
    assert.equal(await sha256Of(r2.stream), layerDesc.digest);
  });

  test('a blob stream longer than its descriptor fails', async () => {
    const reg = await serve(
      (_req, res) => void res.writeHead(200).end(Buffer.concat([LAYER, Buffer.from('extra')])),
    );
    const { stream } = await client().fetchBlob(parseReference(`${reg.host}/x:latest`), layerDesc);
    await assert.rejects(sha256Of(stream), SizeLimitError);
  });

  test('blobExists: 200 true, 404 false', async () => {
    const reg = await serve((req, res) => {
      res.writeHead(req.path.endsWith(layerDesc.digest) ? 200 : 404).end();
    });
    const ref = parseReference(`${reg.host}/x:latest`);
    assert.equal(await client().blobExists(ref, layerDesc.digest), true);
    assert.equal(await client().blobExists(ref, configDesc.digest), false);
  });

  test('pushBlob: HEAD skip, POST + PUT with the digest, upload location on another host gets no auth', async () => {
    const uploads = await serve((req, res) => {
      res.writeHead(201, { 'docker-content-digest': String(req.query.get('digest')) }).end();
    });
    const good = `Basic ${Buffer.from('frank:pw').toString('base64')}`;
    const reg = await serve((req, res) => {
      if (req.headers.authorization !== good) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
        return void res.end();
      }
      if (req.method === 'HEAD')
        return void res.writeHead(req.path.endsWith(configDesc.digest) ? 200 : 404).end();
      if (req.method === 'POST')
        return void res.writeHead(202, { location: `${uploads.url}/upload/1?_state=abc` }).end();
      res.writeHead(500).end();
    });
    const authFile = emptyAuthFile();
    await saveCredentials(reg.host, { username: 'frank', password: 'pw' }, { authFile });
    const c = client({ authFile });
    const ref = parseReference(`${reg.host}/x:latest`);
    assert.equal(await c.pushBlob(ref, configDesc, () => Readable.from([CONFIG])), 'exists');
    assert.equal(await c.pushBlob(ref, layerDesc, () => Readable.from([LAYER])), 'uploaded');
    const put = uploads.requests[0]!;
    assert.equal(put.method, 'PUT');
    assert.equal(put.query.get('_state'), 'abc');
    assert.equal(put.query.get('digest'), layerDesc.digest);
    assert.equal(put.headers.authorization, undefined);
    assert.deepEqual(put.body, LAYER);
    // a failing source is the caller's I/O error, not a network one, and does not hang
    const broken = () =>
      new Readable({
        read() {
          this.destroy(new Error('disk on fire'));
        },
      });
    await assert.rejects(c.pushBlob(ref, layerDesc, broken), (e: Error) => {
      assert.ok(e instanceof IOError, String(e));
      assert.match(e.message, /disk on fire/);
      return true;
    });
    const chunked = client({ authFile, uploadChunkBytes: 100 });
    await assert.rejects(chunked.pushBlob(ref, layerDesc, broken), IOError);
    // content that does not match its descriptor is refused before the registry sees it whole
    const wrong: Descriptor = { ...layerDesc, digest: sha256Digest('nope') as Digest };
    await assert.rejects(
      c.pushBlob(ref, wrong, () => Readable.from([LAYER])),
      DigestMismatchError,
    );
  });
});

describe('transport', () => {
  test('a self-signed TLS registry: refused by default with a clear error, accepted when insecure', async () => {
    const { key, cert } = selfSignedCert(work, { cn: '127.0.0.1', subjectAltName: 'IP:127.0.0.1' });
    const reg = await serve(imageHandler(), { tls: { key, cert } });
    const ref = parseReference(`${reg.host}/x:latest`);
    const err = await client()
      .getManifest(ref)
      .catch((e: unknown) => e);
    assert.ok(err instanceof NetworkError, String(err));
    assert.match(err.message, /TLS certificate not accepted/);
    assert.equal(reg.requests.length, 0);
    assert.equal((await client({ tlsVerify: false }).getManifest(ref)).digest, MANIFEST_DIGEST);
    const insecure = client({ config: { registries: { [reg.host]: { insecure: true } } } });
    assert.equal((await insecure.getManifest(ref)).digest, MANIFEST_DIGEST);
  });

  test('an abort signal interrupts a request and a blob stream', async () => {
    const reg = await serve((req, res) => {
      if (req.path.includes('/blobs/')) {
        res.writeHead(200, { 'content-length': String(LAYER.length) });
        return void res.write(LAYER.subarray(0, 10)); // then stall
      }
      // never answer manifests
    });
    const ref = parseReference(`${reg.host}/x:latest`);
    const ac = new AbortController();
    const manifest = client().getManifest(ref, { signal: ac.signal });
    // abort only once the request is at the server, so it is interrupted in flight
    await waitFor(() => reg.requests.length >= 1, { what: 'the manifest request to arrive' });
    ac.abort();
    await assert.rejects(manifest, InterruptedError);
    const ac2 = new AbortController();
    const { stream } = await client().fetchBlob(ref, layerDesc, { signal: ac2.signal });
    const hashing = sha256Of(stream);
    await waitFor(() => reg.requests.length >= 2, { what: 'the blob request to arrive' });
    ac2.abort();
    await assert.rejects(hashing, InterruptedError);
  });

  test('a peer that never answers times out as a NetworkError', async () => {
    const reg = await serve(() => {});
    const err = await client({ timeoutMs: 100, maxRetries: 1 })
      .getManifest(parseReference(`${reg.host}/x:latest`))
      .catch((e: unknown) => e);
    assert.ok(err instanceof NetworkError, String(err));
    assert.match(err.message, /no answer within 100 ms/);
    assert.equal(reg.requests.length, 2, 'retried once');
  });
});

test('no socket stays checked out after successes, errors, refusals and redirects', async () => {
  const tokens = await serve((req, res) => {
    if (req.headers.authorization) return sendError(res, 401, 'UNAUTHORIZED', 'invalid username or password');
    res.writeHead(200).end('{"token":"anon"}');
  });
  const reg = await serve((req, res) => {
    if (req.path.startsWith('/v2/redirect/'))
      return void res.writeHead(307, { location: '/v2/x/manifests/latest' }).end();
    if (req.path.startsWith('/v2/basic/')) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"', 'content-length': '2' });
      return void res.end('{}');
    }
    if (req.path.startsWith('/v2/bearer/') || req.path === '/v2/') {
      if (req.headers.authorization === 'Bearer anon' && req.path !== '/v2/') return imageHandler()(req, res);
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url}/token"`, 'content-length': '2' });
      return void res.end('{}');
    }
    imageHandler()(req, res);
  });
  const c = client();
  const ignore = () => {};
  await c.getManifest(parseReference(`${reg.host}/x:latest`));
  await c.getManifest(parseReference(`${reg.host}/x:nosuch`)).catch(ignore);
  await c.getManifest(parseReference(`${reg.host}/redirect/x:latest`)).catch(ignore);
  await c.getManifest(parseReference(`${reg.host}/basic/x:latest`)).catch(ignore);
  await c.getManifest(parseReference(`${reg.host}/bearer/x:latest`)).catch(ignore);
  await c.blobExists(parseReference(`${reg.host}/x:latest`), layerDesc.digest);
  await c.checkLogin(reg.host, { username: 'u', password: 'wrong' }).catch(ignore);
  const agents = (c as unknown as { transport: Transport }).transport.agents;
  const busy = () => Object.values(agents.http.sockets).reduce((n, list) => n + (list?.length ?? 0), 0);
  await waitFor(() => busy() === 0, { timeoutMs: 5_000, what: 'every response to be consumed or destroyed' });
  c.close();
});
