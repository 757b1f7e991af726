// Docker-shaped renderings of store records: what `inspect`, `ps` and `volume ls` show and what
// the Docker API will return as JSON. Pure functions over plain data, so every front end gets
// the same shape.
import {
  type ContainerCreateOptions,
  formatPortsColumn,
  liveNetStatus,
  type StoredContainerConfig,
} from '../container/index.js';
import type { ContainerRecord, VolumeRecord } from '../store/index.js';
import { formatNetworkSettings, type NetworkSettings } from './_format-endpoints.js';

/** Docker's zero time, for a container that never started or never finished. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** `docker container inspect`, the fields berth knows. */
export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string | undefined;
  Args: string[];
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    Dead: boolean;
    Pid: number;
    ExitCode: number;
    Error: string;
    StartedAt: string;
    FinishedAt: string;
  };
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  /** With docker's leading '/'. */
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  HostConfig: {
    Binds: string[];
    NetworkMode: string;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    AutoRemove: boolean;
    CapAdd: string[] | null;
    CapDrop: string[] | null;
    Privileged: boolean;
    ReadonlyRootfs: boolean;
    SecurityOpt: string[];
    Memory: number;
    MemorySwap: number;
    MemoryReservation: number;
    NanoCpus: number;
    CpuShares: number;
    CpuQuota: number;
    CpuPeriod: number;
    CpusetCpus: string;
    CpusetMems: string;
    BlkioWeight: number;
    PidsLimit: number | null;
    Ulimits: { Name: string; Soft: number; Hard: number }[];
    Init: boolean;
    Runtime: string;
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
    PublishAllPorts: boolean;
    Dns: string[];
    DnsSearch: string[];
    DnsOptions: string[];
    ExtraHosts: string[] | null;
    LogConfig: { Type: string; Config: Record<string, string> };
    Tmpfs: Record<string, string> | null;
  };
  Mounts: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[];
  Config: {
    Hostname: string;
    User: string;
    Tty: boolean;
    OpenStdin: boolean;
    AttachStdin: boolean;
    AttachStdout: boolean;
    AttachStderr: boolean;
    StdinOnce: boolean;
    Env: string[];
    Cmd: string[] | null;
    Image: string;
    WorkingDir: string;
    Entrypoint: string[] | null;
    Labels: Record<string, string>;
    StopSignal: string;
    StopTimeout: number;
    ExposedPorts?: Record<string, Record<string, never>>;
    Domainname: string;
  };
  NetworkSettings: NetworkSettings;
}

/** Where the paths inspect reports live; the container manager and the store know them. */
export interface ContainerPaths {
  userdataDir: string;
  logPath: string;
  volumePath(name: string): string;
}

export function formatContainerInspect(rec: ContainerRecord, paths: ContainerPaths): ContainerInspect {
  const cfg = rec.config as StoredContainerConfig;
  const o = cfg.options;
  const running = rec.state === 'running' || rec.state === 'paused';
  return {
    Id: rec.id,
    Created: rec.createdAt,
    Path: cfg.args[0],
    Args: cfg.args.slice(1),
    State: {
      Status: rec.state,
      Running: running,
      Paused: rec.state === 'paused',
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? (rec.pid ?? 0) : 0,
      ExitCode: rec.exitCode ?? 0,
      Error: '',
      StartedAt: rec.startedAt ?? ZERO_TIME,
      FinishedAt: rec.finishedAt ?? ZERO_TIME,
    },
    Image: rec.imageId,
    ResolvConfPath: `${paths.userdataDir}/resolv.conf`,
    HostnamePath: `${paths.userdataDir}/hostname`,
    HostsPath: `${paths.userdataDir}/hosts`,
    LogPath: paths.logPath,
    Name: `/${rec.name}`,
    RestartCount: rec.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    HostConfig: {
      Binds: (o.mounts ?? [])
        .filter((m) => m.type === 'bind')
        .map((m) => `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`),
      NetworkMode: o.network ?? o.networks?.[0]?.name ?? 'none',
      RestartPolicy: {
        Name: o.restart?.name ?? 'no',
        MaximumRetryCount: o.restart?.name === 'on-failure' ? o.restart.maxRetries : 0,
      },
      AutoRemove: o.autoRemove === true,
      CapAdd: o.capAdd ?? null,
      CapDrop: o.capDrop ?? null,
      Privileged: o.privileged === true,
      ReadonlyRootfs: o.readOnly === true,
      SecurityOpt: [
        ...(o.seccomp === 'unconfined' ? ['seccomp=unconfined'] : []),
        // as docker: the profile's content, which `create` read and stored
        ...(typeof o.seccomp === 'object' && o.seccomp.profile !== undefined
          ? [`seccomp=${JSON.stringify(o.seccomp.profile)}`]
          : []),
        ...(o.noNewPrivileges ? ['no-new-privileges'] : []),
      ],
      Memory: o.memory ?? 0,
      MemorySwap: o.memorySwap ?? 0,
      MemoryReservation: o.memoryReservation ?? 0,
      NanoCpus: o.cpus ? Math.round((o.cpus.quota / o.cpus.period) * 1e9) : 0,
      CpuShares: o.cpuShares ?? 0,
      CpuQuota: o.cpuQuota ?? 0,
      CpuPeriod: o.cpuPeriod ?? 0,
      CpusetCpus: o.cpusetCpus ?? '',
      CpusetMems: o.cpusetMems ?? '',
      BlkioWeight: o.blkioWeight ?? 0,
      PidsLimit: o.pidsLimit ?? null,
      Ulimits: (o.ulimits ?? []).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      Init: o.init === true,
      Runtime: o.runtime ?? 'auto',
      PortBindings: portBindingsRequested(o.ports ?? []),
      PublishAllPorts: o.publishAll === true,
      Dns: o.dns ?? [],
      DnsSearch: o.dnsSearch ?? [],
      DnsOptions: o.dnsOptions ?? [],
      ExtraHosts: o.addHosts?.length ? o.addHosts.map((h) => `${h.name}:${h.ip}`) : null,
      // Docker's name for the default: a file that `logs` reads (compose checks it)
      LogConfig: {
        Type: o.log?.driver ?? 'json-file',
        Config: o.log?.maxSize !== undefined ? { 'max-size': String(o.log.maxSize) } : {},
      },
      Tmpfs: tmpfsMap(o.mounts ?? []),
    },
    Mounts: (o.mounts ?? []).map((m) => ({
      Type: m.type,
      Name: m.type === 'volume' ? m.source : undefined,
      Source: m.type === 'volume' ? paths.volumePath(m.source) : m.source,
      Destination: m.target,
      RW: !m.readOnly,
    })),
    Config: {
      Hostname: cfg.hostname,
      User: o.user ?? '',
      Tty: o.tty === true,
      OpenStdin: o.interactive === true,
      // how the creating client meant to attach is not recorded: its output can always be
      // attached, its stdin when kept open (dockerpty, behind `docker-compose run`, reads these)
      AttachStdin: o.interactive === true,
      AttachStdout: true,
      AttachStderr: true,
      StdinOnce: false,
      Env: cfg.env,
      Cmd: o.command ?? null,
      Image: cfg.imageName,
      WorkingDir: cfg.workdir,
      Entrypoint: o.entrypoint === undefined ? null : [o.entrypoint],
      Labels: rec.labels,
      StopSignal: cfg.stopSignal,
      StopTimeout: cfg.stopTimeout,
      ...(cfg.exposedPorts?.length
        ? { ExposedPorts: Object.fromEntries(cfg.exposedPorts.map((p) => [p, {}])) }
        : {}),
      Domainname: o.domainname ?? '',
    },
    NetworkSettings: formatNetworkSettings(rec),
  };
}

/** HostConfig.PortBindings: what -p asked for (host port "" when random). */
function portBindingsRequested(
  ports: NonNullable<StoredContainerConfig['options']['ports']>,
): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    (out[key] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort ? String(p.hostPort) : '' });
  }
  return out;
}

/** One row of `ps`: the record's facts, with the command line the container runs. */
export interface ContainerSummary {
  Id: string;
  /** Without docker's leading '/'. */
  Name: string;
  /** The image as the user named it. */
  Image: string;
  ImageID: string;
  /** Entrypoint and command, space-separated. */
  Command: string;
  /** ISO 8601. */
  Created: string;
  StartedAt: string | null;
  FinishedAt: string | null;
  State: string;
  ExitCode: number | null;
  Labels: Record<string, string>;
  /** Published ports while it runs, as `ps` shows them. */
  Ports: string;
  /** The networks it joined (or its network mode). */
  Networks: string[];
}

export function formatContainerSummary(rec: ContainerRecord): ContainerSummary {
  const cfg = rec.config as StoredContainerConfig;
  return {
    Id: rec.id,
    Name: rec.name,
    Image: cfg.imageName,
    ImageID: rec.imageId,
    Command: cfg.args.join(' '),
    Created: rec.createdAt,
    StartedAt: rec.startedAt,
    FinishedAt: rec.finishedAt,
    State: rec.state,
    ExitCode: rec.exitCode,
    Labels: rec.labels,
    Ports: formatPortsColumn(liveNetStatus(rec)?.ports ?? [], { exposed: cfg.exposedPorts ?? [] }),
    Networks:
      cfg.options.network !== undefined
        ? [cfg.options.network]
        : (cfg.options.networks ?? []).map((n) => n.name),
  };
}

/** `docker volume inspect`. */
export interface VolumeInspect {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string>;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string>;
  Scope: string;
}

export function formatVolume(v: VolumeRecord): VolumeInspect {
  return {
    CreatedAt: v.createdAt,
    Driver: 'local',
    Labels: v.labels,
    Mountpoint: v.path,
    Name: v.name,
    Options: v.options,
    Scope: 'local',
  };
}

/** How long ago, in docker's words ("5 seconds", "About a minute", "3 hours"); 'N/A' without a time. */
export function humanDuration(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'N/A';
  const t = Date.parse(iso);
  if (Number.isNaN(t) || t <= 0) return 'N/A';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? 'About a minute' : `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h < 48) return h === 1 ? 'About an hour' : `${h} hours`;
  const d = Math.round(s / 86400);
  if (d < 14) return `${d} days`;
  if (d < 60) return `${Math.round(d / 7)} weeks`;
  if (d < 730) return `${Math.round(d / 30)} months`;
  return `${Math.round(d / 365)} years`;
}

/** docker's STATUS text of a container: "Up 5 seconds", "Exited (0) 3 seconds ago", "Created". */
export function containerStatusText(
  c: Pick<ContainerSummary, 'State' | 'StartedAt' | 'FinishedAt' | 'ExitCode'>,
  now = Date.now(),
): string {
  switch (c.State) {
    case 'running':
      return `Up ${humanDuration(c.StartedAt, now)}`;
    case 'paused':
      return `Up ${humanDuration(c.StartedAt, now)} (Paused)`;
    case 'exited': {
      const ago = humanDuration(c.FinishedAt, now);
      return `Exited (${c.ExitCode ?? 0}) ${ago === 'N/A' ? ago : `${ago} ago`}`;
    }
    case 'created':
      return 'Created';
    default:
      return c.State.charAt(0).toUpperCase() + c.State.slice(1);
  }
}

/** One entry of the API's container list `Ports`: published (with IP and PublicPort) or only exposed. */
export interface PortListEntry {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** NetworkSettings.Ports (`{"80/tcp": [{HostIp, HostPort}] | null}`) as the container list's Ports. */
export function portList(ports: NetworkSettings['Ports']): PortListEntry[] {
  const out: PortListEntry[] = [];
  for (const [key, bindings] of Object.entries(ports)) {
    const [port, proto] = key.split('/');
    const PrivatePort = Number(port);
    const Type = proto ?? 'tcp';
    if (!bindings || bindings.length === 0) {
      out.push({ PrivatePort, Type });
      continue;
    }
    for (const b of bindings) {
      out.push({ IP: b.HostIp || '0.0.0.0', PrivatePort, PublicPort: Number(b.HostPort), Type });
    }
  }
  return out;
}

/** `--tmpfs` mounts as Docker's HostConfig.Tmpfs map (target → options); null when none. */
function tmpfsMap(mounts: NonNullable<ContainerCreateOptions['mounts']>): Record<string, string> | null {
  const t = mounts.filter((m) => m.type === 'tmpfs');
  if (!t.length) return null;
  return Object.fromEntries(
    t.map((m) => [m.target, [...(m.readOnly ? ['ro'] : []), ...m.options].join(',')]),
  );
}
