// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the alphabets are about ${...} in Dockerfile text
// Property-based tests of the Dockerfile front end: the parser (through the module's public
// parseDockerfile, so splitting the parser into files does not touch this test) and the shell
// word lexer with its heredoc helpers. Any text ends in a syntax tree or a berth error.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { fuzz, onlyBerthErrors, stringFrom } from '../../test/helpers/fuzz.js';
import { heredocsInLine, parseHeredocWord, ShellLex } from './_shell-lex.js';
import { parseDockerfile } from './index.js';

const KEYWORDS = [
  'FROM',
  'RUN',
  'CMD',
  'ENTRYPOINT',
  'SHELL',
  'ENV',
  'LABEL',
  'ARG',
  'COPY',
  'ADD',
  'EXPOSE',
  'VOLUME',
  'USER',
  'WORKDIR',
  'STOPSIGNAL',
  'MAINTAINER',
  'HEALTHCHECK',
  'ONBUILD',
  'from',
  'run',
  'BOGUS',
];

const TOKENS = [
  ' ',
  ' ',
  '\t',
  'a',
  'b',
  'x1',
  '=',
  '"',
  "'",
  '\\',
  '`',
  '$',
  '${',
  '}',
  ':-',
  ':+',
  '#',
  '%',
  '/',
  '[',
  ']',
  ',',
  '<<',
  '<<-',
  'EOF',
  '--',
  '--mount=type=bind,source=a,target=/b',
  '--mount=type=cache,target=/c,id=x,sharing=locked',
  '--mount=type=secret,id=s',
  '--from=',
  '--platform=$BUILDPLATFORM',
  '--chown=1:1',
  '--chmod=755',
  '--interval=5s',
  '--retries=3',
  '--network=none',
  'AS',
  'as',
  'NONE',
  'CMD',
  'scratch',
  'alpine:3.20',
  '["a","b"]',
  '[ "a" ',
  '\u00a0',
  '\u{1F600}',
  '\r',
];

/** One Dockerfile line: a keyword or directive, then tokens; sometimes a continuation. */
const line = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...KEYWORDS),
        stringFrom(TOKENS, 30),
        fc.constantFrom('', '', '', ' \\', '\\', '`'),
      )
      .map(([k, rest, tail]) => `${k} ${rest}${tail}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '# escape=`',
      '# escape=\\',
      '# escape=x',
      '# syntax=docker/dockerfile:1',
      '# comment',
      '',
    ),
  },
  { weight: 1, arbitrary: stringFrom(TOKENS, 20) },
  { weight: 1, arbitrary: fc.constantFrom('EOF', '\tEOF', 'echo hi', 'FILE') },
);

const dockerfile = fc.oneof(
  { weight: 8, arbitrary: fc.array(line, { maxLength: 14 }).map((ls) => ls.join('\n')) },
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
