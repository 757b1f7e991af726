// Dockerfile parser: text in, syntax tree out, no I/O. It follows BuildKit's two layers (the line
// parser in frontend/dockerfile/parser and the instruction checks in .../instructions) in one
// pass, keeping words raw for `expandInstruction`. Every error names file:line:column.

import { type BerthErrorOptions, InvalidArgumentError, SizeLimitError } from '../errors/index.js';
import type {
  ArgInstruction,
  CommandForm,
  CopyInstruction,
  Dockerfile,
  FromInstruction,
  HealthcheckInstruction,
  Heredoc,
  Instruction,
  InstructionFlags,
  KeyValue,
  OnbuildInstruction,
  RunInstruction,
  SourceLocation,
  Stage,
} from './_ast.js';
import { splitCsvFields } from './_expand.js';
import {
  type EscapeToken,
  type HeredocWord,
  heredocsInLine,
  isUnicodeSpace,
  parseHeredocWord,
  ShellLex,
} from './_shell-lex.js';

export { type HeredocWord, parseHeredocWord } from './_shell-lex.js';

/** Larger Dockerfiles are refused before parsing; real ones are a few KiB. */
export const MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024;

const MAX_SHOWN_LINE = 80;

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

function shorten(s: string): string {
  return s.length > MAX_SHOWN_LINE ? `${s.slice(0, MAX_SHOWN_LINE - 3)}...` : s;
}

export interface ParseDockerfileOptions {
  /** Name used in error messages; "Dockerfile" by default. */
  file?: string;
}

type Kind = Instruction['kind'];

const KINDS: ReadonlySet<string> = new Set<Kind>([
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

type FlagType = 'bool' | 'string' | 'strings';

const FLAG_SPECS: Partial<Record<Kind, Record<string, FlagType>>> = {
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

const NETWORK_MODES = ['default', 'none', 'host'];
const SECURITY_MODES = ['sandbox', 'insecure'];
const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/**
 * Parses a Dockerfile. Throws DockerfileSyntaxError (an InvalidArgumentError) for anything
 * BuildKit refuses before building (bad syntax, flags, names, forms), for a few things BuildKit
 * lets through but berth does not (unknown instructions, duplicate stage names, RUN/CMD/
 * ENTRYPOINT without a command, HEALTHCHECK NONE with flags, quoted ARG names), and
 * SizeLimitError for input over MAX_DOCKERFILE_BYTES.
 */
export function parseDockerfile(text: string, options: ParseDockerfileOptions = {}): Dockerfile {
  const file = options.file ?? 'Dockerfile';
  // A UTF-16 unit is at least one UTF-8 byte, so only borderline inputs need the exact count.
  if (text.length > MAX_DOCKERFILE_BYTES || Buffer.byteLength(text, 'utf8') > MAX_DOCKERFILE_BYTES) {
    const mib = (Buffer.byteLength(text, 'utf8') / (1024 * 1024)).toFixed(1);
    throw new SizeLimitError(
      `${file} is ${mib} MiB; Dockerfiles larger than ${MAX_DOCKERFILE_BYTES / (1024 * 1024)} MiB are refused`,
    );
  }
  return new DockerfileParser(text, file).parse();
}

// --- Physical lines ---------------------------------------------------------------------------

/** Lines as Go's scanner with line endings kept sees them: a final line needs no "\n". */
class PhysicalLines {
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

function trimNewline(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 0x0a || s.charCodeAt(end - 1) === 0x0d)) end--;
  return s.slice(0, end);
}

function skipSpaces(s: string, from: number): number {
  let i = from;
  while (i < s.length && isUnicodeSpace(s.charCodeAt(i))) i++;
  return i;
}

function trimEndSpaces(s: string, from: number, to: number): number {
  let end = to;
  while (end > from && isUnicodeSpace(s.charCodeAt(end - 1))) end--;
  return end;
}

/** BuildKit's reWhitespace `[\t\v\f\r ]`: the blanks that separate FROM/EXPOSE/COPY words. */
function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0b || code === 0x0c || code === 0x0d;
}

function isCommentLine(line: string): boolean {
  return line.charCodeAt(skipSpaces(line, 0)) === 0x23;
}

/**
 * Strips a trailing line-continuation escape. It continues the line when it is the last
 * non-blank character and is not itself escaped (`\\` at the end does not continue), the same
 * rule as BuildKit's continuation regex.
 */
function trimContinuation(line: string, escapeToken: EscapeToken): [text: string, continues: boolean] {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  if (end === 0 || line[end - 1] !== escapeToken) return [line, false];
  if (end >= 2 && line[end - 2] === escapeToken) return [line, false];
  return [line.slice(0, end - 1), true];
}

// --- Logical lines and positions -------------------------------------------------------------

/** Maps offsets in a joined (continued) line back to physical line and column. */
class LogicalLine {
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
class InstructionText {
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

interface Word {
  word: string;
  offset: number;
}

/** Splits on `[\t\v\f\r ]+` without quote handling (FROM, EXPOSE, shell-form COPY/ADD/VOLUME). */
function splitBlanks(s: string, base: number): Word[] {
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
function splitQuotedWords(s: string, base: number, escapeToken: EscapeToken): Word[] {
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

interface RawFlag {
  name: string;
  value: string | undefined;
  offset: number;
}

/**
 * Reads `--name[=value]` words from `from` until the first word not starting with `--` (or a
 * lone `--`). Quotes and escapes in flag words are removed here, as in BuildKit.
 */
function extractFlags(s: string, from: number, escapeToken: EscapeToken): { flags: RawFlag[]; rest: number } {
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
class Flags {
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
function parseJsonArray(src: InstructionText, args: string, offset: number): string[] | undefined {
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

// --- Durations (Go's time.ParseDuration) ------------------------------------------------------

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Nanoseconds, or an error message. Accepts what Go accepts: `1h2m3.5s`, `500ms`, `0`. */
export function parseGoDuration(text: string): number | string {
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return `invalid duration "${text}"`;
  let total = 0;
  while (s !== '') {
    let i = 0;
    let whole = 0;
    while (i < s.length && s[i]! >= '0' && s[i]! <= '9') whole = whole * 10 + (s.charCodeAt(i++) - 48);
    const hadWhole = i > 0;
    let fraction = 0;
    let scale = 1;
    let hadFraction = false;
    if (s[i] === '.') {
      i++;
      const fracStart = i;
      while (i < s.length && s[i]! >= '0' && s[i]! <= '9') {
        // Digits past double precision cannot change a nanosecond count below 2^53.
        if (scale < 1e15) {
          fraction = fraction * 10 + (s.charCodeAt(i) - 48);
          scale *= 10;
        }
        i++;
      }
      hadFraction = i > fracStart;
    }
    if (!hadWhole && !hadFraction) return `invalid duration "${text}"`;
    const unitStart = i;
    while (i < s.length && s[i] !== '.' && !(s[i]! >= '0' && s[i]! <= '9')) i++;
    const unitName = s.slice(unitStart, i);
    if (unitName === '') return `missing unit in duration "${text}"`;
    const unit = DURATION_UNITS[unitName];
    if (unit === undefined) return `unknown unit "${unitName}" in duration "${text}"`;
    total += whole * unit + Math.trunc(fraction * (unit / scale));
    if (!Number.isSafeInteger(total)) return `duration "${text}" is out of range`;
    s = s.slice(i);
  }
  return negative && total !== 0 ? -total : total;
}

// --- The parser -------------------------------------------------------------------------------

interface ParsedHeredoc extends Heredoc {
  /** Body before `<<-` tab stripping, for re-serialising ONBUILD triggers. */
  raw: string;
}

class DockerfileParser {
  private readonly lines: PhysicalLines;
  private escapeToken: EscapeToken = '\\';
  private readonly directives: Dockerfile['directives'] = { escape: '\\' };
  private directivesOpen = true;
  private readonly seenDirectives = new Set<string>();
  private readonly warnings: Dockerfile['warnings'] = [];
  private readonly instructions: Instruction[] = [];
  private next = 0;

  constructor(
    text: string,
    private readonly file: string,
  ) {
    this.lines = new PhysicalLines(text);
  }

  parse(): Dockerfile {
    while (this.next < this.lines.count) {
      const instr = this.readInstruction();
      if (instr) this.instructions.push(instr);
    }
    return this.assemble();
  }

  private fail(line: number, column: number, what: string, source?: string): never {
    const where: DockerfileErrorLocation = { file: this.file, line, column };
    if (source !== undefined) where.source = source;
    throw new DockerfileSyntaxError(what, where);
  }

  /** Reads the next logical line (and any heredoc bodies) into an instruction, or skips a blank/comment. */
  private readInstruction(): Instruction | undefined {
    const index = this.next++;
    let first = this.lines.content(index);
    // A byte-order mark is invisible in editors, so columns are counted after it.
    if (index === 0 && first.startsWith('\uFEFF')) first = first.slice(1);
    const lead = skipSpaces(first, 0);
    const left = first.slice(lead);
    const column = 1 + lead;
    if (this.directivesOpen) this.readDirective(left, index + 1, column);
    if (isCommentLine(left)) return undefined;

    let [piece, continues] = trimContinuation(left, this.escapeToken);
    if (!continues && piece === '') return undefined;
    const logical = new LogicalLine();
    logical.add(piece, index + 1, column);
    let emptyContinuation = false;
    // Inside a continuation, comment lines vanish and blank lines are skipped (with a warning).
    while (continues && this.next < this.lines.count) {
      const i = this.next++;
      const line = this.lines.content(i);
      if (isCommentLine(line)) continue;
      if (skipSpaces(line, 0) === line.length) {
        emptyContinuation = true;
        continue;
      }
      [piece, continues] = trimContinuation(line, this.escapeToken);
      logical.add(piece, i + 1, 1);
    }

    const src = new InstructionText(this.file, logical, this.escapeToken);
    const instr = parseInstruction(src, 0, false);
    instr.loc.endLine = this.next;
    const target = instr.kind === 'ONBUILD' ? instr.instruction : instr;
    this.readHeredocs(src, instr, target);
    if (instr.kind === 'ONBUILD') instr.instruction.loc.endLine = instr.loc.endLine;

    if (emptyContinuation) {
      this.warnings.push({
        loc: { ...instr.loc },
        message: `empty continuation line found in: ${shorten(instr.original)} (empty continuation lines will become errors in a future release)`,
      });
    }
    if (target.kind === 'MAINTAINER') {
      this.warnings.push({
        loc: { ...instr.loc },
        message: 'MAINTAINER is deprecated; use LABEL org.opencontainers.image.authors=... instead',
      });
    }
    return instr;
  }

  /** `# key=value` at the very top; the first line that is not one ends the directives. */
  private readDirective(line: string, lineNo: number, column: number): void {
    if (!line.startsWith('#')) {
      this.directivesOpen = false;
      return;
    }
    const body = line.slice(skipSpaces(line, 1));
    let i = 0;
    const isAlpha = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    const isAlnum = (c: number) => isAlpha(c) || (c >= 0x30 && c <= 0x39);
    if (!isAlpha(body.charCodeAt(0))) {
      this.directivesOpen = false;
      return;
    }
    while (i < body.length && isAlnum(body.charCodeAt(i))) i++;
    const key = body.slice(0, i).toLowerCase();
    while (i < body.length && isDirectiveSpace(body.charCodeAt(i))) i++;
    if (body[i] !== '=') {
      this.directivesOpen = false;
      return;
    }
    i++;
    while (i < body.length && isDirectiveSpace(body.charCodeAt(i))) i++;
    let end = body.length;
    while (end > i && isDirectiveSpace(body.charCodeAt(end - 1))) end--;
    const value = body.slice(i, end);
    if (value === '' || (key !== 'syntax' && key !== 'escape' && key !== 'check')) {
      this.directivesOpen = false;
      return;
    }
    if (this.seenDirectives.has(key)) {
      this.fail(lineNo, column, `only one ${key} parser directive can be used`, line);
    }
    this.seenDirectives.add(key);
    if (key === 'escape') {
      if (value !== '\\' && value !== '`') {
        this.fail(
          lineNo,
          column,
          `invalid escape token ${JSON.stringify(value)}: must be "\\" or "\`"`,
          line,
        );
      }
      this.escapeToken = value;
      this.directives.escape = value;
    } else {
      this.directives[key] = value;
    }
  }

  /** Reads the bodies of the heredocs opened on the instruction's line, in order. */
  private readHeredocs(src: InstructionText, outer: Instruction, target: Instruction): void {
    const docs = heredocTarget(target) ? this.heredocWords(src, outer) : [];
    if (docs.length === 0) return;
    const parsed: ParsedHeredoc[] = [];
    for (const doc of docs) {
      const bodyStart = this.next;
      let terminated = false;
      while (this.next < this.lines.count) {
        let candidate = this.lines.content(this.next++);
        if (doc.chomp) candidate = candidate.replace(/^\t+/, '');
        if (candidate === doc.name) {
          terminated = true;
          break;
        }
      }
      if (!terminated) {
        this.fail(
          outer.loc.line,
          outer.loc.column,
          `unterminated heredoc: no line ${JSON.stringify(doc.name)} ends it before the end of the file`,
          src.text,
        );
      }
      const raw = this.lines.span(bodyStart, this.next - 1);
      parsed.push({
        name: doc.name,
        content: doc.chomp ? raw.replace(/^\t+/gm, '') : raw,
        expand: doc.expand,
        chomp: doc.chomp,
        raw,
      });
    }
    outer.loc.endLine = this.next;
    const heredocs = parsed.map(({ raw: _raw, ...h }) => h);
    if (target.kind === 'RUN' || target.kind === 'COPY' || target.kind === 'ADD') target.heredocs = heredocs;
    if (outer.kind === 'ONBUILD') {
      // BuildKit stores the trigger with its bodies so that it can be parsed again later.
      outer.trigger += parsed.map((h) => `\n${h.raw}${h.name}`).join('');
    }
  }

  private heredocWords(src: InstructionText, instr: Instruction): HeredocWord[] {
    if (!src.text.includes('<<')) return [];
    try {
      return heredocsInLine(src.text);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      return this.fail(instr.loc.line, instr.loc.column, `invalid heredoc: ${detail}`, src.text);
    }
  }

  private assemble(): Dockerfile {
    const metaArgs: ArgInstruction[] = [];
    const stages: Stage[] = [];
    const names = new Map<string, number>();
    for (const instr of this.instructions) {
      if (instr.kind === 'FROM') {
        if (instr.stageName !== undefined) {
          const previous = names.get(instr.stageName);
          if (previous !== undefined) {
            this.fail(
              instr.loc.line,
              instr.loc.column,
              `duplicate stage name "${instr.stageName}" (first used on line ${previous}); stage names must be unique`,
              instr.original,
            );
          }
          names.set(instr.stageName, instr.loc.line);
        }
        stages.push({ index: stages.length, from: instr, instructions: [] });
        continue;
      }
      const stage = stages.at(-1);
      if (stage) {
        stage.instructions.push(instr);
      } else if (instr.kind === 'ARG') {
        metaArgs.push(instr);
      } else {
        this.fail(
          instr.loc.line,
          instr.loc.column,
          `${instr.kind} before the first FROM: only ARG may come before FROM`,
          instr.original,
        );
      }
    }
    if (stages.length === 0) {
      const line = Math.max(1, this.lines.count);
      this.fail(
        line,
        1,
        this.instructions.length === 0
          ? 'the Dockerfile has no instructions'
          : 'the Dockerfile has no FROM instruction',
      );
    }
    return { directives: this.directives, metaArgs, stages, warnings: this.warnings };
  }
}

function isDirectiveSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

/** COPY/ADD instructions whose arguments were a JSON array (they take no heredocs). */
const jsonFormCopies = new WeakSet<Instruction>();

/** Only shell-form RUN and non-JSON COPY/ADD read heredoc bodies. */
function heredocTarget(instr: Instruction): boolean {
  if (instr.kind === 'RUN') return instr.command.form === 'shell';
  if (instr.kind === 'COPY' || instr.kind === 'ADD') return !jsonFormCopies.has(instr);
  return false;
}

// --- Instructions -----------------------------------------------------------------------------

interface Parts {
  readonly src: InstructionText;
  readonly kind: Kind;
  readonly keyword: string;
  readonly keywordOffset: number;
  readonly flags: Flags;
  readonly args: string;
  readonly argsOffset: number;
  readonly base: { loc: SourceLocation; original: string; flags: InstructionFlags };
}

/** Parses the instruction starting at `start` in the logical line (after ONBUILD for triggers). */
function parseInstruction(src: InstructionText, start: number, inOnbuild: boolean): Instruction {
  const text = src.text;
  const keywordOffset = skipSpaces(text, start);
  let p = keywordOffset;
  while (p < text.length && !isBlank(text.charCodeAt(p))) p++;
  const keyword = text.slice(keywordOffset, p);
  const kind = keyword.toUpperCase() as Kind;
  if (!KINDS.has(kind)) src.fail(keywordOffset, unknownInstruction(keyword));
  if (inOnbuild) {
    if (kind === 'ONBUILD') src.fail(keywordOffset, 'chaining ONBUILD via `ONBUILD ONBUILD` is not allowed');
    if (kind === 'FROM' || kind === 'MAINTAINER') {
      src.fail(keywordOffset, `${kind} is not allowed as an ONBUILD trigger`);
    }
  }
  const { flags: rawFlags, rest } = extractFlags(text, p, src.escapeToken);
  const argsOffset = skipSpaces(text, rest);
  const argsEnd = trimEndSpaces(text, argsOffset, text.length);
  const flags = new Flags(src, kind, rawFlags);
  const { line, column } = src.logical.locate(keywordOffset);
  const parts: Parts = {
    src,
    kind,
    keyword,
    keywordOffset,
    flags,
    args: text.slice(argsOffset, argsEnd),
    argsOffset,
    base: {
      loc: { line, column, endLine: line },
      original: text.slice(keywordOffset, trimEndSpaces(text, keywordOffset, text.length)),
      flags: flags.raw,
    },
  };
  return INSTRUCTION_PARSERS[kind](parts);
}

const INSTRUCTION_NAMES = [...KINDS];

function unknownInstruction(keyword: string): string {
  const upper = keyword.toUpperCase();
  let best: string | undefined;
  let bestDistance = 3;
  if (upper.length <= 20) {
    for (const name of INSTRUCTION_NAMES) {
      const d = editDistance(upper, name);
      if (d < bestDistance) {
        best = name;
        bestDistance = d;
      }
    }
  }
  const shown = JSON.stringify(shorten(keyword));
  return best ? `unknown instruction ${shown}, did you mean ${best}?` : `unknown instruction ${shown}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function requireArgs(p: Parts, what = 'at least one argument'): void {
  if (p.args === '') p.src.fail(p.keywordOffset, `${p.kind} requires ${what}`);
}

function commandForm(p: Parts, args: string, offset: number): CommandForm {
  const exec = parseJsonArray(p.src, args, offset);
  return exec ? { form: 'exec', args: exec } : { form: 'shell', text: args };
}

const INSTRUCTION_PARSERS: Record<Kind, (p: Parts) => Instruction> = {
  FROM: parseFrom,
  RUN: parseRun,
  CMD: (p) => {
    requireArgs(p);
    return { ...p.base, kind: 'CMD', command: commandForm(p, p.args, p.argsOffset) };
  },
  ENTRYPOINT: (p) => {
    requireArgs(p);
    return { ...p.base, kind: 'ENTRYPOINT', command: commandForm(p, p.args, p.argsOffset) };
  },
  SHELL: (p) => {
    requireArgs(p);
    const args =
      parseJsonArray(p.src, p.args, p.argsOffset) ??
      p.src.fail(p.argsOffset, 'SHELL requires the arguments in JSON form, e.g. SHELL ["/bin/sh", "-c"]');
    if (args.length === 0) p.src.fail(p.argsOffset, 'SHELL requires at least one argument');
    return { ...p.base, kind: 'SHELL', args };
  },
  ENV: (p) => ({ ...p.base, kind: 'ENV', pairs: parseKeyValues(p) }),
  LABEL: (p) => ({ ...p.base, kind: 'LABEL', pairs: parseKeyValues(p) }),
  ARG: parseArg,
  COPY: parseCopy,
  ADD: parseCopy,
  EXPOSE: (p) => {
    const ports = splitBlanks(p.args, p.argsOffset).map((w) => w.word);
    if (ports.length === 0) p.src.fail(p.keywordOffset, 'EXPOSE requires at least one argument');
    return { ...p.base, kind: 'EXPOSE', ports };
  },
  VOLUME: (p) => {
    const json = parseJsonArray(p.src, p.args, p.argsOffset);
    const paths = json ?? splitBlanks(p.args, p.argsOffset).map((w) => w.word);
    if (paths.length === 0) p.src.fail(p.keywordOffset, 'VOLUME requires at least one argument');
    const trimmed = paths.map((v) => v.trim());
    if (trimmed.some((v) => v === ''))
      p.src.fail(p.argsOffset, 'VOLUME specified can not be an empty string');
    return { ...p.base, kind: 'VOLUME', paths: trimmed };
  },
  USER: (p) => {
    requireArgs(p, 'exactly one argument');
    return { ...p.base, kind: 'USER', user: p.args };
  },
  WORKDIR: (p) => {
    requireArgs(p, 'exactly one argument');
    return { ...p.base, kind: 'WORKDIR', path: p.args };
  },
  STOPSIGNAL: (p) => {
    requireArgs(p, 'exactly one argument');
    return { ...p.base, kind: 'STOPSIGNAL', signal: p.args };
  },
  MAINTAINER: (p) => {
    requireArgs(p, 'exactly one argument');
    return { ...p.base, kind: 'MAINTAINER', name: p.args };
  },
  HEALTHCHECK: parseHealthcheck,
  ONBUILD: parseOnbuild,
};

function parseFrom(p: Parts): FromInstruction {
  const words = splitBlanks(p.args, p.argsOffset);
  let stageName: string | undefined;
  if (words.length === 3 && words[1]!.word.toLowerCase() === 'as') {
    const written = words[2]!;
    stageName = written.word.toLowerCase();
    if (!STAGE_NAME.test(stageName)) {
      p.src.fail(
        written.offset,
        `invalid stage name ${JSON.stringify(written.word)}: it must start with a letter and contain only letters, digits, "-", "_" and "."`,
      );
    }
  } else if (words.length === 0) {
    p.src.fail(p.keywordOffset, 'FROM requires an image name (FROM image [AS name])');
  } else if (words.length !== 1) {
    p.src.fail(
      p.argsOffset,
      `FROM requires either one or three arguments (FROM image [AS name]), got ${words.length}`,
    );
  }
  const out: FromInstruction = { ...p.base, kind: 'FROM', image: words[0]!.word };
  if (stageName !== undefined) out.stageName = stageName;
  const platform = p.flags.string('platform');
  if (platform !== undefined) out.platform = platform;
  return out;
}

function parseRun(p: Parts): RunInstruction {
  requireArgs(p);
  const mounts = p.flags.strings('mount');
  for (const [i, spec] of mounts.entries()) checkMountSpec(p, spec, i);
  const network = p.flags.string('network');
  if (network !== undefined && !NETWORK_MODES.includes(network)) {
    p.src.fail(
      p.flags.offset('network'),
      `invalid network mode "${network}" (expected ${NETWORK_MODES.join(', ')})`,
    );
  }
  const security = p.flags.string('security');
  if (security !== undefined && !SECURITY_MODES.includes(security)) {
    p.src.fail(
      p.flags.offset('security'),
      `security "${security}" is not valid (expected ${SECURITY_MODES.join(', ')})`,
    );
  }
  const out: RunInstruction = {
    ...p.base,
    kind: 'RUN',
    command: commandForm(p, p.args, p.argsOffset),
    heredocs: [],
    mounts,
  };
  if (network !== undefined) out.network = network;
  if (security !== undefined) out.security = security;
  return out;
}

/** What BuildKit checks before expansion: the CSV parses and `from` holds no variable. */
function checkMountSpec(p: Parts, spec: string, index: number): void {
  const offset = p.flags.offset('mount', index);
  let fields: string[];
  try {
    fields = splitCsvFields(spec);
  } catch (err) {
    p.src.fail(offset, err instanceof Error ? err.message : String(err));
  }
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq < 0 || field.slice(0, eq).toLowerCase() !== 'from') continue;
    const value = field.slice(eq + 1);
    const dollar = value.indexOf('$');
    if (dollar >= 0 && dollar !== value.length - 1) {
      p.src.fail(offset, '--mount from= does not support variable expansion; define an alias stage instead');
    }
  }
}

function parseKeyValues(p: Parts): KeyValue[] {
  const kind = p.kind as 'ENV' | 'LABEL';
  const words = splitQuotedWords(p.args, p.argsOffset, p.src.escapeToken);
  if (words.length === 0) p.src.fail(p.keywordOffset, `${kind} requires at least one argument`);
  if (!words[0]!.word.includes('=')) {
    // Legacy `ENV key value with spaces`: one pair, the value is the rest of the line.
    let i = 0;
    while (i < p.args.length && !isBlank(p.args.charCodeAt(i))) i++;
    const key = p.args.slice(0, i);
    while (i < p.args.length && isBlank(p.args.charCodeAt(i))) i++;
    const value = p.args.slice(i);
    if (value === '') {
      p.src.fail(
        p.argsOffset,
        `${kind} ${key} has no value: use ${kind} ${key}=value (or ${kind} ${key}="" for empty)`,
      );
    }
    return [{ key, value }];
  }
  return words.map(({ word, offset }) => {
    const eq = word.indexOf('=');
    if (eq < 0) {
      p.src.fail(
        offset,
        `syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`,
      );
    }
    const key = word.slice(0, eq);
    if (key === '') p.src.fail(offset, `${kind} names can not be blank`);
    return { key, value: word.slice(eq + 1) };
  });
}

/** ARG names are never expanded, so quoting or `$` in one is always a mistake. */
const BAD_ARG_NAME_CHARS = /["'$`\\]/;

function parseArg(p: Parts): ArgInstruction {
  const words = splitQuotedWords(p.args, p.argsOffset, p.src.escapeToken);
  if (words.length === 0) p.src.fail(p.keywordOffset, 'ARG requires at least one argument');
  const args = words.map(({ word, offset }) => {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    if (name === '') p.src.fail(offset, 'ARG names can not be blank');
    if (BAD_ARG_NAME_CHARS.test(name)) {
      p.src.fail(
        offset,
        `invalid ARG name ${JSON.stringify(name)}: names may not contain quotes, "$", "\\" or "\`"`,
      );
    }
    return eq < 0 ? { name } : { name, defaultValue: word.slice(eq + 1) };
  });
  return { ...p.base, kind: 'ARG', args };
}

function parseCopy(p: Parts): CopyInstruction {
  const kind = p.kind as 'COPY' | 'ADD';
  const json = parseJsonArray(p.src, p.args, p.argsOffset);
  const words = json ?? splitBlanks(p.args, p.argsOffset).map((w) => w.word);
  if (words.length < 2) {
    p.src.fail(
      words.length === 0 ? p.keywordOffset : p.argsOffset,
      `${kind} requires at least two arguments (one or more sources and a destination), got ${words.length}`,
    );
  }
  const dest = words.at(-1)!;
  if (!json && parseHeredocWord(dest)) {
    p.src.fail(p.argsOffset + p.args.lastIndexOf(dest), `${kind} cannot accept a heredoc as a destination`);
  }
  const from = p.flags.string('from');
  if (from !== undefined) {
    // BuildKit resolves stage dependencies before any variable is known, so --from is literal.
    const lex = new ShellLex(p.src.escapeToken);
    let literal: boolean;
    try {
      literal = lex.processWord(from, () => undefined) === from;
    } catch {
      literal = false;
    }
    if (!literal) {
      p.src.fail(
        p.flags.offset('from'),
        `variable expansion is not supported for --from; define a stage with FROM $VAR AS name using a global ARG instead`,
      );
    }
  }
  const out: CopyInstruction = {
    ...p.base,
    kind,
    sources: words.slice(0, -1),
    dest,
    heredocs: [],
    link: p.flags.bool('link'),
    parents: p.flags.bool('parents'),
    excludes: p.flags.strings('exclude'),
  };
  if (json) jsonFormCopies.add(out);
  if (from !== undefined) out.from = from;
  const chown = p.flags.string('chown');
  if (chown !== undefined) out.chown = chown;
  const chmod = p.flags.string('chmod');
  if (chmod !== undefined) out.chmod = chmod;
  const checksum = p.flags.string('checksum');
  if (checksum !== undefined) out.checksum = checksum;
  if (p.flags.has('keep-git-dir')) out.keepGitDir = p.flags.bool('keep-git-dir');
  return out;
}

function parseHealthcheck(p: Parts): HealthcheckInstruction {
  requireArgs(p);
  let sep = 0;
  while (sep < p.args.length && !isUnicodeSpace(p.args.charCodeAt(sep))) sep++;
  const type = p.args.slice(0, sep).toUpperCase();
  const restStart = skipSpaces(p.args, sep);
  const rest = p.args.slice(restStart);
  const restOffset = p.argsOffset + restStart;
  if (type === 'NONE') {
    if (rest !== '') p.src.fail(restOffset, 'HEALTHCHECK NONE takes no arguments');
    if (p.flags.count > 0) p.src.fail(p.keywordOffset, 'HEALTHCHECK NONE takes no flags');
    return { ...p.base, kind: 'HEALTHCHECK', test: ['NONE'] };
  }
  if (type !== 'CMD') {
    p.src.fail(
      p.argsOffset,
      `unknown type ${JSON.stringify(p.args.slice(0, sep))} in HEALTHCHECK (try CMD or NONE)`,
    );
  }
  if (rest === '') p.src.fail(p.argsOffset, 'missing command after HEALTHCHECK CMD');
  const command = commandForm(p, rest, restOffset);
  if (command.form === 'exec' && command.args.length === 0) {
    p.src.fail(restOffset, 'missing command after HEALTHCHECK CMD');
  }
  const out: HealthcheckInstruction = {
    ...p.base,
    kind: 'HEALTHCHECK',
    test: command.form === 'exec' ? ['CMD', ...command.args] : ['CMD-SHELL', command.text],
  };
  const durations = [
    ['interval', 'interval'],
    ['timeout', 'timeout'],
    ['start-period', 'startPeriod'],
    ['start-interval', 'startInterval'],
  ] as const;
  for (const [flag, field] of durations) {
    const value = p.flags.string(flag);
    if (value === undefined) continue;
    const ns = parseGoDuration(value);
    if (typeof ns === 'string') {
      p.src.fail(
        p.flags.offset(flag),
        `HEALTHCHECK --${flag}: ${ns} (use a duration such as 30s, 1m30s or 500ms)`,
      );
    }
    // Zero means "inherit the default"; anything else must be at least 1ms, as in BuildKit.
    if (ns !== 0 && ns < 1e6) {
      p.src.fail(
        p.flags.offset(flag),
        `HEALTHCHECK --${flag} cannot be less than 1ms (got ${JSON.stringify(value)})`,
      );
    }
    out[field] = ns;
  }
  const retries = p.flags.string('retries');
  if (retries !== undefined) {
    const n = /^[+-]?\d{1,10}$/.test(retries) ? Number(retries) : Number.NaN;
    if (!Number.isInteger(n) || n > 0x7fffffff || n < -0x80000000) {
      p.src.fail(
        p.flags.offset('retries'),
        `HEALTHCHECK --retries: invalid integer ${JSON.stringify(retries)}`,
      );
    }
    if (n < 0) p.src.fail(p.flags.offset('retries'), `HEALTHCHECK --retries cannot be negative (${n})`);
    out.retries = n;
  }
  return out;
}

function parseOnbuild(p: Parts): OnbuildInstruction {
  requireArgs(p);
  const instruction = parseInstruction(p.src, p.argsOffset, true);
  return { ...p.base, kind: 'ONBUILD', trigger: p.args, instruction };
}
