// Dockerfile parser: text in, syntax tree out, no I/O. It follows BuildKit's two layers (the line
// parser in frontend/dockerfile/parser and the instruction checks in .../instructions) in one
// pass, keeping words raw for `expandInstruction`. Every error names file:line:column.

import { SizeLimitError } from '../errors/index.js';
import type { ArgInstruction, Dockerfile, Heredoc, Instruction, Stage } from './_ast.js';
import { heredocTarget, parseInstruction } from './_parser-instructions.js';
import {
  type DockerfileErrorLocation,
  DockerfileSyntaxError,
  InstructionText,
  isCommentLine,
  LogicalLine,
  MAX_DOCKERFILE_BYTES,
  type ParseDockerfileOptions,
  PhysicalLines,
  shorten,
  skipSpaces,
  trimContinuation,
} from './_parser-text.js';
import { type EscapeToken, type HeredocWord, heredocsInLine } from './_shell-lex.js';

export { parseGoDuration } from '../util/index.js';
export {
  type DockerfileErrorLocation,
  DockerfileSyntaxError,
  MAX_DOCKERFILE_BYTES,
  type ParseDockerfileOptions,
} from './_parser-text.js';
export { type HeredocWord, parseHeredocWord } from './_shell-lex.js';

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
