// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about ${...} in Dockerfile text
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SizeLimitError } from '../errors/index.js';
import type {
  ArgInstruction,
  CopyInstruction,
  EnvInstruction,
  FromInstruction,
  HealthcheckInstruction,
  OnbuildInstruction,
  RunInstruction,
} from './_ast.js';
import { DockerfileSyntaxError, MAX_DOCKERFILE_BYTES, parseDockerfile, parseGoDuration } from './_parser.js';
import { dump, fails, lines } from './_parser-test-helpers.js';

test('FROM: image, AS in any case, stage name lower-cased, stages and meta ARGs', () => {
  const df = parseDockerfile(
    lines(
      'ARG BASE=alpine',
      'ARG TAG',
      'FROM ${BASE}:${TAG} as Builder',
      'RUN make',
      'FROM scratch AS final',
      'COPY --from=builder /out /',
    ),
  );
  assert.deepEqual(
    df.metaArgs.map((a) => a.args),
    [[{ name: 'BASE', defaultValue: 'alpine' }], [{ name: 'TAG' }]],
  );
  assert.equal(df.stages.length, 2);
  const [b, f] = df.stages;
  assert.equal(b!.index, 0);
  assert.equal(b!.from.image, '${BASE}:${TAG}');
  assert.equal(b!.from.stageName, 'builder');
  assert.deepEqual(
    b!.instructions.map((i) => i.kind),
    ['RUN'],
  );
  assert.equal(f!.index, 1);
  assert.equal(f!.from.stageName, 'final');
  assert.equal((f!.instructions[0] as CopyInstruction).from, 'builder');
  assert.equal(parseDockerfile('FROM x').stages[0]!.from.stageName, undefined);
  assert.equal(parseDockerfile('FROM x AS a.b-c_d9').stages[0]!.from.stageName, 'a.b-c_d9');
});

test('FROM errors: missing image, wrong argument count, bad or duplicate stage names', () => {
  fails('FROM\n', /^Dockerfile:1:1: FROM requires an image name/);
  fails('FROM --platform=linux/arm64\n', /FROM requires an image name/);
  fails('FROM a b\n', /^Dockerfile:1:6: FROM requires either one or three arguments/);
  fails('FROM a AS\n', /FROM requires either one or three arguments/);
  fails('FROM a FOR b\n', /FROM requires either one or three arguments/);
  fails('FROM a AS 1st\n', /^Dockerfile:1:11: invalid stage name "1st"/);
  fails('FROM a AS b$c\n', /invalid stage name "b\$c"/);
  fails('FROM a AS _x\n', /invalid stage name/);
  fails(
    lines('FROM a AS build', 'FROM b AS BUILD'),
    /^Dockerfile:2:1: duplicate stage name "build" \(first used on line 1\)/,
  );
});

test('only ARG may come before the first FROM; a Dockerfile needs a FROM', () => {
  fails(
    lines('ARG X', 'RUN echo', 'FROM x'),
    /^Dockerfile:2:1: RUN before the first FROM: only ARG may come before FROM/,
  );
  fails(lines('# just a comment', 'ENV A=b'), /ENV before the first FROM/);
  fails('', /^Dockerfile:1:1: the Dockerfile has no instructions$/);
  fails(
    lines('# Hello', '# These are just comments', ''),
    /^Dockerfile:3:1: the Dockerfile has no instructions/,
  );
  fails(lines('ARG A=1', 'ARG B'), /the Dockerfile has no FROM instruction/);
});

test('unknown instructions are errors (with a suggestion when close)', () => {
  const err = fails(
    lines('FROM x', '', 'RUNN echo hi'),
    /^Dockerfile:3:1: unknown instruction "RUNN", did you mean RUN\? \(line: "RUNN echo hi"\)$/,
  );
  assert.equal(err.file, 'Dockerfile');
  assert.equal(err.line, 3);
  assert.equal(err.column, 1);
  assert.equal(err.code, 'INVALID_ARGUMENT');
  fails(
    lines('FROM x', '    FOOBARBAZ'),
    /^Dockerfile:2:5: unknown instruction "FOOBARBAZ" \(line: "FOOBARBAZ"\)$/,
  );
});

// --- ENV, LABEL, ARG --------------------------------------------------------------------------

test('ENV keeps raw words; quotes are removed later by expansion (testfile env)', () => {
  const df = parseDockerfile(
    lines(
      'FROM ubuntu',
      'ENV name value',
      'ENV name=value',
      'ENV name=value name2=value2',
      'ENV name="value value1"',
      'ENV name=value\\ value2',
      'ENV name="value\'quote space\'value2"',
      'ENV name=\'value"double quote"value2\'',
      'ENV name=value\\ value2 name2=value2\\ value3',
      'ENV name="a\\"b"',
      'ENV name="a\\\'b"',
      "ENV name='a\\'b'",
      "ENV name='a\\'b''",
      "ENV name='a\\\"b'",
      'ENV name="\'\'"',
      'ENV name=value \\',
      '    name1=value1 \\',
      '    name2="value2a \\',
      '           value2b" \\',
      '    name3="value3a\\n\\"value3b\\"" \\',
      '\tname4="value4a\\\\nvalue4b" \\',
    ),
  );
  assert.deepEqual(dump(df).slice(1), [
    '(env "name" "value")',
    '(env "name" "value")',
    '(env "name" "value" "name2" "value2")',
    '(env "name" "\\"value value1\\"")',
    '(env "name" "value\\\\ value2")',
    '(env "name" "\\"value\'quote space\'value2\\"")',
    '(env "name" "\'value\\"double quote\\"value2\'")',
    '(env "name" "value\\\\ value2" "name2" "value2\\\\ value3")',
    '(env "name" "\\"a\\\\\\"b\\"")',
    '(env "name" "\\"a\\\\\'b\\"")',
    '(env "name" "\'a\\\\\'b\'")',
    '(env "name" "\'a\\\\\'b\'\'")',
    '(env "name" "\'a\\\\\\"b\'")',
    '(env "name" "\\"\'\'\\"")',
    '(env "name" "value" "name1" "value1" "name2" "\\"value2a            value2b\\"" "name3" "\\"value3a\\\\n\\\\\\"value3b\\\\\\"\\"" "name4" "\\"value4a\\\\\\\\nvalue4b\\"")',
  ]);
});

test('ENV/LABEL legacy form: one pair, the value is the rest of the line', () => {
  const df = parseDockerfile(
    lines(
      'FROM busybox',
      'ENV SCUBA 1 DUBA 3',
      'ENV SCUBA "1 DUBA 3"',
      'LABEL maintainer James Turnbull "james@example.com"',
      'LABEL\tmaintainer\tSeongyeol Lim <seongyeol37@gmail.com>',
      'ENV REFRESHED_AT 2014-06-01',
      'ENV empty= other=""',
    ),
  );
  assert.deepEqual(dump(df).slice(1), [
    '(env "SCUBA" "1 DUBA 3")',
    '(env "SCUBA" "\\"1 DUBA 3\\"")',
    '(label "maintainer" "James Turnbull \\"james@example.com\\"")',
    '(label "maintainer" "Seongyeol Lim <seongyeol37@gmail.com>")',
    '(env "REFRESHED_AT" "2014-06-01")',
    '(env "empty" "" "other" "\\"\\"")',
  ]);
});

test('ENV/LABEL errors: no value, missing =, blank names, no arguments', () => {
  fails(lines('FROM busybox', '', 'ENV PATH'), /^Dockerfile:3:5: ENV PATH has no value/);
  fails(lines('FROM x', 'ENV'), /^Dockerfile:2:1: ENV requires at least one argument/);
  fails(lines('FROM x', 'ENV a=b c'), /^Dockerfile:2:9: syntax error - can't find = in "c"/);
  fails(lines('FROM x', 'ENV =b'), /ENV names can not be blank/);
  fails(lines('FROM x', 'LABEL a=1 =2'), /^Dockerfile:2:11: LABEL names can not be blank/);
  fails(lines('FROM x', 'LABEL single'), /LABEL single has no value/);
});

test('ARG: names, defaults (raw), several per line (testfile args)', () => {
  const df = parseDockerfile(
    lines('ARG foo bar=baz', 'FROM ubuntu', 'ARG abc="123 456" def', 'ARG empty= x=${Y:-z}'),
  );
  assert.deepEqual(df.metaArgs[0]!.args, [{ name: 'foo' }, { name: 'bar', defaultValue: 'baz' }]);
  const [a, b] = df.stages[0]!.instructions as ArgInstruction[];
  assert.deepEqual(a!.args, [{ name: 'abc', defaultValue: '"123 456"' }, { name: 'def' }]);
  assert.deepEqual(b!.args, [
    { name: 'empty', defaultValue: '' },
    { name: 'x', defaultValue: '${Y:-z}' },
  ]);
});

test('ARG errors: missing, blank or quoted names', () => {
  fails(lines('FROM x', 'ARG'), /ARG requires at least one argument/);
  fails(lines('FROM x', 'ARG =1'), /^Dockerfile:2:5: ARG names can not be blank/);
  fails(lines('FROM x', 'ARG ok "bad"=1'), /^Dockerfile:2:8: invalid ARG name "\\"bad\\""/);
  fails(lines('FROM x', 'ARG $X'), /invalid ARG name "\$X"/);
});

// --- Other instructions -----------------------------------------------------------------------

test('COPY/ADD: word and JSON forms, argument count', () => {
  const df = parseDockerfile(
    lines(
      'FROM\tubuntu:14.04',
      'COPY\t.\t/go/src/github.com/docker/docker',
      'ADD\t\t.\t/',
      'ADD\t\tnull /',
      'ADD\t\t[ "vimrc", "/tmp" ]',
      'COPY\t[ "test file", "/tmp" ]',
      'ADD\t\t[ "test file", "/tmp/test file" ]',
      'ADD \\conf\\\\" /.znc',
    ),
  );
  assert.deepEqual(dump(df).slice(1), [
    '(copy "." "/go/src/github.com/docker/docker")',
    '(add "." "/")',
    '(add "null" "/")',
    '(add "vimrc" "/tmp")',
    '(copy "test file" "/tmp")',
    '(add "test file" "/tmp/test file")',
    '(add "\\\\conf\\\\\\\\\\"" "/.znc")',
  ]);
  fails(lines('FROM x', 'COPY onlyone'), /^Dockerfile:2:6: COPY requires at least two arguments .*got 1/);
  fails(lines('FROM x', 'ADD'), /^Dockerfile:2:1: ADD requires at least two arguments/);
  fails(lines('FROM x', 'COPY ["a"]'), /COPY requires at least two arguments/);
});

test('EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, MAINTAINER, SHELL', () => {
  const df = parseDockerfile(
    lines(
      'FROM busybox',
      'EXPOSE 3000',
      'EXPOSE 9000 5000/udp\t6000',
      'VOLUME ["/test"]',
      'VOLUME ["/test", "/test2"]',
      'VOLUME /opt/nagios/var /opt/nagios/etc',
      'USER docker:root',
      'USER a b',
      'WORKDIR /path with spaces',
      'STOPSIGNAL SIGKILL',
      'MAINTAINER docker <docker@docker.io>',
      'SHELL ["powershell", "-command"]',
    ),
  );
  assert.deepEqual(dump(df).slice(1, 9), [
    '(expose "3000")',
    '(expose "9000" "5000/udp" "6000")',
    '(volume "/test")',
    '(volume "/test" "/test2")',
    '(volume "/opt/nagios/var" "/opt/nagios/etc")',
    '(user "docker:root")',
    '(user "a b")',
    '(workdir "/path with spaces")',
  ]);
  const rest = df.stages[0]!.instructions.slice(8);
  assert.deepEqual(
    rest.map((i) => i.kind),
    ['STOPSIGNAL', 'MAINTAINER', 'SHELL'],
  );
  assert.ok(rest[0]!.kind === 'STOPSIGNAL' && rest[0].signal === 'SIGKILL');
  assert.ok(rest[1]!.kind === 'MAINTAINER' && rest[1].name === 'docker <docker@docker.io>');
  assert.ok(rest[2]!.kind === 'SHELL');
  assert.deepEqual(rest[2].args, ['powershell', '-command']);
  assert.equal(df.warnings.length, 1);
  assert.match(df.warnings[0]!.message, /MAINTAINER is deprecated/);
  assert.equal(df.warnings[0]!.loc.line, 11);
});

test('missing-argument and form errors for the simple instructions', () => {
  for (const kw of ['USER', 'WORKDIR', 'STOPSIGNAL', 'MAINTAINER']) {
    fails(lines('FROM x', kw), new RegExp(`^Dockerfile:2:1: ${kw} requires exactly one argument`));
  }
  for (const kw of ['RUN', 'CMD', 'ENTRYPOINT', 'EXPOSE', 'VOLUME', 'SHELL', 'ONBUILD', 'HEALTHCHECK']) {
    fails(lines('FROM x', `${kw}   `), new RegExp(`^Dockerfile:2:1: ${kw} requires at least one argument`));
  }
  fails(lines('FROM x', 'SHELL /bin/bash -c'), /^Dockerfile:2:7: SHELL requires the arguments in JSON form/);
  fails(lines('FROM x', 'SHELL []'), /SHELL requires at least one argument/);
  fails(lines('FROM x', 'VOLUME [""]'), /VOLUME specified can not be an empty string/);
  fails(lines('FROM x', 'VOLUME []'), /VOLUME requires at least one argument/);
});

test('HEALTHCHECK: NONE, CMD shell and exec forms, durations and retries', () => {
  const df = parseDockerfile(
    lines(
      'FROM debian',
      'HEALTHCHECK NONE',
      'HEALTHCHECK --interval=5s --timeout=3s --retries=3 \\',
      '  CMD /app/check.sh --quiet',
      'HEALTHCHECK   CMD   a b',
      'HEALTHCHECK --timeout=3s CMD ["foo"]',
      'healthcheck --start-period=0s --start-interval=1m30s --interval=1.5h --timeout=500ms --retries=0 cmd ["foo", "bar"]',
    ),
  );
  const [none, shell, spaced, exec, full] = df.stages[0]!.instructions as HealthcheckInstruction[];
  assert.deepEqual(none!.test, ['NONE']);
  assert.equal(none!.interval, undefined);
  assert.deepEqual(shell!.test, ['CMD-SHELL', '/app/check.sh --quiet']);
  assert.equal(shell!.interval, 5e9);
  assert.equal(shell!.timeout, 3e9);
  assert.equal(shell!.retries, 3);
  assert.equal(shell!.startPeriod, undefined);
  assert.deepEqual(spaced!.test, ['CMD-SHELL', 'a b']);
  assert.deepEqual(exec!.test, ['CMD', 'foo']);
  assert.deepEqual(full!.test, ['CMD', 'foo', 'bar']);
  assert.equal(full!.startPeriod, 0);
  assert.equal(full!.startInterval, 90e9);
  assert.equal(full!.interval, 1.5 * 3600e9);
  assert.equal(full!.timeout, 5e8);
  assert.equal(full!.retries, 0);
});

test('HEALTHCHECK errors', () => {
  fails(lines('FROM x', 'HEALTHCHECK CMD'), /missing command after HEALTHCHECK CMD/);
  fails(lines('FROM x', 'HEALTHCHECK CMD []'), /missing command after HEALTHCHECK CMD/);
  fails(
    lines('FROM x', 'HEALTHCHECK CONNECT TCP 7000'),
    /^Dockerfile:2:13: unknown type "CONNECT" in HEALTHCHECK/,
  );
  fails(lines('FROM x', 'HEALTHCHECK NONE now'), /HEALTHCHECK NONE takes no arguments/);
  fails(lines('FROM x', 'HEALTHCHECK --interval=5s NONE'), /HEALTHCHECK NONE takes no flags/);
  fails(
    lines('FROM x', 'HEALTHCHECK --interval=5 CMD true'),
    /^Dockerfile:2:13: HEALTHCHECK --interval: missing unit in duration "5"/,
  );
  fails(lines('FROM x', 'HEALTHCHECK --timeout=5x CMD true'), /unknown unit "x" in duration "5x"/);
  fails(lines('FROM x', 'HEALTHCHECK --timeout=abc CMD true'), /invalid duration "abc"/);
  fails(
    lines('FROM x', 'HEALTHCHECK --start-period=10us CMD true'),
    /--start-period cannot be less than 1ms/,
  );
  fails(lines('FROM x', 'HEALTHCHECK --interval=-5s CMD true'), /--interval cannot be less than 1ms/);
  fails(lines('FROM x', 'HEALTHCHECK --retries=-1 CMD true'), /--retries cannot be negative/);
  fails(lines('FROM x', 'HEALTHCHECK --retries=two CMD true'), /--retries: invalid integer "two"/);
  fails(lines('FROM x', 'HEALTHCHECK --retries=99999999999 CMD true'), /--retries: invalid integer/);
  fails(lines('FROM x', 'HEALTHCHECK --retry=3 CMD true'), /unknown flag "--retry" for HEALTHCHECK/);
});

test('Go duration syntax', () => {
  const cases: [string, number | RegExp][] = [
    ['0', 0],
    ['1ns', 1],
    ['1us', 1e3],
    ['1µs', 1e3],
    ['1μs', 1e3],
    ['500ms', 5e8],
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1h2m3s', 3723e9],
    ['1.5s', 1.5e9],
    ['.5s', 5e8],
    ['1.s', 1e9],
    ['+2s', 2e9],
    ['-2s', -2e9],
    ['-0s', 0],
    ['', /invalid duration/],
    ['s', /invalid duration/],
    ['.s', /invalid duration/],
    ['1', /missing unit/],
    ['1d', /unknown unit "d"/],
    ['999999999h', /out of range/],
  ];
  for (const [text, expected] of cases) {
    const got = parseGoDuration(text);
    if (typeof expected === 'number') assert.equal(got, expected, text);
    else assert.match(String(got), expected, text);
  }
});

test('ONBUILD: the trigger is parsed; FROM, ONBUILD and MAINTAINER are refused', () => {
  const df = parseDockerfile(
    lines(
      'FROM busybox',
      'ONBUILD RUN ["echo", "test"]',
      'ONBUILD RUN echo test',
      'onbuild  COPY --chown=1 . /',
    ),
  );
  assert.deepEqual(dump(df).slice(1), [
    '(onbuild (run "echo" "test"))',
    '(onbuild (run "echo test"))',
    '(onbuild (copy "." "/"))',
  ]);
  const last = df.stages[0]!.instructions[2] as OnbuildInstruction;
  assert.equal(last.trigger, 'COPY --chown=1 . /');
  assert.equal(last.original, 'onbuild  COPY --chown=1 . /');
  assert.deepEqual(last.instruction.flags, { chown: ['1'] });
  assert.equal(last.instruction.original, 'COPY --chown=1 . /');
  assert.deepEqual(last.instruction.loc, { line: 4, column: 10, endLine: 4 });

  fails(lines('FROM x', 'ONBUILD FROM y'), /^Dockerfile:2:9: FROM is not allowed as an ONBUILD trigger/);
  fails(
    lines('FROM x', 'ONBUILD ONBUILD RUN y'),
    /^Dockerfile:2:9: chaining ONBUILD via `ONBUILD ONBUILD` is not allowed/,
  );
  fails(lines('FROM x', 'ONBUILD maintainer me'), /MAINTAINER is not allowed as an ONBUILD trigger/);
  fails(lines('FROM x', 'ONBUILD RUNN y'), /^Dockerfile:2:9: unknown instruction "RUNN"/);
  fails(lines('FROM x', 'ONBUILD --x RUN y'), /unknown flag "--x": ONBUILD takes no flags/);
  fails(lines('FROM x', 'ONBUILD COPY a'), /COPY requires at least two arguments/);
});

// --- Whole files and limits -------------------------------------------------------------------

test('a realistic multi-stage Dockerfile (lk4d4 edge cases and friends)', () => {
  const df = parseDockerfile(
    lines(
      '# syntax=docker/dockerfile:1',
      'ARG NODE=20',
      '',
      'FROM --platform=$BUILDPLATFORM node:${NODE}-alpine AS deps',
      'WORKDIR /app',
      'COPY package.json package-lock.json ./',
      'RUN --mount=type=cache,target=/root/.npm \\',
      '    npm ci --omit=dev',
      '',
      'FROM node:${NODE}-alpine',
      'LABEL org.opencontainers.image.source="https://example.com/repo" \\',
      '      org.opencontainers.image.licenses=Apache-2.0',
      'ENV NODE_ENV=production PORT=8080',
      'COPY --from=deps --chown=node:node /app/node_modules ./node_modules',
      'COPY . .',
      "RUN    sh -c 'echo root:testpass \\",
      "        > /tmp/passwd'",
      'USER node',
      'EXPOSE $PORT',
      'HEALTHCHECK --interval=30s CMD wget -qO- http://localhost:$PORT/health || exit 1',
      'ENTRYPOINT ["node"]',
      'CMD ["server.js"]',
    ),
  );
  assert.equal(df.directives.syntax, 'docker/dockerfile:1');
  assert.equal(df.stages.length, 2);
  assert.deepEqual(
    df.stages[1]!.instructions.map((i) => i.kind),
    ['LABEL', 'ENV', 'COPY', 'COPY', 'RUN', 'USER', 'EXPOSE', 'HEALTHCHECK', 'ENTRYPOINT', 'CMD'],
  );
  const label = df.stages[1]!.instructions[0]!;
  assert.ok(label.kind === 'LABEL');
  assert.deepEqual(label.pairs, [
    { key: 'org.opencontainers.image.source', value: '"https://example.com/repo"' },
    { key: 'org.opencontainers.image.licenses', value: 'Apache-2.0' },
  ]);
  const run = df.stages[1]!.instructions[4] as RunInstruction;
  assert.deepEqual(run.command, { form: 'shell', text: "sh -c 'echo root:testpass         > /tmp/passwd'" });
  assert.deepEqual(df.stages[0]!.from.loc, { line: 4, column: 1, endLine: 4 });
  assert.equal((df.stages[0]!.from as FromInstruction).platform, '$BUILDPLATFORM');
  const env = df.stages[1]!.instructions[1] as EnvInstruction;
  assert.deepEqual(env.pairs, [
    { key: 'NODE_ENV', value: 'production' },
    { key: 'PORT', value: '8080' },
  ]);
});

test('error message shape: file option, trimmed and shortened offending line', () => {
  const long = `RUNX ${'x'.repeat(200)}`;
  let caught: unknown;
  try {
    parseDockerfile(lines('FROM x', `   ${long}   `), { file: 'build/app.Dockerfile' });
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DockerfileSyntaxError);
  assert.equal(caught.file, 'build/app.Dockerfile');
  assert.match(
    caught.message,
    /^build\/app\.Dockerfile:2:4: unknown instruction "RUNX", did you mean RUN\? \(line: "RUNX x+\.\.\."\)$/,
  );
  const shown = /\(line: (".*")\)$/.exec(caught.message)![1]!;
  assert.equal(JSON.parse(shown).length, 80);
});

test('input over 4 MiB is refused with SizeLimitError', () => {
  const big = `FROM x\n${'# padding\n'.repeat(Math.ceil(MAX_DOCKERFILE_BYTES / 10) + 1)}`;
  assert.throws(
    () => parseDockerfile(big),
    (err: unknown) =>
      err instanceof SizeLimitError &&
      /Dockerfile is 4\.0 MiB; .* larger than 4 MiB are refused/.test(err.message),
  );
  // Multi-byte characters count as bytes, not UTF-16 units.
  const wide = `FROM x\nLABEL a="${'é'.repeat(MAX_DOCKERFILE_BYTES / 2)}"\n`;
  assert.throws(() => parseDockerfile(wide), SizeLimitError);
});

// How the parser's work grows with its input is measured in _parser-work.test.ts.
test('a 10,000-line Dockerfile parses with every instruction accounted for', () => {
  const body: string[] = ['FROM alpine'];
  for (let i = 0; body.length < 10_000; i++) {
    switch (i % 5) {
      case 0:
        body.push(`RUN echo ${i} \\`, `    && echo more`);
        break;
      case 1:
        body.push(`ENV V${i}="value ${i}" W${i}=x`);
        break;
      case 2:
        body.push(`COPY <<EOF /f${i}`, `line ${i}`, 'EOF');
        break;
      case 3:
        body.push(`# comment ${i}`);
        break;
      default:
        body.push(`LABEL l${i}=v`);
    }
  }
  const text = lines(...body.slice(0, 10_000));
  const df = parseDockerfile(text);
  const counted = df.stages[0]!.instructions.length;
  // Per 5 cases: RUN (2 lines), ENV (1), COPY (3), comment (1), LABEL (1) = 4 instructions in 8 lines.
  const expected = (() => {
    let n = 0;
    let l = 1;
    for (let i = 0; l < 10_000; i++) {
      const size = [2, 1, 3, 1, 1][i % 5]!;
      if (l + size > 10_000) break;
      l += size;
      if (i % 5 !== 3) n++;
    }
    return n;
  })();
  assert.equal(counted, expected);
  assert.ok(counted > 4900);
});

test('long single lines and many continuations parse whole', () => {
  const continued = [
    'FROM x',
    'RUN true \\',
    ...Array.from({ length: 20_000 }, () => '  && true \\'),
    '  && end',
  ];
  const run = parseDockerfile(lines(...continued)).stages[0]!.instructions[0] as RunInstruction;
  assert.equal(run.loc.endLine, 20_003);
  assert.ok(run.command.form === 'shell' && run.command.text.endsWith('&& end'));
  const wide = parseDockerfile(
    lines('FROM x', `ENV ${Array.from({ length: 20_000 }, (_, i) => `K${i}=v`).join(' ')}`),
  );
  assert.equal((wide.stages[0]!.instructions[0] as EnvInstruction).pairs.length, 20_000);
});
