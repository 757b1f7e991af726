// What a build leaves when it cannot finish. A failing stage stops its running siblings (their
// containers go, secrets go after the last user stopped); after kill -9 of a build, `system
// prune` or the next build sweeps its containers, secret dirs and temp dirs, and leaves a build
// that is still running in another process alone. Real runc, conmon and overlayfs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Berth } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { missing, requireOrSkip } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const work = mkdtempSync(join(tmpdir(), 'berth-build-cleanup-'));
const b = new Berth();
const BASE = 'local/bb:base';
const secretFile = join(work, 'token.txt');

/** Why these tests cannot run here, if they cannot. */
const needs = (): string | undefined => missing({ root: true, commands: ['runc', 'conmon'] });

/** Under CI a missing prerequisite fails the test; elsewhere it is skipped with the reason. */
function skipIfMissing(t: { skip: (reason: string) => void }): boolean {
  const why = needs();
  return !requireOrSkip(t, why ?? '', why === undefined);
}

before(async () => {
  if (needs()) return;
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  const tar = join(work, 'rootfs.tar');
  spawnSync('tar', ['--numeric-owner', '-C', bundle.rootfs, '-cf', tar, '.'], { stdio: 'inherit' });
  await b.ok(['import', '--change', 'CMD ["sh"]', tar, BASE]);
  writeFileSync(secretFile, 'build-secret-value');
});

after(async () => {
  if (existsSync(b.root)) {
    const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
    if (ids.length) await b.run(['rm', '-f', ...ids]);
  }
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

function context(name: string, dockerfile: string): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

/** The marker file a RUN container wrote in its upper dir, once it exists. */
function markerIn(name: string): string | undefined {
  const containers = join(b.root, 'containers');
  if (!existsSync(containers)) return undefined;
  for (const id of readdirSync(containers)) {
    const p = join(containers, id, 'upper', name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
const mountsUnderRoot = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(b.root));
const containerIds = async () => (await b.ok(['ps', '-aq', '--no-trunc'])).trim().split('\n').filter(Boolean);

/** Start a build whose only RUN holds a secret and a cache mount, writes `marker`, then waits. */
async function startHangingBuild(marker: string) {
  const dir = context(
    `hang-${marker}`,
    `FROM ${BASE}
RUN --mount=type=secret,id=tok --mount=type=cache,target=/cache \\
    cat /run/secrets/tok > /dev/null && echo kept > /cache/f && touch /${marker} && sleep 600
`,
  );
  const build = b.start(['build', '--no-cache', '--secret', `id=tok,src=${secretFile}`, dir]);
  let stderr = '';
  build.child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await waitFor(() => markerIn(marker), {
    what: `the RUN to write ${marker} (build output: ${stderr})`,
    timeoutMs: 90_000,
    intervalMs: 50,
  });
  return build;
}

describe('build cleanup', () => {
  test('a failing stage cancels its running sibling: the build fails, no container or secret is left', async (t) => {
    if (skipIfMissing(t)) return;
    // the two stages meet on a shared cache mount: `fast` fails only once `slow` is in its RUN
    const dir = context(
      'siblings',
      `FROM ${BASE} AS slow
RUN --mount=type=secret,id=tok --mount=type=cache,id=meet,target=/meet,sharing=shared \\
    cat /run/secrets/tok > /dev/null && touch /meet/slow-running && sleep 600 && echo done > /slow

FROM ${BASE} AS fast
RUN --mount=type=cache,id=meet,target=/meet,sharing=shared \\
    until [ -f /meet/slow-running ]; do sleep 0.05; done; echo fast-fails; exit 3

FROM ${BASE}
COPY --from=slow /slow /slow
COPY --from=fast /etc/passwd /fast
`,
    );
    rmSync(join(b.root, 'build-cache-mounts'), { recursive: true, force: true });
    const build = b.start(['build', '--no-cache', '--secret', `id=tok,src=${secretFile}`, dir]);
    let stderr = '';
    build.child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // far below the 600 s the slow RUN would take: only a cancelled build ends in time
    let code: number | null | undefined;
    void build.closed.then((c) => {
      code = c;
    });
    await waitFor(() => (code === undefined ? undefined : true), {
      what: `the build to end (output: ${stderr})`,
      timeoutMs: 90_000,
      intervalMs: 50,
    });
    assert.notEqual(code, 0);
    assert.match(stderr, /exit code: 3/);
    assert.doesNotMatch(stderr, /exit code: 137/, 'the cancelled sibling is not reported as the failure');
    assert.deepEqual(await containerIds(), []);
    assert.deepEqual(list(join(b.runroot, 'build')), []);
    assert.deepEqual(list(join(b.root, 'builds')), []);
    assert.deepEqual(mountsUnderRoot(), []);
  });

  test('kill -9 mid-RUN: a prune leaves a running build alone, then sweeps what the killed one left', async (t) => {
    if (skipIfMissing(t)) return;
    const build = await startHangingBuild('marker-prune');
    const pid = build.child.pid!;
    assert.equal(list(join(b.runroot, 'build')).length, 1, 'the secret dir exists while the RUN runs');
    const [cid] = await containerIds();
    assert.ok(cid);

    // the build is alive: prune must not touch it
    await b.ok(['system', 'prune', '-f']);
    assert.deepEqual(await containerIds(), [cid]);
    assert.equal(list(join(b.runroot, 'build')).length, 1);
    assert.ok(markerIn('marker-prune'));

    build.child.kill('SIGKILL');
    await build.closed;
    // temp dirs the killed process could have been writing (cache-mount setup, downloads)
    mkdirSync(join(b.root, 'tmp', `cachemount-${pid}-deadbeef`));
    mkdirSync(join(b.root, 'tmp', `download-${pid}-deadbeef`));
    writeFileSync(join(b.root, 'tmp', `download-${pid}-deadbeef`, 'part'), 'x');

    await b.ok(['system', 'prune', '-f']);
    assert.deepEqual(await containerIds(), []);
    assert.deepEqual(list(join(b.runroot, 'build')), []);
    assert.deepEqual(list(join(b.root, 'builds')), []);
    assert.deepEqual(
      list(join(b.root, 'tmp')).filter((n) => n.includes(`-${pid}-`)),
      [],
    );
    assert.deepEqual(list(join(b.root, 'build-cache-mounts')), [], 'the cache mount is pruned too');
    assert.deepEqual(mountsUnderRoot(), []);
    assert.equal((await b.ok(['images', '-q', '-f', 'dangling=true'])).trim(), '');
  });

  test('kill -9 mid-RUN: the next build sweeps what the killed one left', async (t) => {
    if (skipIfMissing(t)) return;
    const build = await startHangingBuild('marker-next');
    const pid = build.child.pid!;
    build.child.kill('SIGKILL');
    await build.closed;
    mkdirSync(join(b.root, 'tmp', `cachemount-${pid}-feedface`));
    assert.equal((await containerIds()).length, 1);

    const ok = context('after-kill', `FROM ${BASE}\nRUN echo fine > /f\n`);
    await b.ok(['build', '-q', '-t', 'local/after-kill:1', ok]);
    assert.deepEqual(await containerIds(), []);
    assert.deepEqual(list(join(b.runroot, 'build')), []);
    assert.deepEqual(list(join(b.root, 'builds')), []);
    assert.deepEqual(
      list(join(b.root, 'tmp')).filter((n) => n.includes(`-${pid}-`)),
      [],
    );
    assert.deepEqual(mountsUnderRoot(), []);
    // the cache mount itself is a cache, not a leftover: it stays for the next build
    assert.equal(list(join(b.root, 'build-cache-mounts')).filter((n) => !n.endsWith('.lock')).length, 1);
  });

  test('builder prune frees the cache mounts; system df counts them', async (t) => {
    if (skipIfMissing(t)) return;
    const dir = context(
      'df',
      `FROM ${BASE}\nRUN --mount=type=cache,target=/c dd if=/dev/zero of=/c/blob bs=1024 count=300 && echo x > /x\n`,
    );
    await b.ok(['build', '-q', '--no-cache', dir]);
    const rows = (await b.ok(['system', 'df', '--format', 'json']))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { Type: string; SizeBytes: number; TotalCount: number });
    const cacheRow = rows.find((r) => r.Type === 'Build Cache');
    assert.ok(cacheRow, `no build cache row in ${JSON.stringify(rows)}`);
    // a RUN record with its layer, and the cache mount with its 300 KiB
    assert.ok(cacheRow.TotalCount >= 2, JSON.stringify(cacheRow));
    assert.ok(cacheRow.SizeBytes >= 300 * 1024, JSON.stringify(cacheRow));
    const out = await b.ok(['builder', 'prune', '-f']);
    assert.match(out, /Total reclaimed space: [1-9]/);
    assert.deepEqual(list(join(b.root, 'build-cache-mounts')), []);
  });
});
