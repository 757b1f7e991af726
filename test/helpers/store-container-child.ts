// A child process for the store's multi-process container tests (run from build/):
//   node store-container-child.js cas <root> <containerId>
//        try the created → running transition once; print "won" or "lost"
//   node store-container-child.js move <root> <containerId> <state>
//        try one move to <state> with no expectState, so only the store's transition check
//        decides; print "won", or "illegal" when it refused the move
//   node store-container-child.js names <root> <image> <seed> <iterations> <names>
//        create, mount, start and remove containers under a few shared names, and remove other
//        processes' containers, racing every other child doing the same; prints its tally as JSON
import { randomBytes } from 'node:crypto';
import { hasCode } from '../../src/errors/index.js';
import { type Digest, IllegalTransitionError, isContainerState, sha256Digest } from '../../src/oci/index.js';
import { Store } from '../../src/store/index.js';

function cas(root: string, id: string): void {
  const store = Store.open(root);
  try {
    store.updateContainer(id, { state: 'running', pid: process.pid }, { expectState: ['created'] });
    process.stdout.write('won\n');
  } catch (err) {
    if (!hasCode(err, 'CONFLICT')) throw err;
    process.stdout.write('lost\n');
  } finally {
    store.close();
  }
}

function move(root: string, id: string, state: string): void {
  if (!isContainerState(state)) throw new Error(`not a container state: ${state}`);
  const store = Store.open(root);
  try {
    store.updateContainer(id, { state, pid: process.pid });
    process.stdout.write('won\n');
  } catch (err) {
    if (!(err instanceof IllegalTransitionError)) throw err;
    process.stdout.write('illegal\n');
  } finally {
    store.close();
  }
}

/** Errors that only mean another process got there first. */
const lostRace = (err: unknown) => hasCode(err, 'CONFLICT', 'NOT_FOUND');

function names(root: string, image: string, seed: string, iterations: number, count: number): void {
  const store = Store.open(root);
  const layers = store.resolveImage(image).layers;
  let state = Number.parseInt(sha256Digest(seed).slice(7, 15), 16);
  const next = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 16) % n;
  };
  const tally = { created: 0, mounted: 0, removed: 0, stolen: 0, nameTaken: 0 };
  try {
    for (let i = 0; i < iterations; i++) {
      // `ps` while others create and remove: whole records, one per name
      const listed = store.listContainers();
      if (new Set(listed.map((c) => c.name)).size !== listed.length) {
        throw new Error(`two containers share a name: ${listed.map((c) => c.name).join(', ')}`);
      }
      const name = `shared-${next(count)}`;
      if (next(3) === 0) {
        // remove whoever holds the name: only the process that wins 'removing' may delete it
        let victim: string | undefined;
        try {
          victim = store.getContainer(name)?.id;
          if (victim === undefined) continue;
          store.updateContainer(victim, { state: 'removing' }, { expectState: ['created', 'running'] });
        } catch (err) {
          if (lostRace(err)) continue;
          throw err;
        }
        store.removeContainer(victim);
        tally.stolen++;
        continue;
      }
      const id = randomBytes(32).toString('hex');
      try {
        store.createContainer({
          id,
          name,
          imageId: image as Digest,
          config: { seed, i },
          volumes: [`vol-${name}`],
        });
      } catch (err) {
        if (!hasCode(err, 'CONFLICT')) throw err;
        tally.nameTaken++;
        continue;
      }
      tally.created++;
      try {
        if (next(2) === 0) {
          store.mountContainerRootfs(id, layers);
          tally.mounted++;
        }
        store.updateContainer(id, { state: 'running', pid: process.pid }, { expectState: ['created'] });
        // half of them stay for others to trip over (and remove)
        if (next(2) === 0) continue;
        store.updateContainer(id, { state: 'removing' }, { expectState: ['running'] });
      } catch (err) {
        // another process claimed our container for removal
        if (lostRace(err)) continue;
        throw err;
      }
      store.removeContainer(id);
      tally.removed++;
    }
    process.stdout.write(`${JSON.stringify(tally)}\n`);
  } finally {
    store.close();
  }
}

const [mode, root, a, b, c, d] = process.argv.slice(2);
try {
  if (mode === 'cas') cas(root!, a!);
  else if (mode === 'move') move(root!, a!, b!);
  else if (mode === 'names') names(root!, a!, b!, Number(c), Number(d));
  else throw new Error(`unknown mode ${mode}`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
