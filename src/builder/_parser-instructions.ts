// The instruction layer of the Dockerfile parser: one checker per instruction (BuildKit's
// frontend/dockerfile/instructions), turning a located line into a typed syntax-tree node.

import { parseGoDuration } from '../util/index.js';
import type {
  ArgInstruction,
  CommandForm,
  CopyInstruction,
  FromInstruction,
  HealthcheckInstruction,
  Instruction,
  InstructionFlags,
  KeyValue,
  OnbuildInstruction,
  RunInstruction,
  SourceLocation,
} from './_ast.js';
import { splitCsvFields } from './_expand.js';
import {
  extractFlags,
  Flags,
  type InstructionText,
  isBlank,
  KINDS,
  type Kind,
  NETWORK_MODES,
  parseJsonArray,
  SECURITY_MODES,
  STAGE_NAME,
  shorten,
  skipSpaces,
  splitBlanks,
  splitQuotedWords,
  trimEndSpaces,
} from './_parser-text.js';
import { isUnicodeSpace, parseHeredocWord, ShellLex } from './_shell-lex.js';

/** COPY/ADD instructions whose arguments were a JSON array (they take no heredocs). */
export const jsonFormCopies = new WeakSet<Instruction>();

/** Only shell-form RUN and non-JSON COPY/ADD read heredoc bodies. */
export function heredocTarget(instr: Instruction): boolean {
  if (instr.kind === 'RUN') return instr.command.form === 'shell';
  if (instr.kind === 'COPY' || instr.kind === 'ADD') return !jsonFormCopies.has(instr);
  return false;
}

// --- Instructions -----------------------------------------------------------------------------

export interface Parts {
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
export function parseInstruction(src: InstructionText, start: number, inOnbuild: boolean): Instruction {
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

export const INSTRUCTION_NAMES = [...KINDS];

export function unknownInstruction(keyword: string): string {
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

export function editDistance(a: string, b: string): number {
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

export function requireArgs(p: Parts, what = 'at least one argument'): void {
  if (p.args === '') p.src.fail(p.keywordOffset, `${p.kind} requires ${what}`);
}

export function commandForm(p: Parts, args: string, offset: number): CommandForm {
  const exec = parseJsonArray(p.src, args, offset);
  return exec ? { form: 'exec', args: exec } : { form: 'shell', text: args };
}

export const INSTRUCTION_PARSERS: Record<Kind, (p: Parts) => Instruction> = {
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

export function parseFrom(p: Parts): FromInstruction {
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

export function parseRun(p: Parts): RunInstruction {
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
export function checkMountSpec(p: Parts, spec: string, index: number): void {
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

export function parseKeyValues(p: Parts): KeyValue[] {
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
export const BAD_ARG_NAME_CHARS = /["'$`\\]/;

export function parseArg(p: Parts): ArgInstruction {
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

export function parseCopy(p: Parts): CopyInstruction {
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

export function parseHealthcheck(p: Parts): HealthcheckInstruction {
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

export function parseOnbuild(p: Parts): OnbuildInstruction {
  requireArgs(p);
  const instruction = parseInstruction(p.src, p.argsOffset, true);
  return { ...p.base, kind: 'ONBUILD', trigger: p.args, instruction };
}
