// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about ${...} in Dockerfile text
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../errors/index.js';
import {
  heredocsInLine,
  parseHeredocWord,
  readHeredocWord,
  ShellLex,
  type VariableLookup,
} from './_shell-lex.js';

function env(vars: Record<string, string>): VariableLookup {
  return (name) => (Object.hasOwn(vars, name) ? vars[name] : undefined);
}

const home = env({ PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' });
const lex = new ShellLex('\\');

/** [input, expected] pairs; `null` means the word must be refused. */
function check(cases: [string, string | null][], lookup: VariableLookup = home, l: ShellLex = lex): void {
  for (const [input, expected] of cases) {
    if (expected === null) {
      assert.throws(
        () => l.processWord(input, lookup),
        InvalidArgumentError,
        `input ${JSON.stringify(input)}`,
      );
    } else {
      assert.equal(l.processWord(input, lookup), expected, `input ${JSON.stringify(input)}`);
    }
  }
}

test('quotes: single quotes are literal, double quotes expand, both group', () => {
  check([
    ['hello', 'hello'],
    ["he'll'o", 'hello'],
    ["he'llo", null],
    ["he\\'llo", "he'llo"],
    ["he\\\\'llo", null],
    ['"hel\'lo"', "hel'lo"],
    ["'hello", null],
    ["'hello\\'", 'hello\\'],
    ["'hello\\there'", 'hello\\there'],
    ["'hello\\\\there'", 'hello\\\\there'],
    ['"\'\'"', "''"],
    ['\'"hello"\'', '"hello"'],
    ['"hello', null],
    ['"hello\\"', null],
    ["'$PWD'", '$PWD'],
    ["'\\$PWD'", '\\$PWD'],
    ['"$PWD"', '/home'],
    ['"he\'$PWD\'"', "he'/home'"],
    ["안'녕'하세요", '안녕하세요'],
  ]);
});

test('escape token: escapes one character, dropped at the end, kept literal in double quotes', () => {
  check([
    ['abc\\tdef', 'abctdef'],
    ['"abc\\tdef"', 'abc\\tdef'],
    ['"abc\\\\tdef"', 'abc\\tdef'],
    ["'abc\\tdef'", 'abc\\tdef'],
    ['hello\\', 'hello'],
    ['hello\\\\', 'hello\\'],
    ['he\\$PWD', 'he$PWD'],
    ['he\\\\$PWD', 'he\\/home'],
    ['"he\\$PWD"', 'he$PWD'],
    ['"he\\\\$PWD"', 'he\\/home'],
    ['\\${}', '${}'],
    ['he\\${}xx', 'he${}xx'],
    ['"a\\"b"', 'a"b'],
  ]);
});

test('backtick escape token leaves backslashes alone (Windows paths)', () => {
  const tick = new ShellLex('`');
  check(
    [
      ['C:\\Users\\$USER', 'C:\\Users\\me'],
      ['c:\\windows`$x', 'c:\\windows$x'],
      ['"a`"b"', 'a"b'],
      ['`$PWD', '$PWD'],
      ['a``b', 'a`b'],
    ],
    env({ USER: 'me' }),
    tick,
  );
});

test('$name and ${name}: unset is empty, $ before a non-name is literal', () => {
  check([
    ['$.', '$.'],
    ['he$.x', 'he$.x'],
    ['he$PWD', 'he/home'],
    ['he$pwd.', 'he.'],
    ['he${hi}xx', 'hexx'],
    ['he${PWD}', 'he/home'],
    ['안녕$KOREAN', '안녕한국어'],
    ['$', '$'],
    ['a$ b', 'a$ b'],
    ['${aaa}}', '}'],
  ]);
});

test('malformed ${...} is refused', () => {
  check([
    ['${}', null],
    ['he${}xx', null],
    ['he${.}', null],
    ['he${PWD', null],
    ['${{aaa}', null],
    ['${aaa', null],
    ['${aaa:-bbb', null],
    ['${aaa:-bbb ${foo}', null],
    ['${:}', null],
    ['${:-bbb}', null],
    ['he${XXX:YYY}', null],
    ['he${PWD:=000}xx', null],
    ['${FOO=aaa}', null],
  ]);
});

test('${v:-w} ${v-w} ${v:+w} ${v+w}: colon forms treat empty as unset', () => {
  const vars = env({ FOO: 'xxx', BAR: '', PWD: '/home', SHELL: 'bash' });
  check(
    [
      ['he${XXX:-000}xx', 'he000xx'],
      ['he${PWD:-000}xx', 'he/homexx'],
      ['he${XXX:-$PWD}xx', 'he/homexx'],
      ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
      ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
      ['he${XXX:+${PWD}}xx', 'hexx'],
      ['he${PWD:+${SHELL}}xx', 'hebashxx'],
      ['he${PWD:+${PWD}:}xx', 'he/home:xx'],
      ['he${XXX:-\\$PWD:}xx', 'he$PWD:xx'],
      ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
      ['${aaa:-bbb}}', 'bbb}'],
      ['${aaa:-bbb {foo}', 'bbb {foo'],
      ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', 'xxx  ccc'],
      ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', 'xxx bbb ccc'],
      ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', 'aaa bbb '],
      ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', 'aaa  '],
      ['${FOO:-}', 'xxx'],
    ],
    vars,
  );
});

test('${v?msg} and ${v:?msg} throw InvalidArgumentError carrying the message', () => {
  const set = env({ VAR: 'plain', ARG: 'x' });
  const empty = env({ VAR: '', ARG: 'x' });
  const unset = env({ ARG: 'x' });
  assert.equal(lex.processWord('${VAR:?message here$ARG}', set), 'plain');
  assert.throws(() => lex.processWord('${VAR:?message here$ARG}', empty), /VAR: message herex/);
  assert.throws(() => lex.processWord('${VAR:?message here$ARG}', unset), /VAR: message herex/);
  assert.equal(lex.processWord('${VAR?message here$ARG}', empty), '');
  assert.throws(
    () => lex.processWord('${VAR?message here$ARG}', unset),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(err.message, /^failed to process "\$\{VAR\?message here\$ARG\}": VAR: message herex$/);
      return true;
    },
  );
  assert.throws(() => lex.processWord('${XXX?}', home), /XXX: is not allowed to be unset/);
  assert.throws(() => lex.processWord('${NULL:?}', home), /NULL: is not allowed to be empty/);
  assert.equal(lex.processWord('he${NULL?}', home), 'he');
  assert.equal(lex.processWord('he${PWD:?}', home), 'he/home');
});

test('positional and special parameters are never set', () => {
  check([
    ['$1', ''],
    ['${1:-bbb}', 'bbb'],
    ['${1:+bbb}', ''],
    ['$999aaa', 'aaa'],
    ['${001:-bbb}aaa', 'bbbaaa'],
    ['he$1x', 'hex'],
    ['$@', ''],
    ['$@@@', '@@'],
    ['${@:-bbb}aaa', 'bbbaaa'],
    ['$*', ''],
    ['$#', ''],
    ['${#}', ''],
    ['${#:-bbb}', 'bbb'],
    ['$?', ''],
    ['$-', ''],
    ['$$', ''],
    ['${$:-bbb}', 'bbb'],
    ['$!', ''],
    ['$0', ''],
  ]);
  // BuildKit has no ${#var} length operator: `#` is the special parameter, then junk.
  assert.throws(() => lex.processWord('${#PWD}', home), InvalidArgumentError);
});

test('${v#p} ${v##p} ${v%p} ${v%%p}: shortest/longest prefix and suffix removal', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' }, 'x'],
    ['${FOO%%\\**}', { FOO: 'xx**' }, 'xx'],
    ['${FOO#*x*y}', { FOO: 'xxyy' }, 'y'],
    ['${FOO#*}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO##*}', { FOO: 'xxyy' }, ''],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }, 'xyy'],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy'],
    ['${FOO#}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO##*x}', { FOO: 'xxyy' }, 'yy'],
    ['${FOO##}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO#?\\?}', { FOO: '???y' }, '?y'],
    ['${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' }, '.xxyy.'],
    ['${FOO%%\\**\\*}', { FOO: 'a***yy*' }, 'a'],
    ['${FOO%}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO%%$BAR}', { FOO: 'xxyy', BAR: '' }, 'xxyy'],
    ['${FOO%.*}', { FOO: 'archive.tar.gz' }, 'archive.tar'],
    ['${FOO%%.*}', { FOO: 'archive.tar.gz' }, 'archive'],
    ['${FOO#*/}', { FOO: 'a/b/c' }, 'b/c'],
    ['${FOO##*/}', { FOO: 'a/b/c' }, 'c'],
    ['${FOO%/*}', { FOO: 'a/b/c' }, 'a/b'],
    ['${FOO#z}', { FOO: 'abc' }, 'abc'],
    ['${FOO%?}', { FOO: '👽🚀🖖' }, '👽🚀'],
    ['${NOPE#a}', {}, ''],
  ];
  for (const [input, vars, expected] of cases) {
    assert.equal(lex.processWord(input, env(vars)), expected, input);
  }
  for (const bad of ['${FOO:#}', '${FOO:##}', '${FOO:%}', '${FOO:%%}', '${FOO#\\x}']) {
    assert.throws(() => lex.processWord(bad, env({ FOO: 'x' })), InvalidArgumentError, bad);
  }
});

test('${v/p/r} and ${v//p/r}: first and every longest match replaced', () => {
  const cases: [string, Record<string, string>, string][] = [
    [
      '${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}',
      { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' },
      '/foo.*/*.txt - /foo..*.txt',
    ],
    [
      '${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}',
      { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' },
      '/tmp/bar.txt - /bar.txt',
    ],
    [
      '${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}',
      { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', REPLACEMENT: '/' },
      '/foo/b/c.txt - /foo/c.txt',
    ],
    [
      '${FOO/$NEEDLE/$REPLACEMENT}',
      { FOO: 'http://google.de', NEEDLE: 'http://', REPLACEMENT: 'https://' },
      'https://google.de',
    ],
    ['${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' }, '\\/tmp\\/foo.txt'],
    ['${FOO/$BAR/ww}', { FOO: 'xxyy', BAR: '' }, 'wwxxyy'],
    ['${FOO///}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO///}', {}, ''],
    ['${FOO/b*/X}', { FOO: 'abcabc' }, 'aX'],
    ['${FOO//b?/X}', { FOO: 'abcabc' }, 'aXaX'],
    ['${FOO/z/X}', { FOO: 'abc' }, 'abc'],
  ];
  for (const [input, vars, expected] of cases) {
    assert.equal(lex.processWord(input, env(vars)), expected, input);
  }
  for (const bad of ['${FOO//ww}', '${FOO//}', '${FOO/a']) {
    assert.throws(() => lex.processWord(bad, env({ FOO: 'xxyy' })), InvalidArgumentError, bad);
  }
});

test('release-name style substitution (TARGETVARIANT may be unset or empty)', () => {
  const word = 'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz';
  const base = { VERSION: 'v1.2.3', TARGETOS: 'linux' };
  assert.equal(
    lex.processWord(word, env({ ...base, TARGETARCH: 'arm', TARGETVARIANT: 'v7' })),
    'something-v1.2.3.linux-arm-v7.tar.gz',
  );
  assert.equal(
    lex.processWord(word, env({ ...base, TARGETARCH: 'arm64', TARGETVARIANT: '' })),
    'something-v1.2.3.linux-arm64.tar.gz',
  );
  assert.equal(
    lex.processWord(word, env({ ...base, TARGETARCH: 'arm64' })),
    'something-v1.2.3.linux-arm64.tar.gz',
  );
});

test('processWords splits after expansion on unquoted white space only', () => {
  const vars: Record<string, string> = {};
  const words = (w: string) => lex.processWords(w, env(vars));
  assert.deepEqual(words('hello'), ['hello']);
  assert.deepEqual(words('hello${hi}bye'), ['hellobye']);
  vars.hi = 'hi';
  assert.deepEqual(words('hello${hi}bye'), ['hellohibye']);
  vars.space = 'abc  def';
  assert.deepEqual(words('hello${space}bye'), ['helloabc', 'defbye']);
  assert.deepEqual(words('hello"${space}"bye'), ['helloabc  defbye']);
  assert.deepEqual(words('hello "${space}"bye'), ['hello', 'abc  defbye']);
  vars.leading = '  ab c';
  assert.deepEqual(words('hello${leading}def'), ['hello', 'ab', 'cdef']);
  assert.deepEqual(words('hello"${leading}" def'), ['hello  ab c', 'def']);
  assert.deepEqual(words('hello${leading}'), ['hello', 'ab', 'c']);
  vars.trailing = 'ab c   ';
  assert.deepEqual(words('hello${trailing}'), ['helloab', 'c']);
  assert.deepEqual(words('hello${trailing}d'), ['helloab', 'c', 'd']);
  assert.deepEqual(words('hello"${trailing}"d'), ['helloab c   d']);
  assert.deepEqual(words('hel"lo${trailing}"'), ['helloab c   ']);
  assert.deepEqual(words('hello" there  "'), ['hello there  ']);
  assert.deepEqual(words('hello there     '), ['hello', 'there']);
  assert.deepEqual(words('hello\\ there'), ['hello there']);
  assert.deepEqual(words('hello\\" there'), ['hello"', 'there']);
  assert.deepEqual(words('hello"\\\\there"'), ['hello\\there']);
  assert.deepEqual(words('hello"\\there"'), ['hello\\there']);
  assert.deepEqual(words("hello'\\\\there'"), ['hello\\\\there']);
  assert.deepEqual(words("hello'$there'"), ['hello$there']);
  assert.deepEqual(words('a "" b'), ['a', 'b']);
  assert.throws(() => words('hello" there'), InvalidArgumentError);
});

test('processWords keeps text before a ${v:-default} in the same word', () => {
  // BuildKit's shared word buffer loses "80/" here; the result string was always right.
  assert.deepEqual(
    lex.processWords('80/${PROTO:-tcp} 443', () => undefined),
    ['80/tcp', '443'],
  );
});

test('skipUnsetEnv keeps references to unset variables as written', () => {
  const l = new ShellLex('\\', { skipUnsetEnv: true });
  const vars = env({ SET: 'v' });
  assert.equal(
    l.processWord('$SET $UNSET ${UNSET} ${UNSET:-d} ${UNSET/a/b} ${SET:-d}', vars),
    'v $UNSET ${UNSET} ${UNSET:-d} ${UNSET/a/b} v',
  );
});

test('rawQuotes and rawEscapes keep quoting characters; skipProcessQuotes ignores quotes', () => {
  const raw = new ShellLex('\\', { rawQuotes: true, rawEscapes: true });
  assert.equal(
    raw.processWord(`'a b' "c\\"d" e\\ f`, () => undefined),
    `'a b' "c\\"d" e\\ f`,
  );
  assert.deepEqual(
    raw.processWords(`'a b' "c" e\\ f`, () => undefined),
    [`'a b'`, '"c"', 'e\\ f'],
  );
  const noQuotes = new ShellLex('\\', { skipProcessQuotes: true });
  assert.equal(noQuotes.processWord(`"$A" '$A' \\$A`, env({ A: 'x' })), `"x" 'x' $A`);
});

test('word expansion is linear on hostile patterns (no catastrophic backtracking)', () => {
  const value = 'a'.repeat(20_000);
  const pattern = '*a'.repeat(30) + 'b';
  // A backtracking regex translation would not finish; the NFA simulation is O(n·m).
  assert.equal(lex.processWord('${V#' + pattern + '}', env({ V: value })), value);
  assert.equal(lex.processWord('${V//' + pattern + '/x}', env({ V: value })), value);
  assert.equal(lex.processWord('${V%%a*a}', env({ V: value })), '');
});

test('error messages name the word and stay on one line', () => {
  assert.throws(
    () => lex.processWord('x'.repeat(500) + '"', () => undefined),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.match(err.message, /^failed to process "x{200}\.\.\.": unexpected end of statement/);
      assert.ok(!err.message.includes('\n'));
      return true;
    },
  );
});

test('heredoc delimiter words', () => {
  for (const w of [
    '<<EOF',
    "<<'EOF'",
    '<<"EOF"',
    '<<-EOF',
    "<<-'EOF'",
    '<<-"EOF"',
    '<<EO"F"',
    '<< EOF',
    '<<- EOF',
  ]) {
    assert.equal(readHeredocWord(w)?.name, 'EOF', w);
  }
  for (const w of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF', '<<EOF sh']) {
    assert.equal(readHeredocWord(w), undefined, w);
  }
  for (const w of ["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"']) {
    assert.throws(() => readHeredocWord(w), InvalidArgumentError, w);
    assert.equal(parseHeredocWord(w), undefined, w);
  }
  assert.deepEqual(readHeredocWord('<<EOF'), { name: 'EOF', chomp: false, expand: true });
  assert.deepEqual(readHeredocWord("<<-'EOF'"), { name: 'EOF', chomp: true, expand: false });
  assert.deepEqual(readHeredocWord('3<<EOF'), { name: 'EOF', chomp: false, expand: true, fd: 3 });
  assert.deepEqual(readHeredocWord("<<eo'f'"), { name: 'eof', chomp: false, expand: false });
  assert.deepEqual(readHeredocWord("<<eo\\'f"), { name: "eo'f", chomp: false, expand: true });
  assert.deepEqual(readHeredocWord("<<'e'o\\'f"), { name: "eo'f", chomp: false, expand: false });
  assert.deepEqual(readHeredocWord('<<$EOF'), { name: '$EOF', chomp: false, expand: true });
});

test('heredocsInLine finds delimiters outside quotes only', () => {
  const names = (line: string) => heredocsInLine(line).map((h) => h.name);
  assert.deepEqual(names('RUN <<EOF'), ['EOF']);
  assert.deepEqual(names('RUN <<-EOF'), ['EOF']);
  // Blanks are glued to `<<` only directly after it, so `<<- EOF` opens no heredoc (as in BuildKit).
  assert.deepEqual(names('RUN <<- EOF'), []);
  assert.deepEqual(names('RUN << -EOF'), ['-EOF']);
  assert.deepEqual(names("RUN <<'EOF'"), ['EOF']);
  assert.deepEqual(names('RUN 4<<EOF'), ['EOF']);
  assert.deepEqual(names('RUN <<EOF <<EOF2'), ['EOF', 'EOF2']);
  assert.deepEqual(names('RUN cat <<A > /x'), ['A']);
  assert.deepEqual(names('RUN <<  EOF  > foo'), ['EOF']);
  assert.deepEqual(names("RUN '<<EOF'"), []);
  assert.deepEqual(names('RUN "<<EOF"'), []);
  assert.deepEqual(names('RUN cat <<< "here string"'), []);
  assert.deepEqual(names('RUN echo "unterminated <<EOF'), []);
});
