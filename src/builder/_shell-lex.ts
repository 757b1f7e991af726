// Word expansion for Dockerfile arguments, compatible with BuildKit's `shell.Lex`: quotes, the
// escape token, `$var`, `${var}` and the `${var:-word}` family, plus the `#`, `%` and `/` pattern
// forms. It is not a shell: no command substitution, globbing or arithmetic, and no `${#var}`
// (BuildKit treats `#` there as the special parameter `$#`).

import { InvalidArgumentError } from '../errors/index.js';

export type EscapeToken = '\\' | '`';

/** Returns the value of a variable, or undefined when it is not set (unlike set-but-empty). */
export type VariableLookup = (name: string) => string | undefined;

/** Switches that BuildKit uses internally; the defaults are what instructions get. */
export interface ShellLexOptions {
  /** Keep quote characters in the output (quotes still group words). */
  rawQuotes?: boolean;
  /** Keep escape tokens in the output (they still escape the next character). */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to "". */
  skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters (used for COPY/ADD heredoc bodies). */
  skipProcessQuotes?: boolean;
}

const EOF = -1;
const DOLLAR = 0x24;
const LT = 0x3c;
const SQUOTE = 0x27;
const DQUOTE = 0x22;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const COLON = 0x3a;
const SLASH = 0x2f;
const BACKSLASH = 0x5c;

/** Longest word quoted back in an error message; words can be arbitrarily long. */
const MAX_QUOTED_WORD = 200;

/** Go's unicode.IsSpace: ASCII white space, NEL, NBSP, and the Unicode White_Space set. */
export function isUnicodeSpace(cp: number): boolean {
  if (cp <= 0x20) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d);
  if (cp < 0x85) return false;
  return (
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

const LETTER = /\p{L}/u;
const DIGIT = /\p{Nd}/u;

function isLetter(cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  return LETTER.test(String.fromCodePoint(cp));
}

function isDigit(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x30 && cp <= 0x39;
  return DIGIT.test(String.fromCodePoint(cp));
}

/** POSIX special parameters; never set in a Dockerfile, but `$@` must not read as "$" + "@". */
function isSpecialParam(cp: number): boolean {
  // @ * # ? - $ ! 0
  return (
    cp === 0x40 ||
    cp === 0x2a ||
    cp === 0x23 ||
    cp === 0x3f ||
    cp === 0x2d ||
    cp === 0x24 ||
    cp === 0x21 ||
    cp === 0x30
  );
}

/** A failure inside the lexer; `ShellLex` turns it into an InvalidArgumentError naming the word. */
class LexFailure extends Error {}

/** Splits expansion output on unquoted white space, the way BuildKit's ProcessWords does. */
class WordCollector {
  readonly words: string[] = [];
  private buf = '';
  private inWord = false;

  addChar(ch: string, cp: number): void {
    if (isUnicodeSpace(cp)) {
      if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else {
      this.addRaw(ch);
    }
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch, ch.codePointAt(0)!);
  }

  /** Text that must stay in one word (quoted text, escaped characters). */
  addRaw(s: string): void {
    this.buf += s;
    this.inWord = true;
  }

  finish(): string[] {
    // An empty quoted word ("") is dropped, as in BuildKit.
    if (this.buf.length > 0) {
      this.words.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
    return this.words;
  }
}

export class ShellLex {
  readonly escape: EscapeToken;
  private readonly options: Required<ShellLexOptions>;

  constructor(escapeToken: EscapeToken = '\\', options: ShellLexOptions = {}) {
    if (escapeToken !== '\\' && escapeToken !== '`') {
      throw new InvalidArgumentError(
        `invalid escape token ${JSON.stringify(escapeToken)}: must be "\\" or "\`"`,
      );
    }
    this.escape = escapeToken;
    this.options = {
      rawQuotes: options.rawQuotes ?? false,
      rawEscapes: options.rawEscapes ?? false,
      skipUnsetEnv: options.skipUnsetEnv ?? false,
      skipProcessQuotes: options.skipProcessQuotes ?? false,
    };
  }

  /** Expands `word` into one string; white space inside the result is kept. */
  processWord(word: string, lookup: VariableLookup): string {
    return this.run(word, lookup, false).result;
  }

  /** Expands `word`, then splits it on unquoted white space (quoted text stays one word). */
  processWords(word: string, lookup: VariableLookup): string[] {
    return this.run(word, lookup, true).words;
  }

  private run(
    word: string,
    lookup: VariableLookup,
    splitWords: boolean,
  ): { result: string; words: string[] } {
    const scanner = new WordScanner(word, lookup, this.escape.codePointAt(0)!, this.options);
    try {
      return scanner.processTop(splitWords);
    } catch (err) {
      if (err instanceof LexFailure) {
        const shown = word.length > MAX_QUOTED_WORD ? `${word.slice(0, MAX_QUOTED_WORD)}...` : word;
        throw new InvalidArgumentError(`failed to process ${JSON.stringify(shown)}: ${err.message}`);
      }
      throw err;
    }
  }
}

/** One pass over one word. Positions are UTF-16 indexes; characters are read as code points. */
class WordScanner {
  private pos = 0;
  private rawEscapes: boolean;

  constructor(
    private readonly src: string,
    private readonly lookup: VariableLookup,
    private readonly escapeCode: number,
    private readonly options: Required<ShellLexOptions>,
  ) {
    this.rawEscapes = options.rawEscapes;
  }

  private peek(): number {
    return this.pos < this.src.length ? this.src.codePointAt(this.pos)! : EOF;
  }

  private next(): number {
    if (this.pos >= this.src.length) return EOF;
    const cp = this.src.codePointAt(this.pos)!;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  processTop(splitWords: boolean): { result: string; words: string[] } {
    const words = splitWords ? new WordCollector() : undefined;
    const result = this.processStopOn(EOF, this.rawEscapes, words);
    return { result, words: words ? words.finish() : [] };
  }

  /**
   * Processes characters until `stop` (consumed) or the end of the word. Nested calls (the word
   * inside `${v:-word}`) collect no words of their own: only the expansion result matters there.
   */
  private processStopOn(stop: number, rawEscapes: boolean, words?: WordCollector): string {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      for (;;) {
        const cp = this.peek();
        if (cp === EOF) break;
        if (stop !== EOF && cp === stop) {
          this.next();
          return result;
        }
        if (cp === DOLLAR) {
          const value = this.processDollar();
          result += value;
          words?.addString(value);
          continue;
        }
        if (cp === LT) {
          const value = this.processPossibleHeredoc();
          result += value;
          words?.addRaw(value);
          continue;
        }
        if (!this.options.skipProcessQuotes && (cp === SQUOTE || cp === DQUOTE)) {
          const value = cp === SQUOTE ? this.processSingleQuote() : this.processDoubleQuote();
          result += value;
          words?.addRaw(value);
          continue;
        }
        this.next();
        if (cp === this.escapeCode) {
          if (this.rawEscapes) {
            const esc = String.fromCodePoint(cp);
            result += esc;
            words?.addRaw(esc);
          }
          // An escape token at the very end of the word is dropped.
          const escaped = this.next();
          if (escaped === EOF) break;
          const ch = String.fromCodePoint(escaped);
          result += ch;
          words?.addRaw(ch);
          continue;
        }
        const ch = String.fromCodePoint(cp);
        result += ch;
        words?.addChar(ch, cp);
      }
      if (stop !== EOF) {
        throw new LexFailure(
          `unexpected end of statement while looking for matching ${String.fromCodePoint(stop)}`,
        );
      }
      return result;
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    // Everything up to the next single quote is literal; a single quote cannot be escaped.
    this.next();
    let result = this.options.rawQuotes ? "'" : '';
    const end = this.src.indexOf("'", this.pos);
    if (end < 0) {
      this.pos = this.src.length;
      throw new LexFailure('unexpected end of statement while looking for matching single-quote');
    }
    result += this.src.slice(this.pos, end);
    this.pos = end + 1;
    if (this.options.rawQuotes) result += "'";
    return result;
  }

  private processDoubleQuote(): string {
    // Inside double quotes only `$` expands, and the escape token escapes only `"`, `$` and
    // itself; before any other character it stays literal (sh's rule for backslash).
    this.next();
    let result = this.options.rawQuotes ? '"' : '';
    for (;;) {
      const cp = this.peek();
      if (cp === EOF) {
        throw new LexFailure('unexpected end of statement while looking for matching double-quote');
      }
      if (cp === DQUOTE) {
        this.next();
        if (this.options.rawQuotes) result += '"';
        return result;
      }
      if (cp === DOLLAR) {
        result += this.processDollar();
        continue;
      }
      this.next();
      if (cp === this.escapeCode) {
        const following = this.peek();
        if (following === EOF) continue;
        if (following === DQUOTE || following === DOLLAR || following === this.escapeCode) {
          if (this.rawEscapes) result += String.fromCodePoint(cp);
          result += String.fromCodePoint(this.next());
          continue;
        }
      }
      result += String.fromCodePoint(cp);
    }
  }

  private processPossibleHeredoc(): string {
    // `<<` and any blanks after it stay glued to the delimiter word, so `<< EOF` is one word.
    this.next();
    if (this.peek() !== LT) return '<';
    this.next();
    let result = '<<';
    for (;;) {
      const cp = this.peek();
      if (cp !== 0x20 && cp !== 0x09 && cp !== 0x0d) break;
      result += String.fromCodePoint(this.next());
    }
    return result;
  }

  private getVariable(name: string): string | undefined {
    return this.lookup(name);
  }

  private processName(): string {
    let name = '';
    for (;;) {
      const cp = this.peek();
      if (cp === EOF) break;
      if (name === '' && isDigit(cp)) {
        // Positional parameters ($1, $001) read all their digits and are never set.
        while (this.peek() !== EOF && isDigit(this.peek())) name += String.fromCodePoint(this.next());
        return name;
      }
      if (name === '' && isSpecialParam(cp)) {
        return String.fromCodePoint(this.next());
      }
      if (!isLetter(cp) && !isDigit(cp) && cp !== 0x5f) break;
      name += String.fromCodePoint(this.next());
    }
    return name;
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== LBRACE) {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getVariable(name);
      if (value === undefined && this.options.skipUnsetEnv) return '$' + name;
      return value ?? '';
    }

    this.next();
    const first = this.peek();
    if (first === EOF) throw new LexFailure("syntax error: missing '}'");
    if (first === LBRACE || first === RBRACE || first === COLON) {
      throw new LexFailure('syntax error: bad substitution');
    }
    const name = this.processName();
    let op = this.next();
    if (op === EOF) throw new LexFailure("syntax error: missing '}'");
    if (op === RBRACE) {
      const value = this.getVariable(name);
      if (value === undefined && this.options.skipUnsetEnv) return '${' + name + '}';
      return value ?? '';
    }
    if (op === SLASH) return this.processReplacement(name);

    let opText = String.fromCodePoint(op);
    let nullIsUnset = false;
    if (op === COLON) {
      nullIsUnset = true;
      op = this.next();
      if (op !== EOF) opText += String.fromCodePoint(op);
    }
    const isPattern = op === 0x23 || op === 0x25; // # %
    const known = op === 0x2b || op === 0x2d || op === 0x3f || isPattern; // + - ? # %
    if (!known) {
      if (op === EOF) throw new LexFailure("syntax error: missing '}'");
      // BuildKit reads the rest of the braces before refusing; keep its error for `${v:=x}`.
      this.readModifierWord(false);
      throw new LexFailure(`unsupported modifier (${opText}) in substitution`);
    }
    if (nullIsUnset && isPattern) {
      throw new LexFailure(`unsupported modifier (${opText}) in substitution`);
    }
    // Patterns keep their escapes so that `\*` stays a literal star for the matcher.
    let word = this.readModifierWord(isPattern);

    const value = this.getVariable(name);
    if (value === undefined && this.options.skipUnsetEnv) return '${' + name + opText + word + '}';
    const unset = value === undefined;
    const empty = value === '';

    switch (op) {
      case 0x2d: // -
        return unset || (nullIsUnset && empty) ? word : (value as string);
      case 0x2b: // +
        return unset || (nullIsUnset && empty) ? '' : word;
      case 0x3f: // ?
        if (unset) throw new LexFailure(`${name}: ${word || 'is not allowed to be unset'}`);
        if (nullIsUnset && empty) throw new LexFailure(`${name}: ${word || 'is not allowed to be empty'}`);
        return value as string;
      default: {
        // `%`/`#` remove the shortest matching suffix/prefix; doubled, the longest.
        let greedy = false;
        if (word.length > 0 && word.codePointAt(0) === op) {
          greedy = true;
          word = word.slice(1);
        }
        const pattern = compileGlob(word);
        const v = value ?? '';
        return op === 0x25 ? trimSuffix(pattern, v, greedy) : trimPrefix(pattern, v, greedy);
      }
    }
  }

  private readModifierWord(rawEscapes: boolean): string {
    try {
      return this.processStopOn(RBRACE, rawEscapes);
    } catch (err) {
      if (err instanceof LexFailure && this.peek() === EOF) throw new LexFailure("syntax error: missing '}'");
      throw err;
    }
  }

  private processReplacement(name: string): string {
    const replaceAll = this.peek() === SLASH;
    if (replaceAll) this.next();
    let patternText: string;
    try {
      patternText = this.processStopOn(SLASH, true);
    } catch (err) {
      if (err instanceof LexFailure && this.peek() === EOF) {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: BuildKit's message, not a template
        throw new LexFailure("syntax error: missing '/' in ${}");
      }
      throw err;
    }
    const replacement = this.readModifierWord(true);
    const value = this.getVariable(name);
    if (value === undefined && this.options.skipUnsetEnv) {
      return '${' + name + '/' + patternText + '/' + replacement + '}';
    }
    return replacePattern(compileGlob(patternText), value ?? '', replacement, replaceAll);
  }
}

// --- Shell patterns -------------------------------------------------------------------------
// `*` matches any run of characters, `?` one character, `\` makes the next `*`, `?` or `\`
// literal (and is dropped before `}` and `/`, which it only protects from ending the braces).
// Matching simulates the pattern as an NFA over code points, so it is O(pattern × value) and
// cannot backtrack catastrophically, unlike a translated JavaScript regex.

type GlobToken = { kind: 'star' } | { kind: 'any' } | { kind: 'char'; cp: number };

function compileGlob(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  const cps = Array.from(pattern, (ch) => ch.codePointAt(0)!);
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i]!;
    if (cp === 0x2a) {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (cp === 0x3f) {
      tokens.push({ kind: 'any' });
    } else if (cp === BACKSLASH) {
      const following = cps[i + 1];
      if (following === RBRACE || following === SLASH) continue;
      if (following !== 0x2a && following !== 0x3f && following !== BACKSLASH) {
        const shown = following === undefined ? '' : String.fromCodePoint(following);
        throw new LexFailure(`invalid pattern (${pattern}) in substitution: invalid escape '\\${shown}'`);
      }
      tokens.push({ kind: 'char', cp: following });
      i++;
    } else {
      tokens.push({ kind: 'char', cp });
    }
  }
  return tokens;
}

/**
 * Thread set of the NFA: for each pattern position, the earliest value index at which a
 * still-alive match attempt started (-1 when none). Earliest start wins because leftmost
 * matches are preferred and two attempts in the same state behave identically afterwards.
 */
class GlobMachine {
  private cur: Int32Array;
  private nxt: Int32Array;
  readonly accept: number;

  constructor(private readonly tokens: GlobToken[]) {
    this.accept = tokens.length;
    this.cur = new Int32Array(tokens.length + 1).fill(-1);
    this.nxt = new Int32Array(tokens.length + 1).fill(-1);
  }

  /** Adds an attempt starting at `start`; a star can match nothing, so follow it. */
  inject(start: number): void {
    this.addState(this.cur, 0, start);
  }

  private addState(set: Int32Array, state: number, start: number): void {
    let s = state;
    for (;;) {
      const old = set[s]!;
      if (old !== -1 && old <= start) return;
      set[s] = start;
      if (s < this.tokens.length && this.tokens[s]!.kind === 'star') s++;
      else return;
    }
  }

  /** Start of the attempt that has matched the whole pattern so far, or -1. */
  acceptedStart(): number {
    return this.cur[this.accept]!;
  }

  alive(): boolean {
    for (let i = 0; i < this.cur.length; i++) if (this.cur[i] !== -1) return true;
    return false;
  }

  /** Drops attempts that started after `start` (they can no longer be leftmost). */
  pruneAfter(start: number): void {
    for (let i = 0; i < this.cur.length; i++) if (this.cur[i]! > start) this.cur[i] = -1;
  }

  step(cp: number): void {
    this.nxt.fill(-1);
    for (let s = 0; s < this.tokens.length; s++) {
      const start = this.cur[s]!;
      if (start === -1) continue;
      const tok = this.tokens[s]!;
      if (tok.kind === 'star') this.addState(this.nxt, s, start);
      else if (tok.kind === 'any' || tok.cp === cp) this.addState(this.nxt, s + 1, start);
    }
    const t = this.cur;
    this.cur = this.nxt;
    this.nxt = t;
  }
}

/** A value as code points, with the UTF-16 offset of each so results are sliced, not rebuilt. */
interface CodePoints {
  cps: number[];
  offsets: number[];
}

function toCodePoints(value: string): CodePoints {
  const cps: number[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < value.length; ) {
    const cp = value.codePointAt(i)!;
    cps.push(cp);
    offsets.push(i);
    i += cp > 0xffff ? 2 : 1;
  }
  offsets.push(value.length);
  return { cps, offsets };
}

/** Length (in code points) of the shortest or longest prefix of `cps` matching the pattern. */
function matchPrefixLength(tokens: GlobToken[], cps: number[], greedy: boolean): number {
  const m = new GlobMachine(tokens);
  m.inject(0);
  let found = -1;
  for (let i = 0; ; i++) {
    if (m.acceptedStart() !== -1) {
      found = i;
      if (!greedy) return found;
    }
    if (i === cps.length || !m.alive()) return found;
    m.step(cps[i]!);
  }
}

function trimPrefix(tokens: GlobToken[], value: string, greedy: boolean): string {
  const { cps, offsets } = toCodePoints(value);
  const n = matchPrefixLength(tokens, cps, greedy);
  return n <= 0 ? value : value.slice(offsets[n]);
}

function trimSuffix(tokens: GlobToken[], value: string, greedy: boolean): string {
  // A suffix match is a prefix match of the reversed pattern on the reversed value.
  const { cps, offsets } = toCodePoints(value);
  const n = matchPrefixLength([...tokens].reverse(), [...cps].reverse(), greedy);
  return n <= 0 ? value : value.slice(0, offsets[cps.length - n]);
}

/** Leftmost match starting at or after `from`, longest at that start: [start, end) or undefined. */
function findMatch(tokens: GlobToken[], cps: number[], from: number): [number, number] | undefined {
  const m = new GlobMachine(tokens);
  let bestStart = -1;
  let bestEnd = -1;
  for (let i = from; ; i++) {
    if (bestStart === -1) m.inject(i);
    const s = m.acceptedStart();
    if (s !== -1 && (bestStart === -1 || s < bestStart || (s === bestStart && i > bestEnd))) {
      bestStart = s;
      bestEnd = i;
    }
    if (bestStart !== -1) m.pruneAfter(bestStart);
    if (i === cps.length || !m.alive()) break;
    m.step(cps[i]!);
  }
  return bestStart === -1 ? undefined : [bestStart, bestEnd];
}

function replacePattern(tokens: GlobToken[], value: string, replacement: string, all: boolean): string {
  const { cps, offsets } = toCodePoints(value);
  const text = (a: number, b: number) => value.slice(offsets[a], offsets[b]);
  if (!all) {
    const match = findMatch(tokens, cps, 0);
    if (!match) return value;
    return text(0, match[0]) + replacement + text(match[1], cps.length);
  }
  // Go's ReplaceAllString rules, which BuildKit inherits: an empty match right after a
  // previous match is not replaced, and the search always advances by at least one character.
  let out = '';
  let lastEnd = 0;
  let search = 0;
  while (search <= cps.length) {
    const match = findMatch(tokens, cps, search);
    if (!match) break;
    const [a, b] = match;
    out += text(lastEnd, a);
    if (b > lastEnd || a === 0) out += replacement;
    lastEnd = b;
    search = b > search ? b : search + 1;
  }
  return out + text(lastEnd, cps.length);
}

// --- Heredoc delimiter words ------------------------------------------------------------------

/** What a `<<WORD` token says about its heredoc. */
export interface HeredocWord {
  /** The delimiter with quotes and escapes removed. */
  name: string;
  /** `<<-`: leading tabs are stripped from the body and the terminator line. */
  chomp: boolean;
  /** False when any part of the delimiter was quoted: the body is then taken literally. */
  expand: boolean;
  /** The file descriptor digits before `<<` (`3<<EOF`), when given. */
  fd?: number;
}

const noVariables: VariableLookup = () => undefined;
const heredocNameLex = new ShellLex('\\', { skipUnsetEnv: true });
const heredocNameRawLex = new ShellLex('\\', { skipUnsetEnv: true, rawQuotes: true });

function isRegexSpace(code: number): boolean {
  // Go's RE2 `\s`: [\t\n\f\r ]
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

/**
 * Reads one word as a heredoc delimiter (`<<EOF`, `<<-"EOF"`, `3<<EOF`, `<< EOF`). Returns
 * undefined when the word is not one. Throws InvalidArgumentError when the delimiter's quoting is
 * unbalanced (`<<'EOF`). Heredoc words are always lexed with `\` as escape, as in BuildKit.
 */
export function readHeredocWord(word: string): HeredocWord | undefined {
  let i = 0;
  while (i < word.length && word.charCodeAt(i) >= 0x30 && word.charCodeAt(i) <= 0x39) i++;
  const fdText = word.slice(0, i);
  if (!word.startsWith('<<', i)) return undefined;
  i += 2;
  const chomp = word[i] === '-';
  if (chomp) i++;
  while (i < word.length && isRegexSpace(word.charCodeAt(i))) i++;
  const rest = word.slice(i);
  if (rest === '' || rest.includes('<')) return undefined;

  const words = heredocNameLex.processWords(rest, noVariables);
  if (words.length !== 1) return undefined;
  const rawWords = heredocNameRawLex.processWords(rest, noVariables);
  const name = words[0]!;
  // Quote removal changed the word exactly when some part of it was quoted.
  const expand = countQuotes(name) === countQuotes(rawWords[0] ?? '');
  const result: HeredocWord = { name, chomp, expand };
  if (fdText !== '') result.fd = Number(fdText);
  return result;
}

function countQuotes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === SQUOTE || c === DQUOTE) n++;
  }
  return n;
}

/** Like `readHeredocWord`, but a malformed delimiter is simply not a heredoc. */
export function parseHeredocWord(word: string): HeredocWord | undefined {
  try {
    return readHeredocWord(word);
  } catch {
    return undefined;
  }
}

const heredocLineLex = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });

/**
 * The heredocs an instruction line opens, in order. The whole line is split into shell words
 * first so that a quoted `"<<EOF"` is not a heredoc; a line that does not lex has none.
 */
export function heredocsInLine(line: string): HeredocWord[] {
  let words: string[];
  try {
    words = heredocLineLex.processWords(line, noVariables);
  } catch {
    return [];
  }
  const docs: HeredocWord[] = [];
  for (const w of words) {
    const doc = readHeredocWord(w);
    if (doc) docs.push(doc);
  }
  return docs;
}
