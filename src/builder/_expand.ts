// Variable substitution applied to an instruction at dispatch time, field by field as BuildKit
// does it, and the `RUN --mount` option parser. The shell expands RUN/CMD/ENTRYPOINT/SHELL and
// HEALTHCHECK commands itself, so those are returned unchanged.

import { posix } from 'node:path';
import { InvalidArgumentError, UnsafePathError } from '../errors/index.js';
import type { CopyInstruction, Heredoc, Instruction, KeyValue, RunInstruction } from './_ast.js';
import { type EscapeToken, parseHeredocWord, ShellLex, type VariableLookup } from './_shell-lex.js';

export type RunMount =
  | { type: 'bind'; target: string; source?: string; from?: string; readwrite: boolean }
  | {
      type: 'cache';
      target: string;
      id?: string;
      from?: string;
      source?: string;
      sharing: 'shared' | 'private' | 'locked';
      readonly: boolean;
      mode?: number;
      uid?: number;
      gid?: number;
    }
  | { type: 'tmpfs'; target: string; size?: number }
  | {
      type: 'secret';
      id?: string;
      target?: string;
      required: boolean;
      mode: number;
      uid: number;
      gid: number;
      env?: string;
    }
  | {
      type: 'ssh';
      id?: string;
      target?: string;
      required: boolean;
      mode?: number;
      uid?: number;
      gid?: number;
    };

export interface ParseRunMountOptions {
  /**
   * The stage's working directory. BuildKit resolves a relative mount target against it; without
   * it a relative target is refused rather than guessed.
   */
  workdir?: string;
}

/**
 * Returns `instr` with build variables substituted where BuildKit substitutes them:
 * FROM image and --platform; COPY/ADD sources, destination, --chown, --chmod, --checksum and
 * unquoted heredoc bodies; ENV and LABEL keys and values (quotes removed); ARG defaults; EXPOSE
 * (split into words); VOLUME, USER, WORKDIR, STOPSIGNAL; RUN --mount values. COPY --from is left
 * as written: the parser already refused variables there, as BuildKit does, because stage
 * dependencies must be known before any stage runs. RUN --network/--security are validated
 * literals and are not expanded either. Throws InvalidArgumentError when a word does not expand
 * (unterminated quote, `${v:?message}` with v unset, bad pattern).
 */
export function expandInstruction<T extends Instruction>(
  instr: T,
  lookup: VariableLookup,
  escapeToken: EscapeToken,
): T {
  const lex = new ShellLex(escapeToken);
  const word = (w: string) => lex.processWord(w, lookup);
  try {
    return expandFields(instr, word, lex, lookup) as T;
  } catch (err) {
    if (err instanceof InvalidArgumentError) {
      throw new InvalidArgumentError(`${instr.kind} on line ${instr.loc.line}: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

function expandFields(
  instr: Instruction,
  word: (w: string) => string,
  lex: ShellLex,
  lookup: VariableLookup,
): Instruction {
  switch (instr.kind) {
    case 'FROM': {
      const out = { ...instr, image: word(instr.image) };
      if (instr.platform !== undefined) out.platform = word(instr.platform);
      return out;
    }
    case 'COPY':
    case 'ADD':
      return expandCopy(instr, word, lookup);
    case 'ENV':
      return { ...instr, pairs: expandPairs(instr.pairs, word, 'ENV') };
    case 'LABEL':
      return { ...instr, pairs: expandPairs(instr.pairs, word, 'LABEL') };
    case 'ARG':
      // Names stay literal (BuildKit never expands them); only defaults are words.
      return {
        ...instr,
        args: instr.args.map((a) =>
          a.defaultValue === undefined ? { ...a } : { ...a, defaultValue: word(a.defaultValue) },
        ),
      };
    case 'EXPOSE':
      return { ...instr, ports: instr.ports.flatMap((p) => lex.processWords(p, lookup)) };
    case 'VOLUME':
      return { ...instr, paths: instr.paths.map(word) };
    case 'USER':
      return { ...instr, user: word(instr.user) };
    case 'WORKDIR':
      return { ...instr, path: word(instr.path) };
    case 'STOPSIGNAL':
      return { ...instr, signal: word(instr.signal) };
    case 'RUN':
      return expandRun(instr, word);
    default:
      return instr;
  }
}

function expandPairs(pairs: KeyValue[], word: (w: string) => string, kind: 'ENV' | 'LABEL'): KeyValue[] {
  return pairs.map((p) => {
    const key = word(p.key);
    if (key === '')
      throw new InvalidArgumentError(`${kind} name ${JSON.stringify(p.key)} expands to nothing`);
    if (kind === 'ENV' && key.includes('=')) {
      throw new InvalidArgumentError(`ENV name ${JSON.stringify(key)} must not contain "="`);
    }
    return { key, value: word(p.value) };
  });
}

function expandCopy(
  instr: CopyInstruction,
  word: (w: string) => string,
  lookup: VariableLookup,
): CopyInstruction {
  const out: CopyInstruction = {
    ...instr,
    // Heredoc sources name a body, not a path: they keep their spelling so they can be matched.
    sources: instr.sources.map((s) => (isHeredocSource(s, instr.heredocs) ? s : word(s))),
    dest: word(instr.dest),
    heredocs: instr.heredocs.map((h) => expandHeredoc(h, lookup)),
    excludes: [...instr.excludes],
  };
  if (instr.chown !== undefined) out.chown = word(instr.chown);
  if (instr.chmod !== undefined) out.chmod = word(instr.chmod);
  if (instr.checksum !== undefined) out.checksum = word(instr.checksum);
  return out;
}

function isHeredocSource(source: string, heredocs: Heredoc[]): boolean {
  const doc = parseHeredocWord(source);
  return doc !== undefined && heredocs.some((h) => h.name === doc.name);
}

// BuildKit expands COPY/ADD heredoc bodies with quotes left alone but escapes still processed,
// always with `\` as the escape token: `\$HOME` keeps a literal `$HOME`.
const heredocBodyLex = new ShellLex('\\', { skipProcessQuotes: true });

function expandHeredoc(doc: Heredoc, lookup: VariableLookup): Heredoc {
  if (!doc.expand) return { ...doc };
  return { ...doc, content: heredocBodyLex.processWord(doc.content, lookup) };
}

function expandRun(instr: RunInstruction, word: (w: string) => string): RunInstruction {
  return { ...instr, mounts: instr.mounts.map((m) => expandMountSpec(m, word)) };
}

/** Expands the value of every `key=value` field of a mount spec; keys and bare flags stay. */
function expandMountSpec(spec: string, word: (w: string) => string): string {
  const fields = splitCsvFields(spec).map((field) => {
    const eq = field.indexOf('=');
    if (eq < 0) return field;
    return field.slice(0, eq + 1) + word(field.slice(eq + 1));
  });
  return joinCsvFields(fields);
}

// --- CSV, as Go's encoding/csv reads a single record (what BuildKit uses for --mount) --------

/** Splits one CSV record. A field starting with `"` is quoted, with `""` for a quote inside it. */
export function splitCsvFields(spec: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (spec[i] === '"') {
      let field = '';
      i++;
      for (;;) {
        const q = spec.indexOf('"', i);
        if (q < 0)
          throw new InvalidArgumentError(`invalid mount ${JSON.stringify(spec)}: unterminated quoted field`);
        field += spec.slice(i, q);
        if (spec[q + 1] === '"') {
          field += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      if (i < spec.length && spec[i] !== ',') {
        throw new InvalidArgumentError(`invalid mount ${JSON.stringify(spec)}: extraneous " in quoted field`);
      }
      fields.push(field);
    } else {
      const comma = spec.indexOf(',', i);
      const end = comma < 0 ? spec.length : comma;
      const field = spec.slice(i, end);
      if (field.includes('"')) {
        throw new InvalidArgumentError(`invalid mount ${JSON.stringify(spec)}: bare " in unquoted field`);
      }
      fields.push(field);
      i = end;
    }
    if (i >= spec.length) return fields;
    i++; // the comma
  }
}

function joinCsvFields(fields: string[]): string {
  return fields
    .map((f) => (/[",\r\n]/.test(f) || f.startsWith(' ') ? `"${f.replaceAll('"', '""')}"` : f))
    .join(',');
}

// --- RUN --mount ------------------------------------------------------------------------------

type MountType = RunMount['type'];
const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING_MODES = ['shared', 'private', 'locked'] as const;
const KNOWN_KEYS = [
  'type',
  'from',
  'source',
  'src',
  'target',
  'dst',
  'destination',
  'readonly',
  'ro',
  'readwrite',
  'rw',
  'required',
  'size',
  'id',
  'sharing',
  'mode',
  'uid',
  'gid',
  'env',
];

/**
 * Parses one `RUN --mount` spec (already expanded): comma-separated `key=value` fields, `type`
 * defaulting to bind. Accepts what BuildKit accepts, with two differences: the type may come
 * after the options that depend on it, and a source path that climbs out of its root with `..`
 * is refused (UnsafePathError) instead of being clamped, in the spirit of CVE-2024-23651/23652.
 */
export function parseRunMount(spec: string, options: ParseRunMountOptions = {}): RunMount {
  const fail = (msg: string): never => {
    throw new InvalidArgumentError(`invalid mount ${JSON.stringify(spec)}: ${msg}`);
  };
  const fields = splitCsvFields(spec);

  let type: MountType = 'bind';
  for (const field of fields) {
    const [key, value] = splitField(field);
    if (key !== 'type' || value === undefined) continue;
    const t = value.toLowerCase() as MountType;
    if (!MOUNT_TYPES.includes(t))
      fail(`unsupported mount type "${value}" (expected ${MOUNT_TYPES.join(', ')})`);
    type = t;
  }

  let from: string | undefined;
  let source: string | undefined;
  let target: string | undefined;
  let readonly: boolean | undefined;
  let required = false;
  let size: number | undefined;
  let id: string | undefined;
  let sharing: (typeof SHARING_MODES)[number] | undefined;
  let mode: number | undefined;
  let uid: number | undefined;
  let gid: number | undefined;
  let env: string | undefined;

  for (const field of fields) {
    const [key, value] = splitField(field);
    if (value === undefined) {
      switch (key) {
        case 'readonly':
        case 'ro':
          readonly = true;
          continue;
        case 'readwrite':
        case 'rw':
          readonly = false;
          continue;
        case 'required':
          if (type !== 'secret' && type !== 'ssh') fail(`unexpected key 'required' for mount type '${type}'`);
          required = true;
          continue;
        default:
          if (KNOWN_KEYS.includes(key)) fail(`option '${key}' needs a value (${key}=...)`);
          fail(`unknown option '${field}' (expected key=value with key one of ${KNOWN_KEYS.join(', ')})`);
      }
    }
    const v = value as string;
    switch (key) {
      case 'type':
        break;
      case 'from':
        from = v;
        break;
      case 'source':
      case 'src':
        source = v;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        target = v;
        break;
      case 'readonly':
      case 'ro':
        readonly = parseBool(v) ?? fail(`invalid value for ${key}: ${v}`);
        break;
      case 'readwrite':
      case 'rw': {
        const rw = parseBool(v) ?? fail(`invalid value for ${key}: ${v}`);
        readonly = !rw;
        break;
      }
      case 'required':
        if (type !== 'secret' && type !== 'ssh') fail(`unexpected key 'required' for mount type '${type}'`);
        required = parseBool(v) ?? fail(`invalid value for ${key}: ${v}`);
        break;
      case 'size':
        if (type !== 'tmpfs') fail(`unexpected key 'size' for mount type '${type}'`);
        size = parseRamBytes(v) ?? fail(`invalid value for size: ${v}`);
        break;
      case 'id':
        id = v;
        break;
      case 'sharing': {
        const s = v.toLowerCase() as (typeof SHARING_MODES)[number];
        if (!SHARING_MODES.includes(s))
          fail(`unsupported sharing value "${v}" (expected shared, private, locked)`);
        sharing = s;
        break;
      }
      case 'mode':
        mode = parseUint32(v, 8) ?? fail(`invalid value ${v} for mode (octal, e.g. 0755)`);
        break;
      case 'uid':
        uid = parseUint32(v, 10) ?? fail(`invalid value ${v} for uid`);
        break;
      case 'gid':
        gid = parseUint32(v, 10) ?? fail(`invalid value ${v} for gid`);
        break;
      case 'env':
        env = v;
        break;
      default:
        fail(`unexpected key '${key}' in '${field}' (expected one of ${KNOWN_KEYS.join(', ')})`);
    }
  }

  if (type === 'bind' || type === 'tmpfs') {
    if (mode !== undefined) fail(`mode not allowed for "${type}" type mounts`);
    if (uid !== undefined) fail(`uid not allowed for "${type}" type mounts`);
    if (gid !== undefined) fail(`gid not allowed for "${type}" type mounts`);
  }
  if (sharing !== undefined && type !== 'cache') fail(`invalid cache sharing set for ${type} mount`);

  const resolveTarget = (t: string): string => {
    let abs = t;
    if (!abs.startsWith('/')) {
      if (options.workdir === undefined) fail(`target "${t}" must be an absolute path`);
      abs = posix.join('/', options.workdir as string, t);
    }
    abs = posix.normalize(abs);
    if (abs.length > 1 && abs.endsWith('/')) abs = abs.slice(0, -1);
    if (abs === '/') fail(`invalid mount target "${t}"`);
    return abs;
  };
  const requireTarget = (): string => {
    if (target === undefined || target === '') fail(`a target is required for ${type} mounts (target=/path)`);
    return resolveTarget(target as string);
  };
  const checkedSource = (): string | undefined => {
    if (source === undefined || source === '') return undefined;
    return safeSourcePath(source);
  };

  switch (type) {
    case 'bind': {
      const m: RunMount = { type, target: requireTarget(), readwrite: readonly === false };
      const src = checkedSource();
      if (src !== undefined) m.source = src;
      if (from !== undefined && from !== '') m.from = from;
      return m;
    }
    case 'cache': {
      const t = requireTarget();
      const m: RunMount = {
        type,
        target: t,
        id: id !== undefined && id !== '' ? id : t,
        sharing: sharing ?? 'shared',
        readonly: readonly === true,
      };
      const src = checkedSource();
      if (src !== undefined) m.source = src;
      if (from !== undefined && from !== '') m.from = from;
      if (mode !== undefined) m.mode = mode;
      if (uid !== undefined) m.uid = uid;
      if (gid !== undefined) m.gid = gid;
      return m;
    }
    case 'tmpfs': {
      const m: RunMount = { type, target: requireTarget() };
      if (size !== undefined) m.size = size;
      return m;
    }
    case 'secret': {
      if (from !== undefined) fail('secret mount should not have a from');
      if (!source && !target && !id) fail('one of id, source or target is required for secret mounts');
      if (source && id) fail("both source and id can't be set");
      // `source` names the secret here, not a path; the id falls back to the target's file name.
      const secretId = source || id || posix.basename(target as string);
      const m: RunMount = { type, id: secretId, required, mode: mode ?? 0o400, uid: uid ?? 0, gid: gid ?? 0 };
      if (target) m.target = resolveTarget(target);
      else if (env === undefined) m.target = `/run/secrets/${posix.basename(secretId)}`;
      if (env !== undefined) m.env = env;
      return m;
    }
    case 'ssh': {
      if (source) fail('ssh does not support source');
      const m: RunMount = { type, id: id || 'default', required };
      if (target) m.target = resolveTarget(target);
      if (mode !== undefined) m.mode = mode;
      if (uid !== undefined) m.uid = uid;
      if (gid !== undefined) m.gid = gid;
      return m;
    }
  }
}

function splitField(field: string): [key: string, value: string | undefined] {
  const eq = field.indexOf('=');
  if (eq < 0) return [field.toLowerCase(), undefined];
  return [field.slice(0, eq).toLowerCase(), field.slice(eq + 1)];
}

/** A mount source is a path inside a stage, image or the context; `..` may not climb above it. */
function safeSourcePath(source: string): string {
  let depth = 0;
  for (const seg of source.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (depth === 0) {
        throw new UnsafePathError(`mount source ${JSON.stringify(source)} escapes its root with ".."`);
      }
      depth--;
    } else {
      depth++;
    }
  }
  return posix.normalize(source);
}

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

function parseUint32(v: string, radix: 8 | 10): number | undefined {
  const digits = radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!digits.test(v)) return undefined;
  const n = Number.parseInt(v, radix);
  return n <= 0xffffffff ? n : undefined;
}

const RAM_UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/** docker/go-units RAMInBytes: `64m`, `1.5g`, `512KiB`, `1024` — binary multiples. */
function parseRamBytes(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v);
  if (!m) return undefined;
  const bytes = Math.trunc(Number(m[1]) * RAM_UNITS[(m[2] ?? '').toLowerCase()]!);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
