// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about ${...} in Dockerfile text
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CopyInstruction, OnbuildInstruction, RunInstruction } from './_ast.js';
import { parseDockerfile } from './_parser.js';
import { dump, fails, lines, one, stageOf } from './_parser-test-helpers.js';

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
