// Parsers for the docker-style container flags (sizes, cpus, ulimits, volumes, mounts, restart
// policies, env files, signals). Pure: each turns user text into a typed value or throws
// InvalidArgumentError naming the flag and the bad text.
import { constants } from 'node:os';
import { InvalidArgumentError } from '../errors/index.js';
import { formatIp, parseIp } from '../network/index.js';
import type { ContainerCreateOptions, LogConfig } from './_config.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `512m`, `1g`, `1048576`, `1.5g` → bytes (docker's RAMInBytes: binary units). */
export function parseBytes(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`invalid ${flag} "${text}": expected a size like 512m or 1g`);
  const n = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`invalid ${flag} "${text}": too large`);
  return n;
}

/** `--memory-swap`: bytes, or -1 for unlimited. */
export function parseSwap(text: string): number {
  return text.trim() === '-1' ? -1 : parseBytes(text, '--memory-swap');
}

/** `--cpus 1.5` → CFS quota/period. */
export function parseCpus(text: string): { quota: number; period: number } {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(n > 0) || n > 1024) {
    throw new InvalidArgumentError(`invalid --cpus "${text}": expected a positive number like 1.5`);
  }
  const period = 100_000;
  return { quota: Math.round(n * period), period };
}

export function parseInteger(
  text: string,
  flag: string,
  options: { min?: number; max?: number } = {},
): number {
  if (!/^-?\d+$/.test(text.trim()))
    throw new InvalidArgumentError(`invalid ${flag} "${text}": not an integer`);
  const n = Number(text);
  if ((options.min !== undefined && n < options.min) || (options.max !== undefined && n > options.max)) {
    throw new InvalidArgumentError(`invalid ${flag} "${text}": out of range`);
  }
  return n;
}

const ULIMITS = [
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
  'as',
];

/** `nofile=1024[:2048]` → name, soft, hard (-1 means unlimited). */
export function parseUlimit(text: string): { name: string; soft: number; hard: number } {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(text.trim());
  if (!m || !ULIMITS.includes(m[1]!)) {
    throw new InvalidArgumentError(
      `invalid --ulimit "${text}": expected NAME=SOFT[:HARD] with NAME one of ${ULIMITS.join(', ')}`,
    );
  }
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard && hard !== -1)
    throw new InvalidArgumentError(`invalid --ulimit "${text}": soft limit above hard limit`);
  return { name: m[1]!, soft, hard };
}

export type RestartPolicy =
  | { name: 'no' }
  | { name: 'always' }
  | { name: 'unless-stopped' }
  | { name: 'on-failure'; maxRetries: number };

export function parseRestartPolicy(text: string): RestartPolicy {
  const [name, count, extra] = text.split(':');
  if (extra === undefined) {
    if ((name === 'no' || name === 'always' || name === 'unless-stopped') && count === undefined)
      return { name };
    if (name === 'on-failure') {
      if (count === undefined) return { name, maxRetries: 0 };
      if (/^\d+$/.test(count)) return { name, maxRetries: Number(count) };
    }
  }
  throw new InvalidArgumentError(
    `invalid --restart "${text}": expected no, always, unless-stopped or on-failure[:N]`,
  );
}

export interface MountSpec {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind), volume name (volume; empty = anonymous), unused for tmpfs. */
  source: string;
  target: string;
  readOnly: boolean;
  options: string[];
}

function checkTarget(target: string, flag: string, text: string): string {
  if (!target.startsWith('/'))
    throw new InvalidArgumentError(`invalid ${flag} "${text}": container path "${target}" must be absolute`);
  if (target.split('/').includes('..'))
    throw new InvalidArgumentError(`invalid ${flag} "${text}": container path may not contain ".."`);
  return target.replace(/\/+$/, '') || '/';
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** `-v /host:/ctr[:ro]`, `-v name:/ctr[:ro]`, `-v /ctr` (anonymous volume). */
export function parseVolumeFlag(text: string): MountSpec {
  const parts = text.split(':');
  const flag = '-v';
  if (parts.length === 1)
    return {
      type: 'volume',
      source: '',
      target: checkTarget(parts[0]!, flag, text),
      readOnly: false,
      options: [],
    };
  if (parts.length > 3) throw new InvalidArgumentError(`invalid -v "${text}": expected SRC:DST[:OPTIONS]`);
  const [src, dst, opts = ''] = parts as [string, string, string?];
  const options = opts === '' ? [] : opts.split(',');
  for (const o of options) {
    if (
      ![
        'ro',
        'rw',
        'z',
        'Z',
        'private',
        'rprivate',
        'shared',
        'rshared',
        'slave',
        'rslave',
        'nocopy',
      ].includes(o)
    ) {
      throw new InvalidArgumentError(`invalid -v "${text}": unknown option "${o}"`);
    }
  }
  const readOnly = options.includes('ro');
  const target = checkTarget(dst, flag, text);
  if (src.startsWith('/'))
    return {
      type: 'bind',
      source: src,
      target,
      readOnly,
      options: options.filter((o) => o !== 'ro' && o !== 'rw'),
    };
  if (!VOLUME_NAME.test(src))
    throw new InvalidArgumentError(
      `invalid -v "${text}": "${src}" is neither an absolute path nor a volume name`,
    );
  return { type: 'volume', source: src, target, readOnly, options: [] };
}

/** `--mount type=bind,source=/x,target=/y,readonly`. */
export function parseMountFlag(text: string): MountSpec {
  const fields = new Map<string, string>();
  for (const kv of text.split(',')) {
    const i = kv.indexOf('=');
    const k = (i < 0 ? kv : kv.slice(0, i)).trim().toLowerCase();
    fields.set(k, i < 0 ? 'true' : kv.slice(i + 1));
  }
  const type = fields.get('type') ?? 'volume';
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') {
    throw new InvalidArgumentError(`invalid --mount "${text}": type must be bind, volume or tmpfs`);
  }
  const target = fields.get('target') ?? fields.get('destination') ?? fields.get('dst');
  if (!target) throw new InvalidArgumentError(`invalid --mount "${text}": target is required`);
  const source = fields.get('source') ?? fields.get('src') ?? '';
  const ro = fields.get('readonly') ?? fields.get('ro');
  const readOnly = ro !== undefined && ro !== 'false' && ro !== '0';
  const known = [
    'type',
    'target',
    'destination',
    'dst',
    'source',
    'src',
    'readonly',
    'ro',
    'tmpfs-size',
    'tmpfs-mode',
    'bind-propagation',
    'volume-nocopy',
  ];
  for (const k of fields.keys())
    if (!known.includes(k)) throw new InvalidArgumentError(`invalid --mount "${text}": unknown field "${k}"`);
  const options: string[] = [];
  if (type === 'bind') {
    if (!source.startsWith('/'))
      throw new InvalidArgumentError(`invalid --mount "${text}": bind source must be an absolute path`);
    const prop = fields.get('bind-propagation');
    if (prop) options.push(prop);
  } else if (type === 'volume') {
    if (source && !VOLUME_NAME.test(source))
      throw new InvalidArgumentError(`invalid --mount "${text}": bad volume name "${source}"`);
  } else {
    if (source) throw new InvalidArgumentError(`invalid --mount "${text}": tmpfs takes no source`);
    const size = fields.get('tmpfs-size');
    if (size) options.push(`size=${parseBytes(size, '--mount tmpfs-size')}`);
    const mode = fields.get('tmpfs-mode');
    if (mode) {
      if (!/^[0-7]{3,4}$/.test(mode))
        throw new InvalidArgumentError(`invalid --mount "${text}": bad tmpfs-mode`);
      options.push(`mode=${mode}`);
    }
  }
  return { type, source, target: checkTarget(target, '--mount', text), readOnly, options };
}

/** `--tmpfs /run[:size=64m,mode=1777,noexec]`. */
export function parseTmpfsFlag(text: string): MountSpec {
  const i = text.indexOf(':');
  const target = checkTarget(i < 0 ? text : text.slice(0, i), '--tmpfs', text);
  const options =
    i < 0
      ? []
      : text
          .slice(i + 1)
          .split(',')
          .filter(Boolean);
  for (const o of options) {
    if (
      !/^(size=\d+[kmg]?|mode=[0-7]{3,4}|uid=\d+|gid=\d+|nr_inodes=\d+[kmg]?|r?o|rw|noexec|exec|nosuid|suid|nodev|dev|noatime|atime)$/.test(
        o,
      )
    ) {
      throw new InvalidArgumentError(`invalid --tmpfs "${text}": unsupported option "${o}"`);
    }
  }
  return {
    type: 'tmpfs',
    source: '',
    target,
    readOnly: options.includes('ro'),
    options: options.filter((o) => o !== 'ro' && o !== 'rw'),
  };
}

/** docker's env-file: KEY=VALUE lines, `#` comments, a bare KEY takes the value from our env. */
export function parseEnvFile(text: string, file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line.trim() : line.slice(0, eq);
    if (!/^[^\s=]+$/.test(key))
      throw new InvalidArgumentError(`${file}:${n + 1}: invalid variable name "${key}"`);
    if (eq >= 0) out.push(line);
    else if (env[key] !== undefined) out.push(`${key}=${env[key]}`);
  }
  return out;
}

/** `-e KEY=VALUE` or `-e KEY` (value from our environment, dropped when unset). */
export function parseEnvFlag(text: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  if (key === '' || /\s/.test(key)) throw new InvalidArgumentError(`invalid -e "${text}": bad variable name`);
  if (eq >= 0) return text;
  return env[key] === undefined ? undefined : `${key}=${env[key]}`;
}

/** `SIGTERM`, `TERM`, `15` → signal number. */
export function parseSignal(text: string): number {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n >= 1 && n <= 64) return n;
  } else {
    const name = t.startsWith('SIG') ? t : `SIG${t}`;
    const n = (constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
    if (rt) return 34 + Number(rt[1] ?? 0);
  }
  throw new InvalidArgumentError(`invalid signal "${text}"`);
}

export function signalName(n: number): string {
  const e = Object.entries(constants.signals).find(([, v]) => v === n);
  return e ? e[0] : String(n);
}

/** An IP address flag (`--ip`, `--ip6`, `--dns`), in its canonical spelling. */
export function parseIpFlag(text: string, family: 4 | 6 | undefined, flag: string): string {
  let ip: ReturnType<typeof parseIp>;
  try {
    ip = parseIp(text);
  } catch {
    throw new InvalidArgumentError(`invalid ${flag} "${text}": not an IP address`);
  }
  if (family !== undefined && ip.family !== family)
    throw new InvalidArgumentError(`invalid ${flag} "${text}": not an IPv${family} address`);
  return formatIp(ip.family, ip.address);
}

/** `--add-host name:ip` (or `name=ip`); the ip may be `host-gateway`. IPv6 may be in brackets. */
export function parseAddHostFlag(text: string): { name: string; ip: string } {
  const m = /^([^:=\s]+)[:=](.+)$/.exec(text);
  if (!m) throw new InvalidArgumentError(`invalid --add-host "${text}": expected HOST:IP`);
  const name = m[1]!;
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,251}[a-zA-Z0-9])?$/.test(name))
    throw new InvalidArgumentError(`invalid --add-host "${text}": bad host name "${name}"`);
  const raw = m[2]!.replace(/^\[(.*)\]$/, '$1');
  if (raw === 'host-gateway') return { name, ip: raw };
  return { name, ip: parseIpFlag(raw, undefined, '--add-host') };
}

/** What one `--security-opt` sets. */
export type SecurityOptions = Pick<ContainerCreateOptions, 'seccomp' | 'noNewPrivileges'>;

/**
 * One `--security-opt`: `seccomp=FILE|unconfined` and `no-new-privileges[:true|false]`.
 * With `content` (the Docker API), `seccomp=` carries the profile's JSON text itself, which the
 * docker CLI read from the file, as dockerd expects. `apparmor=unconfined` and `label=disable`
 * are accepted and change nothing: berth applies neither AppArmor profiles nor SELinux labels.
 */
export function parseSecurityOpt(text: string, options: { content?: boolean } = {}): SecurityOptions {
  const m = /^([a-z-]+)(?:[=:](.*))?$/s.exec(text);
  const key = m?.[1];
  const value = m?.[2];
  if (key === 'no-new-privileges') {
    if (value === undefined || value === 'true') return { noNewPrivileges: true };
    if (value === 'false') return { noNewPrivileges: false };
  } else if (key === 'seccomp' && value) {
    if (value === 'unconfined') return { seccomp: 'unconfined' };
    if (!options.content) return { seccomp: { file: value } };
    try {
      return { seccomp: { profile: JSON.parse(value) as unknown } };
    } catch {
      throw new InvalidArgumentError('invalid security option seccomp: the value is not a JSON profile');
    }
  } else if ((key === 'apparmor' && value === 'unconfined') || (key === 'label' && value === 'disable')) {
    return {};
  }
  throw new InvalidArgumentError(
    `invalid --security-opt "${text.length > 80 ? `${text.slice(0, 80)}…` : text}": supported are seccomp=FILE|unconfined, no-new-privileges[:true|false], apparmor=unconfined and label=disable`,
  );
}

const LOG_DRIVERS = ['json-file', 'k8s-file', 'none'] as const;

/**
 * `--log-driver` and `--log-opt`. Both file drivers are conmon's k8s-file log (what `logs`
 * reads); `none` keeps no log. `max-size` is honoured; anything that would keep more or other
 * than that is refused rather than ignored (one file only: `max-file` may be 1).
 */
export function parseLogConfig(
  driver: string | undefined,
  opts: Record<string, string>,
): LogConfig | undefined {
  const keys = Object.keys(opts);
  if (!driver && keys.length === 0) return undefined;
  const d = driver || 'json-file';
  if (!(LOG_DRIVERS as readonly string[]).includes(d)) {
    throw new InvalidArgumentError(
      `log driver "${d}" is not supported: berth logs to a file (json-file, k8s-file) or not at all (none)`,
    );
  }
  const log: LogConfig = { driver: d as LogConfig['driver'] };
  for (const [k, v] of Object.entries(opts)) {
    if (d === 'none') throw new InvalidArgumentError(`log driver "none" takes no options (got ${k})`);
    if (k === 'max-size') {
      const n = parseBytes(v, '--log-opt max-size');
      if (n < 4096) throw new InvalidArgumentError(`invalid --log-opt max-size "${v}": at least 4k`);
      log.maxSize = n;
    } else if (k === 'max-file') {
      if (v !== '1') {
        throw new InvalidArgumentError(
          `--log-opt max-file=${v} is not supported: berth keeps one log file, started afresh past max-size`,
        );
      }
    } else {
      throw new InvalidArgumentError(
        `log option "${k}" is not supported by the ${d} log driver (max-size, max-file=1)`,
      );
    }
  }
  return log;
}

/** `--log-opt k=v` texts as a map. */
export function parseLogOpts(texts: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of texts) {
    const i = t.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`invalid --log-opt "${t}": expected KEY=VALUE`);
    out[t.slice(0, i)] = t.slice(i + 1);
  }
  return out;
}
