// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the alphabets are about ${...} in Dockerfile text
// Property-based tests of the Dockerfile front end: the parser (through the module's public
// parseDockerfile, so splitting the parser into files does not touch this test) and the shell
// word lexer with its heredoc helpers. Any text ends in a syntax tree or a berth error.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { fuzz, onlyBerthErrors, stringFrom } from '../../test/helpers/fuzz.js';
import { expandInstruction, parseRunMount } from './_expand.js';
import { KINDS } from './_parser-text.js';
import { heredocsInLine, parseHeredocWord, ShellLex } from './_shell-lex.js';
import { parseDockerfile } from './index.js';

// every instruction but FROM (the generator writes its own FROM line), and one in lower case
const KEYWORDS = [...KINDS].filter((k) => k !== 'FROM').concat('run');

/** Argument text: words, quoting, variables, JSON brackets and a little damage. */
const ARG_TOKENS = [
  ' ',
  ' ',
  ' ',
  'a',
  'b',
  'x1',
  '/app',
  'a=b',
  '=',
  '"',
  "'",
  '\\',
  '`',
  '$a',
  '${a}',
  '${a:-d}',
  '${x:+y}',
  '${a%%b}',
  '${a/x/y}',
  '$',
  '${',
  '}',
  '#',
  '/',
  '[',
  ']',
  ',',
  '["a", "b"]',
  '[ "a" ',
  '<<EOF',
  '<<-EOF',
  '\u00a0',
  '\u{1F600}',
  '\r',
  '\t',
];

const FLAGS = [
  '--mount=type=bind,source=a,target=/b',
  '--mount=type=cache,target=/c,id=x,sharing=locked',
  '--mount=type=secret,id=s,required',
  '--mount=type=tmpfs,target=/t,size=1m',
  '--mount=from=base,target=/m',
  '--network=none',
  '--security=sandbox',
  '--from=base',
  '--from=0',
  '--chown=1:1',
  '--chmod=755',
  '--link',
  '--exclude=*.md',
  '--checksum=sha256:00',
  '--interval=5s',
  '--retries=3',
  '--platform=$BUILDPLATFORM',
  '--bogus',
  '--',
];

/** One instruction: a keyword, maybe flags, argument text, sometimes a continuation. */
const instruction = fc
  .tuple(
    fc.constantFrom(...KEYWORDS),
    fc.oneof(
      { weight: 4, arbitrary: fc.constant([] as string[]) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom(...FLAGS), { maxLength: 2 }) },
    ),
    stringFrom(ARG_TOKENS, 16),
    fc.constantFrom('', '', '', '', ' \\', '\\', '`'),
  )
  .map(([k, flags, rest, tail]) => [k, ...flags, rest].join(' ') + tail);

/** A heredoc body and its terminator, as RUN/COPY <<EOF expects after the instruction. */
const heredocTail = fc.constantFrom('\necho hi\nEOF', '\n\techo hi\n\tEOF', '\nEOF', '', '\nno end');

const line = fc.oneof(
  { weight: 16, arbitrary: instruction },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('RUN', 'COPY', 'ADD'),
        fc.constantFrom('<<EOF', '<<-EOF', '<<"EOF"', '<<EOF cat', '<<EOF /dst'),
        heredocTail,
      )
      .map(([k, w, body]) => `${k} ${w}${body}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('# comment', '', '   ') },
);

/** Lines that are wrong anywhere: an unknown keyword, a stray terminator, junk. */
const badLine = fc.oneof(
  fc.constantFrom('BOGUS x', 'EOF', 'FROM', 'FROM a b', 'FROM a AS'),
  stringFrom(ARG_TOKENS, 12),
);

const stageHead = fc
  .tuple(
    fc.constantFrom(
      'FROM alpine:3.20',
      'FROM scratch',
      'FROM ${BASE}',
      'FROM base',
      'from busybox',
      'FROM --platform=linux/amd64 alpine',
    ),
    fc.constantFrom('', '', '', ' AS base', ' AS Build', ' as s2', ' AS b2'),
  )
  .map(([f, as]) => f + as);

const stage = fc
  .tuple(stageHead, fc.array(line, { maxLength: 8 }))
  .map(([head, lines]) => [head, ...lines].join('\n'));

const dockerfile = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          '',
          '',
          '',
          '',
          '',
          '',
          '',
          '',
          '',
          '',
          '# escape=`\n',
          '# escape=\\\n',
          '# syntax=docker/dockerfile:1\n',
          '# escape=x\n',
        ),
        fc.array(fc.constantFrom('ARG BASE=alpine', 'ARG a', 'ARG x=${a}'), { maxLength: 2 }),
        fc.array(stage, { minLength: 1, maxLength: 3 }),
      )
      .map(([directive, args, stages]) => directive + [...args, ...stages].join('\n')),
  },
  { weight: 1, arbitrary: fc.array(fc.oneof(line, badLine), { maxLength: 10 }).map((ls) => ls.join('\n')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 400 }) },
);

const WORD_CHARS = [
  'a',
  'B',
  '_',
  '1',
  ' ',
  '\t',
  '\n',
  '$',
  '${',
  '}',
  '{',
  ':',
  '-',
  '+',
  '?',
  '#',
  '##',
  '%',
  '%%',
  '/',
  '//',
  '*',
  '[',
  ']',
  "'",
  '"',
  '\\',
  '`',
  '<<',
  '\u00a0',
  '\u{1F600}',
];

const lexOptions = fc.record({
  rawQuotes: fc.boolean(),
  rawEscapes: fc.boolean(),
  skipUnsetEnv: fc.boolean(),
  skipProcessQuotes: fc.boolean(),
});

const env = fc.dictionary(fc.constantFrom('a', 'B', '_', 'a1', 'HOME', 'x'), stringFrom(WORD_CHARS, 12), {
  maxKeys: 4,
});

describe('Dockerfile front-end fuzzing', () => {
  test('parseDockerfile: a syntax tree or a berth error, for any text', (t) => {
    fuzz(
      t,
      fc.property(dockerfile, (text) => {
        const df = onlyBerthErrors('parseDockerfile', () => parseDockerfile(text));
        if (df !== undefined) assert.ok(Array.isArray(df.stages));
      }),
    );
  });

  test('expandInstruction: every instruction of a parsed Dockerfile expands or fails with a berth error', (t) => {
    fuzz(
      t,
      fc.property(dockerfile, env, (text, vars) => {
        const df = onlyBerthErrors('parseDockerfile', () => parseDockerfile(text));
        if (df === undefined) return;
        const lookup = (name: string) => (Object.hasOwn(vars, name) ? vars[name] : undefined);
        const escapeToken = df.directives.escape;
        for (const instr of [...df.metaArgs, ...df.stages.flatMap((s) => s.instructions)]) {
          onlyBerthErrors(`expandInstruction(${instr.kind})`, () =>
            expandInstruction(instr, lookup, escapeToken),
          );
        }
      }),
    );
  });

  test('parseRunMount: a mount or a berth error, for any spec', (t) => {
    const MOUNT_TOKENS = [
      'type=',
      'bind',
      'cache',
      'tmpfs',
      'secret',
      'ssh',
      'target=',
      'dst=',
      'source=',
      'src=',
      'from=',
      'id=',
      'sharing=',
      'locked',
      'mode=',
      'uid=',
      'gid=',
      'size=',
      'required',
      'readonly',
      'rw',
      '=',
      ',',
      '"',
      '/',
      '..',
      'a',
      '0755',
      '-1',
      '99999999999',
      ' ',
    ];
    fuzz(
      t,
      fc.property(
        stringFrom(MOUNT_TOKENS, 30),
        fc.option(fc.constantFrom('/', '/w', 'rel'), { nil: undefined }),
        (spec, workdir) => {
          onlyBerthErrors('parseRunMount', () =>
            parseRunMount(spec, workdir === undefined ? {} : { workdir }),
          );
        },
      ),
    );
  });

  test('ShellLex: words or a berth error, for any word, escape token and options', (t) => {
    fuzz(
      t,
      fc.property(
        stringFrom(WORD_CHARS, 80),
        fc.constantFrom('\\' as const, '`' as const),
        lexOptions,
        env,
        (word, escapeToken, options, vars) => {
          const lex = new ShellLex(escapeToken, options);
          const lookup = (name: string) => (Object.hasOwn(vars, name) ? vars[name] : undefined);
          const one = onlyBerthErrors('ShellLex.processWord', () => lex.processWord(word, lookup));
          const many = onlyBerthErrors('ShellLex.processWords', () => lex.processWords(word, lookup));
          // The same word is accepted or refused whether or not it is split.
          assert.equal(one === undefined, many === undefined);
        },
      ),
    );
  });

  test('ShellLex: a word with nothing to expand comes back unchanged', (t) => {
    fuzz(
      t,
      fc.property(stringFrom(['a', 'B', '1', '_', '.', ',', '-', '/', '\u{1F600}'], 60), (word) => {
        assert.equal(
          new ShellLex().processWord(word, () => undefined),
          word,
        );
      }),
    );
  });

  test('heredoc word helpers: a result or a berth error', (t) => {
    fuzz(
      t,
      fc.property(stringFrom([...WORD_CHARS, 'EOF', '3', '<<-', '<<~'], 60), (text) => {
        onlyBerthErrors('parseHeredocWord', () => parseHeredocWord(text));
        onlyBerthErrors('heredocsInLine', () => heredocsInLine(text));
      }),
    );
  });
});
