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
    description:
      'Security Options (seccomp=FILE|unconfined, no-new-privileges[:true|false], apparmor=unconfined, label=disable)',
  },
  {
    name: 'log-driver',
    type: 'string',
    value: 'string',
    description: 'Logging driver for the container (json-file, k8s-file, none)',
  },
  { name: 'log-opt', type: 'list', value: 'list', description: 'Log driver options (max-size, max-file=1)' },
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
    type: 'list',
    value: 'network',
    description:
      'Connect a container to a network (NAME[,NAME2], none, host, container:NAME); repeat for more',
  },
  { name: 'net', type: 'list', value: 'network', description: 'Alias of --network', hidden: true },
  {
    name: 'network-alias',
    type: 'list',
    value: 'list',
    description: 'Add network-scoped alias for the container (on its first network)',
  },
  { name: 'ip', type: 'string', value: 'string', description: 'IPv4 address (e.g., 172.30.100.104)' },
  { name: 'ip6', type: 'string', value: 'string', description: 'IPv6 address (e.g., 2001:db8::33)' },
  {
    name: 'mac-address',
    type: 'string',
    value: 'string',
    description: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)',
  },
  {
    name: 'publish',
    short: 'p',
    type: 'list',
    value: 'list',
    description: "Publish a container's port(s) to the host ([ip:][hostPort:]containerPort[/proto])",
  },
  {
    name: 'publish-all',
    short: 'P',
    type: 'bool',
    description: 'Publish all exposed ports to random ports',
  },
  { name: 'expose', type: 'list', value: 'list', description: 'Expose a port or a range of ports' },
  { name: 'dns', type: 'list', value: 'list', description: 'Set custom DNS servers' },
  { name: 'dns-search', type: 'list', value: 'list', description: 'Set custom DNS search domains' },
  { name: 'dns-option', type: 'list', value: 'list', description: 'Set DNS options' },
  {
    name: 'add-host',
    type: 'list',
    value: 'list',
    description: 'Add a custom host-to-IP mapping (host:ip, ip may be host-gateway)',
  },
  { name: 'domainname', type: 'string', value: 'string', description: 'Container NIS domain name' },
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
  networkOptionsFromFlags(flags, o);
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
  for (const so of list(flags, 'security-opt')) Object.assign(o, parse.parseSecurityOpt(so));
  const log = parse.parseLogConfig(str(flags, 'log-driver'), parse.parseLogOpts(list(flags, 'log-opt')));
  if (log) o.log = log;
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

/** --network (repeated), --network-alias, --ip, --mac-address, -p, -P, --expose, DNS and hosts. */
function networkOptionsFromFlags(flags: FlagValues, o: ContainerCreateOptions): void {
  const nets = [...list(flags, 'network'), ...list(flags, 'net')];
  const modes = nets.filter((n) => /^(none|host|container:.*)$/.test(n));
  if (modes.length > 0) {
    if (nets.length > 1)
      throw new InvalidArgumentError(
        `conflicting options: --network ${modes[0]} cannot be combined with other networks`,
      );
    o.network = modes[0]!;
  }
  const names = modes.length ? [] : nets.flatMap((n) => n.split(',').map((x) => x.trim()));
  if (names.some((n) => n === '')) throw new InvalidArgumentError('invalid --network: empty network name');
  const aliases = list(flags, 'network-alias');
  const ipv4 = str(flags, 'ip');
  const ipv6 = str(flags, 'ip6');
  const mac = str(flags, 'mac-address');
  const perNetwork = aliases.length > 0 || ipv4 !== undefined || ipv6 !== undefined || mac !== undefined;
  if (perNetwork && o.network !== undefined)
    throw new InvalidArgumentError(
      `conflicting options: --network-alias/--ip/--ip6/--mac-address and --network ${o.network}`,
    );
  if (perNetwork && names.length === 0) names.push('berth');
  if (names.length > 0) {
    o.networks = names.map((name, i) => ({
      name,
      ...(i === 0 && aliases.length ? { aliases } : {}),
      ...(i === 0 && ipv4 !== undefined ? { ipv4: parse.parseIpFlag(ipv4, 4, '--ip') } : {}),
      ...(i === 0 && ipv6 !== undefined ? { ipv6: parse.parseIpFlag(ipv6, 6, '--ip6') } : {}),
      ...(i === 0 && mac !== undefined ? { mac } : {}),
    }));
  }
  const ports = list(flags, 'publish').flatMap((p) => parse.parsePublishFlag(p));
  if (ports.length > 0) o.ports = ports;
  if (bool(flags, 'publish-all')) o.publishAll = true;
  const expose = list(flags, 'expose').flatMap((e) => parse.parseExposeFlag(e));
  if (expose.length > 0) o.expose = expose;
  for (const [flag, key] of [
    ['dns', 'dns'],
    ['dns-search', 'dnsSearch'],
    ['dns-option', 'dnsOptions'],
  ] as const) {
    const v = list(flags, flag);
    if (v.length > 0) o[key] = v;
  }
  for (const d of o.dns ?? []) parse.parseIpFlag(d, undefined, '--dns');
  const hosts = list(flags, 'add-host').map(parse.parseAddHostFlag);
  if (hosts.length > 0) o.addHosts = hosts;
  const domain = str(flags, 'domainname');
  if (domain !== undefined) o.domainname = domain;
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
