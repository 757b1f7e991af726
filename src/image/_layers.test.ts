import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidManifestError } from '../errors/index.js';
import type { ImageConfig } from '../oci/index.js';
import { Store } from '../store/index.js';
import { storeImage } from './_layers.js';

test('an image made here (build, commit) with a config field of the wrong type is not stored', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'berth-layers-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const store = Store.open(join(root, 'store'));
  t.after(() => store.close());
  // what a build FROM an image stored before configs were checked would carry on
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: 'PATH=/bin' },
    rootfs: { type: 'layers', diff_ids: [] },
  } as unknown as ImageConfig;
  await assert.rejects(
    storeImage(store, config, [], ['localhost/bad:1']),
    (err: unknown) =>
      err instanceof InvalidManifestError &&
      err.message === 'image config: config.Env must be an array of strings',
  );
  assert.deepEqual(store.listImages(), []);
  const blobs = join(store.root, 'blobs', 'sha256');
  assert.deepEqual(existsSync(blobs) ? readdirSync(blobs) : [], []);
});
