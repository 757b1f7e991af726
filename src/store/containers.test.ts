// Containers, rootfs mounts and volumes in the store. These tests need root: they make real
// overlay mounts (and whiteout device nodes) under fresh temporary roots.
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import {
  containerIdFor,
  containerProblems,
  freshRoots,
  mountsUnder,
  putFileImage,
  putFileLayer,
  WHITEOUT,
} from '../../test/helpers/store-containers.js';
import { storeProblems } from '../../test/helpers/store-fixtures.js';
import { errnoCode, hasCode } from '../errors/index.js';
import { type ContainerState, canTransition, type Digest, IllegalTransitionError } from '../oci/index.js';
import { MOUNT_DATA_LIMIT, readMountInfo } from './_rootfs.js';
import { Store } from './index.js';

const freshRoot = freshRoots('berth-store-ctr-');

async function freshStore(): Promise<Store> {
  return Store.open(await freshRoot());
}

function code(c: string) {
  return (err: unknown) => hasCode(err, c as never);
}

const BUSYBOX = 'docker.io/library/busybox:latest';

async function storeWithImage(names = [BUSYBOX]) {
  const store = await freshStore();
  const image = await putFileImage(store, {
    seed: 'img',
    layers: [{ 'etc/os-release': 'base\n', bin: 'x' }],
    names,
  });
  return { store, image };
}

describe('container records', () => {
  test('a version 1 store migrates and keeps its images', async () => {
    const { store, image } = await storeWithImage();
    store.close();
    const db = new Database(join(store.root, 'berth.db'));
    db.exec(
      'DROP TABLE build_cache; DROP TABLE container_volumes; DROP TABLE volumes; DROP TABLE container_layers; DROP TABLE containers;',
    );
    db.pragma('user_version = 1');
    db.close();
    const again = Store.open(store.root);
    try {
      assert.equal(again.resolveImage(BUSYBOX).id, image.id);
      again.createContainer({ id: containerIdFor('m'), name: 'mm', imageId: image.id, config: {} });
      assert.equal(again.listContainers().length, 1);
    } finally {
      again.close();
    }
  });

  test('create → get by id, name and prefix → rename → remove', async () => {
    const { store, image } = await storeWithImage();
    const id = containerIdFor('web');
    const config = { cmd: ['sh', '-c', 'echo hi'], env: { A: '1' }, nested: [1, null, true] };
    const rec = store.createContainer({
      id,
      name: '/web',
      imageId: image.id,
      config,
      labels: { tier: 'front' },
    });
    assert.equal(rec.name, 'web');
    assert.equal(rec.state, 'created');
    assert.deepEqual(rec.config, config);
    assert.deepEqual(rec.labels, { tier: 'front' });
    assert.equal(rec.restartCount, 0);
    assert.equal(rec.pid, null);
    assert.deepEqual(rec.layers, []);
    assert.ok(!Number.isNaN(Date.parse(rec.createdAt)));

    const dir = store.containerDir(id);
    assert.equal(dir, join(store.root, 'containers', id));
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'upper')).mode & 0o777, 0o755);
    for (const sub of ['work', 'userdata']) assert.equal(statSync(join(dir, sub)).mode & 0o777, 0o700);

    for (const ref of [id, 'web', '/web', id.slice(0, 3), id.slice(0, 12)]) {
      assert.equal(store.getContainer(ref)?.id, id, ref);
    }
    assert.equal(store.getContainer(id.slice(0, 2)), undefined);
    assert.equal(store.getContainer('nope'), undefined);

    // a second container sharing the first 3 hex: the short prefix is now ambiguous
    const twin = `${id.slice(0, 3)}${id[3] === '0' ? '1' : '0'}${id.slice(4)}`;
    store.createContainer({ id: twin, name: 'twin', imageId: image.id, config: {} });
    assert.throws(() => store.getContainer(id.slice(0, 3)), code('CONFLICT'));
    assert.equal(store.getContainer(id.slice(0, 4))?.id, id);
    assert.deepEqual(
      store.listContainers().map((c) => c.name),
      ['twin', 'web'],
    );

    assert.throws(
      () =>
        store.createContainer({ id: containerIdFor('other'), name: 'web', imageId: image.id, config: {} }),
      (err: unknown) =>
        hasCode(err, 'CONFLICT') &&
        err.message === `the container name "/web" is already in use by container "${id}"`,
    );
    assert.throws(
      () => store.createContainer({ id, name: 'web2', imageId: image.id, config: {} }),
      code('ALREADY_EXISTS'),
    );
    assert.throws(
      () => store.createContainer({ id: containerIdFor('x'), name: '-bad', imageId: image.id, config: {} }),
      code('INVALID_ARGUMENT'),
    );
    assert.throws(
      () => store.createContainer({ id: 'ABC', name: 'ok-name', imageId: image.id, config: {} }),
      code('INVALID_ARGUMENT'),
    );
    assert.throws(
      () =>
        store.createContainer({
          id: containerIdFor('x'),
          name: 'orphan',
          imageId: `sha256:${'e'.repeat(64)}` as Digest,
          config: {},
        }),
      code('NOT_FOUND'),
    );
    // nothing of the failed creates is left behind
    assert.deepEqual(readdirSync(join(store.root, 'containers')).sort(), [id, twin].sort());

    store.renameContainer('web', 'api');
    assert.equal(store.getContainer('web'), undefined);
    assert.equal(store.getContainer('api')?.id, id);
    assert.throws(
      () => store.renameContainer(id, 'twin'),
      (err: unknown) =>
        hasCode(err, 'CONFLICT') && err.message.includes(`"/twin" is already in use by container "${twin}"`),
    );
    assert.throws(() => store.renameContainer(id, 'api'), code('INVALID_ARGUMENT'));
    assert.throws(() => store.renameContainer('ghost', 'x1'), code('NOT_FOUND'));

    store.removeContainer('api');
    assert.equal(store.getContainer(id), undefined);
    assert.ok(!existsSync(dir));
    assert.throws(() => store.removeContainer(id), code('NOT_FOUND'));
    // the name is free again
    store.createContainer({ id: containerIdFor('web-again'), name: 'api', imageId: image.id, config: {} });
    for (const c of store.listContainers()) store.removeContainer(c.id);
    assert.deepEqual(containerProblems(store.root), []);
    assert.deepEqual(storeProblems(store.root, { idle: true }), []);
  });

  test('updateContainer patches fields and compare-and-sets the state', async () => {
    const { store, image } = await storeWithImage();
    const id = containerIdFor('cas');
    store.createContainer({ id, name: 'cas', imageId: image.id, config: { v: 1 } });
    const started = new Date().toISOString();
    const running = store.updateContainer(
      'cas',
      { state: 'running', pid: 1234, conmonPid: 1233, startedAt: started, config: { v: 2 } },
      { expectState: ['created', 'exited'] },
    );
    assert.deepEqual(
      [running.state, running.pid, running.conmonPid, running.startedAt, running.config],
      ['running', 1234, 1233, started, { v: 2 }],
    );

    // a second store handle (another berth process) loses the same transition
    const other = Store.open(store.root);
    try {
      assert.throws(
        () => other.updateContainer(id, { state: 'running' }, { expectState: ['created', 'exited'] }),
        (err: unknown) => hasCode(err, 'CONFLICT') && /is running, not created or exited/.test(err.message),
      );
      const exited = other.updateContainer(
        id,
        { state: 'exited', pid: null, exitCode: 137, finishedAt: started, restartCount: 2 },
        { expectState: ['running'] },
      );
      assert.deepEqual(
        [exited.state, exited.pid, exited.exitCode, exited.restartCount],
        ['exited', null, 137, 2],
      );
    } finally {
      other.close();
    }
    assert.equal(store.getContainer(id)?.state, 'exited');
    // without expectState a legal move applies; bad values are refused before anything changes
    assert.equal(store.updateContainer(id, { state: 'removing' }).state, 'removing');
    assert.throws(
      () => store.updateContainer(id, { state: 'x' as ContainerState }),
      code('INVALID_ARGUMENT'),
    );
    assert.throws(() => store.updateContainer(id, { pid: 1.5 }), code('INVALID_ARGUMENT'));
    assert.throws(() => store.updateContainer(id, { restartCount: -1 }), code('INVALID_ARGUMENT'));
    assert.throws(() => store.updateContainer('nope', { state: 'exited' }), code('NOT_FOUND'));
    assert.equal(store.getContainer(id)?.pid, null);
  });

  test('the compare-and-set follows the one transition table: an illegal move changes nothing', async () => {
    const { store, image } = await storeWithImage();
    const id = containerIdFor('machine');
    store.createContainer({ id, name: 'machine', imageId: image.id, config: { v: 1 } });
    const illegal = (from: ContainerState, to: ContainerState) => (err: unknown) =>
      err instanceof IllegalTransitionError &&
      hasCode(err, 'CONFLICT') &&
      err.from === from &&
      err.to === to &&
      !canTransition(from, to);
    // created → paused is not in the table: refused inside the transaction, no field applied
    assert.throws(
      () => store.updateContainer(id, { state: 'paused', pid: 42, config: { v: 2 } }),
      illegal('created', 'paused'),
    );
    let rec = store.getContainer(id)!;
    assert.deepEqual([rec.state, rec.pid, rec.config], ['created', null, { v: 1 }]);
    // a legal move passes, with or without expectState
    rec = store.updateContainer(id, { state: 'running', pid: 42 });
    assert.deepEqual([rec.state, rec.pid], ['running', 42]);
    // the same move twice is not a move: the second caller lost the race
    assert.throws(
      () => store.updateContainer(id, { state: 'running', pid: 43 }),
      illegal('running', 'running'),
    );
    assert.equal(store.getContainer(id)!.pid, 42);
    rec = store.updateContainer(id, { state: 'paused' }, { expectState: ['running'] });
    assert.equal(rec.state, 'paused');
    // a patch without a state is not a move and always applies
    assert.equal(store.updateContainer(id, { restartCount: 1 }).restartCount, 1);
    store.updateContainer(id, { state: 'removing' });
    for (const to of ['created', 'running', 'paused', 'exited'] as const) {
      assert.throws(() => store.updateContainer(id, { state: to }), illegal('removing', to));
    }
    assert.equal(store.getContainer(id)!.state, 'removing');
  });
});

describe('images used by containers', () => {
  test('removeImage refuses, force untags and keeps the image dangling; gc keeps its layers', async () => {
    const { store, image } = await storeWithImage([BUSYBOX, 'docker.io/library/busybox:1']);
    const id = containerIdFor('user');
    store.createContainer({ id, name: 'user', imageId: image.id, config: {} });
    const inUse = (err: unknown) =>
      hasCode(err, 'CONFLICT') && err.message.includes(`image is being used by container ${id.slice(0, 12)}`);

    // one of two names can go: the image keeps the other
    assert.deepEqual(store.removeImage('docker.io/library/busybox:1'), {
      untagged: ['docker.io/library/busybox:1'],
      deleted: [],
    });
    assert.throws(() => store.removeImage(BUSYBOX), inUse);
    assert.throws(() => store.removeImage(image.id), inUse);
    store.updateContainer(id, { state: 'running' });
    assert.throws(
      () => store.removeImage(image.id, { force: true }),
      (err: unknown) => hasCode(err, 'CONFLICT') && /used by running container/.test(err.message),
    );
    store.updateContainer(id, { state: 'exited' });
    assert.deepEqual(store.removeImage(image.id, { force: true }), { untagged: [BUSYBOX], deleted: [] });
    assert.deepEqual(
      store.listImages({ dangling: true }).map((i) => i.id),
      [image.id],
    );

    await store.gc({ graceMs: 0 });
    assert.ok(store.getLayer(image.layers[0]!));
    assert.ok(store.hasBlob(image.id));
    assert.ok(existsSync(join(store.root, store.layerShortLink(image.layers[0]!))));
    assert.equal(store.diskUsage().images.reclaimable, 0);

    store.removeContainer(id);
    assert.deepEqual(store.removeImage(image.id), { untagged: [], deleted: [image.id] });
    assert.equal((await store.gc({ graceMs: 0 })).layers, 1);
    assert.deepEqual(storeProblems(store.root, { idle: true }), []);
  });

  test('gc keeps the layers a container rootfs was mounted from, even ones no image lists', async () => {
    const { store, image } = await storeWithImage();
    const loose = await putFileLayer(store, 'loose', { 'loose.txt': 'loose\n' });
    const id = containerIdFor('gc');
    store.createContainer({ id, name: 'gc', imageId: image.id, config: {} });
    const merged = store.mountContainerRootfs(id, [...image.layers, loose]);
    try {
      assert.deepEqual(store.getContainer(id)?.layers, [...image.layers, loose]);
      assert.deepEqual(await store.gc({ graceMs: 0 }), { blobs: 0, layers: 0, bytes: 0 });
      assert.ok(store.getLayer(loose));
      assert.ok(existsSync(join(store.root, store.layerShortLink(loose))));
      assert.equal(readFileSync(join(merged, 'loose.txt'), 'utf8'), 'loose\n');
      // still kept while unmounted: the upper dir was made on top of it
      store.unmountContainerRootfs(id);
      assert.equal((await store.gc({ graceMs: 0 })).layers, 0);
    } finally {
      store.unmountContainerRootfs(id);
    }
    store.removeContainer(id);
    assert.equal((await store.gc({ graceMs: 0 })).layers, 1);
    assert.equal(store.getLayer(loose), undefined);
    assert.deepEqual(storeProblems(store.root, { idle: true }), []);
  });
});

describe('rootfs mounts', () => {
  test('a 64-layer image mounts within one page of options, with shadowing and whiteouts', async (t) => {
    const store = await freshStore();
    const layers = Array.from({ length: 64 }, (_, i) => {
      const files: Record<string, string | typeof WHITEOUT> = { [`f${i}`]: `${i}\n`, shared: `layer ${i}\n` };
      if (i === 0) files.doomed = 'base\n';
      if (i === 40) files.doomed = WHITEOUT;
      if (i === 50) files['dir/deep'] = 'deep\n';
      return files;
    });
    const image = await putFileImage(store, {
      seed: 'deep',
      layers,
      names: ['docker.io/library/deep:latest'],
    });
    assert.equal(image.layers.length, 64);
    const id = containerIdFor('deep');
    store.createContainer({ id, name: 'deep', imageId: image.id, config: {} });
    const cwd = process.cwd();
    const merged = store.mountContainerRootfs(id, image.layers);
    t.after(() => store.unmountContainerRootfs(id));
    assert.equal(process.cwd(), cwd);
    assert.equal(merged, join(store.containerDir(id), 'merged'));
    assert.ok(store.isMounted(id));
    assert.ok(store.isMounted('deep'));

    const mine = readMountInfo().filter((m) => m.mountPoint === merged);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.fsType, 'overlay');
    const data = mine[0]!.superOptions;
    assert.ok(data.length < MOUNT_DATA_LIMIT, `${data.length} bytes of options`);
    const lowerdir = /lowerdir=([^,]+)/.exec(data)![1]!.split(':');
    assert.equal(lowerdir.length, 64);
    assert.equal(lowerdir[0], store.layerShortLink(image.layers[63]!), 'top layer first');
    assert.equal(lowerdir[63], store.layerShortLink(image.layers[0]!));
    // the same mount with absolute layer paths would not fit: the relative links are what makes it work
    const absolute = image.layers.map((l) => store.layerDiffPath(l)).join(':');
    assert.ok(absolute.length > MOUNT_DATA_LIMIT, `${absolute.length}`);

    for (let i = 0; i < 64; i++) assert.equal(readFileSync(join(merged, `f${i}`), 'utf8'), `${i}\n`);
    assert.equal(readFileSync(join(merged, 'shared'), 'utf8'), 'layer 63\n');
    assert.equal(readFileSync(join(merged, 'dir/deep'), 'utf8'), 'deep\n');
    assert.ok(!existsSync(join(merged, 'doomed')), 'the whiteout in layer 40 hides the base file');
    assert.ok(!readdirSync(merged).includes('doomed'));

    // idempotent: the same path, still one mount
    assert.equal(store.mountContainerRootfs('deep', image.layers), merged);
    assert.equal(readMountInfo().filter((m) => m.mountPoint === merged).length, 1);
    assert.throws(() => store.mountContainerRootfs(id, image.layers, { readOnly: true }), code('CONFLICT'));

    // writes land in the container's upper dir and survive a remount
    writeFileSync(join(merged, 'written'), 'by the container\n');
    store.unmountContainerRootfs(id);
    assert.ok(!store.isMounted(id));
    assert.equal(
      readFileSync(join(store.containerDir(id), 'upper', 'written'), 'utf8'),
      'by the container\n',
    );
    store.unmountContainerRootfs(id); // nothing mounted: fine
    store.mountContainerRootfs(id, image.layers);
    assert.equal(readFileSync(join(merged, 'written'), 'utf8'), 'by the container\n');

    // removing the container unmounts it first
    store.removeContainer(id);
    assert.deepEqual(mountsUnder(store.root), []);
    assert.ok(!existsSync(store.containerDir(id)));
    assert.deepEqual(containerProblems(store.root), []);
  });

  test('a single-layer image mounts read-only', async (t) => {
    const { store, image } = await storeWithImage();
    assert.equal(image.layers.length, 1);
    const id = containerIdFor('ro');
    store.createContainer({ id, name: 'ro', imageId: image.id, config: {} });
    const merged = store.mountContainerRootfs(id, image.layers, { readOnly: true });
    t.after(() => store.unmountContainerRootfs(id));
    assert.equal(readFileSync(join(merged, 'etc/os-release'), 'utf8'), 'base\n');
    assert.throws(
      () => writeFileSync(join(merged, 'nope'), 'x'),
      (err: unknown) => errnoCode(err) === 'EROFS',
    );
    assert.ok(
      readMountInfo()
        .find((m) => m.mountPoint === merged)!
        .options.includes('ro'),
    );
    assert.equal(store.mountContainerRootfs(id, image.layers, { readOnly: true }), merged);
    store.unmountContainerRootfs(id);
    // read-write now, on the same upper dir
    store.mountContainerRootfs(id, image.layers);
    writeFileSync(join(merged, 'yes'), 'x');
    store.unmountContainerRootfs(id);
  });

  test('an image without layers mounts over an empty lower dir', async (t) => {
    const store = await freshStore();
    const image = await putFileImage(store, { seed: 'scratch', layers: [] });
    const id = containerIdFor('scratch');
    store.createContainer({ id, name: 'scratch', imageId: image.id, config: {} });
    const merged = store.mountContainerRootfs(id, []);
    t.after(() => store.unmountContainerRootfs(id));
    assert.deepEqual(readdirSync(merged), []);
    writeFileSync(join(merged, 'copied-in'), 'x');
    store.removeContainer(id);
    assert.deepEqual(containerProblems(store.root), []);
  });

  test('mounting refuses unknown layers and containers', async () => {
    const { store, image } = await storeWithImage();
    const id = containerIdFor('bad');
    store.createContainer({ id, name: 'bad', imageId: image.id, config: {} });
    assert.throws(
      () => store.mountContainerRootfs(id, [...image.layers, `sha256:${'f'.repeat(64)}` as Digest]),
      code('NOT_FOUND'),
    );
    assert.deepEqual(store.getContainer(id)?.layers, []);
    assert.throws(() => store.mountContainerRootfs(containerIdFor('ghost'), image.layers), code('NOT_FOUND'));
    assert.ok(!store.isMounted(id));
  });
});

describe('volumes', () => {
  test('create, get, list, use, refuse removal in use, remove, prune', async () => {
    const { store, image } = await storeWithImage();
    const data = store.createVolume('data', { labels: { app: 'db' } });
    assert.equal(data.path, join(store.root, 'volumes', 'data', '_data'));
    assert.equal(store.volumePath('data'), data.path);
    assert.equal(statSync(data.path).mode & 0o777, 0o755);
    assert.deepEqual(data.labels, { app: 'db' });
    // an existing name returns the existing volume, as docker does
    assert.deepEqual(store.createVolume('data', { labels: { other: 'x' } }), data);
    const anon = store.createVolume();
    assert.match(anon.name, /^[a-f0-9]{64}$/);
    for (const bad of ['a', '-x', 'a/b', '.hidden', 'with space']) {
      assert.throws(() => store.createVolume(bad), code('INVALID_ARGUMENT'), bad);
    }
    assert.deepEqual(
      store.listVolumes().map((v) => v.name),
      [anon.name, 'data'].sort(),
    );
    assert.equal(store.getVolume('nope'), undefined);

    const id = containerIdFor('vol');
    const rec = store.createContainer({
      id,
      name: 'vol',
      imageId: image.id,
      config: {},
      volumes: ['data', 'auto', 'data'],
    });
    assert.deepEqual(rec.volumes, ['auto', 'data']);
    assert.ok(existsSync(store.volumePath('auto')), 'a missing volume is created with the container');
    assert.deepEqual(store.getVolume('data')?.usedBy, [id]);
    writeFileSync(join(data.path, 'db'), 'x'.repeat(1000));
    writeFileSync(join(store.volumePath(anon.name), 'junk'), 'y'.repeat(300));

    const inUse = (err: unknown) =>
      hasCode(err, 'CONFLICT') && err.message.includes(`volume is in use - [${id}]`);
    assert.throws(() => store.removeVolume('data'), inUse);
    assert.throws(() => store.removeVolume('data', { force: true }), inUse);
    assert.throws(() => store.removeVolume('missing'), code('NOT_FOUND'));
    store.removeVolume('missing', { force: true });

    const du = store.diskUsage();
    const { items, ...volumeTotals } = du.volumes;
    assert.deepEqual(volumeTotals, { count: 3, size: 1300, reclaimable: 300 });
    assert.deepEqual(
      items.sort((x, y) => x.name.localeCompare(y.name)),
      [
        { name: anon.name, size: 300, refCount: 0 },
        { name: 'auto', size: 0, refCount: 1 },
        { name: 'data', size: 1000, refCount: 1 },
      ].sort((x, y) => x.name.localeCompare(y.name)),
    );

    assert.deepEqual(store.pruneVolumes(), { names: [anon.name], bytes: 300 });
    assert.ok(!existsSync(join(store.root, 'volumes', anon.name)));
    assert.deepEqual(store.pruneVolumes(), { names: [], bytes: 0 });

    store.removeContainer(id);
    assert.deepEqual(store.getVolume('data')?.usedBy, []);
    store.removeVolume('auto');
    assert.ok(!existsSync(join(store.root, 'volumes', 'auto')));
    // a filter keeps what it rejects
    assert.deepEqual(store.pruneVolumes({ filter: (v) => v.labels.app !== 'db' }), { names: [], bytes: 0 });
    assert.deepEqual(store.pruneVolumes(), { names: ['data'], bytes: 1000 });
    assert.deepEqual(store.listVolumes(), []);
    assert.deepEqual(containerProblems(store.root), []);
  });
});

describe('disk usage and debris', () => {
  test('diskUsage counts containers, their upper dirs and what is reclaimable', async (t) => {
    const { store, image } = await storeWithImage();
    const unused = await putFileImage(store, {
      seed: 'unused',
      layers: [{ big: 'z'.repeat(500) }],
      names: ['docker.io/library/unused:1'],
    });
    const a = containerIdFor('du-a');
    const b = containerIdFor('du-b');
    store.createContainer({ id: a, name: 'du-a', imageId: image.id, config: {} });
    store.createContainer({ id: b, name: 'du-b', imageId: image.id, config: {} });
    for (const [id, bytes] of [
      [a, 100],
      [b, 40],
    ] as const) {
      const merged = store.mountContainerRootfs(id, image.layers);
      t.after(() => store.unmountContainerRootfs(id));
      writeFileSync(join(merged, 'out'), 'o'.repeat(bytes));
    }
    store.updateContainer(a, { state: 'running' });
    const du = store.diskUsage();
    const { items, ...containerTotals } = du.containers;
    assert.deepEqual(containerTotals, { count: 2, size: 140, reclaimable: 40 });
    // per container: what it wrote, and that plus its image's layers
    assert.deepEqual(
      items.sort((x, y) => y.sizeRw - x.sizeRw),
      [
        { id: a, sizeRw: 100, sizeRootFs: 100 + image.size },
        { id: b, sizeRw: 40, sizeRootFs: 40 + image.size },
      ],
    );
    assert.equal(du.images.count, 2);
    assert.equal(du.images.reclaimable, unused.size);
    assert.equal(du.images.size, unused.size + image.size);
  });

  test('gc removes container and empty volume dirs no record owns', async () => {
    const store = await freshStore();
    // what a crash inside createContainer / createVolume transactions leaves
    const debris = join(store.root, 'containers', containerIdFor('crashed'));
    for (const sub of ['upper', 'work', 'userdata']) mkdirSync(join(debris, sub), { recursive: true });
    const emptyVol = join(store.root, 'volumes', 'empty', '_data');
    const fullVol = join(store.root, 'volumes', 'full', '_data');
    for (const d of [emptyVol, fullVol]) mkdirSync(d, { recursive: true });
    writeFileSync(join(fullVol, 'keep'), 'user data');
    await store.gc({ graceMs: 0 });
    assert.ok(!existsSync(debris));
    assert.ok(!existsSync(join(store.root, 'volumes', 'empty')));
    assert.ok(existsSync(join(fullVol, 'keep')), 'a volume with content is never guessed to be debris');
    assert.deepEqual(readdirSync(join(store.root, 'tmp')), []);
  });
});

describe('layout', () => {
  test('every entry a used store holds is listed in the one layout comment (_layout.ts)', async (t) => {
    const source = fileURLToPath(new URL('../../../src/store/_layout.ts', import.meta.url));
    if (!existsSync(source)) return t.skip(`the source ${source} is not next to the build`);
    const listed = readFileSync(source, 'utf8')
      .split('\n')
      .map((l) => /^ \* {3}(\S+)/.exec(l)?.[1])
      .filter((p): p is string => p !== undefined);
    const { store, image } = await storeWithImage();
    const id = containerIdFor('layout');
    store.createContainer({ id, name: 'layout', imageId: image.id, config: {}, volumes: ['data'] });
    store.mountContainerRootfs(id, image.layers);
    await store.withLease(async (lease) => lease.addBlob(image.id));
    await store.gc();
    store.unmountContainerRootfs(id);
    // a path's pattern as the comment writes it (<id>, <hex>… stand for one name), and those of
    // the dirs above it: a listed path lists its parents too
    const known = listed.flatMap((p) =>
      p.split('/').map((_, i, parts) => {
        const prefix = parts.slice(0, i + 1).join('/');
        const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\*/g, '.*');
        return new RegExp(`^${escaped.replace(/<[a-zA-Z]+>/g, '[^/]+')}$`);
      }),
    );
    const unlisted: string[] = [];
    const walk = (rel: string, depth: number) => {
      for (const name of readdirSync(join(store.root, rel))) {
        const path = rel ? `${rel}/${name}` : name;
        if (!known.some((re) => re.test(path))) unlisted.push(path);
        if (depth > 1 && lstatSync(join(store.root, path)).isDirectory()) walk(path, depth - 1);
      }
    };
    walk('', 3);
    assert.deepEqual(unlisted, []);
  });
});
