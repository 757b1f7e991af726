import { UsageError } from '../errors/index.js';

/** A flag in docker/cobra style: `--name value`, `--name=value`, `-n value`, combined `-aq`. */
export interface FlagSpec {
  name: string;
  short?: string;
  type: 'bool' | 'string' | 'list';
  description: string;
  /** Placeholder for help output, e.g. 'string', 'PATH'. */
  value?: string;
  default?: string | boolean;
  hidden?: boolean;
}

export interface CommandSpec {
  /** e.g. 'pull [OPTIONS] NAME[:TAG|@DIGEST]' */
  usage: string;
  description: string;
  flags: FlagSpec[];
  args: { min: number; max: number };
  /** Stop parsing flags at the first positional (docker run/exec semantics). */
  stopAtFirstPositional?: boolean;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface ParsedArgs {
  flags: FlagValues;
  args: string[];
}

export const HELP_FLAG: FlagSpec = { name: 'help', short: 'h', type: 'bool', description: 'Print usage' };

/** Parse argv for one command; throws UsageError naming the command on any mistake. */
export function parseArgs(argv: readonly string[], spec: CommandSpec, commandPath: string): ParsedArgs {
  const flags: FlagValues = {};
  const args: string[] = [];
  const all = [...spec.flags, HELP_FLAG];
  const byLong = new Map(all.map((f) => [f.name, f]));
  const byShort = new Map(all.filter((f) => f.short).map((f) => [f.short!, f]));
  const usage = (msg: string) => new UsageError(`${msg}\nSee 'berth ${commandPath} --help'.`);
  const set = (f: FlagSpec, value: string | boolean) => {
    if (f.type === 'list') {
      const cur = (flags[f.name] as string[] | undefined) ?? [];
      cur.push(String(value));
      flags[f.name] = cur;
    } else {
      flags[f.name] = value;
    }
  };
  let i = 0;
  let positionalOnly = false;
  while (i < argv.length) {
    const a = argv[i]!;
    i++;
    if (positionalOnly || a === '-' || !a.startsWith('-')) {
      args.push(a);
      if (spec.stopAtFirstPositional) positionalOnly = true;
      continue;
    }
    if (a === '--') {
      positionalOnly = true;
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const f = byLong.get(name);
      if (!f) throw usage(`unknown flag: --${name}`);
      if (f.type === 'bool') {
        if (eq >= 0) set(f, parseBool(a.slice(eq + 1), `--${name}`, usage));
        else set(f, true);
      } else if (eq >= 0) {
        set(f, a.slice(eq + 1));
      } else {
        if (i >= argv.length) throw usage(`flag needs an argument: --${name}`);
        set(f, argv[i]!);
        i++;
      }
      continue;
    }
    // short flags, possibly combined: -aq, -tNAME, -t NAME
    const body = a.slice(1);
    for (let j = 0; j < body.length; j++) {
      const c = body[j]!;
      const f = byShort.get(c);
      if (!f) throw usage(`unknown shorthand flag: '${c}' in ${a}`);
      if (f.type === 'bool') {
        if (body[j + 1] === '=') {
          set(f, parseBool(body.slice(j + 2), `-${c}`, usage));
          break;
        }
        set(f, true);
        continue;
      }
      let value = body.slice(j + 1);
      if (value.startsWith('=')) value = value.slice(1);
      if (value === '') {
        if (i >= argv.length) throw usage(`flag needs an argument: '${c}' in ${a}`);
        value = argv[i]!;
        i++;
      }
      set(f, value);
      break;
    }
  }
  for (const f of spec.flags) {
    if (flags[f.name] === undefined && f.default !== undefined) flags[f.name] = f.default;
  }
  if (flags.help === true) return { flags, args };
  if (args.length < spec.args.min || args.length > spec.args.max) {
    const want =
      spec.args.min === spec.args.max
        ? `exactly ${spec.args.min} argument${spec.args.min === 1 ? '' : 's'}`
        : spec.args.max === Number.POSITIVE_INFINITY
          ? `at least ${spec.args.min} argument${spec.args.min === 1 ? '' : 's'}`
          : `${spec.args.min} to ${spec.args.max} arguments`;
    throw usage(`"berth ${commandPath}" requires ${want}.\n\nUsage:  berth ${spec.usage}`);
  }
  return { flags, args };
}

function parseBool(v: string, name: string, usage: (m: string) => Error): boolean {
  if (['true', '1', 't', 'T', 'TRUE', 'True'].includes(v)) return true;
  if (['false', '0', 'f', 'F', 'FALSE', 'False'].includes(v)) return false;
  throw usage(`invalid argument "${v}" for "${name}" flag: not a boolean`);
}

export function formatHelp(commandPath: string, spec: CommandSpec): string {
  const lines = [`Usage:  berth ${spec.usage}`, '', spec.description, ''];
  const shown = [...spec.flags, HELP_FLAG].filter((f) => !f.hidden);
  if (shown.length > 0) {
    lines.push('Options:');
    const rows = shown.map((f) => {
      const left = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.type === 'bool' ? '' : ` ${f.value ?? (f.type === 'list' ? 'list' : 'string')}`}`;
      const def =
        f.default !== undefined && f.default !== false && f.default !== ''
          ? ` (default ${JSON.stringify(f.default)})`
          : '';
      return [left, f.description + def] as const;
    });
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [l, r] of rows) lines.push(`  ${l.padEnd(w)}   ${r}`);
  }
  void commandPath;
  return `${lines.join('\n')}\n`;
}

export function str(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}
export function bool(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}
export function list(flags: FlagValues, name: string): string[] {
  const v = flags[name];
  return Array.isArray(v) ? v : [];
}
