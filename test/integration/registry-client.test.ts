// RegistryClient against real docker-registry (distribution 2.8) instances: anonymous,
// htpasswd basic auth and bearer tokens. Images are pushed with skopeo and read back with the
// client; the client's own pushes are read back with skopeo.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UnauthorizedError } from '../../src/errors/index.js';
import {
  type Descriptor,
  type Digest,
  MediaType,
  parseImageConfig,
  parseReference,
} from '../../src/oci/index.js';
import { RegistryClient, saveCredentials } from '../../src/registry/index.js';
import { makeBusyboxLayout, makeMultiArchLayout } from '../helpers/images.js';
import { skopeoCopy, skopeoInspect, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { waitFor } from '../helpers/wait.js';

const work = mkdtempSync(join(tmpdir(), 'berth-registry-it-'));
let bb: Awaited<ReturnType<typeof makeBusyboxLayout>>;

before(async () => {
  bb = await makeBusyboxLayout(join(work, 'bb'), { tag: 'latest', extraFiles: { 'etc/motd': 'hi\n' } });
});
after(() => rmSync(work, { recursive: true, force: true }));

function blobPath(layoutDir: string, digest: string): string {
  return join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

function descOf(layoutDir: string, digest: string, mediaType: string): Descriptor {
  return { mediaType, digest: digest as Digest, size: statSync(blobPath(layoutDir, digest)).size };
}

async function sha256Of(stream: AsyncIterable<unknown>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

for (const mode of ['none', 'basic', 'token'] as const) {
  describe(`${mode} registry`, () => {
    let reg: TestRegistry;
    let client: RegistryClient;
    let creds: string | undefined;
    const authFile = join(work, `auth-${mode}.json`);

    before(async () => {
      reg = await startRegistry({ auth: mode });
      creds = mode === 'none' ? undefined : `${reg.username}:${reg.password}`;
      await skopeoCopy(`oci:${bb.layoutDir}:latest`, `docker://${reg.host}/lib/bb:latest`, {
        destCreds: creds,
      });
      if (mode !== 'none') {
        await saveCredentials(reg.host, { username: reg.username!, password: reg.password! }, { authFile });
      }
      client = new RegistryClient({ authFile, retryBaseMs: 10 });
    });
    after(async () => {
      client?.close();
      await reg?.stop();
    });

    test('getManifest by tag and by digest, config and layer verified', async () => {
      const ref = parseReference(`${reg.host}/lib/bb:latest`);
      const byTag = await client.getManifest(ref);
      assert.equal(byTag.digest, bb.manifestDigest);
      assert.equal(byTag.mediaType, MediaType.ociManifest);
      assert.equal(byTag.parsed.kind, 'manifest');
      const byDigest = await client.getManifest(parseReference(`${reg.host}/lib/bb@${bb.manifestDigest}`));
      assert.deepEqual(byDigest.bytes, byTag.bytes);
      assert.ok(byTag.parsed.kind === 'manifest');
      const { config, layers } = byTag.parsed.manifest;
      const cfg = parseImageConfig(await client.fetchBlobBytes(ref, config));
      assert.deepEqual(cfg.rootfs.diff_ids, [bb.diffId]);
      const { stream, offset, size } = await client.fetchBlob(ref, layers[0]!);
      assert.equal(offset, 0);
      assert.equal(size, layers[0]!.size);
      assert.equal(await sha256Of(stream), bb.layerDigest);
      // resume: distribution honours Range
      const resumed = await client.fetchBlob(ref, layers[0]!, { offset: 1000 });
      assert.equal(resumed.offset, 1000);
      const head = readFileSync(blobPath(bb.layoutDir, bb.layerDigest)).subarray(0, 1000);
      assert.equal(
        await sha256Of(
          (async function* () {
            yield head;
            yield* resumed.stream;
          })(),
        ),
        bb.layerDigest,
      );
      assert.equal(await client.blobExists(ref, bb.layerDigest as Digest), true);
      assert.equal(await client.blobExists(ref, `sha256:${'0'.repeat(64)}` as Digest), false);
    });

    test('pushBlob + pushManifest round trip that skopeo reads back; exists and mount', async () => {
      const target = parseReference(`${reg.host}/roundtrip/bb:v1`);
      const manifestBytes = readFileSync(blobPath(bb.layoutDir, bb.manifestDigest));
      const cfg = descOf(bb.layoutDir, bb.configDigest, MediaType.ociConfig);
      const layer = descOf(bb.layoutDir, bb.layerDigest, MediaType.ociLayerGzip);
      const open = (d: Descriptor) => () => createReadStream(blobPath(bb.layoutDir, d.digest));
      assert.equal(await client.pushBlob(target, cfg, open(cfg)), 'uploaded');
      assert.equal(await client.pushBlob(target, layer, open(layer)), 'uploaded');
      assert.equal(await client.pushBlob(target, layer, open(layer)), 'exists');
      const digest = await client.pushManifest(target, manifestBytes, MediaType.ociManifest);
      assert.equal(digest, bb.manifestDigest);
      const info = await skopeoInspect(`docker://${reg.host}/roundtrip/bb:v1`, { creds });
      assert.equal(info.Digest, bb.manifestDigest);
      const back = join(work, `back-${mode}`);
      await skopeoCopy(`docker://${reg.host}/roundtrip/bb:v1`, `oci:${back}:v1`, { srcCreds: creds });
      assert.deepEqual(
        readFileSync(blobPath(back, bb.layerDigest)),
        readFileSync(blobPath(bb.layoutDir, bb.layerDigest)),
      );

      const mounted = parseReference(`${reg.host}/mounted/bb:v1`);
      assert.equal(
        await client.pushBlob(mounted, layer, open(layer), { mountFrom: 'roundtrip/bb' }),
        'mounted',
      );
      assert.equal(
        await client.pushBlob(mounted, cfg, open(cfg), { mountFrom: `${reg.host}/roundtrip/bb` }),
        'mounted',
      );
      await client.pushManifest(mounted, manifestBytes, MediaType.ociManifest, { tagOrDigest: 'v2' });
      assert.equal(
        (await client.getManifest(parseReference(`${reg.host}/mounted/bb:v2`))).digest,
        bb.manifestDigest,
      );
    });

    test('chunked upload (PATCH) of a blob larger than the chunk size', async () => {
      const chunky = new RegistryClient({ authFile, uploadChunkBytes: 64 * 1024 });
      try {
        const target = parseReference(`${reg.host}/chunked/bb:latest`);
        const layer = descOf(bb.layoutDir, bb.layerDigest, MediaType.ociLayerGzip);
        assert.ok(layer.size > 3 * 64 * 1024, 'several chunks');
        const result = await chunky.pushBlob(target, layer, () =>
          createReadStream(blobPath(bb.layoutDir, layer.digest)),
        );
        assert.equal(result, 'uploaded');
        const { stream } = await chunky.fetchBlob(target, layer);
        assert.equal(await sha256Of(stream), layer.digest);
      } finally {
        chunky.close();
      }
    });

    test('an index: platform manifests fetched by digest', async () => {
      const multi = await makeMultiArchLayout(join(work, `multi-${mode}`), { tag: 'latest' });
      await skopeoCopy(`oci:${multi.layoutDir}:latest`, `docker://${reg.host}/multi:latest`, {
        destCreds: creds,
        all: true,
      });
      const ref = parseReference(`${reg.host}/multi:latest`);
      const top = await client.getManifest(ref);
      assert.equal(top.digest, multi.indexDigest);
      assert.equal(top.parsed.kind, 'index');
      const arm = await client.getManifest(ref, { digest: multi.manifests.arm64 as Digest });
      assert.equal(arm.digest, multi.manifests.arm64);
      assert.equal(arm.parsed.kind, 'manifest');
    });

    test('every connection goes back to the pool (a CLI process can exit at once)', async () => {
      const c = new RegistryClient({ authFile });
      const ref = parseReference(`${reg.host}/lib/bb:latest`);
      await c.getManifest(ref);
      await c.blobExists(ref, bb.layerDigest as Digest);
      await c.getManifest(parseReference(`${reg.host}/lib/bb:nosuch`)).catch(() => {});
      await c.checkLogin(reg.host, { username: reg.username ?? 'any', password: reg.password ?? 'any' });
      await c.checkLogin(reg.host, { username: 'nobody', password: 'wrong' }).catch(() => {});
      const agents = (
        c as unknown as { transport: { agents: { http: { sockets: Record<string, unknown[]> } } } }
      ).transport.agents;
      const busy = () => Object.values(agents.http.sockets).reduce((n, list) => n + list.length, 0);
      await waitFor(() => busy() === 0, { timeoutMs: 5_000, what: 'every socket to be released' });
      c.close();
    });

    if (mode !== 'none') {
      test('no or wrong credentials: UnauthorizedError; checkLogin tells good from bad', async () => {
        const ref = parseReference(`${reg.host}/lib/bb:latest`);
        const anonymous = new RegistryClient({ authFile: join(work, 'no-such-auth.json') });
        const wrongFile = join(work, `wrong-${mode}.json`);
        await saveCredentials(
          reg.host,
          { username: reg.username!, password: 'wrong-password' },
          { authFile: wrongFile },
        );
        const wrong = new RegistryClient({ authFile: wrongFile });
        try {
          await assert.rejects(anonymous.getManifest(ref), UnauthorizedError);
          await assert.rejects(wrong.getManifest(ref), (e: Error) => {
            assert.ok(e instanceof UnauthorizedError, String(e));
            assert.doesNotMatch(e.message, /wrong-password/);
            assert.equal(e.message.split('\n').length, 1);
            return true;
          });
          await client.checkLogin(reg.host, { username: reg.username!, password: reg.password! });
          await assert.rejects(
            client.checkLogin(reg.host, { username: reg.username!, password: 'wrong-password' }),
            UnauthorizedError,
          );
          await assert.rejects(
            anonymous.checkLogin(`http://${reg.host}`, { username: 'nobody', password: 'x' }),
            UnauthorizedError,
          );
        } finally {
          anonymous.close();
          wrong.close();
        }
      });
    }
  });
}
