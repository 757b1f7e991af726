// A child process for the store's multi-process tests (run from build/):
//   node store-child.js churn <root> <seed> <iterations>   pull/remove/gc the same images in a loop
//   node store-child.js open <root>          open (creating) the store and close it
//   node store-child.js ingest-hang <root> <seed> <size> <written>
//        begin an ingest, write <written> bytes, print "ready", then wait to be killed
import { hasCode } from '../../src/errors/index.js';
import { sha256Digest } from '../../src/oci/index.js';
import { Store } from '../../src/store/index.js';
import { imageBlobs, putImage, seededBytes } from './store-fixtures.js';

/** Two images sharing a base layer, and a third with a repeated layer slot. */
export const CHURN_IMAGES = [
  {
    seed: 'img-a',
    layers: ['base', 'a1', 'a2'],
    names: ['docker.io/library/a:latest', 'docker.io/library/shared:latest'],
  },
  {
    seed: 'img-b',
    layers: ['base', 'b1'],
    names: ['docker.io/library/b:latest', 'docker.io/library/shared:latest'],
  },
  { seed: 'img-c', layers: ['c1', 'base', 'c1'], names: ['docker.io/library/c:latest'] },
];

async function churn(root: string, seed: string, iterations: number): Promise<void> {
  const store = Store.open(root);
  let state = Number.parseInt(sha256Digest(seed).slice(7, 15), 16);
  const next = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 16) % n;
  };
  try {
    for (let i = 0; i < iterations; i++) {
      const img = CHURN_IMAGES[next(CHURN_IMAGES.length)]!;
      const id = sha256Digest(imageBlobs(img.seed, img.layers).config);
      const op = next(6);
      try {
        if (op <= 1) await putImage(store, img);
        else if (op === 2) store.removeImage(img.names[0]!, { force: true });
        else if (op === 3) store.removeImage(id);
        else if (op === 4) store.tagImage(id, 'docker.io/library/moving:latest');
        else await store.gc({ graceMs: 0 });
      } catch (err) {
        // another process removed it first, or it has several names: both are expected here
        // (a pull must never fail: its lease keeps gc away from what it found)
        if (op <= 1 || !hasCode(err, 'NOT_FOUND', 'CONFLICT')) throw err;
      }
    }
  } finally {
    store.close();
  }
}

async function ingestHang(root: string, seed: string, size: number, written: number): Promise<void> {
  const store = Store.open(root);
  const bytes = seededBytes(seed, size);
  const ingest = await store.beginIngest({ digest: sha256Digest(bytes), size });
  ingest.write(bytes.subarray(0, written));
  process.stdout.write('ready\n');
  setInterval(() => {}, 1000);
}

const [mode, root, seed, a, b] = process.argv.slice(2);
try {
  if (mode === 'churn') await churn(root!, seed!, Number(a));
  else if (mode === 'open') Store.open(root!).close();
  else if (mode === 'ingest-hang') await ingestHang(root!, seed!, Number(a), Number(b));
  else throw new Error(`unknown mode ${mode}`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
