// Property-based tests of the .dockerignore reader and matcher and the glob compiler they share
// with COPY: any pattern file and any path end in an answer or a berth error, and the answers
// keep the rules a build relies on (the context root is never excluded; a directory's exclusion
// covers what is under it unless an exception re-includes something there).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { fuzz, onlyBerthErrors, stringFrom } from '../../test/helpers/fuzz.js';
import { compileGlob, IgnoreMatcher, parseIgnoreFile } from './_ignore.js';

const PATTERN_CHARS = [
  'a',
  'b',
  'c',
  '.',
  '/',
  '//',
  '*',
  '**',
  '?',
  '[ab]',
  '[!a]',
  '[^a-c]',
  '[a-]',
  '[\\]]',
  '-',
  '\\',
  '!',
  ' ',
  '#',
  '..',
  './',
  '\u{1F600}',
];
// a lone '[' (an unterminated class) is rare, so most pattern files get past compiling
const RARE_PATTERN_CHARS = ['[', ']', '\\'];
const PATH_CHARS = ['a', 'b', 'c', '.', '/', '..', '-', '*', '[', '\\', ' ', '\u{1F600}'];

const ignoreText = fc
  .array(
    fc.oneof(
      { weight: 12, arbitrary: stringFrom(PATTERN_CHARS, 24) },
      { weight: 1, arbitrary: stringFrom(RARE_PATTERN_CHARS, 4) },
      { weight: 1, arbitrary: fc.constantFrom('!', '#x', '\uFEFFa', 'a\r', '**', '!**/b', '/', '.') },
    ),
    { maxLength: 10 },
  )
  .map((ls) => ls.join('\n'));

const relPath = stringFrom(PATH_CHARS, 30);

describe('dockerignore fuzzing', () => {
  test('parseIgnoreFile and IgnoreMatcher: an answer or a berth error', (t) => {
    fuzz(
      t,
      fc.property(ignoreText, fc.array(relPath, { maxLength: 6 }), (text, paths) => {
        const patterns = onlyBerthErrors('parseIgnoreFile', () => parseIgnoreFile(text));
        if (patterns === undefined) return;
        // What parseIgnoreFile accepts, the matcher accepts too.
        const m = new IgnoreMatcher(patterns);
        for (const p of ['', '.', '/', './']) assert.equal(m.matches(p), false, `root "${p}" excluded`);
        for (const p of paths) {
          const excluded = onlyBerthErrors('IgnoreMatcher.matches', () => m.matches(p));
          onlyBerthErrors('IgnoreMatcher.mayHaveExceptionsUnder', () => m.mayHaveExceptionsUnder(p));
          // A child of an excluded directory is excluded unless some exception may reach it.
          if (excluded === true && p.replace(/^\/+|\/+$/g, '') !== '' && !m.mayHaveExceptionsUnder(p)) {
            assert.equal(m.matches(`${p}/zz`), true, `"${p}" excluded but "${p}/zz" is not`);
          }
        }
      }),
    );
  });

  test('IgnoreMatcher on raw, uncleaned lines: an answer or a berth error', (t) => {
    fuzz(
      t,
      fc.property(
        fc.array(stringFrom([...PATTERN_CHARS, ...RARE_PATTERN_CHARS], 24), { maxLength: 6 }),
        relPath,
        (lines, p) => {
          const m = onlyBerthErrors('IgnoreMatcher', () => new IgnoreMatcher(lines));
          if (m !== undefined) onlyBerthErrors('IgnoreMatcher.matches', () => m.matches(p));
        },
      ),
    );
  });

  test('compileGlob: a glob that answers for any string, or a berth error', (t) => {
    fuzz(
      t,
      fc.property(
        stringFrom([...PATTERN_CHARS, ...RARE_PATTERN_CHARS], 40),
        fc.boolean(),
        relPath,
        (pattern, doubleStar, s) => {
          const g = onlyBerthErrors('compileGlob', () => compileGlob(pattern, { doubleStar }));
          if (g === undefined) return;
          assert.equal(typeof g.test(s), 'boolean');
          // A pattern without meta characters matches exactly itself.
          if (!/[*?[\\]/.test(pattern)) assert.equal(g.test(pattern), true);
        },
      ),
    );
  });

  test('compileGlob: long runs of stars against long strings stay bounded', (t) => {
    fuzz(
      t,
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 100, max: 2000 }),
        fc.boolean(),
        (stars, len, doubleStar) => {
          const g = compileGlob(`${'*a'.repeat(stars)}b`, { doubleStar });
          onlyBerthErrors('Glob.test', () => g.test('a'.repeat(len)));
        },
      ),
    );
  });
});
