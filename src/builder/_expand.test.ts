// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about ${...} in Dockerfile text
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError, UnsafePathError } from '../errors/index.js';
import type {
  ArgInstruction,
  CopyInstruction,
  EnvInstruction,
  ExposeInstruction,
  FromInstruction,
  Instruction,
  LabelInstruction,
  RunInstruction,
  VolumeInstruction,
} from './_ast.js';
import { expandInstruction, parseRunMount, splitCsvFields } from './_expand.js';
import { parseDockerfile } from './_parser.js';
import type { VariableLookup } from './_shell-lex.js';

function env(vars: Record<string, string>): VariableLookup {
  return (name) => (Object.hasOwn(vars, name) ? vars[name] : undefined);
}

/** Parses `FROM base` + body and returns the instructions of that stage. */
function instructions(body: string, directive = ''): Instruction[] {
  return parseDockerfile(`${directive}FROM base\n${body}\n`).stages[0]!.instructions;
}

function first<T extends Instruction>(body: string, directive = ''): T {
  return instructions(body, directive)[0] as T;
}

const vars = env({
  APP: '/srv/app',
  USER: 'svc',
  SPACE: 'a  b',
  EMPTY: '',
  PORTS: '80 443/udp',
  VERSION: '1.2.3',
  TARGETARCH: 'arm64',
});

test('FROM: image and --platform are expanded, the stage name is not', () => {
  const from = parseDockerfile('FROM --platform=$BUILDPLATFORM alpine:${TAG:-3.20} AS Base\n').stages[0]!
    .from;
  const out = expandInstruction(from, env({ BUILDPLATFORM: 'linux/amd64' }), '\\') as FromInstruction;
  assert.equal(out.image, 'alpine:3.20');
  assert.equal(out.platform, 'linux/amd64');
  assert.equal(out.stageName, 'base');
  assert.equal(from.image, 'alpine:${TAG:-3.20}', 'the input is not modified');
});

test('ENV and LABEL: keys and values expanded, quotes removed, legacy values kept whole', () => {
  const [a, b, c] = instructions(
    [
      'ENV name="value value1" path=$APP/bin:$PATH quoted=\'$APP\' esc=\\$APP "k$VERSION"=v',
      'ENV legacy  hello "big" ${USER}',
      'LABEL "com.example.vendor"="ACME Inc" version=$VERSION description="multi\\',
      'line"',
    ].join('\n'),
  );
  const env1 = expandInstruction(a as EnvInstruction, vars, '\\');
  assert.deepEqual(env1.pairs, [
    { key: 'name', value: 'value value1' },
    { key: 'path', value: '/srv/app/bin:' },
    { key: 'quoted', value: '$APP' },
    { key: 'esc', value: '$APP' },
    { key: 'k1.2.3', value: 'v' },
  ]);
  assert.deepEqual(expandInstruction(b as EnvInstruction, vars, '\\').pairs, [
    { key: 'legacy', value: 'hello big svc' },
  ]);
  assert.deepEqual(expandInstruction(c as LabelInstruction, vars, '\\').pairs, [
    { key: 'com.example.vendor', value: 'ACME Inc' },
    { key: 'version', value: '1.2.3' },
    { key: 'description', value: 'multiline' },
  ]);
});

test('ENV values from BuildKit testfile env come out unquoted', () => {
  const lines = [
    ['ENV name="a\\"b"', 'a"b'],
    ['ENV name="a\\\'b"', "a\\'b"],
    ["ENV name='a\\\"b'", 'a\\"b'],
    ['ENV name="\'\'"', "''"],
    ['ENV name=value\\ value2', 'value value2'],
    ['ENV name="value\'quote space\'value2"', "value'quote space'value2"],
    ['ENV name="value3a\\n\\"value3b\\""', 'value3a\\n"value3b"'],
    ['ENV name="value4a\\\\nvalue4b"', 'value4a\\nvalue4b'],
  ];
  for (const [line, value] of lines) {
    const out = expandInstruction(first<EnvInstruction>(line!), () => undefined, '\\');
    assert.equal(out.pairs[0]!.value, value, line);
  }
});

test('escape=` is honoured: backslashes are literal, backtick escapes', () => {
  const directive = '# escape=`\n';
  const env1 = first<EnvInstruction>('ENV GOPATH=C:\\go`$x p2="C:\\Program Files\\$USER"', directive);
  assert.deepEqual(expandInstruction(env1, vars, '`').pairs, [
    { key: 'GOPATH', value: 'C:\\go$x' },
    { key: 'p2', value: 'C:\\Program Files\\svc' },
  ]);
  const wd = first<Instruction>('WORKDIR C:\\Users\\$USER', directive);
  assert.deepEqual(expandInstruction(wd, vars, '`'), { ...wd, path: 'C:\\Users\\svc' });
});

test('ARG: defaults expanded, names left alone', () => {
  const arg = first<ArgInstruction>('ARG A=$VERSION B C="${USER}-x"');
  assert.deepEqual(expandInstruction(arg, vars, '\\').args, [
    { name: 'A', defaultValue: '1.2.3' },
    { name: 'B' },
    { name: 'C', defaultValue: 'svc-x' },
  ]);
});

test('COPY/ADD: sources, dest, --chown, --chmod, --checksum expanded; --from and --exclude literal', () => {
  const copy = first<CopyInstruction>(
    'COPY --from=build --chown=$USER:$USER --chmod=${MODE:-0755} --exclude=$X ./$VERSION/ "$APP/"',
  );
  const out = expandInstruction(copy, vars, '\\');
  assert.deepEqual(out.sources, ['./1.2.3/']);
  assert.equal(out.dest, '/srv/app/');
  assert.equal(out.chown, 'svc:svc');
  assert.equal(out.chmod, '0755');
  assert.equal(out.from, 'build');
  assert.deepEqual(out.excludes, ['$X']);
  assert.deepEqual(out.flags, copy.flags, 'raw flags stay raw');

  const add = first<CopyInstruction>('ADD --checksum=sha256:${SUM} https://x/v${VERSION}.tgz /opt/');
  const added = expandInstruction(add, env({ SUM: 'abc', VERSION: '2' }), '\\');
  assert.equal(added.checksum, 'sha256:abc');
  assert.deepEqual(added.sources, ['https://x/v2.tgz']);
});

test('COPY heredocs: unquoted bodies expanded (quotes kept, escapes processed), quoted ones verbatim', () => {
  const copy = first<CopyInstruction>(
    [
      'COPY <<EOF <<"RAW" $APP/',
      'user=$USER "quoted $USER" \\$USER ${MISSING:-dflt}',
      'EOF',
      'user=$USER \\$USER',
      'RAW',
    ].join('\n'),
  );
  const out = expandInstruction(copy, vars, '\\');
  assert.deepEqual(out.sources, ['<<EOF', '<<"RAW"'], 'heredoc sources keep their spelling');
  assert.equal(out.dest, '/srv/app/');
  assert.equal(out.heredocs[0]!.content, 'user=svc "quoted svc" $USER dflt\n');
  assert.equal(out.heredocs[1]!.content, 'user=$USER \\$USER\n');
  assert.equal(copy.heredocs[0]!.content, 'user=$USER "quoted $USER" \\$USER ${MISSING:-dflt}\n');
});

test('EXPOSE splits expanded words; VOLUME keeps each word whole', () => {
  const expose = first<ExposeInstruction>('EXPOSE $PORTS 8080 "${SPACE}"');
  assert.deepEqual(expandInstruction(expose, vars, '\\').ports, ['80', '443/udp', '8080', 'a  b']);
  const volume = first<VolumeInstruction>('VOLUME $APP/data ${SPACE}');
  assert.deepEqual(expandInstruction(volume, vars, '\\').paths, ['/srv/app/data', 'a  b']);
  const json = first<VolumeInstruction>('VOLUME ["$APP/logs"]');
  assert.deepEqual(expandInstruction(json, vars, '\\').paths, ['/srv/app/logs']);
});

test('USER, WORKDIR, STOPSIGNAL are expanded', () => {
  const [user, workdir, stop] = instructions(
    'USER ${USER}:${GROUP:-$USER}\nWORKDIR "$APP"/src\nSTOPSIGNAL SIG${SIG:-TERM}',
  );
  assert.equal((expandInstruction(user!, vars, '\\') as { user: string }).user, 'svc:svc');
  assert.equal((expandInstruction(workdir!, vars, '\\') as { path: string }).path, '/srv/app/src');
  assert.equal((expandInstruction(stop!, vars, '\\') as { signal: string }).signal, 'SIGTERM');
});

test('RUN: --mount values expanded (keys and bare flags kept); command, network untouched', () => {
  const run = first<RunInstruction>(
    'RUN --network=none --mount=type=cache,id=npm-$TARGETARCH,target=$APP/.npm,ro --mount=type=bind,source=${SRC},target=/s echo $APP',
  );
  const out = expandInstruction(run, env({ APP: '/srv/app', TARGETARCH: 'arm64', SRC: 'a,b' }), '\\');
  assert.deepEqual(out.mounts, [
    'type=cache,id=npm-arm64,target=/srv/app/.npm,ro',
    'type=bind,"source=a,b",target=/s',
  ]);
  assert.deepEqual(out.command, { form: 'shell', text: 'echo $APP' });
  assert.equal(out.network, 'none');
  // Values with commas are re-quoted so the spec still parses to the same fields.
  assert.deepEqual(parseRunMount(out.mounts[1]!), {
    type: 'bind',
    target: '/s',
    source: 'a,b',
    readwrite: false,
  });
});

test('CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD and MAINTAINER are returned unchanged', () => {
  const all = instructions(
    [
      'CMD echo $APP',
      'ENTRYPOINT ["/bin/$APP"]',
      'SHELL ["/bin/$SH", "-c"]',
      'HEALTHCHECK CMD curl $APP',
      'ONBUILD ENV X=$APP',
      'MAINTAINER $USER',
    ].join('\n'),
  );
  for (const instr of all) {
    assert.deepEqual(expandInstruction(instr, vars, '\\'), instr, instr.kind);
  }
});

test('expansion errors name the instruction and line and keep the message', () => {
  const env1 = first<EnvInstruction>('ENV X="${REQUIRED:?set REQUIRED to the release}"');
  assert.throws(
    () => expandInstruction(env1, () => undefined, '\\'),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(
        err.message,
        /^ENV on line 2: failed to process ".*": REQUIRED: set REQUIRED to the release$/,
      );
      return true;
    },
  );
  const bad = first<Instruction>('WORKDIR "unterminated');
  assert.throws(() => expandInstruction(bad, vars, '\\'), /WORKDIR on line 2: .*double-quote/);
  const emptyKey = first<EnvInstruction>('ENV $EMPTY=x');
  assert.throws(() => expandInstruction(emptyKey, vars, '\\'), /ENV name "\$EMPTY" expands to nothing/);
});

// --- parseRunMount ----------------------------------------------------------------------------

test('bind mounts: default type, read-only unless rw, aliases for source and target', () => {
  assert.deepEqual(parseRunMount('target=/src'), { type: 'bind', target: '/src', readwrite: false });
  assert.deepEqual(parseRunMount('type=bind,src=app,dst=/app,from=build,rw'), {
    type: 'bind',
    target: '/app',
    source: 'app',
    from: 'build',
    readwrite: true,
  });
  assert.deepEqual(parseRunMount('Type=BIND,Source=./a/../b,Destination=/x/,readwrite=true'), {
    type: 'bind',
    target: '/x',
    source: 'b',
    readwrite: true,
  });
  assert.equal((parseRunMount('target=/a,rw,ro') as { readwrite: boolean }).readwrite, false);
  assert.equal((parseRunMount('target=/a,readonly=false') as { readwrite: boolean }).readwrite, true);
  assert.deepEqual(parseRunMount('"target=/a,b",type=bind'), {
    type: 'bind',
    target: '/a,b',
    readwrite: false,
  });
});

test('cache mounts: id defaults to the target, sharing, mode/uid/gid', () => {
  assert.deepEqual(parseRunMount('type=cache,target=/root/.cache/'), {
    type: 'cache',
    target: '/root/.cache',
    id: '/root/.cache',
    sharing: 'shared',
    readonly: false,
  });
  assert.deepEqual(
    parseRunMount(
      'type=cache,target=/var/cache/apt,id=apt,sharing=locked,mode=0755,uid=1000,gid=100,from=base,source=/c,ro',
    ),
    {
      type: 'cache',
      target: '/var/cache/apt',
      id: 'apt',
      sharing: 'locked',
      readonly: true,
      source: '/c',
      from: 'base',
      mode: 0o755,
      uid: 1000,
      gid: 100,
    },
  );
  assert.equal(
    (parseRunMount('type=cache,target=/a,sharing=PRIVATE') as { sharing: string }).sharing,
    'private',
  );
});

test('tmpfs mounts: size with binary units', () => {
  assert.deepEqual(parseRunMount('type=tmpfs,target=/tmp'), { type: 'tmpfs', target: '/tmp' });
  const size = (s: string) => (parseRunMount(`type=tmpfs,target=/t,size=${s}`) as { size?: number }).size;
  assert.equal(size('1024'), 1024);
  assert.equal(size('64m'), 64 * 1024 * 1024);
  assert.equal(size('64MiB'), 64 * 1024 * 1024);
  assert.equal(size('512kb'), 512 * 1024);
  assert.equal(size('1.5g'), 1.5 * 1024 ** 3);
  assert.throws(() => size('lots'), /invalid value for size: lots/);
});

test('secret mounts: id, default target, env, required, file mode', () => {
  assert.deepEqual(parseRunMount('type=secret,id=npmrc'), {
    type: 'secret',
    id: 'npmrc',
    target: '/run/secrets/npmrc',
    required: false,
    mode: 0o400,
    uid: 0,
    gid: 0,
  });
  assert.deepEqual(parseRunMount('type=secret,target=/root/.npmrc,required,mode=0440,uid=1,gid=2'), {
    type: 'secret',
    id: '.npmrc',
    target: '/root/.npmrc',
    required: true,
    mode: 0o440,
    uid: 1,
    gid: 2,
  });
  assert.deepEqual(parseRunMount('type=secret,id=token,env=TOKEN,required=true'), {
    type: 'secret',
    id: 'token',
    required: true,
    mode: 0o400,
    uid: 0,
    gid: 0,
    env: 'TOKEN',
  });
  // For secrets, `source` names the secret (it is not a path).
  assert.equal((parseRunMount('type=secret,source=aws') as { id?: string }).id, 'aws');
  // The type may come after options that depend on it.
  assert.equal((parseRunMount('required,id=x,type=secret') as { required: boolean }).required, true);
});

test('ssh mounts', () => {
  assert.deepEqual(parseRunMount('type=ssh'), { type: 'ssh', id: 'default', required: false });
  assert.deepEqual(parseRunMount('type=ssh,id=github,target=/run/ssh.sock,required,mode=0600'), {
    type: 'ssh',
    id: 'github',
    target: '/run/ssh.sock',
    required: true,
    mode: 0o600,
  });
});

test('mount targets: absolute, or resolved against the workdir when one is given', () => {
  assert.throws(() => parseRunMount('type=cache,target=cache'), /target "cache" must be an absolute path/);
  assert.equal(
    (parseRunMount('type=cache,target=cache', { workdir: '/app' }) as { target: string }).target,
    '/app/cache',
  );
  assert.equal(
    (parseRunMount('target=../x', { workdir: '/app/sub' }) as { target: string }).target,
    '/app/x',
  );
  assert.throws(() => parseRunMount('target=/'), /invalid mount target "\/"/);
  assert.throws(() => parseRunMount('target=/a/..'), /invalid mount target/);
  assert.throws(() => parseRunMount('type=bind,source=x'), /a target is required for bind mounts/);
  assert.throws(() => parseRunMount('type=cache'), /a target is required for cache mounts/);
  assert.throws(() => parseRunMount('type=tmpfs,target='), /a target is required for tmpfs mounts/);
});

test('mount sources that climb out of their root are refused (CVE-2024-23651/23652 class)', () => {
  for (const source of ['../../etc', '/../etc', 'a/../../b', '..', './..', 'a/b/../../../c']) {
    assert.throws(
      () => parseRunMount(`type=bind,source=${source},target=/mnt`),
      (err: unknown) =>
        err instanceof UnsafePathError && err.code === 'UNSAFE_PATH' && err.message.includes(source),
      source,
    );
    assert.throws(() => parseRunMount(`type=cache,source=${source},target=/mnt`), UnsafePathError, source);
  }
  assert.equal((parseRunMount('source=a/../b/./c,target=/m') as { source?: string }).source, 'b/c');
  assert.equal((parseRunMount('source=/,target=/m') as { source?: string }).source, '/');
});

test('mount option errors name the offending key or value', () => {
  const cases: [string, RegExp][] = [
    ['target=/a,bogus=1', /unexpected key 'bogus' in 'bogus=1'/],
    ['target=/a,bogus', /unknown option 'bogus'/],
    ['target=/a,id', /option 'id' needs a value/],
    ['type=volume,target=/a', /unsupported mount type "volume"/],
    ['target=/a,size=1m', /unexpected key 'size' for mount type 'bind'/],
    ['target=/a,required', /unexpected key 'required' for mount type 'bind'/],
    ['target=/a,mode=0755', /mode not allowed for "bind" type mounts/],
    ['type=tmpfs,target=/a,uid=1', /uid not allowed for "tmpfs" type mounts/],
    ['target=/a,sharing=shared', /invalid cache sharing set for bind mount/],
    ['type=cache,target=/a,sharing=everyone', /unsupported sharing value "everyone"/],
    ['type=cache,target=/a,mode=999', /invalid value 999 for mode/],
    ['type=cache,target=/a,uid=-1', /invalid value -1 for uid/],
    ['target=/a,ro=maybe', /invalid value for ro: maybe/],
    ['type=secret', /one of id, source or target is required/],
    ['type=secret,id=a,source=b', /both source and id can't be set/],
    ['type=secret,id=a,from=x', /secret mount should not have a from/],
    ['type=secret,id=a,sharing=locked', /invalid cache sharing set for secret mount/],
    ['type=ssh,source=x', /ssh does not support source/],
    ['target=/a,"unterminated', /unterminated quoted field/],
    ['target=/a"b', /bare " in unquoted field/],
  ];
  for (const [spec, pattern] of cases) {
    assert.throws(
      () => parseRunMount(spec),
      (err: unknown) =>
        err instanceof InvalidArgumentError &&
        pattern.test(err.message) &&
        err.message.includes(JSON.stringify(spec)),
      spec,
    );
  }
});

test('CSV fields as Go reads them', () => {
  assert.deepEqual(splitCsvFields('a,b,,c'), ['a', 'b', '', 'c']);
  assert.deepEqual(splitCsvFields(''), ['']);
  assert.deepEqual(splitCsvFields('"a,b","say ""hi""",c'), ['a,b', 'say "hi"', 'c']);
  assert.deepEqual(splitCsvFields('a,""'), ['a', '']);
  assert.throws(() => splitCsvFields('"a"b'), /extraneous "/);
});
