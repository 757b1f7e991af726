// POST /build, save/load, commit and search of `berth system service`, driven by both docker
// CLIs: the 28.x client has no buildx here and falls back to the classic builder path by itself
// (berth's /_ping says Builder-Version 1), so neither needs DOCKER_BUILDKIT=0. Hostile build
// contexts and archives sent raw are refused with a 4xx and leave nothing behind.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ApiService, apiLacking, DOCKER_CLIENTS, importBusybox, removeAll } from '../helpers/api.js';
import { BERTH_BIN, Berth, runProcess } from '../helpers/berth.js';
import { rawTar } from '../helpers/hostile.js';
import { skipUnless } from '../helpers/prereq.js';
import { waitFor } from '../helpers/wait.js';

const lacking = apiLacking(['runc', 'conmon']);
const skip = skipUnless(lacking ?? '', lacking === undefined);

const work = mkdtempSync(join(tmpdir(), 'berth-api-build-it-'));
const b = new Berth();
const BASE = 'local/bb:apibuild';
const api = new ApiService(b, work);
const { sock } = api;
const dockerOut = async (client: string, args: string[]) => (await api.dockerOk(client, args)).stdout;

function raw(
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A context dir with a Dockerfile and `files`. */
function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
  return dir;
}

/** A shell pipeline with DOCKER_HOST at the service and `$BERTH` as the berth CLI. */
function pipeline(script: string) {
  return runProcess('sh', ['-c', script], {
    env: {
      DOCKER_HOST: `unix://${sock}`,
      DOCKER_CONFIG: join(work, 'docker-config'),
      BERTH: `"${process.execPath}" "${BERTH_BIN}" --root "${b.root}" --runroot "${b.runroot}"`,
    },
    timeoutMs: 120_000,
  });
}

/** Entries of this service's temp context dirs (its own TMPDIR): none may outlive their request. */
function leftoverContexts(): string[] {
  return readdirSync(api.tmp).filter((n) => n.startsWith('berth-api-context-'));
}

before(async () => {
  if (skip) return;
  await importBusybox(b, work, BASE);
  await api.start();
});

after(async () => {
  await api.stop();
  await removeAll(b, work);
});

const MULTI = `FROM ${BASE} AS build
ARG MSG=default
RUN echo "$MSG" > /msg && echo built-"$MSG"
FROM ${BASE}
COPY --from=build /msg /msg
COPY . /ctx/
CMD ["cat", "/msg"]
`;

describe('docker build, save/load, commit and search through the service', { skip }, () => {
  for (const [n, client] of DOCKER_CLIENTS.entries()) {
    describe(client, () => {
      test('multi-stage with build args, two tags and .dockerignore; the same image ID as berth build', async () => {
        const dir = context(`multi${n}`, MULTI, {
          'keep.txt': 'k',
          'skip.txt': 's',
          '.dockerignore': 'skip.txt\n',
        });
        const r = await api.docker(client, [
          'build',
          '-t',
          `m${n}:1`,
          '-t',
          `m${n}b`,
          '--build-arg',
          `MSG=hello${n}`,
          dir,
        ]);
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\nservice: ${api.log}`);
        assert.match(r.stdout, /Step 1\/\d : FROM /);
        assert.match(r.stdout, new RegExp(`built-hello${n}`));
        assert.match(r.stdout, /Successfully built [0-9a-f]{12}/);
        assert.match(r.stdout, new RegExp(`Successfully tagged m${n}:1`));
        assert.match(r.stdout, new RegExp(`Successfully tagged m${n}b:latest`));
        // 28.x without buildx: a deprecation notice, then the classic /build (no DOCKER_BUILDKIT=0 needed)
        assert.doesNotMatch(r.stderr, /BuildKit is enabled/);
        if (/legacy builder/.test(r.stderr)) assert.match(r.stderr, /Install the buildx component/);
        const id = (await dockerOut(client, ['image', 'inspect', '--format', '{{.Id}}', `m${n}:1`])).trim();
        assert.equal(
          (await dockerOut(client, ['image', 'inspect', '--format', '{{.Id}}', `m${n}b`])).trim(),
          id,
        );
        assert.equal((await dockerOut(client, ['run', '--rm', `m${n}:1`])).trim(), `hello${n}`);
        const files = (await dockerOut(client, ['run', '--rm', `m${n}:1`, 'ls', '-a', '/ctx'])).split('\n');
        assert.ok(files.includes('keep.txt'), files.join(' '));
        assert.ok(!files.includes('skip.txt'), files.join(' '));
        // reproducible: berth's own CLI on the same context gives the same image
        const own = (await b.ok(['build', '-q', '--build-arg', `MSG=hello${n}`, dir]))
          .trim()
          .split('\n')
          .pop();
        assert.equal(own, id);
        // -q prints the ID alone
        const quiet = await dockerOut(client, ['build', '-q', '--build-arg', `MSG=hello${n}`, dir]);
        assert.equal(quiet.trim(), id);
        assert.deepEqual(leftoverContexts(), []);
      });

      test('--target builds only up to that stage', async () => {
        const dir = context(`target${n}`, MULTI);
        await dockerOut(client, ['build', '--target', 'build', '-t', `t${n}`, dir]);
        const ls = await dockerOut(client, ['run', '--rm', `t${n}`, 'cat', '/msg']);
        assert.equal(ls.trim(), 'default');
        const missing = await api.docker(client, ['run', '--rm', `t${n}`, 'ls', '/ctx']);
        assert.notEqual(missing.code, 0);
      });

      test('a failing RUN exits 1 with its output and the error', async () => {
        const dir = context(`fail${n}`, `FROM ${BASE}\nRUN echo boom-out; exit 3\n`);
        const r = await api.docker(client, ['build', dir]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /boom-out/);
        assert.match(r.stderr, /exit code: 3/);
        const q = await api.docker(client, ['build', '-q', dir]);
        assert.equal(q.code, 1);
        assert.match(q.stderr, /boom-out/);
        assert.match(q.stderr, /exit code: 3/);
        assert.deepEqual(leftoverContexts(), []);
      });

      test('a Dockerfile outside the context and one from stdin', async () => {
        const dir = context(`outside${n}`, '', { 'a.txt': 'A' });
        const df = join(work, `Dockerfile.outside${n}`);
        writeFileSync(df, `FROM ${BASE}\nCOPY a.txt /a.txt\nCMD ["cat", "/a.txt"]\n`);
        await dockerOut(client, ['build', '-f', df, '-t', `o${n}`, dir]);
        assert.equal((await dockerOut(client, ['run', '--rm', `o${n}`])).trim(), 'A');
        const r = await api.docker(
          client,
          ['build', '-t', `s${n}`, '-f', '-', dir],
          `FROM ${BASE}\nCOPY a.txt /b.txt\n`,
        );
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal((await dockerOut(client, ['run', '--rm', `s${n}`, 'cat', '/b.txt'])).trim(), 'A');
      });

      test('save -> rmi -> load round trip, and across the berth CLI both ways', async () => {
        const dir = context(`save${n}`, `FROM ${BASE}\nRUN echo saved > /s\n`);
        await dockerOut(client, ['build', '-t', `sv${n}:1`, dir]);
        const id = (await dockerOut(client, ['image', 'inspect', '--format', '{{.Id}}', `sv${n}:1`])).trim();
        const archive = join(work, `sv${n}.tar`);
        await dockerOut(client, ['save', '-o', archive, `sv${n}:1`]);
        await dockerOut(client, ['rmi', `sv${n}:1`]);
        const loaded = await dockerOut(client, ['load', '-i', archive]);
        assert.match(loaded, new RegExp(`Loaded image: sv${n}:1`));
        assert.equal(
          (await dockerOut(client, ['image', 'inspect', '--format', '{{.Id}}', `sv${n}:1`])).trim(),
          id,
        );
        assert.equal((await dockerOut(client, ['run', '--rm', `sv${n}:1`, 'cat', '/s'])).trim(), 'saved');

        await dockerOut(client, ['rmi', `sv${n}:1`]);
        await b.ok(['load', '-i', archive]);
        let r = await pipeline(`"${client}" save sv${n}:1 | eval "$BERTH load"`);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`Loaded image: sv${n}:1`));
        await b.ok(['rmi', `sv${n}:1`]);
        await b.ok(['load', '-i', archive]);
        r = await pipeline(`eval "$BERTH save sv${n}:1" | "${client}" load`);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`Loaded image: sv${n}:1`));
        assert.equal(
          (await dockerOut(client, ['image', 'inspect', '--format', '{{.Id}}', `sv${n}:1`])).trim(),
          id,
        );
      });

      test('commit with changes, author and message', async () => {
        const name = `cm${n}`;
        await dockerOut(client, [
          'run',
          '-d',
          '--name',
          name,
          BASE,
          'sh',
          '-c',
          'echo committed > /f; sleep 60',
        ]);
        try {
          await waitFor(
            async () => (await api.docker(client, ['exec', name, 'cat', '/f'])).stdout.trim() === 'committed',
            { what: 'the container to write /f' },
          );
          const id = (
            await dockerOut(client, [
              'commit',
              '-c',
              'CMD ["cat", "/f"]',
              '-a',
              'me',
              '-m',
              'msg',
              name,
              `cimg${n}:1`,
            ])
          ).trim();
          assert.match(id, /^sha256:[0-9a-f]{64}$/);
          assert.equal((await dockerOut(client, ['run', '--rm', `cimg${n}:1`])).trim(), 'committed');
          assert.equal(
            (
              await dockerOut(client, [
                'image',
                'inspect',
                '--format',
                '{{.Author}}|{{json .Config.Cmd}}',
                `cimg${n}:1`,
              ])
            ).trim(),
            'me|["cat","/f"]',
          );
        } finally {
          await api.docker(client, ['rm', '-f', name]);
        }
      });

      test('search says clearly that berth does not search registries', async () => {
        const r = await api.docker(client, ['search', 'busybox']);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /berth does not search registries/);
      });
    });
  }

  test('/_ping says Builder-Version 1, so the 20.10 client takes the classic builder path too', async () => {
    const builder = await new Promise<string | undefined>((resolve, reject) => {
      const req = request({ socketPath: sock, path: '/_ping', method: 'HEAD' }, (res) => {
        res.resume();
        resolve(res.headers['builder-version'] as string | undefined);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(builder, '1');
    // a client forcing BuildKit is told what to do instead
    const r = await raw('POST', '/build?version=2&session=abc');
    assert.equal(r.status, 400);
    assert.match(r.body, /unset DOCKER_BUILDKIT/);
  });

  test('raw: a gzip context builds; the stream is classic JSON lines ending with aux and Successfully', async () => {
    const tar = rawTar([{ name: 'Dockerfile', body: `FROM ${BASE}\nLABEL a=b\n` }]);
    const r = await raw('POST', '/v1.45/build?t=rawgz', gzipSync(tar), {
      'Content-Type': 'application/x-tar',
    });
    assert.equal(r.status, 200, r.body);
    const lines = r.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[0], { stream: `Step 1/2 : FROM ${BASE}\n` });
    const aux = lines.find((l) => l.aux) as { aux: { ID: string } };
    assert.match(aux.aux.ID, /^sha256:[0-9a-f]{64}$/);
    assert.equal(lines.at(-1)?.stream, 'Successfully tagged rawgz:latest\n');
  });

  test('raw: a context over the JSON body cap, sent with Content-Length, builds', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const tar = rawTar([
      { name: 'Dockerfile', body: `FROM ${BASE}\nCOPY big.bin /big.bin\n` },
      { name: 'big.bin', body: big },
    ]);
    const r = await raw('POST', '/build?t=rawbig&q=1', tar, {
      'Content-Type': 'application/x-tar',
      'Content-Length': String(tar.length),
    });
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /"aux":\{"ID":"sha256:[0-9a-f]{64}"\}/);
    const size = await b.ok(['run', '--rm', 'rawbig', 'wc', '-c', '/big.bin']);
    assert.match(size, new RegExp(`^\\s*${big.length}\\s`));
  });

  test('raw: hostile contexts are refused with a 4xx and leave nothing behind', async () => {
    const post = (entries: Parameters<typeof rawTar>[0], query = '') =>
      raw('POST', `/build${query}`, rawTar(entries), { 'Content-Type': 'application/x-tar' });
    const df = { name: 'Dockerfile', body: `FROM ${BASE}\nCOPY . /c/\n` };
    const outsidePath = join(tmpdir(), `berth-api-escape-${process.pid}`);
    let r = await post([df, { name: `../../../../../..${outsidePath}`, body: 'x' }]);
    assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.body}`);
    assert.equal(existsSync(outsidePath), false);
    // an absolute name lands inside the context, never at that host path
    const absolute = join(tmpdir(), `berth-api-absolute-${process.pid}`);
    r = await post(
      [
        { name: 'Dockerfile', body: `FROM ${BASE}\nCOPY ${absolute.slice(1)} /abs\n` },
        { name: absolute, body: 'x' },
      ],
      '?q=1',
    );
    assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `${r.status} ${r.body}`);
    assert.equal(existsSync(absolute), false);
    // a symlink entry pointing out, then a file written through it: refused, nothing written outside
    const through = join(tmpdir(), `berth-api-through-${process.pid}`);
    mkdirSync(through, { recursive: true });
    r = await post([df, { name: 'link', type: '2', linkname: through }, { name: 'link/planted', body: 'x' }]);
    assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.body}`);
    assert.deepEqual(readdirSync(through), []);
    rmSync(through, { recursive: true, force: true });
    // a Dockerfile (or .dockerignore) that is a symlink out of the context is not read
    r = await post([{ name: 'Dockerfile', type: '2', linkname: '/etc/passwd' }]);
    assert.equal(r.status, 400, r.body);
    assert.match(r.body, /outside the build context/);
    assert.doesNotMatch(r.body, /root:/);
    r = await post([df, { name: '.dockerignore', type: '2', linkname: '/etc/shadow' }]);
    assert.equal(r.status, 400, r.body);
    r = await post([df, { name: 'dev', type: '3' }]);
    assert.equal(r.status, 400, r.body);
    r = await post([df], '?dockerfile=../../etc/passwd');
    assert.ok(r.status === 400 || r.status === 404, `${r.status} ${r.body}`);
    r = await post([df], '?dockerfile=http://example.com/Dockerfile');
    assert.equal(r.status, 400);
    assert.match(r.body, /remote Dockerfiles are not supported/);
    r = await post([df], '?remote=https://example.com/x.tar');
    assert.equal(r.status, 400);
    r = await post([df], '?memory=1000000');
    assert.equal(r.status, 400);
    assert.match(r.body, /memory limit/);
    r = await post([{ name: 'a.txt', body: 'no dockerfile' }]);
    assert.equal(r.status, 404, r.body);
    assert.deepEqual(leftoverContexts(), []);
  });

  test('raw: a hostile archive to /images/load is a 4xx and loads nothing', async () => {
    const before = await b.ok(['images', '-q', '--no-trunc']);
    const bad = rawTar([
      {
        name: 'manifest.json',
        body: JSON.stringify([{ Config: '../../../etc/passwd', RepoTags: ['evil:1'], Layers: [] }]),
      },
    ]);
    let r = await raw('POST', '/images/load?quiet=1', bad, { 'Content-Type': 'application/x-tar' });
    assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.body}`);
    r = await raw('POST', '/images/load', rawTar([{ name: '../escape', body: 'x' }]));
    assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.body}`);
    assert.equal(await b.ok(['images', '-q', '--no-trunc']), before);
    // nothing staged is left in the store's temp dir
    assert.deepEqual(
      readdirSync(join(b.root, 'tmp')).filter((n) => n.startsWith('stage-')),
      [],
    );
    r = await raw('GET', '/images/get?names=no-such-image:1');
    assert.equal(r.status, 404);
  });

  test('POST /build/cancel stops the build with that id; the stream ends with the error', async () => {
    const marker = `api-build-cancel-${process.pid}`;
    const tar = rawTar([{ name: 'Dockerfile', body: `FROM ${BASE}\nRUN echo ${marker}; sleep 60\n` }]);
    const streamed = await new Promise<string>((resolve, reject) => {
      let cancelled = false;
      const req = request(
        { socketPath: sock, path: '/build?nocache=1&buildid=cancel-me', method: 'POST' },
        (res) => {
          let seen = '';
          res.on('data', (d: Buffer) => {
            seen += d.toString();
            if (!cancelled && seen.includes(marker)) {
              cancelled = true;
              raw('POST', '/build/cancel?id=cancel-me').then((r) => {
                if (r.status !== 200) reject(new Error(`cancel answered ${r.status} ${r.body}`));
              }, reject);
            }
          });
          res.on('end', () => resolve(seen));
        },
      );
      req.on('error', reject);
      req.end(tar);
    });
    const last = JSON.parse(streamed.trim().split('\n').at(-1)!) as { error?: string };
    assert.match(last.error ?? '', /cancelled/);
    assert.equal((await raw('POST', '/build/cancel?id=cancel-me')).status, 404);
  });

  test('raw: GET /images/{name}/get streams a docker-archive of a name with slashes', async () => {
    const r = await new Promise<Buffer>((resolve, reject) => {
      const req = request({ socketPath: sock, path: `/images/${encodeURIComponent(BASE)}/get` }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      });
      req.on('error', reject);
      req.end();
    });
    const archive = join(work, 'by-name.tar');
    writeFileSync(archive, r);
    const listed = await runProcess('tar', ['-tf', archive]);
    assert.match(listed.stdout, /^manifest\.json$/m);
    assert.match(listed.stdout, /^repositories$/m);
  });

  test('a client that goes away mid-build stops the build and leaves nothing behind', async () => {
    const marker = `api-build-gone-${process.pid}`;
    const tar = rawTar([{ name: 'Dockerfile', body: `FROM ${BASE}\nRUN echo ${marker}; sleep 60\n` }]);
    await new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: sock, path: '/build?nocache=1', method: 'POST' }, (res) => {
        let seen = '';
        res.on('data', (d: Buffer) => {
          seen += d.toString();
          // the RUN step is running (its output arrived): hang up
          if (seen.includes(marker)) {
            req.destroy();
            resolve();
          }
        });
        res.on('end', () => reject(new Error(`the build ended before the client left: ${seen}`)));
      });
      req.on('error', () => {});
      req.end(tar);
    });
    await waitFor(
      async () => (await b.ok(['ps', '-a', '-q'])).trim() === '' && leftoverContexts().length === 0,
      { timeoutMs: 60_000, intervalMs: 100, what: 'the build container and the temp context to go' },
    );
  });

  test('build cache prune answers Docker-shaped', async () => {
    const r = await raw('POST', '/build/prune?all=1');
    assert.equal(r.status, 200, r.body);
    const body = JSON.parse(r.body) as { CachesDeleted: unknown[]; SpaceReclaimed: number };
    assert.ok(Array.isArray(body.CachesDeleted));
    assert.equal(typeof body.SpaceReclaimed, 'number');
  });
});
