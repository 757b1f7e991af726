// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about ${...} in Dockerfile text
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError, SizeLimitError } from '../errors/index.js';
import type {
  ArgInstruction,
  CopyInstruction,
  Dockerfile,
  EnvInstruction,
  FromInstruction,
  HealthcheckInstruction,
  Instruction,
  OnbuildInstruction,
  RunInstruction,
} from './_ast.js';
import { DockerfileSyntaxError, MAX_DOCKERFILE_BYTES, parseDockerfile, parseGoDuration } from './_parser.js';

const lines = (...ls: string[]) => `${ls.join('\n')}\n`;

/** Instructions of the only stage of `FROM base` followed by `body`. */
function stageOf(...body: string[]): Instruction[] {
  const df = parseDockerfile(lines('FROM base', ...body));
  assert.equal(df.stages.length, 1);
  return df.stages[0]!.instructions;
}

function one<T extends Instruction>(...body: string[]): T {
  const instrs = stageOf(...body);
  assert.equal(instrs.length, 1, `expected one instruction, got ${instrs.map((i) => i.kind).join(', ')}`);
  return instrs[0] as T;
}

/** Asserts that parsing fails with a DockerfileSyntaxError whose message matches `pattern`. */
function fails(
  text: string,
  pattern: RegExp,
  where?: { line: number; column: number },
): DockerfileSyntaxError {
  let caught: unknown;
  try {
    parseDockerfile(text);
  } catch (err) {
    caught = err;
  }
  assert.ok(
    caught instanceof DockerfileSyntaxError,
    `expected a DockerfileSyntaxError, got ${String(caught)}`,
  );
  assert.ok(caught instanceof InvalidArgumentError);
  assert.match(caught.message, pattern);
  assert.ok(!caught.message.includes('\n'), 'message must be one line');
  if (where) {
    assert.equal(caught.line, where.line, `line in ${caught.message}`);
    assert.equal(caught.column, where.column, `column in ${caught.message}`);
    assert.ok(caught.message.startsWith(`Dockerfile:${where.line}:${where.column}: `), caught.message);
  }
  return caught;
}

/** The s-expression shape of BuildKit's parser testfiles, to compare whole files at once. */
function dump(df: Dockerfile): string[] {
  const all: Instruction[] = [...df.metaArgs];
  for (const s of df.stages) all.push(s.from, ...s.instructions);
  return all.map(describe);
}

function describe(i: Instruction): string {
  const q = (s: string) => JSON.stringify(s);
  const cmd = (c: { form: 'exec'; args: string[] } | { form: 'shell'; text: string }) =>
    c.form === 'exec' ? c.args.map(q).join(' ') : q(c.text);
  switch (i.kind) {
    case 'FROM':
      return `(from ${q(i.image)}${i.stageName ? ` AS ${i.stageName}` : ''})`;
    case 'RUN':
    case 'CMD':
    case 'ENTRYPOINT':
      return `(${i.kind.toLowerCase()} ${cmd(i.command)})`;
    case 'ENV':
    case 'LABEL':
      return `(${i.kind.toLowerCase()} ${i.pairs.map((p) => `${q(p.key)} ${q(p.value)}`).join(' ')})`;
    case 'ARG':
      return `(arg ${i.args.map((a) => q(a.defaultValue === undefined ? a.name : `${a.name}=${a.defaultValue}`)).join(' ')})`;
    case 'COPY':
    case 'ADD':
      return `(${i.kind.toLowerCase()} ${[...i.sources, i.dest].map(q).join(' ')})`;
    case 'EXPOSE':
      return `(expose ${i.ports.map(q).join(' ')})`;
    case 'VOLUME':
      return `(volume ${i.paths.map(q).join(' ')})`;
    case 'USER':
      return `(user ${q(i.user)})`;
    case 'WORKDIR':
      return `(workdir ${q(i.path)})`;
    case 'ONBUILD':
      return `(onbuild ${describe(i.instruction)})`;
    default:
      return `(${i.kind.toLowerCase()})`;
  }
}

// --- Directives -------------------------------------------------------------------------------

test('parser directives at the top: syntax, escape, check (keys case-insensitive)', () => {
  const df = parseDockerfile(
    lines('# syntax = docker/dockerfile:1.7', '#ESCAPE=`', '#  Check=skip=JSONArgsRecommended', '', 'FROM x'),
  );
  assert.deepEqual(df.directives, {
    syntax: 'docker/dockerfile:1.7',
    escape: '`',
    check: 'skip=JSONArgsRecommended',
  });
  assert.deepEqual(parseDockerfile('FROM x').directives, { escape: '\\' });
});

test('directives stop at the first blank line, comment or instruction', () => {
  // escape-after-comment: the directive after an ordinary comment is just a comment.
  const afterComment = parseDockerfile(
    lines('# Comment here.', '# escape = `', '', 'FROM image', 'ENV GOPATH \\', '\\go'),
  );
  assert.equal(afterComment.directives.escape, '\\');
  assert.deepEqual(dump(afterComment), ['(from "image")', '(env "GOPATH" "\\\\go")']);

  assert.equal(parseDockerfile(lines('', '# escape=`', 'FROM x')).directives.escape, '\\');
  assert.equal(parseDockerfile(lines('FROM x', '# escape=`')).directives.escape, '\\');
  assert.equal(parseDockerfile(lines('# unknown=1', '# escape=`', 'FROM x')).directives.escape, '\\');
  // Leading blanks before the directive are fine; a BOM is ignored.
  assert.equal(parseDockerfile(lines('\uFEFF  # escape=`', 'FROM x')).directives.escape, '`');
});

test('escape directive without a blank line after it (escape-nonewline)', () => {
  const df = parseDockerfile(
    lines('# escape = `', '# not a directive any more', 'FROM image', 'ENV GOPATH `', '\\go'),
  );
  assert.equal(df.directives.escape, '`');
  assert.deepEqual(dump(df), ['(from "image")', '(env "GOPATH" "\\\\go")']);
});

test('escape=` with Windows-style paths', () => {
  const df = parseDockerfile(
    lines(
      '# syntax = docker/dockerfile',
      '# escape = `',
      '',
      'FROM `',
      '    mcr.microsoft.com/windows/servercore',
      'WORKDIR C:\\Users\\build',
      'COPY testfile.txt c:\\',
      'RUN dir c:\\ `',
      '    && echo done\\',
      'ENV PATH=C:\\bin;C:\\tools',
    ),
  );
  assert.deepEqual(dump(df), [
    '(from "mcr.microsoft.com/windows/servercore")',
    '(workdir "C:\\\\Users\\\\build")',
    '(copy "testfile.txt" "c:\\\\")',
    '(run "dir c:\\\\     && echo done\\\\")',
    '(env "PATH" "C:\\\\bin;C:\\\\tools")',
  ]);
});

test('directive errors: repeated directive, invalid escape token', () => {
  fails(
    lines('# escape=`', '# escape=\\', 'FROM x'),
    /^Dockerfile:2:1: only one escape parser directive can be used/,
  );
  fails(lines('# escape=x', 'FROM x'), /^Dockerfile:1:1: invalid escape token "x"/);
  fails(lines('# syntax=a', '# SYNTAX=b', 'FROM x'), /only one syntax parser directive/);
});

// --- Lines, comments, continuations ----------------------------------------------------------

test('continuation lines are joined as BuildKit joins them (continueIndent)', () => {
  const df = parseDockerfile(
    lines(
      'FROM ubuntu:14.04',
      '',
      'RUN echo hello\\',
      '  world\\',
      '  goodnight  \\',
      '  moon\\',
      '  light\\',
      'ning',
      'RUN echo hello  \\',
      '  world',
      'RUN echo hello  \\',
      'world',
      'RUN echo hello \\',
      'goodbye\\',
      'frog',
      'RUN echo hello  \\  ',
      'world',
      'RUN echo hi \\',
      ' \\',
      ' world \\',
      '\\',
      ' good\\',
      '\\',
      'night',
      'RUN echo goodbye\\',
      'frog',
      'RUN echo good\\',
      'bye\\',
      'frog',
      '',
      'RUN echo hello \\',
      '# this is a comment',
      '',
      '# this is a comment with a blank line surrounding it',
      '',
      'this is some more useful stuff',
    ),
  );
  assert.deepEqual(dump(df), [
    '(from "ubuntu:14.04")',
    '(run "echo hello  world  goodnight    moon  lightning")',
    '(run "echo hello    world")',
    '(run "echo hello  world")',
    '(run "echo hello goodbyefrog")',
    '(run "echo hello  world")',
    '(run "echo hi   world  goodnight")',
    '(run "echo goodbyefrog")',
    '(run "echo goodbyefrog")',
    '(run "echo hello this is some more useful stuff")',
  ]);
});

test('an escaped escape at the end of a line does not continue it (trailing-backslash)', () => {
  const df = parseDockerfile(
    lines(
      'FROM hello-world',
      'ENV A path',
      'ENV B another\\\\path',
      'ENV C trailing\\\\backslash\\\\',
      'ENV D This should not be appended to C',
      'ENV E hello\\',
      '\\',
      'world',
      'ENV F hello\\',
      ' \\',
      'world',
      'ENV G hello \\',
      '\\',
      'world',
    ),
  );
  assert.deepEqual(dump(df), [
    '(from "hello-world")',
    '(env "A" "path")',
    '(env "B" "another\\\\\\\\path")',
    '(env "C" "trailing\\\\\\\\backslash\\\\\\\\")',
    '(env "D" "This should not be appended to C")',
    '(env "E" "helloworld")',
    '(env "F" "hello world")',
    '(env "G" "hello world")',
  ]);
});

test('escapes in words are kept for the expansion step (testfile escapes)', () => {
  const text = String.raw`FROM ubuntu:14.04
LABEL maintainer Erik \\Hollensbe <erik@hollensbe.org>\"

RUN apt-get \update && \
  apt-get \"install znc -y
ADD \conf\\" /.znc

RUN foo \

bar \

baz

CMD [ "\/usr\\\"/bin/znc", "-f", "-r" ]
`;
  const df = parseDockerfile(text);
  assert.deepEqual(dump(df), [
    '(from "ubuntu:14.04")',
    String.raw`(label "maintainer" "Erik \\\\Hollensbe <erik@hollensbe.org>\\\"")`,
    String.raw`(run "apt-get \\update &&   apt-get \\\"install znc -y")`,
    String.raw`(add "\\conf\\\\\"" "/.znc")`,
    '(run "foo bar baz")',
    String.raw`(cmd "/usr\\\"/bin/znc" "-f" "-r")`,
  ]);
  assert.equal(df.warnings.length, 1, 'the blank lines inside RUN foo are empty continuation lines');
});

test('a continuation at the end of the file ends the instruction (continue-at-eof)', () => {
  assert.deepEqual(dump(parseDockerfile('FROM alpine:3.5\n\nRUN something \\')), [
    '(from "alpine:3.5")',
    '(run "something")',
  ]);
});

test('comments inside continuations are dropped, indented or not; escapes in comments do nothing', () => {
  const df = parseDockerfile(
    lines(
      'FROM busybox',
      '# RUN Commands \\',
      '# linebreak in comment \\',
      'RUN non-indented \\',
      '# this is a comment',
      '   after-comment',
      '   # leading whitespace before a comment',
      'RUN indented \\',
      '    # this is an indented comment',
      '    comment',
    ),
  );
  assert.deepEqual(dump(df), [
    '(from "busybox")',
    '(run "non-indented    after-comment")',
    '(run "indented     comment")',
  ]);
  assert.deepEqual(df.warnings, []);
});

test('empty continuation lines are allowed with a warning', () => {
  const df = parseDockerfile(
    lines(
      'FROM alpine:3.6',
      '',
      'RUN valid \\',
      '    continuation',
      '',
      'RUN something \\',
      '',
      '    following \\',
      '',
      '    more',
      '',
      'RUN another \\',
      '',
      '    thing',
    ),
  );
  assert.deepEqual(dump(df).slice(1), [
    '(run "valid     continuation")',
    '(run "something     following     more")',
    '(run "another     thing")',
  ]);
  assert.equal(df.warnings.length, 2);
  assert.match(
    df.warnings[0]!.message,
    /empty continuation line found in: RUN something {5}following {5}more/,
  );
  assert.deepEqual(df.warnings[0]!.loc, { line: 6, column: 1, endLine: 10 });
  assert.match(df.warnings[1]!.message, /RUN another {5}thing/);
});

test('leading white space, CRLF line endings and lower-case keywords', () => {
  const df = parseDockerfile(
    '\r\n   from alpine AS base\r\n\t# comment\r\n  run echo a \\\r\n  b\r\n\tCopy . /app\r\n',
  );
  assert.deepEqual(dump(df), ['(from "alpine" AS base)', '(run "echo a   b")', '(copy "." "/app")']);
  const run = df.stages[0]!.instructions[0]!;
  assert.deepEqual(run.loc, { line: 4, column: 3, endLine: 5 });
  assert.equal(run.original, 'run echo a   b');
});

test('locations: start line and column of the keyword, endLine after continuations', () => {
  const df = parseDockerfile(
    lines(
      '# comment',
      '',
      '  FROM brimstone/consul AS base',
      '',
      'RUN a \\',
      '  b \\',
      '',
      '  c',
      '    CMD ["x"]',
    ),
  );
  assert.deepEqual(df.stages[0]!.from.loc, { line: 3, column: 3, endLine: 3 });
  const [run, cmd] = df.stages[0]!.instructions;
  assert.deepEqual(run!.loc, { line: 5, column: 1, endLine: 8 });
  assert.deepEqual(cmd!.loc, { line: 9, column: 5, endLine: 9 });
});

// --- JSON and shell forms ---------------------------------------------------------------------

test('JSON exec form: arrays of strings, with JSON escapes', () => {
  const df = parseDockerfile(
    lines(
      'FROM x',
      'CMD []',
      'CMD [""]',
      'CMD ["a"]',
      'CMD ["a","b"]',
      'CMD [ "a", "b" ]',
      'CMD [\t"a",\t"b"\t]',
      'CMD\t[\t"a",\t"b"\t]\t',
      'CMD ["abc 123", "♥", "☃", "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"]',
      'ENTRYPOINT ["/usr/bin/redis-server"]',
      'RUN ["echo", "\'1234\'"]',
    ),
  );
  assert.deepEqual(dump(df).slice(1), [
    '(cmd )',
    '(cmd "")',
    '(cmd "a")',
    '(cmd "a" "b")',
    '(cmd "a" "b")',
    '(cmd "a" "b")',
    '(cmd "a" "b")',
    '(cmd "abc 123" "♥" "☃" "\\" \\\\ / \\b \\f \\n \\r \\t \\u0000")',
    '(entrypoint "/usr/bin/redis-server")',
    '(run "echo" "\'1234\'")',
  ]);
  const first = df.stages[0]!.instructions[0]!;
  assert.ok(first.kind === 'CMD' && first.command.form === 'exec' && first.command.args.length === 0);
});

test('JSON-looking text that is not valid JSON is shell form', () => {
  const cases: [string, string][] = [
    ['CMD "[\\"echo\\", \\"Phew\\"]"', '"[\\"echo\\", \\"Phew\\"]"'],
    ["CMD ['echo','single quotes are invalid JSON']", "['echo','single quotes are invalid JSON']"],
    ['CMD ["echo", "Please, close the brackets"', '["echo", "Please, close the brackets"'],
    ['CMD ["echo", "look ma, no quote!]', '["echo", "look ma, no quote!]'],
    ['RUN [ -f /x ] && echo yes', '[ -f /x ] && echo yes'],
  ];
  for (const [line, text] of cases) {
    const cmd = one(line);
    assert.ok(cmd.kind === 'CMD' || cmd.kind === 'RUN');
    assert.deepEqual(cmd.command, { form: 'shell', text }, line);
  }
});

test('a JSON array with non-strings is an error, not shell form', () => {
  fails(
    lines('FROM x', 'CMD [ "echo", [ "nested json" ] ]'),
    /^Dockerfile:2:5: when using JSON array syntax, arrays must be comprised of strings only/,
  );
  fails(lines('FROM x', 'RUN [1, 2]'), /strings only/);
});

// --- Heredocs ---------------------------------------------------------------------------------

test('heredoc variants (modeled on BuildKit parser_heredoc_test)', () => {
  const df = parseDockerfile(
    [
      'FROM alpine:3.6',
      'RUN <<EMPTY',
      'EMPTY',
      'RUN 3<<EMPTY2',
      'EMPTY2',
      'RUN "<<NOHEREDOC"',
      'RUN <<INDENT',
      '\tfoo',
      '\tbar',
      'INDENT',
      'RUN <<-UNINDENT',
      '\tbaz',
      '\tquux',
      'UNINDENT',
      'RUN <<-UNINDENT2',
      '\tbaz',
      '\tquux',
      '\tUNINDENT2',
      'RUN <<-EXPAND',
      '\texpand $NAME',
      'EXPAND',
      "RUN <<-'NOEXPAND'",
      "\tdon't expand $NAME",
      'NOEXPAND',
      'RUN <<COMMENT',
      '# internal comment',
      'echo hello world \\',
      'echo foo bar # trailing comment',
      'COMMENT',
      'RUN --mount=type=cache,target=/foo <<MOUNT',
      'echo hello',
      'MOUNT',
      'COPY <<X <<Y /dest',
      'Y',
      'X',
      'X',
      'Y',
      'RUN <<COMPLEX python3',
      "print('hello world')",
      'COMPLEX',
      'COPY <<file.txt /dest',
      'hello world',
      'file.txt',
      "RUN <<eo'f'",
      'echo foo',
      'eof',
      "RUN <<'one two'",
      'echo bar',
      'one two',
      'RUN <<$EOF',
      '$EOF',
      'RUN <<  EOF  > foo',
      'EOF',
    ].join('\n'),
  );
  const docs = df.stages[0]!.instructions.map((i) => ('heredocs' in i ? i.heredocs : undefined));
  const h = (name: string, content: string, expand = true, chomp = false) => ({
    name,
    content,
    expand,
    chomp,
  });
  assert.deepEqual(docs, [
    [h('EMPTY', '')],
    [h('EMPTY2', '')],
    [],
    [h('INDENT', '\tfoo\n\tbar\n')],
    [h('UNINDENT', 'baz\nquux\n', true, true)],
    [h('UNINDENT2', 'baz\nquux\n', true, true)],
    [h('EXPAND', 'expand $NAME\n', true, true)],
    [h('NOEXPAND', "don't expand $NAME\n", false, true)],
    // Bodies are taken verbatim: no comment stripping, no line continuation.
    [h('COMMENT', '# internal comment\necho hello world \\\necho foo bar # trailing comment\n')],
    [h('MOUNT', 'echo hello\n')],
    [h('X', 'Y\n'), h('Y', 'X\n')],
    [h('COMPLEX', "print('hello world')\n")],
    [h('file.txt', 'hello world\n')],
    [h('eof', 'echo foo\n', false)],
    [h('one two', 'echo bar\n', false)],
    [h('$EOF', '')],
    [h('EOF', '')],
  ]);
});

test('RUN heredoc: command text as written after flags; original excludes bodies; endLine includes them', () => {
  const df = parseDockerfile(
    lines(
      'FROM x',
      'RUN --network=none <<EOF',
      'set -e',
      'echo hi',
      'EOF',
      'RUN python3 <<EOF',
      'print(1)',
      'EOF',
      'RUN cat <<A > /x',
      'a',
      'A',
      'RUN <<-EOF',
      '\techo test',
      '\tEOF',
      'RUN echo after',
    ),
  );
  const [a, b, c, d, e] = df.stages[0]!.instructions as RunInstruction[];
  assert.deepEqual(a!.command, { form: 'shell', text: '<<EOF' });
  assert.equal(a!.network, 'none');
  assert.equal(a!.original, 'RUN --network=none <<EOF');
  assert.deepEqual(a!.loc, { line: 2, column: 1, endLine: 5 });
  assert.deepEqual(a!.heredocs, [{ name: 'EOF', content: 'set -e\necho hi\n', expand: true, chomp: false }]);
  assert.deepEqual(b!.command, { form: 'shell', text: 'python3 <<EOF' });
  assert.deepEqual(c!.command, { form: 'shell', text: 'cat <<A > /x' });
  assert.equal(c!.heredocs[0]!.content, 'a\n');
  assert.deepEqual(d!.heredocs, [{ name: 'EOF', content: 'echo test\n', expand: true, chomp: true }]);
  assert.deepEqual(d!.loc, { line: 12, column: 1, endLine: 14 });
  assert.deepEqual(e!.command, { form: 'shell', text: 'echo after' });
  assert.equal(e!.loc.line, 15);
});

test('COPY/ADD heredocs: sources keep <<NAME as written, bodies in order', () => {
  const [copy, add, mixed] = stageOf(
    'COPY <<FILE1 <<"FILE2" /dest/',
    'content 1',
    'FILE1',
    '"quoted" $content 2',
    'FILE2',
    'ADD --chmod=755 <<-EOF /usr/local/bin/run',
    '\t#!/bin/sh',
    '\techo $HOME',
    '\tEOF',
    'COPY <<EOF foo.txt /bar',
    'this is inline',
    'EOF',
  ) as CopyInstruction[];
  assert.deepEqual(copy!.sources, ['<<FILE1', '<<"FILE2"']);
  assert.equal(copy!.dest, '/dest/');
  assert.deepEqual(copy!.heredocs, [
    { name: 'FILE1', content: 'content 1\n', expand: true, chomp: false },
    { name: 'FILE2', content: '"quoted" $content 2\n', expand: false, chomp: false },
  ]);
  assert.equal(copy!.original, 'COPY <<FILE1 <<"FILE2" /dest/');
  assert.equal(add!.kind, 'ADD');
  assert.equal(add!.chmod, '755');
  assert.deepEqual(add!.heredocs, [
    { name: 'EOF', content: '#!/bin/sh\necho $HOME\n', expand: true, chomp: true },
  ]);
  assert.deepEqual(mixed!.sources, ['<<EOF', 'foo.txt']);
  assert.equal(mixed!.heredocs[0]!.content, 'this is inline\n');
});

test('exec-form RUN and JSON COPY never read heredocs', () => {
  const df = parseDockerfile(
    lines('FROM x', 'RUN ["<<EOF"]', 'RUN ["<<\'EOF\'"]', 'COPY ["<<EOF", "/x"]', 'RUN echo ok'),
  );
  const [r1, r2, c, r3] = df.stages[0]!.instructions as [
    RunInstruction,
    RunInstruction,
    CopyInstruction,
    RunInstruction,
  ];
  assert.deepEqual(r1.command, { form: 'exec', args: ['<<EOF'] });
  assert.deepEqual(r1.heredocs, []);
  assert.deepEqual(r2.heredocs, []);
  assert.deepEqual(c.heredocs, []);
  assert.deepEqual(c.sources, ['<<EOF']);
  assert.deepEqual(r3.command, { form: 'shell', text: 'echo ok' });
});

test('only RUN, COPY and ADD take heredocs', () => {
  // `USER <<INVALID` has no body, so the next line is read as an instruction.
  fails(lines('FROM x', 'USER <<INVALID', 'INVALID'), /^Dockerfile:3:1: unknown instruction "INVALID"/);
});

test('heredoc errors: unterminated, destination', () => {
  const err = fails(lines('FROM x', 'RUN <<EOF', 'echo hi', 'EFO'), /unterminated heredoc/, {
    line: 2,
    column: 1,
  });
  assert.match(err.message, /\(line: "RUN <<EOF"\)$/);
  fails(lines('FROM x', 'RUN <<-EOF', 'echo', '  EOF'), /unterminated heredoc/);
  fails(
    lines('FROM x', 'COPY /foo <<EOF', 'EOF'),
    /^Dockerfile:2:11: COPY cannot accept a heredoc as a destination/,
  );
  fails(lines('FROM x', 'RUN <<A <<B', 'a', 'A'), /unterminated heredoc: no line "B"/);
});

test('heredoc in an ONBUILD trigger', () => {
  const [on] = stageOf('ONBUILD RUN <<EOF', 'echo built', 'EOF') as OnbuildInstruction[];
  assert.equal(on!.trigger, 'RUN <<EOF\necho built\nEOF');
  assert.deepEqual(on!.loc, { line: 2, column: 1, endLine: 4 });
  const inner = on!.instruction as RunInstruction;
  assert.deepEqual(inner.heredocs, [{ name: 'EOF', content: 'echo built\n', expand: true, chomp: false }]);
  assert.deepEqual(inner.loc, { line: 2, column: 9, endLine: 4 });
});

// --- Flags ------------------------------------------------------------------------------------

test('flags: allowed per instruction, stored raw, quotes removed, -- ends them', () => {
  const [from] = [parseDockerfile('FROM --platform=$BUILDPLATFORM golang:1.22 AS build').stages[0]!.from];
  assert.equal(from!.platform, '$BUILDPLATFORM');
  assert.deepEqual(from!.flags, { platform: ['$BUILDPLATFORM'] });

  const run = one<RunInstruction>(
    'RUN --mount=type=cache,target=/root/.cache --mount="type=secret,id=npm" --network=host --security=insecure make',
  );
  assert.deepEqual(run.mounts, ['type=cache,target=/root/.cache', 'type=secret,id=npm']);
  assert.equal(run.network, 'host');
  assert.equal(run.security, 'insecure');
  assert.deepEqual(run.flags, {
    mount: ['type=cache,target=/root/.cache', 'type=secret,id=npm'],
    network: ['host'],
    security: ['insecure'],
  });
  assert.deepEqual(run.command, { form: 'shell', text: 'make' });

  const copy = one<CopyInstruction>(
    'COPY --from=build --chown=app:app --chmod=0644 --link --parents --exclude=*.md --exclude="*.txt" a b /dst/',
  );
  assert.equal(copy.from, 'build');
  assert.equal(copy.chown, 'app:app');
  assert.equal(copy.chmod, '0644');
  assert.equal(copy.link, true);
  assert.equal(copy.parents, true);
  assert.deepEqual(copy.excludes, ['*.md', '*.txt']);
  assert.deepEqual(copy.sources, ['a', 'b']);
  assert.deepEqual(copy.flags.link, ['true']);

  const add = one<CopyInstruction>(
    'ADD --checksum=sha256:abc --keep-git-dir=false --link=false https://example.com/x.tgz /x',
  );
  assert.equal(add.checksum, 'sha256:abc');
  assert.equal(add.keepGitDir, false);
  assert.equal(add.link, false);
  assert.equal(add.parents, false);
  assert.deepEqual(add.excludes, []);

  const dashdash = one<CopyInstruction>('COPY -- --weird-name /tmp/');
  assert.deepEqual(dashdash.sources, ['--weird-name']);
  assert.deepEqual(dashdash.flags, {});

  const single = one<RunInstruction>("RUN --mount='type=bind,target=/a b' echo");
  assert.deepEqual(single.mounts, ['type=bind,target=/a b']);
  // A dash that is not `--` starts the arguments.
  assert.deepEqual(one<RunInstruction>('RUN -x').command, { form: 'shell', text: '-x' });
});

test('flag errors: unknown, duplicate, missing value, bad boolean, flags on flagless instructions', () => {
  fails(
    lines('FROM x', 'COPY --bogus=1 a b'),
    /^Dockerfile:2:6: unknown flag "--bogus" for COPY \(allowed: --from, --chown/,
  );
  fails(lines('FROM x', 'COPY --doit=true -- foo /tmp/'), /unknown flag "--doit"/);
  fails(
    lines('FROM x', 'CMD --doit [ "a", "b" ]'),
    /^Dockerfile:2:5: unknown flag "--doit": CMD takes no flags/,
  );
  fails(lines('FROM x', 'ADD --from=build a b'), /unknown flag "--from" for ADD/);
  fails(lines('FROM x', 'ADD --unpack a b'), /unknown flag "--unpack" for ADD/);
  fails(lines('FROM x', 'RUN --device=x true'), /unknown flag "--device" for RUN/);
  fails(lines('FROM x', 'COPY --from=a --from=b x y'), /^Dockerfile:2:15: duplicate flag "--from"/);
  fails(lines('FROM x', 'COPY --from a b'), /missing a value on flag "--from"/);
  fails(lines('FROM x', 'COPY --link= a b'), /missing a value on flag "--link"/);
  fails(lines('FROM x', 'COPY --link=yes a b'), /expecting a boolean value for flag "--link", not "yes"/);
  fails(lines('FROM x', 'WORKDIR --x=1 /a'), /WORKDIR takes no flags/);
  fails(lines('FROM x', 'STOPSIGNAL --x SIGTERM'), /STOPSIGNAL takes no flags/);
  fails(
    lines('FROM --plaform=linux/amd64 x'),
    /^Dockerfile:1:6: unknown flag "--plaform" for FROM \(allowed: --platform\)/,
  );
});

test('an error in a continued line points at its physical line and column', () => {
  fails(lines('FROM x', 'COPY --from=a \\', '     --bogus a b'), /unknown flag "--bogus"/, {
    line: 3,
    column: 6,
  });
});

test('RUN --network/--security values and --mount syntax are checked at parse time', () => {
  fails(lines('FROM x', 'RUN --network=bridge true'), /^Dockerfile:2:5: invalid network mode "bridge"/);
  fails(lines('FROM x', 'RUN --security=root true'), /security "root" is not valid/);
  fails(
    lines('FROM x', 'RUN --mount=type=bind,from=$STAGE,target=/a true'),
    /--mount from= does not support variable expansion/,
  );
  // The column is that of the offending --mount, not the first one.
  fails(
    lines('FROM x', 'RUN --mount=target=/ok --mount=from=${S},target=/b true'),
    /from= does not support/,
    {
      line: 2,
      column: 24,
    },
  );
  fails(
    lines('FROM x', `RUN --mount='type=bind,"target=/a' true`),
    /^Dockerfile:2:5: invalid mount .*unterminated quoted field/,
  );
  // Other values may hold variables: they are expanded at dispatch time.
  assert.deepEqual(one<RunInstruction>('RUN --mount=type=cache,target=$DIR true').mounts, [
    'type=cache,target=$DIR',
  ]);
});

test('COPY --from is literal: variables there are refused, as in BuildKit', () => {
  fails(
    lines('FROM x', 'COPY --from=$STAGE a b'),
    /^Dockerfile:2:6: variable expansion is not supported for --from/,
  );
  fails(lines('FROM x', 'COPY --from=${S:-x} a b'), /variable expansion is not supported/);
  assert.equal(one<CopyInstruction>('COPY --from=0 a b').from, '0');
  assert.equal(
    one<CopyInstruction>('COPY --from=docker.io/library/alpine:3 a b').from,
    'docker.io/library/alpine:3',
  );
});

// --- FROM and stages --------------------------------------------------------------------------

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

test('10,000-line Dockerfile parses (linear in the input size)', () => {
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

test('long single lines and many continuations stay linear', () => {
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
