// The Dockerfile parser's lexical layer: physical and logical lines, continuations, words,
// flags and their specs, JSON arrays and Go durations, and the located syntax error.

import { type BerthErrorOptions, InvalidArgumentError } from '../errors/index.js';
import type { Instruction, InstructionFlags } from './_ast.js';
import { type EscapeToken, isUnicodeSpace } from './_shell-lex.js';

/** Larger Dockerfiles are refused before parsing; real ones are a few KiB. */
export const MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024;

export const MAX_SHOWN_LINE = 80;

export interface DockerfileErrorLocation {
  file: string;
  line: number;
  column: number;
  /** The offending instruction text; shown trimmed and shortened. */
  source?: string;
}

/** A Dockerfile that cannot be parsed: `Dockerfile:12:5: what is wrong (line: "…")`. */
export class DockerfileSyntaxError extends InvalidArgumentError {
  readonly file: string;
  readonly line: number;
  readonly column: number;

  constructor(what: string, where: DockerfileErrorLocation, options: BerthErrorOptions = {}) {
    let message = `${where.file}:${where.line}:${where.column}: ${what}`;
    if (where.source !== undefined) message += ` (line: ${JSON.stringify(shorten(where.source.trim()))})`;
    super(message, options);
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
  }
}

export function shorten(s: string): string {
  return s.length > MAX_SHOWN_LINE ? `${s.slice(0, MAX_SHOWN_LINE - 3)}...` : s;
}

export interface ParseDockerfileOptions {
  /** Name used in error messages; "Dockerfile" by default. */
  file?: string;
}

export type Kind = Instruction['kind'];

export const KINDS: ReadonlySet<string> = new Set<Kind>([
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
]);

export type FlagType = 'bool' | 'string' | 'strings';

export const FLAG_SPECS: Partial<Record<Kind, Record<string, FlagType>>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string' },
  COPY: {
    from: 'string',
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    parents: 'bool',
    exclude: 'strings',
  },
  ADD: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    checksum: 'string',
    'keep-git-dir': 'bool',
    exclude: 'strings',
    parents: 'bool',
  },
  HEALTHCHECK: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

export const NETWORK_MODES = ['default', 'none', 'host'];
export const SECURITY_MODES = ['sandbox', 'insecure'];
export const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

// --- Physical lines ---------------------------------------------------------------------------

/** Lines as Go's scanner with line endings kept sees them: a final line needs no "\n". */
export class PhysicalLines {
  private readonly starts: number[] = [0];
  readonly count: number;

  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
    if (this.starts.at(-1) === text.length) this.starts.pop();
    this.count = this.starts.length;
    this.starts.push(text.length);
  }

  /** Line `i` (0-based) with its line ending. */
  raw(i: number): string {
    return this.text.slice(this.starts[i], this.starts[i + 1]);
  }

  /** Line `i` without trailing "\r"/"\n" characters. */
  content(i: number): string {
    return trimNewline(this.raw(i));
  }

  /** Lines [from, to) joined, line endings included. */
  span(from: number, to: number): string {
    return this.text.slice(this.starts[from], this.starts[to]);
  }
}

export function trimNewline(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 0x0a || s.charCodeAt(end - 1) === 0x0d)) end--;
  return s.slice(0, end);
}

export function skipSpaces(s: string, from: number): number {
  let i = from;
  while (i < s.length && isUnicodeSpace(s.charCodeAt(i))) i++;
  return i;
}

export function trimEndSpaces(s: string, from: number, to: number): number {
  let end = to;
  while (end > from && isUnicodeSpace(s.charCodeAt(end - 1))) end--;
  return end;
}

/** BuildKit's reWhitespace `[\t\v\f\r ]`: the blanks that separate FROM/EXPOSE/COPY words. */
export function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0b || code === 0x0c || code === 0x0d;
}

export function isCommentLine(line: string): boolean {
  return line.charCodeAt(skipSpaces(line, 0)) === 0x23;
}

/**
 * Strips a trailing line-continuation escape. It continues the line when it is the last
 * non-blank character and is not itself escaped (`\\` at the end does not continue), the same
 * rule as BuildKit's continuation regex.
 */
export function trimContinuation(line: string, escapeToken: EscapeToken): [text: string, continues: boolean] {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  if (end === 0 || line[end - 1] !== escapeToken) return [line, false];
  if (end >= 2 && line[end - 2] === escapeToken) return [line, false];
  return [line.slice(0, end - 1), true];
}

// --- Logical lines and positions -------------------------------------------------------------

/** Maps offsets in a joined (continued) line back to physical line and column. */
export class LogicalLine {
  text = '';
  private readonly pieces: { offset: number; line: number; column: number }[] = [];

  add(piece: string, line: number, column: number): void {
    this.pieces.push({ offset: this.text.length, line, column });
    this.text += piece;
  }

  locate(offset: number): { line: number; column: number } {
    let p = this.pieces[0]!;
    for (const piece of this.pieces) {
      if (piece.offset > offset) break;
      p = piece;
    }
    return { line: p.line, column: p.column + (offset - p.offset) };
  }
}

/** One instruction's text with what is needed to report errors inside it. */
export class InstructionText {
  constructor(
    readonly file: string,
    readonly logical: LogicalLine,
    readonly escapeToken: EscapeToken,
  ) {}

  get text(): string {
    return this.logical.text;
  }

  fail(offset: number, what: string): never {
    const { line, column } = this.logical.locate(offset);
    throw new DockerfileSyntaxError(what, { file: this.file, line, column, source: this.text });
  }
}

// --- Word splitters ---------------------------------------------------------------------------

export interface Word {
  word: string;
  offset: number;
}

/** Splits on `[\t\v\f\r ]+` without quote handling (FROM, EXPOSE, shell-form COPY/ADD/VOLUME). */
export function splitBlanks(s: string, base: number): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && isBlank(s.charCodeAt(i))) i++;
    if (i >= s.length) break;
    const start = i;
    while (i < s.length && !isBlank(s.charCodeAt(i))) i++;
    words.push({ word: s.slice(start, i), offset: base + start });
  }
  return words;
}

/**
 * BuildKit's parseWords for ENV/LABEL/ARG: splits on white space outside quotes, keeping quotes
 * and escapes in the words (the expansion step removes them). An escape token inside single
 * quotes is literal.
 */
export function splitQuotedWords(s: string, base: number, escapeToken: EscapeToken): Word[] {
  const words: Word[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let buf = '';
  let start = 0;
  for (let pos = 0; pos < s.length; pos++) {
    let ch = s[pos]!;
    if (phase === 'spaces') {
      if (isUnicodeSpace(ch.charCodeAt(0))) continue;
      phase = 'word';
      start = pos;
    }
    if (phase === 'word') {
      if (isUnicodeSpace(ch.charCodeAt(0))) {
        if (blankOK || buf.length > 0) words.push({ word: buf, offset: base + start });
        phase = 'spaces';
        buf = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      } else if (ch === escapeToken) {
        if (pos + 1 === s.length) continue; // an escape token at the very end is dropped
        buf += ch;
        pos++;
        ch = s[pos]!;
      }
      buf += ch;
      continue;
    }
    // phase === 'quote'
    if (ch === quote) {
      phase = 'word';
    } else if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === s.length) {
        phase = 'word';
        continue;
      }
      buf += ch;
      pos++;
      ch = s[pos]!;
    }
    buf += ch;
  }
  if (phase !== 'spaces' && (blankOK || buf.length > 0)) words.push({ word: buf, offset: base + start });
  return words;
}

export interface RawFlag {
  name: string;
  value: string | undefined;
  offset: number;
}

/**
 * Reads `--name[=value]` words from `from` until the first word not starting with `--` (or a
 * lone `--`). Quotes and escapes in flag words are removed here, as in BuildKit.
 */
export function extractFlags(
  s: string,
  from: number,
  escapeToken: EscapeToken,
): { flags: RawFlag[]; rest: number } {
  const flags: RawFlag[] = [];
  let pos = from;
  for (;;) {
    pos = skipSpaces(s, pos);
    if (pos >= s.length) return { flags, rest: s.length };
    if (!s.startsWith('--', pos)) return { flags, rest: pos };
    const start = pos;
    let word = '';
    let quote = '';
    let blankOK = false;
    while (pos < s.length) {
      let ch = s[pos]!;
      if (quote === '') {
        if (isUnicodeSpace(ch.charCodeAt(0))) break;
        if (ch === '"' || ch === "'") {
          quote = ch;
          blankOK = true;
          pos++;
          continue;
        }
      } else if (ch === quote) {
        quote = '';
        pos++;
        continue;
      }
      if (ch === escapeToken) {
        if (pos + 1 === s.length) {
          quote = '';
          pos++;
          continue;
        }
        pos++;
        ch = s[pos]!;
      }
      word += ch;
      pos++;
    }
    if (word === '--') return { flags, rest: pos };
    if (!blankOK && word === '') continue;
    const eq = word.indexOf('=');
    flags.push({
      name: eq < 0 ? word.slice(2) : word.slice(2, eq),
      value: eq < 0 ? undefined : word.slice(eq + 1),
      offset: start,
    });
  }
}

/** Validated flags: raw values by name, plus typed accessors. */
export class Flags {
  readonly raw: InstructionFlags = {};
  private readonly offsets = new Map<string, number[]>();

  constructor(src: InstructionText, kind: Kind, flags: RawFlag[]) {
    const spec = FLAG_SPECS[kind] ?? {};
    for (const f of flags) {
      const type = spec[f.name];
      if (type === undefined) {
        const allowed = Object.keys(spec).map((n) => `--${n}`);
        src.fail(
          f.offset,
          allowed.length === 0
            ? `unknown flag "--${f.name}": ${kind} takes no flags`
            : `unknown flag "--${f.name}" for ${kind} (allowed: ${allowed.join(', ')})`,
        );
      }
      if (this.raw[f.name] !== undefined && type !== 'strings')
        src.fail(f.offset, `duplicate flag "--${f.name}"`);
      let value: string;
      if (type === 'bool') {
        if (f.value === '') src.fail(f.offset, `missing a value on flag "--${f.name}"`);
        const v = (f.value ?? 'true').toLowerCase();
        if (v !== 'true' && v !== 'false') {
          src.fail(f.offset, `expecting a boolean value for flag "--${f.name}", not "${f.value}"`);
        }
        // A bare boolean flag is recorded as "true".
        value = f.value ?? 'true';
      } else {
        if (f.value === undefined)
          src.fail(f.offset, `missing a value on flag "--${f.name}" (--${f.name}=...)`);
        value = f.value;
      }
      const list = this.raw[f.name] ?? [];
      list.push(value);
      this.raw[f.name] = list;
      const offsets = this.offsets.get(f.name) ?? [];
      offsets.push(f.offset);
      this.offsets.set(f.name, offsets);
    }
  }

  string(name: string): string | undefined {
    return this.raw[name]?.[0];
  }

  strings(name: string): string[] {
    return [...(this.raw[name] ?? [])];
  }

  bool(name: string): boolean {
    return this.raw[name]?.[0]?.toLowerCase() === 'true';
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  get count(): number {
    return Object.keys(this.raw).length;
  }

  /** Where the `index`th use of the flag starts in the logical line. */
  offset(name: string, index = 0): number {
    return this.offsets.get(name)?.[index] ?? 0;
  }
}

/** JSON exec form: a JSON array of strings. A string that is not valid JSON is shell form. */
export function parseJsonArray(src: InstructionText, args: string, offset: number): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  if (!parsed.every((v) => typeof v === 'string')) {
    src.fail(offset, 'when using JSON array syntax, arrays must be comprised of strings only');
  }
  return parsed as string[];
}
