// .dockerignore: parsing (moby/patternmatcher's ignorefile rules) and matching (its
// MatchesOrParentMatches semantics). Patterns are compiled to token lists run as a Thompson NFA
// (a set of live positions stepped once per character), so matching is O(path × pattern) on any
// input: user-written patterns never reach a backtracking regex engine.
//
// Where moby's regex translation and Go's filepath.Match disagree we follow filepath.Match
// (the documented syntax): `\x` is always the literal x (moby turns `\d` into a regex digit
// class), `^` outside a class is a literal (moby emits a regex anchor that never matches), and
// POSIX `[[:alpha:]]` names are not special. We keep moby's documented extensions and its one
// observable quirk: `**` matches any number of directories, a trailing `**` matches anything,
// and a pattern that is `**` followed only by literal text (no `/`) matches any path ending in
// that text (`**.log` matches `a/x.log`, as moby's suffix fast path does).
import { constants as fsc } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { errnoCode, InvalidArgumentError, SizeLimitError } from '../errors/index.js';

/** Ignore files bigger than this are refused: a real one is a few KiB. */
export const MAX_IGNORE_FILE_BYTES = 4 * 1024 * 1024;

const SLASH = 0x2f;

type Token =
  | { t: 'lit'; cp: number }
  /** `?`: one character other than '/'. */
  | { t: 'one' }
  /** `*`: any run of characters other than '/'. */
  | { t: 'star' }
  /** `[...]`: like Go, a class may match '/'. `ranges` holds lo,hi pairs. */
  | { t: 'class'; negated: boolean; ranges: number[] }
  /** `**` in the middle (its following '/' eaten): nothing, or anything ending in '/'. */
  | { t: 'dirs' }
  /** Trailing `**` (or the leading `**` of moby's suffix form): anything at all. */
  | { t: 'rest' };

/** A compiled glob. `test` needs the whole string to match. */
export interface Glob {
  readonly source: string;
  test(s: string): boolean;
}

class CompileError extends Error {}

/** True if `s` has a character Go's filepath.Match treats specially (as Go's hasMeta). */
export function hasGlobMeta(s: string): boolean {
  return /[*?[\\]/.test(s);
}

/**
 * Compile a Go filepath.Match pattern; with `doubleStar`, also moby's `**`. Throws
 * InvalidArgumentError naming `what` for a malformed pattern (unterminated or empty class,
 * reversed range, trailing backslash), as Go returns ErrBadPattern.
 */
export function compileGlob(pattern: string, options: { doubleStar?: boolean; what?: string } = {}): Glob {
  try {
    return new NfaGlob(pattern, tokenize(pattern, options.doubleStar === true));
  } catch (err) {
    if (err instanceof CompileError) {
      throw new InvalidArgumentError(`invalid ${options.what ?? 'pattern'} "${pattern}": ${err.message}`);
    }
    throw err;
  }
}

function tokenize(pattern: string, doubleStar: boolean): Token[] {
  const cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  const tokens: Token[] = [];
  const n = cps.length;
  // moby's suffix fast path: `**` + literal text (not starting with '/') is a plain suffix test.
  if (
    doubleStar &&
    n > 2 &&
    cps[0] === 0x2a &&
    cps[1] === 0x2a &&
    cps[2] !== SLASH &&
    !/[*?[\]\\]/.test(pattern.slice(2))
  ) {
    tokens.push({ t: 'rest' });
    for (let i = 2; i < n; i++) tokens.push({ t: 'lit', cp: cps[i]! });
    return tokens;
  }
  let i = 0;
  while (i < n) {
    const c = cps[i]!;
    if (c === 0x2a /* * */) {
      if (doubleStar && cps[i + 1] === 0x2a) {
        i += 2;
        if (cps[i] === SLASH) i++;
        tokens.push(i >= n ? { t: 'rest' } : { t: 'dirs' });
      } else {
        tokens.push({ t: 'star' });
        i++;
      }
    } else if (c === 0x3f /* ? */) {
      tokens.push({ t: 'one' });
      i++;
    } else if (c === 0x5c /* \ */) {
      if (i + 1 >= n) throw new CompileError('trailing backslash');
      tokens.push({ t: 'lit', cp: cps[i + 1]! });
      i += 2;
    } else if (c === 0x5b /* [ */) {
      i = parseClass(cps, i + 1, tokens);
    } else {
      tokens.push({ t: 'lit', cp: c });
      i++;
    }
  }
  return tokens;
}

/** Parse a class body after '[' (Go's grammar); returns the index after the closing ']'. */
function parseClass(cps: number[], i: number, tokens: Token[]): number {
  const n = cps.length;
  if (i >= n) throw new CompileError('unterminated character class');
  const negated = cps[i] === 0x5e; /* ^ */
  if (negated) i++;
  const ranges: number[] = [];
  const getChar = (): number => {
    if (i >= n) throw new CompileError('unterminated character class');
    let c = cps[i]!;
    if (c === 0x2d /* - */ || c === 0x5d /* ] */) {
      throw new CompileError(
        ranges.length === 0 && c === 0x5d
          ? 'empty character class'
          : `unescaped "${String.fromCodePoint(c)}" in character class`,
      );
    }
    if (c === 0x5c) {
      i++;
      if (i >= n) throw new CompileError('unterminated character class');
      c = cps[i]!;
    }
    i++;
    if (i >= n) throw new CompileError('unterminated character class');
    return c;
  };
  for (;;) {
    if (cps[i] === 0x5d && ranges.length > 0) {
      tokens.push({ t: 'class', negated, ranges });
      return i + 1;
    }
    const lo = getChar();
    let hi = lo;
    if (cps[i] === 0x2d) {
      i++;
      hi = getChar();
      // Go's Match accepts a reversed range, but moby compiles it to a regexp that fails.
      if (hi < lo) throw new CompileError('reversed range in character class');
    }
    ranges.push(lo, hi);
  }
}

function inClass(tok: { negated: boolean; ranges: number[] }, c: number): boolean {
  const r = tok.ranges;
  let hit = false;
  for (let k = 0; k < r.length; k += 2) {
    if (c >= r[k]! && c <= r[k + 1]!) {
      hit = true;
      break;
    }
  }
  return hit !== tok.negated;
}

/**
 * Runs a token list as an NFA. States 0..m are positions in the token list (m: accept); a
 * `dirs` token at i also has an inner state m+1+i, "inside `.*` but not just after a '/'",
 * from which only a '/' leads back to i (and so on past the token). Not reentrant.
 */
class NfaGlob implements Glob {
  private readonly m: number;
  private cur: Int32Array;
  private next: Int32Array;
  private readonly seen: Uint32Array;
  private stamp = 0;
  private curLen = 0;
  private nextLen = 0;
  /** Set when the pattern has no wildcard at all: plain string comparison. */
  private readonly literal: string | undefined;

  constructor(
    readonly source: string,
    private readonly tokens: Token[],
  ) {
    this.m = tokens.length;
    this.cur = new Int32Array(2 * this.m + 2);
    this.next = new Int32Array(2 * this.m + 2);
    this.seen = new Uint32Array(2 * this.m + 2);
    this.literal = tokens.every((t) => t.t === 'lit')
      ? String.fromCodePoint(...tokens.map((t) => (t as { cp: number }).cp))
      : undefined;
  }

  test(s: string): boolean {
    if (this.literal !== undefined) return s === this.literal;
    this.start();
    for (const ch of s) {
      if (!this.step(ch.codePointAt(0)!)) return false;
    }
    return this.accepting();
  }

  /**
   * Match `s` or any of its parent directories (prefixes ending before a '/'). One pass: the
   * prefixes are checked as the NFA reaches each '/'.
   */
  testSelfOrParent(s: string): boolean {
    if (this.literal !== undefined) {
      const l = this.literal;
      return s === l || (s.length > l.length && s.charCodeAt(l.length) === SLASH && s.startsWith(l));
    }
    this.start();
    for (const ch of s) {
      const c = ch.codePointAt(0)!;
      if (c === SLASH && this.accepting()) return true;
      if (!this.step(c)) return false;
    }
    return this.accepting();
  }

  /** True if the NFA is still alive after reading `prefix`: some extension of it may match. */
  mayMatchExtensionOf(prefix: string): boolean {
    this.start();
    for (const ch of prefix) {
      if (!this.step(ch.codePointAt(0)!)) return false;
    }
    return true;
  }

  private start(): void {
    this.curLen = 0;
    this.nextLen = 0;
    this.bump();
    this.add(0);
    this.swap();
  }

  private bump(): void {
    if (++this.stamp === 0xffffffff) {
      this.seen.fill(0);
      this.stamp = 1;
    }
  }

  /** Add state i and its epsilon closure (star, dirs and rest may match nothing) to `next`. */
  private add(i: number): void {
    for (;;) {
      if (this.seen[i] === this.stamp) return;
      this.seen[i] = this.stamp;
      this.next[this.nextLen++] = i;
      if (i === this.m) return;
      const t = this.tokens[i]!.t;
      if (t !== 'star' && t !== 'dirs' && t !== 'rest') return;
      i++;
    }
  }

  private addInner(i: number): void {
    const id = this.m + 1 + i;
    if (this.seen[id] === this.stamp) return;
    this.seen[id] = this.stamp;
    this.next[this.nextLen++] = id;
  }

  private swap(): void {
    const tmp = this.cur;
    this.cur = this.next;
    this.next = tmp;
    this.curLen = this.nextLen;
    this.nextLen = 0;
  }

  private step(c: number): boolean {
    this.bump();
    for (let k = 0; k < this.curLen; k++) {
      const i = this.cur[k]!;
      if (i === this.m) continue;
      if (i > this.m) {
        const d = i - this.m - 1;
        if (c === SLASH) this.add(d);
        else this.addInner(d);
        continue;
      }
      const tok = this.tokens[i]!;
      switch (tok.t) {
        case 'lit':
          if (c === tok.cp) this.add(i + 1);
          break;
        case 'one':
          if (c !== SLASH) this.add(i + 1);
          break;
        case 'class':
          if (inClass(tok, c)) this.add(i + 1);
          break;
        case 'star':
          if (c !== SLASH) this.add(i);
          break;
        case 'dirs':
          if (c === SLASH) this.add(i);
          else this.addInner(i);
          break;
        case 'rest':
          this.add(i);
          break;
      }
    }
    this.swap();
    return this.curLen > 0;
  }

  private accepting(): boolean {
    for (let k = 0; k < this.curLen; k++) if (this.cur[k] === this.m) return true;
    return false;
  }
}

/** Go's filepath.Clean on a '/'-separated path. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.charCodeAt(0) === SLASH;
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = out.join('/');
  return rooted ? `/${s}` : s === '' ? '.' : s;
}

/** Clean one pattern as moby's ignorefile does; `!` stays in front. Undefined for a blank line. */
function normalizePattern(raw: string): { pattern: string; exception: boolean } | undefined {
  let p = raw.trim();
  if (p === '') return undefined;
  const exception = p.charCodeAt(0) === 0x21; /* ! */
  if (exception) p = p.slice(1).trim();
  if (p !== '') {
    p = cleanPath(p);
    if (p.length > 1 && p.charCodeAt(0) === SLASH) p = p.slice(1);
  }
  return { pattern: p, exception };
}

/**
 * Parse a .dockerignore file's text as moby's ignorefile.ReadAll does: a UTF-8 BOM is dropped,
 * a line whose first character is `#` is a comment (`  # x` is a pattern), lines are trimmed
 * and blank ones skipped, each pattern is cleaned (`./a/`, `/a` and `a//b/..` become `a`) with a
 * leading `!` kept as the exception marker. Unlike ReadAll, bad patterns fail here, with their
 * line number, instead of when the matcher is built.
 */
export function parseIgnoreFile(text: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: string[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.startsWith('#')) continue;
    const first = normalizePattern(line);
    if (first === undefined) continue;
    const emitted = first.exception ? `!${first.pattern}` : first.pattern;
    // Check what the matcher will read back: cleaning can bring a `!` to the front (`./!`).
    const norm = normalizePattern(emitted) ?? first;
    if (norm.pattern === '') {
      throw new InvalidArgumentError(
        `invalid ignore pattern "!" on line ${n + 1}: an exception needs a pattern`,
      );
    }
    try {
      compileGlob(norm.pattern, { doubleStar: true, what: 'ignore pattern' });
    } catch (err) {
      if (err instanceof InvalidArgumentError)
        throw new InvalidArgumentError(`${err.message} on line ${n + 1}`);
      throw err;
    }
    out.push(emitted);
  }
  return out;
}

interface CompiledPattern {
  glob: NfaGlob;
  exception: boolean;
}

/** Decides which context paths a list of .dockerignore patterns excludes. */
export class IgnoreMatcher {
  private readonly patterns: CompiledPattern[] = [];
  private readonly anyException: boolean;

  /** Patterns as `parseIgnoreFile` returns them; raw lines are cleaned the same way. */
  constructor(patterns: string[]) {
    for (const raw of patterns) {
      const norm = normalizePattern(raw);
      if (norm === undefined) continue;
      if (norm.pattern === '')
        throw new InvalidArgumentError('invalid ignore pattern "!": an exception needs a pattern');
      const glob = compileGlob(norm.pattern, { doubleStar: true, what: 'ignore pattern' }) as NfaGlob;
      this.patterns.push({ glob, exception: norm.exception });
    }
    this.anyException = this.patterns.some((p) => p.exception);
  }

  /** True when there is nothing to exclude. */
  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /**
   * True if `relPath` (relative to the context, '/'-separated) is excluded: the last pattern
   * that matches it or one of its parent directories decides, and an exception re-includes.
   * The context root ('.' or '') is never excluded.
   */
  matches(relPath: string): boolean {
    const p = normalizeRel(relPath);
    if (p === '') return false;
    const k = this.lastMatch(p);
    return k > -1 && !this.patterns[k]!.exception;
  }

  /**
   * True if some exception pattern could re-include a path strictly under `relDir`, so a walker
   * must descend into an excluded directory instead of skipping it. Exact up to character
   * classes that can match nothing: an exception counts only if it comes after the last
   * pattern matching the directory itself and its NFA survives reading `relDir/`. This also sees
   * wildcard exceptions (a `!` pattern starting with `**`), which moby's prefix test misses
   * (docker/cli#2919).
   */
  mayHaveExceptionsUnder(relDir: string): boolean {
    if (!this.anyException) return false;
    const d = normalizeRel(relDir);
    const prefix = d === '' ? '' : `${d}/`;
    const last = d === '' ? -1 : this.lastMatch(d);
    // The directory itself is re-included: so is everything below it, by the parent rule.
    if (last >= 0 && this.patterns[last]!.exception) return true;
    for (let k = last + 1; k < this.patterns.length; k++) {
      const p = this.patterns[k]!;
      if (p.exception && p.glob.mayMatchExtensionOf(prefix)) return true;
    }
    return false;
  }

  /** Index of the last pattern matching `p` or a parent of it, or -1. */
  private lastMatch(p: string): number {
    for (let k = this.patterns.length - 1; k >= 0; k--) {
      if (this.patterns[k]!.glob.testSelfOrParent(p)) return k;
    }
    return -1;
  }
}

function normalizeRel(p: string): string {
  const c = cleanPath(p);
  if (c === '.' || c === '/') return '';
  return c.charCodeAt(0) === SLASH ? c.slice(1) : c;
}

/**
 * The ignore patterns for a build: `<Dockerfile>.dockerignore` next to the Dockerfile (BuildKit;
 * it replaces, not extends, the root file), else `.dockerignore`, else `.containerignore`
 * (Podman), else none. `dockerfileName` is relative to `contextDir` or absolute. Symlinks are
 * followed (the files are the user's own), but only regular files are read, and only up to
 * MAX_IGNORE_FILE_BYTES.
 */
export async function readIgnoreFile(contextDir: string, dockerfileName?: string): Promise<string[]> {
  const candidates: string[] = [];
  if (dockerfileName !== undefined && dockerfileName !== '') {
    const df = isAbsolute(dockerfileName) ? dockerfileName : join(contextDir, dockerfileName);
    candidates.push(`${df}.dockerignore`);
  }
  candidates.push(join(contextDir, '.dockerignore'), join(contextDir, '.containerignore'));
  for (const file of candidates) {
    const text = await readSmallFile(file);
    if (text !== undefined) return parseIgnoreFile(text);
  }
  return [];
}

/** The file's text, or undefined if it does not exist. */
async function readSmallFile(file: string): Promise<string | undefined> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: a FIFO planted under the name must not hang the build at open.
    fh = await open(file, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new InvalidArgumentError(`cannot read ignore file "${file}": ${code ?? String(err)}`, {
      cause: err,
    });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new InvalidArgumentError(`cannot read ignore file "${file}": not a regular file`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_IGNORE_FILE_BYTES) {
        throw new SizeLimitError(`ignore file "${file}" is over the ${MAX_IGNORE_FILE_BYTES}-byte limit`);
      }
      chunks.push(buf.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await fh.close();
  }
}
