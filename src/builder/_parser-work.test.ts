// The parser's work grows linearly with its input. Measured without clocks: while it parses,
// String.prototype's scanning and copying methods are wrapped to add up the characters they
// touch (charCodeAt 1, slice the length copied, indexOf the distance scanned, ...). Doubling
// the input must about double that count; a rescan per line or per continuation would
// quadruple it. The first test shows the meter does catch a quadratic scanner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDockerfile } from './_parser.js';

type StringMethod = (this: string, ...args: unknown[]) => unknown;

/** Characters touched by String.prototype methods while `fn` runs (synchronously). */
function charactersTouched(fn: () => void): number {
  const proto = String.prototype as unknown as Record<string, StringMethod>;
  let work = 0;
  const cost: Record<string, (s: string, args: unknown[], result: unknown) => number> = {
    charCodeAt: () => 1,
    codePointAt: () => 1,
    charAt: () => 1,
    at: () => 1,
    slice: (_s, _a, r) => (r as string).length + 1,
    substring: (_s, _a, r) => (r as string).length + 1,
    indexOf: (s, a, r) => {
      const from = Math.max(0, Number(a[1] ?? 0) || 0);
      return ((r as number) < 0 ? s.length - from : (r as number) - from + String(a[0]).length) + 1;
    },
    lastIndexOf: (s) => s.length + 1,
    includes: (s, a) => s.length - Math.max(0, Number(a[1] ?? 0) || 0) + 1,
    startsWith: (_s, a) => String(a[0]).length + 1,
    endsWith: (_s, a) => String(a[0]).length + 1,
    trim: (s) => s.length + 1,
    trimStart: (s) => s.length + 1,
    trimEnd: (s) => s.length + 1,
    split: (s) => s.length + 1,
    replace: (s) => s.length + 1,
    replaceAll: (s) => s.length + 1,
    match: (s) => s.length + 1,
    search: (s) => s.length + 1,
    toUpperCase: (s) => s.length + 1,
    toLowerCase: (s) => s.length + 1,
  };
  const originals = new Map<string, StringMethod>();
  for (const name of Object.keys(cost)) {
    const original = proto[name]!;
    originals.set(name, original);
    const measure = cost[name]!;
    proto[name] = function (this: string, ...args: unknown[]) {
      const result = original.apply(this, args);
      work += measure(String(this), args, result);
      return result;
    };
  }
  try {
    fn();
  } finally {
    for (const [name, original] of originals) proto[name] = original;
  }
  return work;
}

/** How the work grows when the input doubles: about 2 for linear, about 4 for quadratic. */
function growth(make: (n: number) => string, n: number, run: (text: string) => void): number {
  const small = make(n);
  const large = make(2 * n);
  const a = charactersTouched(() => run(small));
  const b = charactersTouched(() => run(large));
  assert.ok(a > 0, 'the meter saw no work');
  return b / a;
}

const LINEAR = 2.3;
const lines = (ls: string[]) => `${ls.join('\n')}\n`;

test('the meter catches a quadratic scanner (so the tests below can fail)', () => {
  const make = (n: number) => lines(Array.from({ length: n }, (_, i) => `RUN echo ${i}`));
  // re-reads everything before each line, as a naive "where am I" lookup would
  const quadratic = (text: string) => {
    for (let p = text.indexOf('\n'); p >= 0; p = text.indexOf('\n', p + 1)) text.slice(0, p).split('\n');
  };
  const linear = (text: string) => {
    for (let p = text.indexOf('\n'); p >= 0; p = text.indexOf('\n', p + 1)) text.charCodeAt(p);
  };
  assert.ok(growth(make, 2000, quadratic) > 3.5);
  assert.ok(growth(make, 2000, linear) < LINEAR);
});

test('parser work is linear in the number of lines (mixed instructions, heredocs, comments)', () => {
  const make = (n: number) => {
    const body = ['FROM alpine'];
    for (let i = 0; body.length < n; i++) {
      switch (i % 5) {
        case 0:
          body.push(`RUN echo ${i} \\`, '    && echo more');
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
    return lines(body);
  };
  const g = growth(make, 5000, (t) => parseDockerfile(t));
  assert.ok(g < LINEAR, `work grew ${g.toFixed(2)}x when the input doubled`);
});

test('parser work is linear in continuation lines, line width, and flags', () => {
  const continued = (n: number) =>
    lines(['FROM x', 'RUN true \\', ...Array.from({ length: n }, () => '  && true \\'), '  && end']);
  const wide = (n: number) =>
    lines(['FROM x', `ENV ${Array.from({ length: n }, (_, i) => `K${i}=v`).join(' ')}`]);
  const flags = (n: number) =>
    lines([
      'FROM x',
      `RUN ${Array.from({ length: n }, (_, i) => `--mount=type=tmpfs,target=/t${i}`).join(' ')} true`,
    ]);
  const heredoc = (n: number) =>
    lines(['FROM x', 'RUN <<EOF', ...Array.from({ length: n }, (_, i) => `echo ${i}`), 'EOF']);
  for (const [name, make] of Object.entries({ continued, wide, flags, heredoc })) {
    const g = growth(make, 4000, (t) => parseDockerfile(t));
    assert.ok(g < LINEAR, `${name}: work grew ${g.toFixed(2)}x when the input doubled`);
  }
});
