import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { containerRlimits, hostRlimits, readHostLimits } from './rlimits.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max stack size            8388608              unlimited            bytes
Max core file size        0                    unlimited            bytes
Max processes             96365                96365                processes
Max open files            1024                 20000                files
Max locked memory         8388608              8388608              bytes
Max nice priority         0                    0
`;

test('/proc/self/limits is parsed by --ulimit name', () => {
  const fixture = join(tmpdir(), `berth-limits-${process.pid}`);
  writeFileSync(fixture, LIMITS);
  const l = readHostLimits(fixture);
  rmSync(fixture);
  assert.deepEqual(l.nofile, { soft: 1024, hard: 20000 });
  assert.deepEqual(l.nproc, { soft: 96365, hard: 96365 });
  assert.deepEqual(l.cpu, { soft: Number.POSITIVE_INFINITY, hard: Number.POSITIVE_INFINITY });
  assert.deepEqual(l.stack, { soft: 8388608, hard: Number.POSITIVE_INFINITY });
  assert.deepEqual(l.nice, { soft: 0, hard: 0 });
  assert.equal(l.rttime, undefined);
  assert.deepEqual(readHostLimits('/nonexistent/limits'), {});
});

test("hostRlimits reports this process's nofile and nproc capped at pid_max", () => {
  const h = hostRlimits();
  const own = readHostLimits();
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  assert.equal(h.nofile.hard, Number.isFinite(own.nofile!.hard) ? own.nofile!.hard : Number.MAX_SAFE_INTEGER);
  assert.ok(h.nofile.soft <= h.nofile.hard);
  assert.equal(h.nproc.hard, Math.min(own.nproc!.hard, pidMax));
  assert.ok(h.nproc.soft <= h.nproc.hard);
});

test('containerRlimits never exceeds the host hard limit it is given', () => {
  const host = { nofile: { soft: 1024, hard: 20000 } };
  assert.deepEqual(containerRlimits([], host), [{ type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 }]);
  assert.deepEqual(containerRlimits([], { nofile: { soft: 1, hard: 1 << 30 } }), [
    { type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 },
  ]);
  assert.throws(
    () => containerRlimits([{ name: 'nofile', soft: 20001, hard: 20001 }], host),
    /host's hard limit 20000/,
  );
  assert.deepEqual(containerRlimits([{ name: 'nofile', soft: 20000, hard: 20000 }], host), [
    { type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 },
  ]);
});
