// POST /containers/create: Docker's Config + HostConfig + NetworkingConfig mapped to the
// engine's ContainerCreateOptions. Fields berth maps are checked and taken; any other field
// that carries a value is refused with a 400 naming it, so nothing the client asked for is
// silently dropped. The docker CLI sends many fields at their zero values; those pass.
import { type ContainerCreateOptions, type Engine, flags, type NetworkRequest } from '../engine/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { onlyParams, type Reply, type Request, readObject } from './_http.js';
import { createBodyForVersion } from './_versions.js';

type Obj = Record<string, unknown>;

const CONFIG_FIELDS = [
  'Hostname',
  'Domainname',
  'User',
  'Tty',
  'OpenStdin',
  'Env',
  'Cmd',
  'Image',
  'WorkingDir',
  'Entrypoint',
  'Labels',
  'StopSignal',
  'StopTimeout',
  'ExposedPorts',
  'Volumes',
  'HostConfig',
  'NetworkingConfig',
  // how the client attaches, not what the container is
  'AttachStdin',
  'AttachStdout',
  'AttachStderr',
  'StdinOnce',
  'ArgsEscaped',
  // dockerode sends the `name` query parameter in the body as well
  'name',
];

const HOST_CONFIG_FIELDS = [
  'Binds',
  'PortBindings',
  'NetworkMode',
  'RestartPolicy',
  'AutoRemove',
  'PublishAllPorts',
  'Privileged',
  'ReadonlyRootfs',
  'CapAdd',
  'CapDrop',
  'Dns',
  'DnsSearch',
  'DnsOptions',
  'ExtraHosts',
  'Init',
  'Runtime',
  'Memory',
  'MemorySwap',
  'CpuShares',
  'NanoCpus',
  'CpuQuota',
  'CpuPeriod',
  'PidsLimit',
  'Mounts',
  'Tmpfs',
  'ShmSize',
  'Sysctls',
  'OomScoreAdj',
  'SecurityOpt',
  'Ulimits',
  'LogConfig',
  // values the docker CLI always sends that mean "the default" here
  'ConsoleSize',
  'MemorySwappiness',
  'OomKillDisable',
  'CgroupnsMode',
  // the docker CLI writes `--cidfile` itself; dockerd ignores the path it also sends
  'ContainerIDFile',
  // taken by createContainer: resolving them needs the engine
  'Links',
];

/** Zero values: what a client sends for "not set" (null, false, 0, '', and empty lists/objects). */
function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.every(isZero);
  if (typeof v === 'object') return Object.values(v as Obj).every(isZero);
  return false;
}

/** Fields that are maps (name → value): any key sets them, even with an empty value. */
const MAP_FIELDS = ['Volumes', 'ExposedPorts', 'Labels', 'Tmpfs', 'Sysctls', 'StorageOpt', 'Annotations'];

function refuseUnmapped(body: Obj, known: string[], where: string): void {
  for (const [key, value] of Object.entries(body)) {
    const unset =
      MAP_FIELDS.includes(key) && value !== null && typeof value === 'object'
        ? Object.keys(value).length === 0
        : isZero(value);
    if (!known.includes(key) && !unset) {
      throw new InvalidArgumentError(`${where}${key} is not supported by berth's API yet`);
    }
  }
}

function obj(v: unknown, what: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new InvalidArgumentError(`"${what}" must be an object`);
  return v as Obj;
}

function strings(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new InvalidArgumentError(`"${what}" must be a list of strings`);
  }
  return v as string[];
}

function text(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`"${what}" must be a string`);
  return v;
}

function flag(v: unknown, what: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`"${what}" must be a boolean`);
  return v;
}

function count(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new InvalidArgumentError(`"${what}" must be an integer`);
  return v;
}

function stringMap(v: unknown, what: string): Record<string, string> | undefined {
  const o = obj(v, what);
  if (Object.values(o).some((x) => typeof x !== 'string')) {
    throw new InvalidArgumentError(`"${what}" must be an object of strings`);
  }
  return Object.keys(o).length ? (o as Record<string, string>) : undefined;
}

/** `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}` as the `-p` texts the engine parses. */
function publishTexts(portBindings: Obj): string[] {
  const out: string[] = [];
  for (const [key, list] of Object.entries(portBindings)) {
    if (!/^[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/.test(key)) {
      throw new InvalidArgumentError(`invalid port "${key}" in HostConfig.PortBindings`);
    }
    const bindings = list === null ? [{}] : list;
    if (!Array.isArray(bindings))
      throw new InvalidArgumentError(`HostConfig.PortBindings["${key}"] must be a list`);
    for (const b of bindings as unknown[]) {
      const entry = obj(b, `HostConfig.PortBindings["${key}"]`);
      const ip = text(entry.HostIp, 'HostIp') ?? '';
      const port = text(entry.HostPort, 'HostPort') ?? '';
      const host = ip ? `${ip.includes(':') ? `[${ip}]` : ip}:${port}:` : port ? `${port}:` : '';
      out.push(`${host}${key}`);
    }
  }
  return out;
}

/** NetworkMode and NetworkingConfig.EndpointsConfig as the engine's network mode or requests. */
function networkOptions(
  mode: string | undefined,
  endpoints: Obj,
): Pick<ContainerCreateOptions, 'network' | 'networks'> {
  // the docker CLI names the default network "default" (or "bridge"): berth's is `berth`
  const isDefault = (n: string) => n === 'default' || n === 'bridge';
  const names = Object.keys(endpoints).filter((n) => !(isDefault(n) && isZero(endpoints[n])));
  if (mode === undefined || isDefault(mode)) {
    if (names.length === 0) return {};
  } else if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
    if (names.length > 0) throw new InvalidArgumentError(`NetworkMode "${mode}" takes no EndpointsConfig`);
    return { network: mode };
  } else if (!names.includes(mode)) names.unshift(mode);
  const networks: NetworkRequest[] = names.map((name) => {
    const e = obj(endpoints[name], `EndpointsConfig.${name}`);
    const ipam = obj(e.IPAMConfig, `EndpointsConfig.${name}.IPAMConfig`);
    const aliases = strings(e.Aliases, `EndpointsConfig.${name}.Aliases`);
    const ipv4 = text(ipam.IPv4Address, 'IPv4Address');
    const ipv6 = text(ipam.IPv6Address, 'IPv6Address');
    const mac = text(e.MacAddress, 'MacAddress');
    return {
      name: isDefault(name) ? 'berth' : name,
      ...(aliases?.length ? { aliases } : {}),
      ...(ipv4 ? { ipv4 } : {}),
      ...(ipv6 ? { ipv6 } : {}),
      ...(mac ? { mac } : {}),
    };
  });
  return { networks };
}

/** HostConfig.Mounts: a list of objects. */
function mountList(v: unknown): Obj[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidArgumentError('"HostConfig.Mounts" must be a list');
  return v.map((m, i) => obj(m, `HostConfig.Mounts[${i}]`));
}

/** One HostConfig.Mounts entry as the `--mount` text the engine parses (and checks). */
function mountText(m: Obj): string {
  refuseUnmapped(
    m,
    ['Type', 'Source', 'Target', 'ReadOnly', 'Consistency', 'BindOptions', 'VolumeOptions', 'TmpfsOptions'],
    'Mounts.',
  );
  const type = text(m.Type, 'Mounts.Type') ?? 'volume';
  const source = text(m.Source, 'Mounts.Source') ?? '';
  const target = text(m.Target, 'Mounts.Target') ?? '';
  for (const [what, v] of [
    ['Source', source],
    ['Target', target],
  ] as const) {
    if (/[,"\n]/.test(v))
      throw new InvalidArgumentError(`Mounts.${what} "${v}": a comma, quote or newline is not supported`);
  }
  const parts = [`type=${type}`, ...(source ? [`source=${source}`] : []), `target=${target}`];
  if (flag(m.ReadOnly, 'Mounts.ReadOnly')) parts.push('readonly');
  const bind = obj(m.BindOptions, 'Mounts.BindOptions');
  refuseUnmapped(bind, ['Propagation'], 'Mounts.BindOptions.');
  const propagation = text(bind.Propagation, 'BindOptions.Propagation');
  if (propagation) parts.push(`bind-propagation=${propagation}`);
  const volume = obj(m.VolumeOptions, 'Mounts.VolumeOptions');
  refuseUnmapped(volume, ['NoCopy'], 'Mounts.VolumeOptions.');
  if (flag(volume.NoCopy, 'VolumeOptions.NoCopy')) parts.push('volume-nocopy');
  const tmpfs = obj(m.TmpfsOptions, 'Mounts.TmpfsOptions');
  refuseUnmapped(tmpfs, ['SizeBytes', 'Mode'], 'Mounts.TmpfsOptions.');
  const size = count(tmpfs.SizeBytes, 'TmpfsOptions.SizeBytes');
  if (size !== undefined) parts.push(`tmpfs-size=${size}`);
  const mode = count(tmpfs.Mode, 'TmpfsOptions.Mode');
  if (mode !== undefined) parts.push(`tmpfs-mode=${mode.toString(8).padStart(4, '0')}`);
  return parts.join(',');
}

/**
 * NanoCpus (`--cpus`) as the engine's CFS quota over a period, or CpuQuota/CpuPeriod kept as
 * given (as dockerd keeps them apart: `update` may change one kind, not switch kinds).
 */
function cpuLimit(host: Obj): Pick<ContainerCreateOptions, 'cpus' | 'cpuQuota' | 'cpuPeriod'> {
  const nano = count(host.NanoCpus, 'HostConfig.NanoCpus');
  const quota = count(host.CpuQuota, 'HostConfig.CpuQuota');
  const period = count(host.CpuPeriod, 'HostConfig.CpuPeriod');
  if (nano !== undefined && (quota !== undefined || period !== undefined)) {
    throw new InvalidArgumentError('Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set');
  }
  if (nano !== undefined) return { cpus: flags.parseCpus(String(nano / 1e9)) };
  if (quota === undefined) {
    if (period !== undefined)
      throw new InvalidArgumentError('HostConfig.CpuPeriod needs HostConfig.CpuQuota');
    return {};
  }
  if (period !== undefined && (period < 1000 || period > 1_000_000))
    throw new InvalidArgumentError('CPU period must be between 1ms and 1s (1000-1000000)');
  if (quota < 1000) throw new InvalidArgumentError('CPU quota must be at least 1ms (1000)');
  return { cpuQuota: quota, ...(period !== undefined ? { cpuPeriod: period } : {}) };
}

/** HostConfig.Ulimits `[{Name, Soft, Hard}]`, checked as `--ulimit` is. */
function ulimitList(v: unknown): { name: string; soft: number; hard: number }[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidArgumentError('"HostConfig.Ulimits" must be a list');
  return v.map((u, i) => {
    const e = obj(u, `HostConfig.Ulimits[${i}]`);
    const name = text(e.Name, 'Ulimits.Name') ?? '';
    const num = (x: unknown, what: string) => {
      if (typeof x !== 'number' || !Number.isInteger(x))
        throw new InvalidArgumentError(`"Ulimits.${what}" must be an integer`);
      return x;
    };
    return flags.parseUlimit(`${name}=${num(e.Soft, 'Soft')}:${num(e.Hard, 'Hard')}`);
  });
}

/** The request body as ContainerCreateOptions (exported for the tests). */
export function createOptionsFromBody(body: Obj, name: string | undefined): ContainerCreateOptions {
  refuseUnmapped(body, CONFIG_FIELDS, '');
  const host = obj(body.HostConfig, 'HostConfig');
  refuseUnmapped(host, HOST_CONFIG_FIELDS, 'HostConfig.');
  const networking = obj(body.NetworkingConfig, 'NetworkingConfig');
  const image = text(body.Image, 'Image');
  if (!image) throw new InvalidArgumentError('"Image" is required');
  const o: ContainerCreateOptions = { image };
  if (name) o.name = name;
  const cmd = strings(body.Cmd, 'Cmd');
  const entrypoint = strings(body.Entrypoint, 'Entrypoint');
  if (entrypoint !== undefined) {
    o.entrypoint = entrypoint[0] ?? '';
    // a longer entrypoint list runs as its first word with the rest ahead of the command
    if (entrypoint.length > 1 || cmd) o.command = [...entrypoint.slice(1), ...(cmd ?? [])];
  } else if (cmd) o.command = cmd;
  const env = strings(body.Env, 'Env');
  if (env?.length) o.env = env;
  const set = <K extends keyof ContainerCreateOptions>(
    key: K,
    value: ContainerCreateOptions[K] | undefined,
  ) => {
    if (value !== undefined) o[key] = value;
  };
  set('workdir', text(body.WorkingDir, 'WorkingDir'));
  set('user', text(body.User, 'User'));
  set('hostname', text(body.Hostname, 'Hostname'));
  set('domainname', text(body.Domainname, 'Domainname'));
  set('stopSignal', text(body.StopSignal, 'StopSignal'));
  set('stopTimeout', count(body.StopTimeout, 'StopTimeout'));
  set('labels', stringMap(body.Labels, 'Labels'));
  if (flag(body.Tty, 'Tty')) o.tty = true;
  if (flag(body.OpenStdin, 'OpenStdin')) o.interactive = true;
  const exposed = Object.keys(obj(body.ExposedPorts, 'ExposedPorts'));
  if (exposed.length) o.expose = exposed.flatMap((p) => flags.parseExposeFlag(p));

  const tmpfs = stringMap(host.Tmpfs, 'HostConfig.Tmpfs') ?? {};
  const given = [
    ...(strings(host.Binds, 'HostConfig.Binds') ?? []).map((b) => flags.parseVolumeFlag(b)),
    ...mountList(host.Mounts).map((m) => flags.parseMountFlag(mountText(m))),
    ...Object.entries(tmpfs).map(([target, opts]) =>
      flags.parseTmpfsFlag(opts ? `${target}:${opts}` : target),
    ),
  ];
  // Config.Volumes are `-v /path`: anonymous volumes, except where a bind, mount or tmpfs goes
  // (docker-compose lists the image's and the service's volume paths there as well)
  const covered = new Set(given.map((m) => m.target));
  const anonymous = Object.keys(obj(body.Volumes, 'Volumes'))
    .map((v) => flags.parseVolumeFlag(v))
    .filter((m) => !covered.has(m.target));
  const mounts = [...given, ...anonymous];
  const targets = new Set<string>();
  for (const m of mounts) {
    if (targets.has(m.target)) throw new InvalidArgumentError(`Duplicate mount point: ${m.target}`);
    targets.add(m.target);
  }
  if (mounts.length) o.mounts = mounts;
  const ports = publishTexts(obj(host.PortBindings, 'HostConfig.PortBindings'));
  if (ports.length) o.ports = ports.flatMap((p) => flags.parsePublishFlag(p));
  if (flag(host.PublishAllPorts, 'HostConfig.PublishAllPorts')) o.publishAll = true;
  Object.assign(
    o,
    networkOptions(
      text(host.NetworkMode, 'HostConfig.NetworkMode'),
      obj(networking.EndpointsConfig, 'EndpointsConfig'),
    ),
  );
  const restart = obj(host.RestartPolicy, 'HostConfig.RestartPolicy');
  const restartName = text(restart.Name, 'RestartPolicy.Name');
  if (restartName && restartName !== 'no') {
    const retries = count(restart.MaximumRetryCount, 'RestartPolicy.MaximumRetryCount');
    o.restart = flags.parseRestartPolicy(retries ? `${restartName}:${retries}` : restartName);
  }
  if (flag(host.AutoRemove, 'HostConfig.AutoRemove')) o.autoRemove = true;
  if (flag(host.Privileged, 'HostConfig.Privileged')) o.privileged = true;
  if (flag(host.ReadonlyRootfs, 'HostConfig.ReadonlyRootfs')) o.readOnly = true;
  if (flag(host.Init, 'HostConfig.Init')) o.init = true;
  const list = (key: 'capAdd' | 'capDrop' | 'dns' | 'dnsSearch' | 'dnsOptions', field: string) => {
    const v = strings(host[field], `HostConfig.${field}`);
    if (v?.length) o[key] = v;
  };
  list('capAdd', 'CapAdd');
  list('capDrop', 'CapDrop');
  list('dns', 'Dns');
  list('dnsSearch', 'DnsSearch');
  list('dnsOptions', 'DnsOptions');
  const extraHosts = strings(host.ExtraHosts, 'HostConfig.ExtraHosts');
  if (extraHosts?.length) o.addHosts = extraHosts.map((h) => flags.parseAddHostFlag(h));
  set('runtime', text(host.Runtime, 'HostConfig.Runtime'));
  set('memory', count(host.Memory, 'HostConfig.Memory'));
  set('memorySwap', count(host.MemorySwap, 'HostConfig.MemorySwap'));
  set('cpuShares', count(host.CpuShares, 'HostConfig.CpuShares'));
  Object.assign(o, cpuLimit(host));
  const ulimits = ulimitList(host.Ulimits);
  if (ulimits.length) o.ulimits = ulimits;
  for (const so of strings(host.SecurityOpt, 'HostConfig.SecurityOpt') ?? []) {
    Object.assign(o, flags.parseSecurityOpt(so, { content: true }));
  }
  const pids = count(host.PidsLimit, 'HostConfig.PidsLimit');
  // 0 and -1 both mean "no limit" to docker
  if (pids !== undefined && pids > 0) o.pidsLimit = pids;
  const swappiness = host.MemorySwappiness;
  if (swappiness !== undefined && swappiness !== null && swappiness !== -1) {
    throw new InvalidArgumentError("HostConfig.MemorySwappiness is not supported by berth's API yet");
  }
  if (flag(host.OomKillDisable, 'HostConfig.OomKillDisable')) {
    throw new InvalidArgumentError("HostConfig.OomKillDisable is not supported by berth's API yet");
  }
  const cgroupns = text(host.CgroupnsMode, 'HostConfig.CgroupnsMode');
  if (cgroupns && cgroupns !== 'private') {
    throw new InvalidArgumentError(
      `HostConfig.CgroupnsMode "${cgroupns}" is not supported by berth's API yet`,
    );
  }
  set('shmSize', count(host.ShmSize, 'HostConfig.ShmSize'));
  const sysctls = stringMap(host.Sysctls, 'HostConfig.Sysctls');
  if (sysctls) o.sysctls = flags.parseSysctls(sysctls, o.network === 'host');
  set('oomScoreAdj', count(host.OomScoreAdj, 'HostConfig.OomScoreAdj'));
  const logConfig = obj(host.LogConfig, 'HostConfig.LogConfig');
  set(
    'log',
    flags.parseLogConfig(
      text(logConfig.Type, 'LogConfig.Type'),
      stringMap(logConfig.Config, 'LogConfig.Config') ?? {},
    ),
  );
  return o;
}

/**
 * Legacy links (`NAME[:ALIAS]`, which docker-compose sends for `run`) as hosts entries for the
 * linked containers' current addresses, as docker writes them on its default network. A linked
 * container that is missing is a 404; one without an address (not running) a 400.
 */
async function linkHosts(engine: Engine, links: string[]): Promise<{ name: string; ip: string }[]> {
  const out = new Map<string, { name: string; ip: string }>();
  for (const link of links) {
    const [target = '', alias] = link.replace(/^\//, '').split(':');
    const linked = await engine.inspectContainer(target);
    const ip = Object.values(linked.NetworkSettings.Networks ?? {})
      .map((n) => n.IPAddress)
      .find((a) => a);
    if (!ip) throw new InvalidArgumentError(`cannot link to ${target}: it has no address (is it running?)`);
    for (const name of new Set([alias?.replace(/^.*\//, '') || target, target])) {
      out.set(name, flags.parseAddHostFlag(`${name}:${ip}`));
    }
  }
  return [...out.values()];
}

/** Docker does not pull on create: a missing image is a 404 and the client pulls. */
export async function createContainer(engine: Engine, req: Request): Promise<Reply> {
  onlyParams(req.query, ['name', 'platform']);
  const name = req.query.get('name') || undefined;
  const { body, warnings } = createBodyForVersion(await readObject(req), req.version);
  const options = createOptionsFromBody(body, name);
  const links = strings(obj(body.HostConfig, 'HostConfig').Links, 'HostConfig.Links');
  if (links?.length) options.addHosts = [...(options.addHosts ?? []), ...(await linkHosts(engine, links))];
  engine.resolveImage(options.image);
  const rec = await engine.createContainer(options, { pull: 'never' });
  return { status: 201, body: { Id: rec.id, Warnings: warnings } };
}
