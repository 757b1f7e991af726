// `berth build` end to end with real runc, conmon and overlayfs on a local busybox image:
// multi-stage, cache hits and misses, a poisoned cache, secrets, reproducibility across
// context copies and stores, .dockerignore, heredocs, hostile input, and podman interop.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Berth, hasCommand, runProcess } from '../helpers/berth.js';
import { makeBusyboxBundle } from '../helpers/bundle.js';
import { debianRootfsTar } from '../helpers/debian.js';

const work = mkdtempSync(join(tmpdir(), 'berth-build-it-'));
const b = new Berth();
const BASE = 'local/bb:base';
let baseTar = '';

before(async () => {
  const bundle = await makeBusyboxBundle(join(work, 'bundle'));
  baseTar = join(work, 'rootfs.tar');
  await b.importRootfs(bundle.rootfs, baseTar, BASE, ['CMD ["sh"]']);
});

after(async () => {
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** A context dir with `files` (path → content) and a Dockerfile. */
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

async function build(
  who: Berth,
  args: string[],
  options: { env?: Record<string, string>; input?: string | Buffer } = {},
): Promise<{ id: string; stderr: string }> {
  const r = await who.run(['build', ...args], options);
  if (r.code !== 0) throw new Error(`build ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
  return { id: r.stdout.trim().split('\n').pop()!, stderr: r.stderr };
}

async function inspectConfig(who: Berth, ref: string) {
  return JSON.parse(await who.ok(['image', 'inspect', ref]))[0] as {
    Id: string;
    Config: Record<string, unknown> & { Env?: string[]; Labels?: Record<string, string> };
    RootFS: { Layers: string[] };
  };
}

/** Every file's bytes in every layer of a saved image, gunzipped, concatenated. */
function layerBytes(archive: string): Buffer {
  const dir = mkdtempSync(join(work, 'saved-'));
  execFileSync('tar', ['-xf', archive, '-C', dir]);
  const blobs = join(dir, 'blobs', 'sha256');
  const parts: Buffer[] = [];
  for (const name of readdirSync(blobs)) {
    const raw = readFileSync(join(blobs, name));
    parts.push(raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw);
  }
  rmSync(dir, { recursive: true, force: true });
  return Buffer.concat(parts);
}

const MULTI = `# syntax=docker/dockerfile:1
ARG BASE=${BASE}
FROM \${BASE} AS builder
ARG GREETING=hello
WORKDIR /src
COPY app/ ./
RUN echo "\${GREETING} from builder" > /src/built.txt && echo ran-builder-step
RUN <<EOF
set -e
echo heredoc-ran > /src/heredoc.txt
EOF

FROM ${BASE}
LABEL org.example.stage=final
ENV APP_HOME=/app \\
    MODE=prod
WORKDIR $APP_HOME
COPY --from=builder /src/built.txt /src/heredoc.txt ./
COPY --chmod=0755 <<EOF /app/run.sh
#!/bin/sh
echo "mode=$MODE"
EOF
COPY app/data.txt data/
EXPOSE 8080/tcp 9000
USER nobody
CMD ["/app/run.sh"]
`;

describe('build', () => {
  test('multi-stage with COPY --from, heredocs, ARG/ENV/WORKDIR/USER metadata; the image runs', async () => {
    const dir = context('multi', MULTI, { 'app/data.txt': 'data v1\n', 'app/sub/x.txt': 'x\n' });
    const { id, stderr } = await build(b, ['-t', 'local/multi:1', dir]);
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.match(stderr, /ran-builder-step/);
    assert.match(stderr, /\[builder 2\/\d+\]/);
    const out = await b.ok(['run', '--rm', 'local/multi:1']);
    assert.equal(out, 'mode=prod\n');
    const files = await b.ok([
      'run',
      '--rm',
      'local/multi:1',
      'sh',
      '-c',
      'cat /app/built.txt /app/heredoc.txt /app/data/data.txt; id -u; test ! -e /src && echo no-src; stat -c %a /app/run.sh',
    ]);
    assert.equal(files, 'hello from builder\nheredoc-ran\ndata v1\n65534\nno-src\n755\n');
    const cfg = await inspectConfig(b, 'local/multi:1');
    assert.equal(cfg.Config.WorkingDir, '/app');
    assert.equal(cfg.Config.User, 'nobody');
    assert.deepEqual(cfg.Config.Cmd, ['/app/run.sh']);
    assert.ok(cfg.Config.Env?.includes('APP_HOME=/app'));
    assert.ok(cfg.Config.Env?.includes('MODE=prod'));
    assert.equal(cfg.Config.Labels?.['org.example.stage'], 'final');
    assert.deepEqual(Object.keys(cfg.Config.ExposedPorts as object).sort(), ['8080/tcp', '9000/tcp']);
    // no build containers or intermediate images are left
    assert.equal((await b.ok(['ps', '-aq'])).trim(), '');
    const dangling = (await b.ok(['images', '-q', '-f', 'dangling=true'])).trim();
    assert.equal(dangling, '');
    const history = await b.ok(['history', '--no-trunc', 'local/multi:1']);
    assert.match(history, /COPY --from=builder/);
  });

  test('a rebuild with nothing changed runs no RUN step; changing a copied file reruns only from there', async () => {
    const df = `FROM ${BASE}
RUN echo step-one && echo step-one > /one
COPY input.txt /input.txt
RUN echo step-two && cat /input.txt > /two
`;
    const dir = context('cache', df, { 'input.txt': 'v1\n' });
    const first = await build(b, ['-t', 'local/cache:1', dir]);
    assert.match(first.stderr, /^#\d+ \d+\.\d+ step-one$/m);
    const again = await build(b, ['-t', 'local/cache:1', dir]);
    assert.equal(again.id, first.id);
    // RUN output lines look like `#2 0.123 step-one`
    assert.doesNotMatch(again.stderr, /^#\d+ \d+\.\d+ step-(one|two)$/m);
    assert.equal(again.stderr.match(/CACHED/g)?.length, 3);
    writeFileSync(join(dir, 'input.txt'), 'v2\n');
    const changed = await build(b, ['-t', 'local/cache:2', dir]);
    assert.notEqual(changed.id, first.id);
    assert.doesNotMatch(changed.stderr, /^#\d+ \d+\.\d+ step-one$/m);
    assert.match(changed.stderr, /^#\d+ \d+\.\d+ step-two$/m);
    assert.equal(await b.ok(['run', '--rm', 'local/cache:2', 'cat', '/two']), 'v2\n');
    const nocache = await build(b, ['--no-cache', '-t', 'local/cache:3', dir]);
    assert.match(nocache.stderr, /^#\d+ \d+\.\d+ step-one$/m);
    assert.equal(nocache.id, changed.id, 'the same inputs give the same image without the cache');
    // the cache outlives the images (gc keeps what it references) until builder prune
    await b.ok(['rmi', 'local/cache:1', 'local/cache:2', 'local/cache:3']);
    await b.ok(['image', 'prune', '-f']);
    const afterRmi = await build(b, ['-t', 'local/cache:4', dir]);
    assert.equal(afterRmi.stderr.match(/CACHED/g)?.length, 3);
    assert.doesNotMatch(afterRmi.stderr, /damaged/);
    await b.ok(['builder', 'prune', '-f']);
    const afterPrune = await build(b, ['-t', 'local/cache:4', dir]);
    assert.doesNotMatch(afterPrune.stderr, /CACHED/);
    assert.equal(afterPrune.id, changed.id);
  });

  test('a poisoned cache entry (its layer damaged) is detected and rebuilt', async () => {
    const df = `FROM ${BASE}\nRUN echo poison-step && echo content > /p\n`;
    const dir = context('poison', df);
    const first = await build(b, ['-t', 'local/poison:1', dir]);
    const cfg = await inspectConfig(b, 'local/poison:1');
    const top = cfg.RootFS.Layers.at(-1)!;
    // remove the image so only the cache holds the layer, then corrupt the layer's blob
    await b.ok(['rmi', 'local/poison:1']);
    const blobs = join(b.root, 'blobs', 'sha256');
    let corrupted = 0;
    for (const name of readdirSync(blobs)) {
      const raw = readFileSync(join(blobs, name));
      if (raw[0] !== 0x1f || raw[1] !== 0x8b) continue;
      const tar = gunzipSync(raw);
      if (`sha256:${require_sha(tar)}` === top) {
        writeFileSync(join(blobs, name), Buffer.concat([raw.subarray(0, raw.length - 8), Buffer.alloc(8)]));
        corrupted++;
      }
    }
    assert.equal(corrupted, 1);
    const second = await build(b, ['-t', 'local/poison:1', dir]);
    assert.match(second.stderr, /damaged/);
    assert.match(second.stderr, /poison-step/);
    assert.equal(second.id, first.id);
    assert.equal(await b.ok(['run', '--rm', 'local/poison:1', 'cat', '/p']), 'content\n');
  });

  test('secrets are mounted for RUN and never land in a layer, the config or the history', async () => {
    const secret = `s3cr3t-${Date.now()}-value`;
    const secretFile = join(work, 'token.txt');
    writeFileSync(secretFile, secret);
    const df = `FROM ${BASE}
RUN --mount=type=secret,id=token test "$(cat /run/secrets/token)" = "${secret.slice(0, 6)}$(cat /run/secrets/token | cut -c7-)" && wc -c < /run/secrets/token > /len
RUN --mount=type=secret,id=token,target=/tmp/tk,mode=0400 stat -c %a /tmp/tk > /mode
`;
    const dir = context('secret', df);
    const { stderr } = await build(b, [
      '--secret',
      `id=token,src=${secretFile}`,
      '-t',
      'local/secret:1',
      dir,
    ]);
    assert.doesNotMatch(stderr, /possible secret/);
    assert.equal(
      (await b.ok(['run', '--rm', 'local/secret:1', 'cat', '/len'])).trim(),
      String(secret.length),
    );
    assert.equal((await b.ok(['run', '--rm', 'local/secret:1', 'cat', '/mode'])).trim(), '400');
    const saved = join(work, 'secret.tar');
    await b.ok(['save', '--format', 'oci-archive', '-o', saved, 'local/secret:1']);
    const bytes = layerBytes(saved);
    assert.ok(bytes.length > 0);
    assert.equal(bytes.includes(Buffer.from(secret)), false, 'the secret is in a layer, config or manifest');
    const runNoSecret = await b.run(['build', '--no-cache', '-t', 'local/secret:2', dir]);
    assert.notEqual(runNoSecret.code, 0);
    // like BuildKit, a secret is optional unless required=true: the RUN sees no file and fails
    assert.match(runNoSecret.stderr, /\/run\/secrets\/token/);
    const required = context(
      'secret-required',
      `FROM ${BASE}\nRUN --mount=type=secret,id=other,required=true true\n`,
    );
    const r = await b.run(['build', required]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /secret "other" not found/);
  });

  test('the secret-leak guard warns, and --strict-secrets fails, when a layer holds a secret', async () => {
    const secret = 'leaky-secret-value-123456';
    const secretFile = join(work, 'leak.txt');
    writeFileSync(secretFile, secret);
    const df = `FROM ${BASE}\nRUN --mount=type=secret,id=k cp /run/secrets/k /leaked\n`;
    const dir = context('leak', df);
    const warned = await build(b, ['--secret', `id=k,src=${secretFile}`, '-t', 'local/leak:1', dir]);
    assert.match(
      warned.stderr,
      /possible secret in layer of "RUN --mount=type=secret,id=k cp \/run\/secrets\/k \/leaked": \/leaked/,
    );
    assert.equal(warned.stderr.includes(secret), false, 'the warning must not print the secret');
    const strict = await b.run([
      'build',
      '--no-cache',
      '--strict-secrets',
      '--secret',
      `id=k,src=${secretFile}`,
      '-t',
      'local/leak:2',
      dir,
    ]);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /--strict-secrets/);
    const pem = context('pem', `FROM ${BASE}\nCOPY id_rsa /root/.ssh/id_rsa\n`, {
      id_rsa:
        '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
    });
    const keyWarn = await build(b, ['-t', 'local/leak:3', pem]);
    assert.match(keyWarn.stderr, /root\/\.ssh\/id_rsa \(private-key/);
  });

  test('reproducible: two context copies with different mtimes and paths, in two stores, give one digest', async () => {
    const df = `FROM ${BASE}
COPY . /ctx
RUN mkdir -p /gen && echo generated > /gen/file && touch /gen/file
`;
    const one = context('repro-a/nested/ctx', df, { 'a.txt': 'A\n', 'dir/b.txt': 'B\n' });
    const two = join(work, 'elsewhere', 'copy');
    mkdirSync(join(two, '..'), { recursive: true });
    cpSync(one, two, { recursive: true });
    for (const f of ['a.txt', 'dir/b.txt', 'Dockerfile', 'dir'])
      utimesSync(join(two, f), 1_000_000, 1_234_567);
    const other = new Berth();
    try {
      // the same base image on the "second machine": saved here, loaded there
      const baseArchive = join(work, 'base.tar');
      await b.ok(['save', '-o', baseArchive, BASE]);
      await other.ok(['load', '-i', baseArchive]);
      assert.equal(
        (await inspectConfig(other, BASE)).Id,
        (await inspectConfig(b, BASE)).Id,
        'the base images must match for the comparison to mean anything',
      );
      const r1 = await build(b, ['--no-cache', '-t', 'local/repro:1', one]);
      const r2 = await build(other, ['--no-cache', '-t', 'local/repro:1', two]);
      assert.equal(r1.id, r2.id);
      const epoch = await build(b, ['--no-cache', '--timestamp', '1700000000', one]);
      assert.notEqual(epoch.id, r1.id);
      const created = (await inspectConfig(b, epoch.id)) as unknown as { Created: string };
      assert.equal(created.Created, '2023-11-14T22:13:20Z');
    } finally {
      other.cleanup();
    }
  });

  test('RUN --security=insecure runs privileged only with --allow security.insecure', async () => {
    const dir = context(
      'insecure',
      `FROM ${BASE}\nRUN --security=insecure grep CapEff /proc/self/status > /capeff\nRUN grep CapEff /proc/self/status > /capeff-sandbox\n`,
    );
    const refused = await b.run(['build', '-q', '-t', 'local/insecure:no', dir]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--allow security\.insecure/);
    const unknown = await b.run(['build', '-q', '--allow', 'root.everything', dir]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown entitlement "root\.everything"/);
    await build(b, ['-q', '--allow', 'security.insecure', '-t', 'local/insecure:yes', dir]);
    const caps = (await b.ok(['run', '--rm', 'local/insecure:yes', 'cat', '/capeff', '/capeff-sandbox']))
      .trim()
      .split('\n');
    const [insecure, sandboxed] = caps.map((l) => BigInt(`0x${l.split(/\s+/)[1]}`));
    // privileged gets every capability the kernel has; the default set is Docker's 14
    assert.ok(insecure! > sandboxed!, caps.join('\n'));
    assert.ok((insecure! & (1n << 21n)) !== 0n, 'CAP_SYS_ADMIN in the insecure step');
    assert.equal(sandboxed! & (1n << 21n), 0n, 'no CAP_SYS_ADMIN in a sandboxed step');
    await b.ok(['rmi', 'local/insecure:yes']);
  });

  test('ADD extracts local tars (checked like layers), copies other files as they are; --chown by name', async () => {
    const dir = context(
      'add',
      `FROM ${BASE}\nADD bundle.tar.gz /opt/\nADD bundle.tar.xz /xz/\nADD bundle.tar.bz2 /bz2/\nADD note.txt.gz /opt/\nADD --chown=nobody:nogroup plain.txt /opt/plain.txt\n`,
      { 'payload/inner/file.txt': 'from the tar\n', 'plain.txt': 'plain\n' },
    );
    execFileSync('tar', ['-C', join(dir, 'payload'), '-czf', join(dir, 'bundle.tar.gz'), '.']);
    execFileSync('tar', ['-C', join(dir, 'payload'), '-cJf', join(dir, 'bundle.tar.xz'), '.']);
    execFileSync('tar', ['-C', join(dir, 'payload'), '-cjf', join(dir, 'bundle.tar.bz2'), '.']);
    execFileSync('sh', ['-c', `echo not-a-tar | gzip > ${join(dir, 'note.txt.gz')}`]);
    await build(b, ['-t', 'local/add:1', dir]);
    const out = await b.ok([
      'run',
      '--rm',
      'local/add:1',
      'sh',
      '-c',
      'cat /opt/inner/file.txt /xz/inner/file.txt /bz2/inner/file.txt; test -f /opt/note.txt.gz && echo gz-kept; stat -c %u:%g /opt/plain.txt',
    ]);
    assert.equal(out, 'from the tar\nfrom the tar\nfrom the tar\ngz-kept\n65534:65534\n');
    const evil = context('add-evil', `FROM ${BASE}\nADD evil.tar /opt/\n`);
    execFileSync('sh', [
      '-c',
      `cd ${evil} && mkdir -p a && echo x > a/f && tar --transform 's,^a/f,../../escaped,' -cf evil.tar a/f`,
    ]);
    const r = await b.run(['build', evil]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\.\.|outside|unsafe/i);
  });

  test('metadata instructions (SHELL, HEALTHCHECK, STOPSIGNAL, VOLUME, MAINTAINER, ONBUILD) and COPY --from an image', async () => {
    const df = `FROM ${BASE}
MAINTAINER someone@example.com
SHELL ["/bin/sh", "-ec"]
RUN echo "shell flags: $-" > /flags
HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD ["true"]
STOPSIGNAL SIGUSR1
VOLUME /data
ONBUILD RUN echo triggered > /onbuild
COPY --from=${BASE} /etc/passwd /copied-passwd
ENTRYPOINT ["/bin/echo"]
`;
    await build(b, ['-t', 'local/meta:1', context('meta', df)]);
    const cfg = (await inspectConfig(b, 'local/meta:1')) as unknown as {
      Author: string;
      Config: Record<string, unknown>;
    };
    assert.equal(cfg.Author, 'someone@example.com');
    assert.deepEqual(cfg.Config.Shell, ['/bin/sh', '-ec']);
    assert.deepEqual(cfg.Config.Healthcheck, {
      Test: ['CMD', 'true'],
      Interval: 30_000_000_000,
      Timeout: 5_000_000_000,
      Retries: 2,
    });
    assert.equal(cfg.Config.StopSignal, 'SIGUSR1');
    assert.deepEqual(cfg.Config.Volumes, { '/data': {} });
    assert.deepEqual(cfg.Config.OnBuild, ['RUN echo triggered > /onbuild']);
    assert.deepEqual(cfg.Config.Entrypoint, ['/bin/echo']);
    assert.equal(cfg.Config.Cmd ?? null, null, 'ENTRYPOINT drops the inherited CMD');
    const flags = await b.ok(['run', '--rm', '--entrypoint', 'cat', 'local/meta:1', '/flags']);
    assert.match(flags, /e/);
    assert.match(
      await b.ok(['run', '--rm', '--entrypoint', 'cat', 'local/meta:1', '/copied-passwd']),
      /^root:/,
    );
    // a child image runs the trigger first and does not inherit it
    await build(b, ['-t', 'local/meta-child:1', context('meta-child', 'FROM local/meta:1\n')]);
    assert.equal(
      await b.ok(['run', '--rm', '--entrypoint', 'cat', 'local/meta-child:1', '/onbuild']),
      'triggered\n',
    );
    const child = (await inspectConfig(b, 'local/meta-child:1')) as unknown as {
      Config: Record<string, unknown>;
    };
    assert.ok(!child.Config.OnBuild || (child.Config.OnBuild as unknown[]).length === 0);
  });

  test('ADD from a URL (a loopback server), with --checksum checked', async () => {
    const { createServer } = await import('node:http');
    const { createHash } = await import('node:crypto');
    const body = 'downloaded content\n';
    const server = createServer((req, res) => {
      if (req.url === '/files/remote.txt') res.end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const sum = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      const url = `http://127.0.0.1:${port}/files/remote.txt`;
      const ok = context('add-url', `FROM ${BASE}\nADD --checksum=${sum} ${url} /dl/\n`);
      await build(b, ['-t', 'local/add-url:1', ok]);
      assert.equal(await b.ok(['run', '--rm', 'local/add-url:1', 'cat', '/dl/remote.txt']), body);
      const wrong = context(
        'add-url-bad',
        `FROM ${BASE}\nADD --checksum=sha256:${'0'.repeat(64)} ${url} /dl/\n`,
      );
      const r = await b.run(['build', wrong]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /checksum .* does not match/);
      const missing = context('add-url-404', `FROM ${BASE}\nADD http://127.0.0.1:${port}/nope /x\n`);
      const r404 = await b.run(['build', missing]);
      assert.equal(r404.code, 1);
      assert.match(r404.stderr, /HTTP 404/);
    } finally {
      server.close();
    }
  });

  test('RUN heredocs: a #! script runs as a file; heredocs feeding a command go to the shell', async () => {
    const df = `FROM ${BASE}
RUN <<EOF
#!/bin/sh
echo "script: $0" > /ran
EOF
RUN no-such-tool <<EOF || cat <<EOT > /second
ignored
EOF
second heredoc
EOT
`;
    await build(b, ['-t', 'local/heredoc:1', context('heredoc', df)]);
    const out = await b.ok([
      'run',
      '--rm',
      'local/heredoc:1',
      'sh',
      '-c',
      'cat /ran /second; test -e /dev/pipes-berth || echo no-stub',
    ]);
    assert.equal(out, 'script: /dev/pipes-berth/EOF\nsecond heredoc\nno-stub\n');
  });

  test('a step that is not deterministic is named by a warning and by image diff', async () => {
    const dir = context(
      'nondet',
      `FROM ${BASE}\nRUN echo same > /same\nRUN cat /proc/sys/kernel/random/uuid > /t\n`,
    );
    const one = await build(b, ['-t', 'local/nondet:1', dir]);
    const two = await build(b, ['--no-cache', '-t', 'local/nondet:2', dir]);
    assert.notEqual(one.id, two.id);
    assert.match(two.stderr, /step "RUN cat \/proc\/sys\/kernel\/random\/uuid > \/t" is not reproducible/);
    assert.doesNotMatch(two.stderr, /step "RUN echo same > \/same" is not reproducible/);
    const diff = await b.run(['image', 'diff', 'local/nondet:1', 'local/nondet:2']);
    assert.equal(diff.code, 1);
    assert.match(diff.stdout, /same {4}step \d+: RUN echo same/);
    assert.match(diff.stdout, /DIFFERS step \d+: RUN cat \/proc\/sys\/kernel\/random\/uuid > \/t/);
    assert.match(diff.stdout, /differs: \/t$/m);
    const same = await b.run(['image', 'diff', 'local/nondet:1', 'local/nondet:1']);
    assert.equal(same.code, 0);
  });

  test('.dockerignore excludes files, with ! exceptions and **', async () => {
    const dir = context('ignore', `FROM ${BASE}\nCOPY . /c\nCMD ["find", "/c", "-type", "f"]\n`, {
      'keep.txt': 'k',
      'secret.env': 'X=1',
      'logs/a.log': 'a',
      'logs/important.log': 'i',
      'deep/x/y/z.tmp': 't',
      'deep/x/y/ok.txt': 'o',
    });
    writeFileSync(
      join(dir, '.dockerignore'),
      '# comment\n*.env\nlogs/*.log\n!logs/important.log\n**/*.tmp\n',
    );
    await build(b, ['-t', 'local/ignore:1', dir]);
    const listed = (await b.ok(['run', '--rm', 'local/ignore:1'])).trim().split('\n').sort();
    assert.deepEqual(listed, [
      '/c/.dockerignore',
      '/c/Dockerfile',
      '/c/deep/x/y/ok.txt',
      '/c/keep.txt',
      '/c/logs/important.log',
    ]);
  });

  test('RUN --mount=type=bind from the context is keyed by the content of its source', async () => {
    const df = `FROM ${BASE}
RUN --mount=type=bind,source=data.txt,target=/mnt/data.txt cat /mnt/data.txt > /out
RUN --mount=type=bind,source=tree,target=/mnt/tree cat /mnt/tree/deep/f.txt /mnt/tree/skip.txt > /out-tree
`;
    const dir = context('bind-key', df, {
      'data.txt': 'v1\n',
      'tree/deep/f.txt': 't1\n',
      'tree/skip.txt': 'k1\n',
      // berth's bind mounts show the directory as it is, ignored files included: they count
      '.dockerignore': 'tree/skip.txt\n',
    });
    const outputs = (tag: string) => b.ok(['run', '--rm', tag, 'cat', '/out', '/out-tree']);
    await build(b, ['-t', 'local/bind-key:1', dir]);
    assert.equal(await outputs('local/bind-key:1'), 'v1\nt1\nk1\n');
    const again = await build(b, ['-t', 'local/bind-key:1', dir]);
    assert.equal(again.stderr.match(/CACHED/g)?.length, 2, again.stderr);
    // the file changes, its name and the Dockerfile do not: the RUN must run again
    writeFileSync(join(dir, 'data.txt'), 'v2\n');
    const changed = await build(b, ['-t', 'local/bind-key:2', dir]);
    assert.doesNotMatch(changed.stderr, /CACHED/, changed.stderr);
    assert.equal(await outputs('local/bind-key:2'), 'v2\nt1\nk1\n');
    // a file deep inside a mounted directory counts too, and so does one .dockerignore names
    writeFileSync(join(dir, 'tree', 'deep', 'f.txt'), 't2\n');
    const deep = await build(b, ['-t', 'local/bind-key:3', dir]);
    assert.equal(deep.stderr.match(/CACHED/g)?.length, 1, deep.stderr);
    assert.equal(await outputs('local/bind-key:3'), 'v2\nt2\nk1\n');
    writeFileSync(join(dir, 'tree', 'skip.txt'), 'k2\n');
    const ignored = await build(b, ['-t', 'local/bind-key:4', dir]);
    assert.equal(ignored.stderr.match(/CACHED/g)?.length, 1, ignored.stderr);
    assert.equal(await outputs('local/bind-key:4'), 'v2\nt2\nk2\n');
  });

  test("RUN --mount=type=bind,from=<stage> is keyed by that stage's result", async () => {
    const df = `FROM ${BASE} AS src
COPY input.txt /input.txt
FROM ${BASE}
RUN --mount=type=bind,from=src,source=/input.txt,target=/in cat /in > /out
`;
    const dir = context('bind-from-key', df, { 'input.txt': 's1\n' });
    await build(b, ['-t', 'local/bind-from-key:1', dir]);
    assert.equal(await b.ok(['run', '--rm', 'local/bind-from-key:1', 'cat', '/out']), 's1\n');
    writeFileSync(join(dir, 'input.txt'), 's2\n');
    const changed = await build(b, ['-t', 'local/bind-from-key:2', dir]);
    // the stage's COPY reruns, and so must the RUN that mounts the stage
    assert.doesNotMatch(changed.stderr, /CACHED/, changed.stderr);
    assert.equal(await b.ok(['run', '--rm', 'local/bind-from-key:2', 'cat', '/out']), 's2\n');
    const again = await build(b, ['-t', 'local/bind-from-key:2', dir]);
    assert.equal(again.stderr.match(/CACHED/g)?.length, 2, again.stderr);
  });

  test('a cache mount persists across builds; tmpfs mounts leave nothing; --network none isolates', async () => {
    const df = `FROM ${BASE}
RUN --mount=type=cache,target=/cache echo x >> /cache/count && wc -l < /cache/count > /seen
RUN --mount=type=tmpfs,target=/scratch echo tmp > /scratch/f && test -f /scratch/f
RUN --network=none sh -c 'ls /sys/class/net > /ifaces'
`;
    const dir = context('mounts', df);
    await build(b, ['-t', 'local/mounts:1', dir]);
    await build(b, ['--no-cache', '-t', 'local/mounts:2', dir]);
    assert.equal((await b.ok(['run', '--rm', 'local/mounts:2', 'cat', '/seen'])).trim(), '2');
    assert.equal((await b.ok(['run', '--rm', 'local/mounts:2', 'cat', '/ifaces'])).trim(), 'lo');
    const r = await b.run(['run', '--rm', 'local/mounts:2', 'sh', '-c', 'ls -A /cache /scratch 2>&1; true']);
    assert.match(r.stdout, /No such file/);
  });

  test('--squash makes the new layers one, keeping deletions of base files and opaque dirs', async () => {
    const df = `FROM ${BASE}
RUN echo a > /a && mkdir -p /d && echo x > /d/x
RUN rm /bin/vi
RUN rm -rf /d && mkdir /d && echo y > /d/y
ENV SQUASHED=1
`;
    const dir = context('squash', df);
    await build(b, ['--squash', '-t', 'local/squash:1', dir]);
    const base = await inspectConfig(b, BASE);
    const cfg = await inspectConfig(b, 'local/squash:1');
    assert.equal(cfg.RootFS.Layers.length, base.RootFS.Layers.length + 1);
    const out = await b.ok([
      'run',
      '--rm',
      'local/squash:1',
      'sh',
      '-c',
      'cat /a; ls /d; test -e /bin/vi || echo no-vi',
    ]);
    assert.equal(out, 'a\ny\nno-vi\n');
    const history = (await b.ok(['history', '-q', 'local/squash:1'])).trim().split('\n');
    const baseHistory = (await b.ok(['history', '-q', BASE])).trim().split('\n');
    assert.equal(history.length, baseHistory.length + 4, 'every step keeps its history entry');
  });

  test('build - (tar on stdin), -f, Containerfile, --target, --output, --iidfile, -q', async () => {
    const dir = context(
      'forms',
      `FROM ${BASE} AS one\nRUN echo one > /one\nFROM one AS two\nRUN echo two > /two\n`,
    );
    rmSync(join(dir, 'Dockerfile'));
    writeFileSync(
      join(dir, 'Containerfile'),
      `FROM ${BASE} AS one\nRUN echo one > /which\nFROM one AS two\nRUN echo two > /which\n`,
    );
    const q = await b.run(['build', '-q', '--target', 'one', '-t', 'local/forms:one', dir]);
    assert.equal(q.code, 0, q.stderr);
    assert.match(q.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    assert.equal(q.stderr, '');
    assert.equal(await b.ok(['run', '--rm', 'local/forms:one', 'cat', '/which']), 'one\n');
    const tar = join(work, 'ctx.tar');
    execFileSync('tar', ['-C', dir, '-cf', tar, '.']);
    const iid = join(work, 'iid');
    const stdin = await b.run(['build', '--iidfile', iid, '-t', 'local/forms:two', '-'], {
      input: readFileSync(tar),
    });
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.equal(readFileSync(iid, 'utf8'), stdin.stdout.trim());
    assert.equal(await b.ok(['run', '--rm', 'local/forms:two', 'cat', '/which']), 'two\n');
    const alt = join(work, 'Alt.Dockerfile');
    writeFileSync(alt, `FROM ${BASE}\nRUN echo alt > /which\n`);
    await build(b, ['-f', alt, '-t', 'local/forms:alt', dir]);
    assert.equal(await b.ok(['run', '--rm', 'local/forms:alt', 'cat', '/which']), 'alt\n');
    const out = join(work, 'out.tar');
    const exported = await build(b, ['--output', `type=oci,dest=${out}`, '-t', 'local/forms:exported', dir]);
    assert.ok(existsSync(out));
    assert.match(execFileSync('tar', ['-tf', out]).toString(), /index\.json/);
    const index = JSON.parse(execFileSync('tar', ['-xOf', out, 'index.json']).toString()) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    assert.match(JSON.stringify(index.manifests[0]?.annotations ?? {}), /forms:exported/);
    const dockerOut = join(work, 'out-docker.tar');
    await build(b, ['--output', `type=docker,dest=${dockerOut}`, '-t', 'local/forms:exported', dir]);
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', dockerOut, 'manifest.json']).toString()) as {
      RepoTags: string[];
    }[];
    assert.deepEqual(manifest[0]?.RepoTags, ['local/forms:exported']);
    const listed = await b.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.doesNotMatch(listed, /forms:exported/);
    assert.match(exported.id, /^sha256:/);
  });

  test('hostile and bad input: a clear error and nothing left behind', async () => {
    const before = (await b.ok(['images', '-aq'])).trim();
    const cases: {
      name: string;
      df: string;
      files?: Record<string, string>;
      args?: string[];
      want: RegExp;
    }[] = [
      { name: 'syntax', df: `FROM ${BASE}\nRUNN echo hi\n`, want: /Dockerfile:2:1: unknown instruction/ },
      { name: 'nofrom', df: 'RUN echo hi\n', want: /Dockerfile:1/ },
      {
        name: 'target',
        df: `FROM ${BASE} AS a\n`,
        args: ['--target', 'nope'],
        want: /target stage "nope" could not be found/,
      },
      { name: 'escape', df: `FROM ${BASE}\nCOPY ../outside /x\n`, want: /outside the build context/ },
      { name: 'missing', df: `FROM ${BASE}\nCOPY nothere.txt /x\n`, want: /nothere\.txt/ },
      { name: 'runfails', df: `FROM ${BASE}\nRUN echo last-words && exit 3\n`, want: /exit code: 3/ },
      {
        name: 'badmount',
        df: `FROM ${BASE}\nRUN --mount=type=bind,source=../../etc,target=/x true\n`,
        want: /outside|escape|unsafe/i,
      },
      { name: 'nobase', df: 'FROM 127.0.0.1:1/none/such:1\n', want: /none\/such/ },
    ];
    for (const c of cases) {
      const dir = context(`bad-${c.name}`, c.df, c.files ?? {});
      const r = await b.run(['build', ...(c.args ?? []), dir]);
      assert.notEqual(r.code, 0, `${c.name} should fail`);
      assert.match(r.stderr, c.want, `${c.name}: ${r.stderr}`);
      assert.equal(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('Error:')).length,
        1,
        c.name,
      );
    }
    const fail = await b.run([
      'build',
      context('bad-runfails', `FROM ${BASE}\nRUN echo last-words && exit 3\n`),
    ]);
    assert.match(fail.stderr, /last-words/);
    // a context symlink pointing out of it: COPY of the link copies the link, never the target
    const dir = context('symlink', `FROM ${BASE}\nCOPY link /link\nCOPY via/ /via/\n`);
    symlinkSync('/etc/shadow', join(dir, 'link'));
    symlinkSync('/etc', join(dir, 'via'));
    const r = await b.run(['build', dir]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not found|outside/);
    assert.equal((await b.ok(['ps', '-aq'])).trim(), '');
    assert.equal((await b.ok(['images', '-aq'])).trim(), before);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.equal(mounts.includes(b.root), false, 'no overlay mount is left');
  });

  test('on a debootstrap Debian base: useradd, COPY --chown by name, USER, multi-stage', async () => {
    await b.ok(['import', '--change', 'CMD ["/bin/bash"]', debianRootfsTar(), 'local/debian:bookworm']);
    const df = `FROM local/debian:bookworm AS build
RUN dpkg-query -W -f '\${Package}\\n' base-files > /pkgs && useradd --create-home --uid 1234 app
COPY --chown=app:app app.txt /home/app/app.txt
USER app
WORKDIR /home/app
RUN id -un > whoami && stat -c %U:%G app.txt > owner

FROM local/debian:bookworm
COPY --from=build /pkgs /home/app/whoami /home/app/owner /out/
CMD ["cat", "/out/pkgs", "/out/whoami", "/out/owner"]
`;
    await build(b, ['-t', 'local/deb-built:1', context('debian', df, { 'app.txt': 'x\n' })]);
    assert.equal(await b.ok(['run', '--rm', 'local/deb-built:1']), 'base-files\napp\napp:app\n');
  });

  test('only the stages the target needs are built', async () => {
    const df = `FROM ${BASE} AS broken
RUN echo this stage must not run && exit 1

FROM ${BASE} AS dep
RUN echo dep > /dep

FROM ${BASE} AS final
COPY --from=dep /dep /dep
`;
    const { stderr } = await build(b, ['-t', 'local/needed:1', context('needed', df)]);
    assert.doesNotMatch(stderr, /this stage must not run/);
    assert.match(stderr, /\[dep 2\/2\] RUN echo dep/);
    assert.equal(await b.ok(['run', '--rm', 'local/needed:1', 'cat', '/dep']), 'dep\n');
    const broken = await b.run(['build', '--target', 'broken', context('needed', df)]);
    assert.equal(broken.code, 1);
  });

  test('parallel builds of one Dockerfile share the store safely and agree on the image', async () => {
    const dir = context('parallel', `FROM ${BASE}\nRUN echo one > /one\nCOPY f /f\nRUN cat /f /one > /g\n`, {
      f: 'shared\n',
    });
    const results = await Promise.all(
      [1, 2, 3].map((i) => b.run(['build', '-q', '--no-cache', '-t', `local/parallel:${i}`, dir])),
    );
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const ids = new Set(results.map((r) => r.stdout.trim()));
    assert.equal(ids.size, 1);
    assert.equal((await b.ok(['ps', '-aq'])).trim(), '');
    assert.equal(await b.ok(['run', '--rm', 'local/parallel:2', 'cat', '/g']), 'shared\none\n');
  });

  test('SIGINT stops a build and cleans up; kill -9 mid-RUN leaves nothing system prune cannot clean', async () => {
    const dir = context('interrupt', `FROM ${BASE}\nRUN echo started-long-step && sleep 60\n`);
    const waitFor = async (child: ReturnType<Berth['start']>['child'], text: string) => {
      let seen = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${text}" in: ${seen}`)), 60_000);
        child.stderr!.on('data', (d: Buffer) => {
          seen += d.toString();
          if (seen.includes(text)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    };
    const gentle = b.start(['build', '--no-cache', dir]);
    await waitFor(gentle.child, 'started-long-step\n');
    gentle.child.kill('SIGINT');
    assert.notEqual(await gentle.closed, 0);
    assert.equal((await b.ok(['ps', '-aq'])).trim(), '');

    const hard = b.start(['build', '--no-cache', dir]);
    await waitFor(hard.child, 'started-long-step\n');
    hard.child.kill('SIGKILL');
    await hard.closed;
    // the RUN container outlives berth; prune (after stopping it) takes it, its mount and the rest
    const left = (await b.ok(['ps', '-aq', '--no-trunc'])).trim().split('\n').filter(Boolean);
    assert.equal(left.length, 1);
    await b.ok(['rm', '-f', ...left]);
    await b.ok(['system', 'prune', '-f']);
    assert.equal((await b.ok(['ps', '-aq'])).trim(), '');
    assert.equal((await b.ok(['images', '-q', '-f', 'dangling=true'])).trim(), '');
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(b.root), false);
    // and the next build still works
    const ok = context('after-kill', `FROM ${BASE}\nRUN echo fine > /f\n`);
    await build(b, ['-t', 'local/after-kill:1', ok]);
  });

  test('interop: a berth-built image runs in podman; a podman-built image is a FROM base in berth', async (t) => {
    if (!hasCommand('podman')) {
      t.skip('podman is not installed');
      return;
    }
    const dir = context('interop', `FROM ${BASE}\nRUN echo built-by-berth > /who\nCMD ["cat", "/who"]\n`);
    await build(b, ['-t', 'localhost/interop:1', dir]);
    const archive = join(work, 'interop.tar');
    await b.ok(['save', '-o', archive, 'localhost/interop:1']);
    const pdir = join(work, 'podman');
    const podman = (args: string[]) =>
      runProcess('podman', ['--root', join(pdir, 'root'), '--runroot', join(pdir, 'run'), ...args]);
    t.after(async () => {
      await podman(['system', 'reset', '-f']);
      rmSync(pdir, { recursive: true, force: true });
    });
    const loaded = await podman(['load', '-i', archive]);
    assert.equal(loaded.code, 0, loaded.stderr);
    try {
      const ran = await podman(['run', '--rm', '--network', 'none', 'localhost/interop:1']);
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout, 'built-by-berth\n');
    } finally {
      await podman(['rmi', '-f', 'localhost/interop:1']);
    }
    // podman builds on our busybox rootfs, saves, and berth builds FROM it
    const pctx = context('podman-ctx', 'FROM localhost/berth-bb-base:1\nRUN echo built-by-podman > /pod\n');
    const imported = await podman(['import', baseTar, 'localhost/berth-bb-base:1']);
    assert.equal(imported.code, 0, imported.stderr);
    try {
      const pb = await podman(['build', '--network', 'none', '-t', 'localhost/berth-pod:1', pctx]);
      assert.equal(pb.code, 0, pb.stderr);
      const parchive = join(work, 'pod.tar');
      const saved = await podman(['save', '-o', parchive, 'localhost/berth-pod:1']);
      assert.equal(saved.code, 0, saved.stderr);
      await b.ok(['load', '-i', parchive]);
      const on = context('on-podman', 'FROM localhost/berth-pod:1\nRUN cat /pod > /copied\n');
      await build(b, ['-t', 'local/on-podman:1', on]);
      assert.equal(await b.ok(['run', '--rm', 'local/on-podman:1', 'cat', '/copied']), 'built-by-podman\n');
    } finally {
      await podman(['rmi', '-f', 'localhost/berth-pod:1', 'localhost/berth-bb-base:1']);
    }
    const docker = spawnSync('docker', ['info'], { stdio: 'ignore' });
    if (docker.status === 0) {
      const dl = spawnSync('docker', ['load', '-i', archive], { encoding: 'utf8' });
      assert.equal(dl.status, 0, dl.stderr);
      const dr = spawnSync('docker', ['run', '--rm', '--network', 'none', 'localhost/interop:1'], {
        encoding: 'utf8',
      });
      spawnSync('docker', ['rmi', '-f', 'localhost/interop:1']);
      assert.equal(dr.stdout, 'built-by-berth\n', dr.stderr);
    } else {
      t.diagnostic('dockerd is not running here: the docker half of the interop check did not run');
    }
  });
});

function require_sha(buf: Buffer): string {
  return execFileSync('sha256sum', { input: buf }).toString().split(' ')[0]!;
}
