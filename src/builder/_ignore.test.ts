import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidArgumentError, SizeLimitError } from '../errors/index.js';
import {
  cleanPath,
  compileGlob,
  hasGlobMeta,
  IgnoreMatcher,
  MAX_IGNORE_FILE_BYTES,
  parseIgnoreFile,
  readIgnoreFile,
} from './_ignore.js';

function excluded(patterns: string[], path: string): boolean {
  return new IgnoreMatcher(patterns).matches(path);
}

test('parseIgnoreFile: comments, trimming, cleaning and exceptions as moby ignorefile.ReadAll', () => {
  const text = [
    'test1',
    '/test2',
    '/a/file/here',
    '',
    'lastfile',
    '# this is a comment',
    '! /inverted/abs/path',
    '  # not a comment: # only counts in column 1',
    './dir/',
    'a//b/../c',
    '\t spaced \t',
  ].join('\n');
  assert.deepEqual(parseIgnoreFile(text), [
    'test1',
    'test2',
    'a/file/here',
    'lastfile',
    '!inverted/abs/path',
    '# not a comment: # only counts in column 1',
    'dir',
    'a/c',
    'spaced',
  ]);
});

test('parseIgnoreFile: a line that cleans to "!" fails there, not later in the matcher (found by fuzzing)', () => {
  // `./!` cleans to `!`, which the matcher reads as an exception with no pattern (moby's
  // NewPatternMatcher refuses it too); parseIgnoreFile promises to refuse it first, by line.
  assert.throws(
    () => parseIgnoreFile('a\n./!\n'),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(err.message, /"!" on line 2/);
      return true;
    },
  );
  // Whatever parseIgnoreFile returns, the matcher takes.
  for (const text of ['./!a', '!./!', './!!b']) new IgnoreMatcher(parseIgnoreFile(text));
});

test('parseIgnoreFile: CRLF line ends and a UTF-8 BOM', () => {
  assert.deepEqual(parseIgnoreFile('\ufeff#c\r\nnode_modules\r\n!keep\r\n'), ['node_modules', '!keep']);
});

test('parseIgnoreFile: a bare "!" is an error naming the line', () => {
  assert.throws(
    () => parseIgnoreFile('a\n!\n'),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(err.message, /"!" on line 2/);
      return true;
    },
  );
  assert.throws(() => parseIgnoreFile('!   '), InvalidArgumentError);
});

test('parseIgnoreFile: malformed glob syntax is an error naming the line', () => {
  for (const bad of ['[', 'a[', '[^', '[^bc', '[]a]', '[-]', '[x-]', '[-x]', '[a-b-c]', 'x\\', '[z-a]']) {
    assert.throws(
      () => parseIgnoreFile(`ok\n${bad}\n`),
      (err: unknown) => err instanceof InvalidArgumentError && /on line 2/.test(err.message),
      bad,
    );
  }
});

test('IgnoreMatcher constructor: bad patterns throw InvalidArgumentError', () => {
  assert.throws(() => new IgnoreMatcher(['!']), InvalidArgumentError);
  assert.throws(() => new IgnoreMatcher(['[']), InvalidArgumentError);
  assert.ok(new IgnoreMatcher(['', '   ']).empty);
});

test('cleanPath follows Go filepath.Clean', () => {
  const cases: [string, string][] = [
    ['', '.'],
    ['.', '.'],
    ['/', '/'],
    ['a/', 'a'],
    ['./a/./b/', 'a/b'],
    ['a//b', 'a/b'],
    ['a/../b', 'b'],
    ['a/../../b', '../b'],
    ['/../a', '/a'],
    ['../../a', '../../a'],
    ['a/..', '.'],
  ];
  for (const [input, want] of cases) assert.equal(cleanPath(input), want, input);
});

// Single-pattern vectors from moby/patternmatcher's tests (MatchesOrParentMatches semantics:
// "inexact" there means a parent directory matched, which still excludes).
const singlePattern: [string, string, boolean][] = [
  ['**', 'file', true],
  ['**/', 'file', true],
  ['**', 'dir/file', true],
  ['**/', 'dir/file', true],
  ['**/**', 'dir/file', true],
  ['dir/**', 'dir/file', true],
  ['dir/**', 'dir/dir2/file', true],
  ['**/dir', 'dir', true],
  ['**/dir', 'dir/file', true],
  ['**/dir2/*', 'dir/dir2/file', true],
  ['**/dir2/**', 'dir/dir2/dir3/file', true],
  ['**file', 'file', true],
  ['**file', 'dir/file', true],
  ['**/file', 'dir/file', true],
  ['**file', 'dir/dir/file', true],
  ['**/file', 'dir/dir/file', true],
  ['**/file*', 'dir/dir/file', true],
  ['**/file*', 'dir/dir/file.txt', true],
  ['**/file*txt', 'dir/dir/file.txt', true],
  ['**/file*.txt', 'dir/dir/file.txt', true],
  ['**/file*.txt*', 'dir/dir/file.txt', true],
  ['**/**/*.txt', 'dir/dir/file.txt', true],
  ['**/**/*.txt2', 'dir/dir/file.txt', false],
  ['**/*.txt', 'file.txt', true],
  ['**/**/*.txt', 'file.txt', true],
  ['a**/*.txt', 'a/file.txt', true],
  ['a**/*.txt', 'a/dir/file.txt', true],
  ['a**/*.txt', 'a/dir/dir/file.txt', true],
  ['a/*.txt', 'a/dir/file.txt', false],
  ['a/*.txt', 'a/file.txt', true],
  ['a/*.txt**', 'a/file.txt', true],
  ['a[b-d]e', 'ae', false],
  ['a[b-d]e', 'ace', true],
  ['a[b-d]e', 'aae', false],
  ['a[^b-d]e', 'aze', true],
  ['.*', '.foo', true],
  ['.*', 'foo', false],
  ['abc.def', 'abcdef', false],
  ['abc.def', 'abc.def', true],
  ['abc.def', 'abcZdef', false],
  ['abc?def', 'abcZdef', true],
  ['abc?def', 'abcdef', false],
  ['**/foo/bar', 'foo/bar', true],
  ['**/foo/bar', 'dir/foo/bar', true],
  ['**/foo/bar', 'dir/dir2/foo/bar', true],
  ['abc/**', 'abc', false],
  ['abc/**', 'abc/def', true],
  ['abc/**', 'abc/def/ghi', true],
  ['**/.foo', '.foo', true],
  ['**/.foo', 'bar.foo', false],
  ['a(b)c/def', 'a(b)c/def', true],
  ['a(b)c/def', 'a(b)c/xyz', false],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['a\\\\', 'a\\', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'axb', false],
  // Go filepath.Match vectors (Matches checks parents too: "a*" excludes "ab/c" via "ab").
  ['abc', 'abc', true],
  ['*', 'abc', true],
  ['*c', 'abc', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*', 'ab/c', true],
  ['a*/b', 'abc/b', true],
  ['a*/b', 'a/c/b', false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true],
  ['ab[b-d]', 'abc', true],
  ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false],
  ['ab[^e-g]', 'abc', true],
  ['a?b', 'a☺b', true],
  ['a[^a]b', 'a☺b', true],
  ['a???b', 'a☺b', false],
  ['a[^a][^a][^a]b', 'a☺b', false],
  ['[a-ζ]*', 'α', true],
  ['*[a-ζ]', 'A', false],
  ['a?b', 'a/b', false],
  ['a*b', 'a/b', false],
  ['[\\]a]', ']', true],
  ['[\\-]', '-', true],
  ['[x\\-]', 'x', true],
  ['[x\\-]', '-', true],
  ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true],
  ['[\\-x]', '-', true],
  ['[\\-x]', 'a', false],
  ['*x', 'xxx', true],
];

test('IgnoreMatcher.matches: moby patternmatcher and Go filepath.Match vectors', () => {
  for (const [pattern, path, want] of singlePattern) {
    assert.equal(
      excluded([pattern], path),
      want,
      `pattern ${JSON.stringify(pattern)} path ${JSON.stringify(path)}`,
    );
  }
});

test('IgnoreMatcher.matches: astral code points count as one character for ?', () => {
  assert.equal(excluded(['a?b'], 'a😀b'), true);
  assert.equal(excluded(['a??b'], 'a😀b'), false);
  assert.equal(excluded(['[😀-😂]'], '😁'), true);
});

test('IgnoreMatcher.matches: a pattern excludes everything under a matching directory', () => {
  assert.equal(excluded(['foo'], 'foo'), true);
  assert.equal(excluded(['foo'], 'foo/bar'), true);
  assert.equal(excluded(['foo'], 'foo/bar/baz'), true);
  assert.equal(excluded(['foo'], 'foobar'), false);
  assert.equal(excluded(['foo'], 'a/foo'), false, 'patterns are anchored at the context root');
  assert.equal(excluded(['*/temp*'], 'somedir/temporary.txt'), true);
  assert.equal(excluded(['*/temp*'], 'somedir/temp/x'), true);
  assert.equal(excluded(['*/temp*'], 'temp'), false);
  assert.equal(excluded(['*/*/temp*'], 'somedir/subdir/temporary.txt'), true);
  assert.equal(excluded(['temp?'], 'tempa'), true);
  assert.equal(excluded(['temp?'], 'temp'), false);
});

test('IgnoreMatcher.matches: leading "/" and "./" in patterns and paths are the same as none', () => {
  assert.equal(excluded(['/foo/bar'], 'foo/bar'), true);
  assert.equal(excluded(['./foo/bar/'], 'foo/bar'), true);
  assert.equal(excluded(['foo/bar'], './foo/bar/'), true);
  assert.equal(excluded(['foo/bar'], '/foo/bar'), true);
});

test('IgnoreMatcher.matches: the last matching pattern wins and "!" re-includes', () => {
  assert.equal(excluded(['*.md', '!README.md'], 'README.md'), false);
  assert.equal(excluded(['*.md', '!README.md'], 'CHANGES.md'), true);
  assert.equal(excluded(['*.md', '!README*.md', 'README-secret.md'], 'README-secret.md'), true);
  assert.equal(excluded(['*.md', '!README*.md', 'README-secret.md'], 'README-public.md'), false);
  assert.equal(excluded(['*.md', 'README-secret.md', '!README*.md'], 'README-secret.md'), false);
  assert.equal(excluded(['!fileutils.go', '*.go'], 'fileutils.go'), true);
  assert.equal(excluded(['*.go', '!fileutils.go'], 'fileutils.go'), false);
  assert.equal(excluded(['docs', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(excluded(['docs/', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(excluded(['docs/*', '!docs/README.md'], 'docs/README.md'), false);
  assert.equal(excluded(['**', '!util/docker/web'], 'util/docker/web/foo'), false);
  assert.equal(excluded(['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo'), true);
  assert.equal(
    excluded(['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl'),
    false,
  );
  assert.equal(excluded(['*', '!src'], 'src/deep/file.ts'), false);
});

test('IgnoreMatcher.matches: the context root is never excluded; no patterns exclude nothing', () => {
  assert.equal(excluded(['*'], '.'), false);
  assert.equal(excluded(['**'], ''), false);
  assert.equal(excluded([], 'any/path/there'), false);
});

test('IgnoreMatcher: `**` followed by literal text is a suffix match (moby quirk)', () => {
  assert.equal(excluded(['**.log'], 'a/b/x.log'), true);
  assert.equal(excluded(['**file'], 'dir/myfile'), true);
  // With another wildcard after it, `**` stops at directory boundaries again.
  assert.equal(excluded(['**fi?e'], 'dir/myfile'), false);
  assert.equal(excluded(['**fi?e'], 'dir/file'), true);
});

test('IgnoreMatcher: `\\x` is always the literal x and `^` outside a class is literal', () => {
  assert.equal(excluded(['\\d'], 'd'), true);
  assert.equal(excluded(['\\d'], '1'), false);
  assert.equal(excluded(['a^b'], 'a^b'), true);
  assert.equal(excluded(['\\[x]'], '[x]'), true);
});

test('IgnoreMatcher.mayHaveExceptionsUnder', () => {
  const m = new IgnoreMatcher(['node_modules', '!node_modules/keep', 'build', '!**/*.go', 'secret']);
  assert.equal(m.mayHaveExceptionsUnder('node_modules'), true);
  assert.equal(m.mayHaveExceptionsUnder('node_modules/other'), true, '**/*.go may match below');
  const m2 = new IgnoreMatcher(['node_modules', '!node_modules/keep']);
  assert.equal(m2.mayHaveExceptionsUnder('node_modules'), true);
  assert.equal(m2.mayHaveExceptionsUnder('node_modules/other'), false);
  assert.equal(
    m2.mayHaveExceptionsUnder('node_modules/keep'),
    true,
    'keep itself is re-included: its contents too',
  );
  assert.equal(m2.mayHaveExceptionsUnder('elsewhere'), false);
  // Wildcard exceptions that moby's prefix test misses (docker/cli#2919).
  const m3 = new IgnoreMatcher(['*', '!**/*.py']);
  assert.equal(m3.mayHaveExceptionsUnder('subdir'), true);
  assert.equal(m3.mayHaveExceptionsUnder('a/b/c'), true);
  const m4 = new IgnoreMatcher(['vendor', '!vendor/*/LICENSE']);
  assert.equal(m4.mayHaveExceptionsUnder('vendor'), true);
  assert.equal(m4.mayHaveExceptionsUnder('vendor/lib'), true);
  assert.equal(m4.mayHaveExceptionsUnder('vendor/lib/sub'), false);
  // An exception listed before the pattern that excludes the directory can never win below it.
  const m5 = new IgnoreMatcher(['!keep/x', 'keep']);
  assert.equal(m5.mayHaveExceptionsUnder('keep'), false);
  assert.equal(new IgnoreMatcher(['a', 'b']).mayHaveExceptionsUnder('a'), false);
  // Root: any exception at all.
  assert.equal(m2.mayHaveExceptionsUnder('.'), true);
});

test('IgnoreMatcher.mayHaveExceptionsUnder agrees with matches on a small tree', () => {
  const patterns = ['*', '!a/b', 'a/b/c', '!**/k*', 'x/**', '!x/y/z'];
  const m = new IgnoreMatcher(patterns);
  const names = ['a', 'b', 'c', 'k1', 'x', 'y', 'z'];
  const paths: string[] = [];
  const build = (prefix: string, depth: number): void => {
    if (depth === 0) return;
    for (const n of names) {
      const p = prefix === '' ? n : `${prefix}/${n}`;
      paths.push(p);
      build(p, depth - 1);
    }
  };
  build('', 4);
  for (const dir of paths) {
    if (!m.matches(dir)) continue;
    const anyIncludedBelow = paths.some((p) => p.startsWith(`${dir}/`) && !m.matches(p));
    // mayHaveExceptionsUnder may over-approximate but must never miss a re-included path.
    if (anyIncludedBelow) assert.equal(m.mayHaveExceptionsUnder(dir), true, dir);
  }
});

test('compileGlob: Go filepath.Match without `**` (COPY sources)', () => {
  const g = compileGlob('*.txt');
  assert.equal(g.test('a.txt'), true);
  assert.equal(g.test('.txt'), true);
  assert.equal(g.test('a/b.txt'), false);
  assert.equal(compileGlob('**').test('a/b'), false, 'without doubleStar `**` is two stars');
  assert.equal(compileGlob('**', { doubleStar: true }).test('a/b'), true);
  assert.throws(() => compileGlob('[', { what: 'COPY source' }), /invalid COPY source "\["/);
  assert.equal(hasGlobMeta('a.txt'), false);
  for (const s of ['*', 'a?', '[ab]', 'a\\b']) assert.equal(hasGlobMeta(s), true, s);
});

test('compileGlob: hostile patterns run in linear time', () => {
  // A backtracking translation of this needs ~2^30 steps on the subject below.
  const pattern = `${'*a'.repeat(30)}b`;
  const subject = 'a'.repeat(5000);
  assert.equal(compileGlob(pattern).test(subject), false);
  const m = new IgnoreMatcher([`${'**/a'.repeat(20)}/b`, `${'a*'.repeat(200)}c`]);
  assert.equal(m.matches(`${'a/'.repeat(2000)}x`), false);
  assert.equal(m.matches('a'.repeat(10000)), false);
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'berth-ignore-'));
}

test('readIgnoreFile: Dockerfile-specific file, then .dockerignore, then .containerignore, then none', async () => {
  const dir = tempDir();
  try {
    assert.deepEqual(await readIgnoreFile(dir), []);
    writeFileSync(join(dir, '.containerignore'), 'from-containerignore\n');
    assert.deepEqual(await readIgnoreFile(dir), ['from-containerignore']);
    writeFileSync(join(dir, '.dockerignore'), 'from-dockerignore\n');
    assert.deepEqual(await readIgnoreFile(dir), ['from-dockerignore']);
    mkdirSync(join(dir, 'docker'));
    assert.deepEqual(
      await readIgnoreFile(dir, 'docker/app.Dockerfile'),
      ['from-dockerignore'],
      'absent: fall back',
    );
    writeFileSync(join(dir, 'docker/app.Dockerfile.dockerignore'), '# app\n/only-app\n');
    assert.deepEqual(await readIgnoreFile(dir, 'docker/app.Dockerfile'), ['only-app']);
    assert.deepEqual(
      await readIgnoreFile(dir, join(dir, 'docker/app.Dockerfile')),
      ['only-app'],
      'absolute name',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readIgnoreFile: refuses a non-regular file and an oversized one; follows a symlink', async () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir, '.dockerignore'));
    await assert.rejects(readIgnoreFile(dir), InvalidArgumentError);
    rmSync(join(dir, '.dockerignore'), { recursive: true });
    writeFileSync(join(dir, 'real-ignore'), 'a\n');
    symlinkSync('real-ignore', join(dir, '.dockerignore'));
    assert.deepEqual(await readIgnoreFile(dir), ['a']);
    rmSync(join(dir, '.dockerignore'));
    writeFileSync(join(dir, '.dockerignore'), Buffer.alloc(MAX_IGNORE_FILE_BYTES + 1, 0x61));
    await assert.rejects(readIgnoreFile(dir), SizeLimitError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readIgnoreFile: a syntax error surfaces as InvalidArgumentError', async () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, '.dockerignore'), 'ok\n[bad\n');
    await assert.rejects(readIgnoreFile(dir), /line 2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
