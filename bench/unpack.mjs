// Times unpackLayer on a compressed layer: `node bench/unpack.mjs [layer.tar.gz] [runs]`.
// Build first (`node scripts/build.mjs`). Compare with the floor of the same work by GNU tools:
//   time (gzip -dc layer.tar.gz | tar -x -C /tmp/somewhere)
// BENCH_TMP picks the parent of the destination dirs (e.g. a tmpfs, to take the disk out).
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// BERTH_BUILD points at another transpiled tree (default: this checkout's build/).
const buildDir = process.env.BERTH_BUILD ?? new URL('../build', import.meta.url).pathname;
const { unpackLayer } = await import(join(buildDir, 'src/archive/index.js'));

const file = process.argv[2] ?? '/tmp/debian-rootfs.tar.gz';
const runs = Number(process.argv[3] ?? 5);
const times = [];
for (let i = 0; i < runs; i++) {
  const dest = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'berth-bench-'));
  const t0 = performance.now();
  const r = await unpackLayer(createReadStream(file, { highWaterMark: 1024 * 1024 }), dest);
  const ms = performance.now() - t0;
  times.push(ms);
  console.log(
    `run ${i + 1}: ${ms.toFixed(0)} ms  entries=${r.entries} tar=${(r.size / 1e6).toFixed(1)} MB files=${(r.unpackedBytes / 1e6).toFixed(1)} MB ${r.diffId.slice(0, 19)}`,
  );
  rmSync(dest, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
console.log(
  `median ${times[Math.floor(times.length / 2)].toFixed(0)} ms, best ${times[0].toFixed(0)} ms over ${runs} runs`,
);
