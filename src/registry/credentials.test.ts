// RegistryClient with explicit per-request credentials (the API's X-Registry-Auth): a lookup
// that replaces the auth file, and a registry token sent as it is, with no token exchange.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type FakeServer, startFakeServer } from '../../test/helpers/fake-http.js';
import { UnauthorizedError } from '../errors/index.js';
import { type Digest, parseReference } from '../oci/index.js';
import { RegistryClient } from './index.js';

const servers: FakeServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** A registry whose /v2/x/blobs/* HEAD answers 200 only to `Authorization: <wanted>`. */
async function guarded(wanted: string, scheme: 'Bearer' | 'Basic'): Promise<FakeServer> {
  const s = await startFakeServer((req, res) => {
    if (req.headers.authorization !== wanted) {
      const challenge = scheme === 'Basic' ? 'Basic realm="r"' : 'Bearer realm="http://127.0.0.1:1/token"';
      res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    res.writeHead(200).end();
  });
  servers.push(s);
  return s;
}

const DIGEST = `sha256:${'a'.repeat(64)}` as Digest;

test('a registry token goes out as the bearer token, with no trip to the realm', async () => {
  const s = await guarded('Bearer reg.token-1', 'Bearer');
  const client = new RegistryClient({
    retryBaseMs: 1,
    credentials: async () => ({ registryToken: 'reg.token-1' }),
  });
  try {
    assert.equal(await client.blobExists(parseReference(`${s.host}/x`), DIGEST), true);
    assert.ok(s.requests.every((r) => r.path.startsWith('/v2/')));
  } finally {
    client.close();
  }
});

test('a credentials lookup replaces the auth file; a refused token is an UnauthorizedError', async () => {
  const s = await guarded(`Basic ${Buffer.from('u:p').toString('base64')}`, 'Basic');
  const asked: string[] = [];
  const good = new RegistryClient({
    retryBaseMs: 1,
    authFile: '/nonexistent/auth.json',
    credentials: async (host) => {
      asked.push(host);
      return { username: 'u', password: 'p' };
    },
  });
  const bad = new RegistryClient({ retryBaseMs: 1, credentials: async () => ({ registryToken: 'wrong' }) });
  try {
    assert.equal(await good.blobExists(parseReference(`${s.host}/x`), DIGEST), true);
    assert.deepEqual(asked, [s.host]);
    await assert.rejects(bad.blobExists(parseReference(`${s.host}/x`), DIGEST), UnauthorizedError);
  } finally {
    good.close();
    bad.close();
  }
});
