import { readFileSync } from 'node:fs';
import { type ContainerCreateOptions, type ContainerRecord, flags as parse } from '../../../engine/index.js';
import { InvalidArgumentError } from '../../../errors/index.js';
import { parsePlatform } from '../../../oci/index.js';
import { bool, type FlagSpec, type FlagValues, list, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { createProgressRenderer } from '../../progress.js';

/** The flags `create` and `run` share, as docker names them. */
export const CREATE_FLAGS: FlagSpec[] = [
  { name: 'name', type: 'string', value: 'string', description: 'Assign a name to the container' },
  { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open even if not attached' },
  { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
  { name: 'env', short: 'e', type: 'list', value: 'list', description: 'Set environment variables' },
  { name: 'env-file', type: 'list', value: 'list', description: 'Read in a file of environment variables' },
  {
    name: 'user',
    short: 'u',
    type: 'string',
    value: 'string',
    description: 'Username or UID (format: <name|uid>[:<group|gid>])',
  },
  {
    name: 'workdir',
    short: 'w',
    type: 'string',
    value: 'string',
    description: 'Working directory inside the container',
  },
  {
    name: 'entrypoint',
    type: 'string',
    value: 'string',
    description: 'Overwrite the default ENTRYPOINT of the image',
  },
  { name: 'hostname', short: 'h', type: 'string', value: 'string', description: 'Container host name' },
  { name: 'volume', short: 'v', type: 'list', value: 'list', description: 'Bind mount a volume' },
  { name: 'mount', type: 'list', value: 'mount', description: 'Attach a filesystem mount to the container' },
  { name: 'tmpfs', type: 'list', value: 'list', description: 'Mount a tmpfs directory' },
  { name: 'read-only', type: 'bool', description: "Mount the container's root filesystem as read only" },
  { name: 'memory', short: 'm', type: 'string', value: 'bytes', description: 'Memory limit' },
  {
    name: 'memory-swap',
    type: 'string',
    value: 'bytes',
    description: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap",
  },
  { name: 'cpus', type: 'string', value: 'decimal', description: 'Number of CPUs' },
  {
    name: 'cpu-shares',
    short: 'c',
    type: 'string',
    value: 'int',
    description: 'CPU shares (relative weight)',
  },
  {
    name: 'pids-limit',
    type: 'string',
    value: 'int',
    description: 'Tune container pids limit (set -1 for unlimited)',
  },
  { name: 'ulimit', type: 'list', value: 'ulimit', description: 'Ulimit options' },
  { name: 'cap-add', type: 'list', value: 'list', description: 'Add Linux capabilities' },
  { name: 'cap-drop', type: 'list', value: 'list', description: 'Drop Linux capabilities' },
  {
    name: 'security-opt',
    type: 'list',
    value: 'list',
    description: 'Security Options (seccomp=FILE|unconfined, no-new-privileges)',
  },
  { name: 'privileged', type: 'bool', description: 'Give extended privileges to this container' },
  {
    name: 'init',
    type: 'bool',
    description: 'Run an init inside the container that forwards signals and reaps processes',
  },
  {
    name: 'restart',
    type: 'string',
    value: 'string',
    description:
      'Restart policy to apply when a container exits (no, on-failure[:N], always, unless-stopped)',
  },
  { name: 'stop-signal', type: 'string', value: 'string', description: 'Signal to stop the container' },
  {
    name: 'stop-timeout',
    type: 'string',
    value: 'int',
    description: 'Timeout (in seconds) to stop a container',
  },
  { name: 'label', short: 'l', type: 'list', value: 'list', description: 'Set meta data on a container' },
  {
    name: 'runtime',
    type: 'string',
    value: 'string',
    description: 'Runtime to use for this container (runc, crun or a path)',
  },
  {
    name: 'network',
    type: 'string',
    value: 'network',
    description: 'Connect a container to a network (none, host, container:NAME)',
  },
  { name: 'net', type: 'string', value: 'network', description: 'Alias of --network', hidden: true },
  { name: 'rm', type: 'bool', description: 'Automatically remove the container when it exits' },
  {
    name: 'pull',
    type: 'string',
    value: 'string',
    default: 'missing',
    description: 'Pull image before creating ("always", "missing", "never")',
  },
  { name: 'platform', type: 'string', value: 'string', description: 'Set platform if the image is pulled' },
];

function positiveInt(text: string, flag: string): number {
  return parse.parseInteger(text, flag, { min: 0 });
}

/** Turn parsed flags + positional args (IMAGE [COMMAND [ARG...]]) into engine options. */
export function createOptionsFromFlags(flags: FlagValues, args: string[]): ContainerCreateOptions {
  const [image, ...command] = args as [string, ...string[]];
  const o: ContainerCreateOptions = { image };
  if (command.length > 0) o.command = command;
  const name = str(flags, 'name');
  if (name !== undefined) o.name = name.replace(/^\//, '');
  if (bool(flags, 'interactive')) o.interactive = true;
  if (bool(flags, 'tty')) o.tty = true;
  const env: string[] = [];
  for (const file of list(flags, 'env-file')) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(`cannot read --env-file "${file}"`, { cause: err });
    }
    env.push(...parse.parseEnvFile(text, file));
  }
  for (const e of list(flags, 'env')) {
    const v = parse.parseEnvFlag(e);
    if (v !== undefined) env.push(v);
  }
  if (env.length > 0) o.env = env;
  for (const [flag, key] of [
    ['user', 'user'],
    ['workdir', 'workdir'],
    ['entrypoint', 'entrypoint'],
    ['hostname', 'hostname'],
    ['stop-signal', 'stopSignal'],
    ['runtime', 'runtime'],
  ] as const) {
    const v = str(flags, flag);
    if (v !== undefined) o[key] = v;
  }
  const wd = o.workdir;
  if (wd !== undefined && !wd.startsWith('/'))
    throw new InvalidArgumentError(`invalid --workdir "${wd}": must be an absolute path`);
  if (o.stopSignal !== undefined) parse.parseSignal(o.stopSignal);
  const network = str(flags, 'network') ?? str(flags, 'net');
  if (network !== undefined) o.network = network;
  const mounts = [
    ...list(flags, 'volume').map(parse.parseVolumeFlag),
    ...list(flags, 'mount').map(parse.parseMountFlag),
    ...list(flags, 'tmpfs').map(parse.parseTmpfsFlag),
  ];
  const targets = new Set<string>();
  for (const m of mounts) {
    if (targets.has(m.target)) throw new InvalidArgumentError(`duplicate mount point: ${m.target}`);
    targets.add(m.target);
  }
  if (mounts.length > 0) o.mounts = mounts;
  if (bool(flags, 'read-only')) o.readOnly = true;
  const memory = str(flags, 'memory');
  if (memory !== undefined) o.memory = parse.parseBytes(memory, '--memory');
  const swap = str(flags, 'memory-swap');
  if (swap !== undefined) {
    o.memorySwap = parse.parseSwap(swap);
    if (o.memory === undefined) throw new InvalidArgumentError('--memory-swap needs --memory as well');
    if (o.memorySwap !== -1 && o.memorySwap < o.memory)
      throw new InvalidArgumentError('--memory-swap must be at least --memory');
  }
  const cpus = str(flags, 'cpus');
  if (cpus !== undefined) o.cpus = parse.parseCpus(cpus);
  const shares = str(flags, 'cpu-shares');
  if (shares !== undefined) o.cpuShares = positiveInt(shares, '--cpu-shares');
  const pids = str(flags, 'pids-limit');
  if (pids !== undefined) {
    const n = parse.parseInteger(pids, '--pids-limit', { min: -1 });
    if (n > 0) o.pidsLimit = n;
  }
  const ulimits = list(flags, 'ulimit').map(parse.parseUlimit);
  if (ulimits.length > 0) o.ulimits = ulimits;
  if (list(flags, 'cap-add').length) o.capAdd = list(flags, 'cap-add');
  if (list(flags, 'cap-drop').length) o.capDrop = list(flags, 'cap-drop');
  for (const so of list(flags, 'security-opt')) {
    if (so === 'no-new-privileges' || so === 'no-new-privileges:true' || so === 'no-new-privileges=true')
      o.noNewPrivileges = true;
    else if (so === 'no-new-privileges:false' || so === 'no-new-privileges=false') o.noNewPrivileges = false;
    else if (/^seccomp[=:]unconfined$/.test(so)) o.seccomp = 'unconfined';
    else if (/^seccomp[=:]/.test(so)) o.seccomp = { file: so.slice('seccomp='.length) };
    else
      throw new InvalidArgumentError(
        `invalid --security-opt "${so}": supported are seccomp=FILE|unconfined and no-new-privileges`,
      );
  }
  if (bool(flags, 'privileged')) o.privileged = true;
  if (bool(flags, 'init')) o.init = true;
  const restart = str(flags, 'restart');
  if (restart !== undefined) o.restart = parse.parseRestartPolicy(restart);
  const stopTimeout = str(flags, 'stop-timeout');
  if (stopTimeout !== undefined) o.stopTimeout = positiveInt(stopTimeout, '--stop-timeout');
  const labels: Record<string, string> = {};
  for (const l of list(flags, 'label')) {
    const eq = l.indexOf('=');
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }
  if (Object.keys(labels).length > 0) o.labels = labels;
  if (bool(flags, 'rm')) {
    if (o.restart && o.restart.name !== 'no')
      throw new InvalidArgumentError('conflicting options: --restart and --rm');
    o.autoRemove = true;
  }
  return o;
}

export function pullPolicy(flags: FlagValues): 'missing' | 'always' | 'never' {
  const p = str(flags, 'pull') ?? 'missing';
  if (p !== 'missing' && p !== 'always' && p !== 'never')
    throw new InvalidArgumentError(`invalid --pull "${p}": missing, always or never`);
  return p;
}

/** `create` and `run`: parse the flags, then create the container (pulling the image if the
 * --pull policy says so, with progress on stderr). Throws for the caller's runFailure. */
export async function createFromFlags(ctx: CommandContext, flags: FlagValues, args: string[]) {
  const options = createOptionsFromFlags(flags, args);
  const engine = await ctx.engine();
  const platform = str(flags, 'platform');
  const progress = createProgressRenderer(ctx.stderr);
  const rec: ContainerRecord = await engine.createContainer(options, {
    pull: pullPolicy(flags),
    onProgress: (e) => progress.emit(e),
    ...(platform ? { platform: parsePlatform(platform) } : {}),
  });
  return { engine, options, rec };
}
