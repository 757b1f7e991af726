import type { ContainerRecord, Engine, StoredContainerConfig } from '../../../engine/index.js';
import { type CommandSpec, type ParsedArgs, str } from '../../args.js';
import type { CommandContext } from '../../context.js';
import { FORMAT_FLAG } from '../_common.js';
import { printInspect } from '../image/inspect.js';

export const spec: CommandSpec = {
  usage: 'container inspect [OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Display detailed information on one or more containers',
  args: { min: 1, max: Number.POSITIVE_INFINITY },
  flags: [FORMAT_FLAG],
};

/** `docker container inspect`-shaped JSON. */
export function containerInspect(engine: Engine, rec: ContainerRecord): Record<string, unknown> {
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
      StartedAt: rec.startedAt ?? '0001-01-01T00:00:00Z',
      FinishedAt: rec.finishedAt ?? '0001-01-01T00:00:00Z',
    },
    Image: rec.imageId,
    ResolvConfPath: `${engine.containers.userdataDir(rec.id)}/resolv.conf`,
    HostnamePath: `${engine.containers.userdataDir(rec.id)}/hostname`,
    HostsPath: `${engine.containers.userdataDir(rec.id)}/hosts`,
    LogPath: engine.containers.logPath(rec.id),
    Name: `/${rec.name}`,
    RestartCount: rec.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    HostConfig: {
      Binds: (o.mounts ?? [])
        .filter((m) => m.type === 'bind')
        .map((m) => `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`),
      NetworkMode: o.network ?? 'none',
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
        ...(o.noNewPrivileges ? ['no-new-privileges'] : []),
      ],
      Memory: o.memory ?? 0,
      MemorySwap: o.memorySwap ?? 0,
      NanoCpus: o.cpus ? Math.round((o.cpus.quota / o.cpus.period) * 1e9) : 0,
      CpuShares: o.cpuShares ?? 0,
      PidsLimit: o.pidsLimit ?? null,
      Ulimits: (o.ulimits ?? []).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      Init: o.init === true,
      Runtime: o.runtime ?? 'auto',
    },
    Mounts: (o.mounts ?? []).map((m) => ({
      Type: m.type,
      Name: m.type === 'volume' ? m.source : undefined,
      Source: m.type === 'volume' ? engine.store.volumePath(m.source) : m.source,
      Destination: m.target,
      RW: !m.readOnly,
    })),
    Config: {
      Hostname: cfg.hostname,
      User: o.user ?? '',
      Tty: o.tty === true,
      OpenStdin: o.interactive === true,
      Env: cfg.env,
      Cmd: o.command ?? null,
      Image: cfg.imageName,
      WorkingDir: cfg.workdir,
      Entrypoint: o.entrypoint === undefined ? null : [o.entrypoint],
      Labels: rec.labels,
      StopSignal: cfg.stopSignal,
      StopTimeout: cfg.stopTimeout,
    },
  };
}

export async function run(ctx: CommandContext, { flags, args }: ParsedArgs) {
  const engine = await ctx.engine();
  return printInspect(ctx, args, str(flags, 'format'), async (ref) => {
    const rec = await engine.containers.reconcile(engine.containers.get(ref));
    return containerInspect(engine, rec ?? engine.containers.get(ref));
  });
}
