// Several berth processes sharing one store root race on container names, state transitions
// and rootfs mounts; the database's write lock must keep names unique and rows, dirs and mounts
// in step at every moment.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  containerIdFor,
  containerProblems,
  containerSnapshotProblems,
  freshRoots,
  mountsUnder,
  putFileImage,
} from '../../test/helpers/store-containers.js';
import { storeProblems } from '../../test/helpers/store-fixtures.js';
import { Store } from './index.js';

const CHILD = fileURLToPath(new URL('../../test/helpers/store-container-child.js', import.meta.url));

const freshRoot = freshRoots('berth-store-ctr-mp-');

interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function child(args: string[]): Child {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  proc.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exit = once(proc, 'exit').then(([code]) => code as number | null);
  return { proc, stdout: () => out, stderr: () => err, exit };
}

test('concurrent compare-and-set: exactly one process wins created → running', async () => {
  const root = await freshRoot();
  const store = Store.open(root);
  try {
    const image = await putFileImage(store, { seed: 'cas', layers: [{ f: 'x' }] });
    const id = containerIdFor('cas');
    store.createContainer({ id, name: 'cas', imageId: image.id, config: {} });
    const children = Array.from({ length: 6 }, () => child(['cas', root, id]));
    for (const c of children) assert.equal(await c.exit, 0, c.stderr());
    const winners = children.filter((c) => c.stdout() === 'won\n');
    assert.equal(winners.length, 1, children.map((c) => c.stdout()).join(''));
    assert.equal(children.filter((c) => c.stdout() === 'lost\n').length, 5);
    const rec = store.getContainer(id)!;
    assert.equal(rec.state, 'running');
    assert.equal(rec.pid, winners[0]!.proc.pid);
  } finally {
    store.close();
  }
});

test('racing state changes with no expectState: the transition check alone lets exactly one win', async () => {
  const root = await freshRoot();
  const store = Store.open(root);
  try {
    const image = await putFileImage(store, { seed: 'move', layers: [{ f: 'x' }] });
    const id = containerIdFor('move');
    store.createContainer({ id, name: 'move', imageId: image.id, config: {} });
    // created → running: every child makes the same legal move; after the first, running → running is not one
    let children = Array.from({ length: 6 }, () => child(['move', root, id, 'running']));
    for (const c of children) assert.equal(await c.exit, 0, c.stderr());
    let winners = children.filter((c) => c.stdout() === 'won\n');
    assert.equal(winners.length, 1, children.map((c) => c.stdout()).join(''));
    assert.equal(children.filter((c) => c.stdout() === 'illegal\n').length, 5);
    assert.deepEqual(
      [store.getContainer(id)!.state, store.getContainer(id)!.pid],
      ['running', winners[0]!.proc.pid],
    );
    // running → paused against running → exited: both legal from running, but whichever lands
    // second starts from the other's state; paused → exited is legal, exited → paused is not
    children = [
      ...Array.from({ length: 3 }, () => child(['move', root, id, 'exited'])),
      ...Array.from({ length: 3 }, () => child(['move', root, id, 'paused'])),
    ];
    for (const c of children) assert.equal(await c.exit, 0, c.stderr());
    winners = children.filter((c) => c.stdout() === 'won\n');
    const rec = store.getContainer(id)!;
    assert.equal(rec.state, 'exited');
    // exactly one exited move won; a paused move won only if it landed before it
    assert.equal(winners.filter((c) => c.proc.spawnargs.at(-1) === 'exited').length, 1);
    assert.ok(winners.filter((c) => c.proc.spawnargs.at(-1) === 'paused').length <= 1);
    assert.equal(rec.pid, winners.find((c) => c.proc.spawnargs.at(-1) === 'exited')!.proc.pid);
  } finally {
    store.close();
  }
});

test('processes creating and removing containers under shared names keep one per name and no debris', async () => {
  const root = await freshRoot();
  const store = Store.open(root);
  try {
    const image = await putFileImage(store, {
      seed: 'names',
      layers: [{ a: '1' }, { b: '2' }],
      names: ['docker.io/library/n:latest'],
    });
    const children = ['p1', 'p2', 'p3', 'p4', 'p5'].map((seed) =>
      child(['names', root, image.id, seed, '40', '3']),
    );
    let running = true;
    const done = Promise.all(children.map((c) => c.exit)).finally(() => {
      running = false;
    });
    // while they race, every locked snapshot must be consistent
    let snapshots = 0;
    while (running) {
      assert.deepEqual(containerSnapshotProblems(root), []);
      snapshots++;
      await sleep(5);
    }
    await done;
    for (const c of children) assert.equal(await c.exit, 0, c.stderr());
    assert.ok(snapshots > 0);
    const tally = { created: 0, mounted: 0, removed: 0, stolen: 0, nameTaken: 0 };
    for (const c of children) {
      const t = JSON.parse(c.stdout()) as typeof tally;
      for (const k of Object.keys(tally) as (keyof typeof tally)[]) tally[k] += t[k];
    }
    // every container made was removed exactly once (by its owner or another process) or is left
    const left = store.listContainers();
    assert.equal(tally.removed + tally.stolen + left.length, tally.created, JSON.stringify(tally));
    assert.ok(tally.stolen > 0 && tally.mounted > 0 && tally.nameTaken > 0, JSON.stringify(tally));
    assert.ok(left.length <= 3);
    for (const c of left) store.removeContainer(c.id);

    assert.deepEqual(store.listContainers(), []);
    assert.deepEqual(mountsUnder(root), []);
    assert.deepEqual(readdirSync(join(root, 'containers')), []);
    // the volumes the containers used stay until pruned
    const pruned = store.pruneVolumes().names;
    assert.ok(pruned.length > 0 && pruned.every((v) => /^vol-shared-[0-2]$/.test(v)), pruned.join());
    assert.deepEqual(store.listVolumes(), []);
    assert.deepEqual(containerProblems(root), []);
    assert.deepEqual(storeProblems(root, { idle: true }), []);
    // the image was in use the whole time and is still whole
    assert.equal(store.resolveImage('docker.io/library/n:latest').id, image.id);
  } finally {
    store.close();
  }
});
