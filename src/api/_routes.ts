// The system and container endpoints: each one parses its input, calls one Engine method and
// maps the engine's report to Docker's JSON shape. No engine logic lives here.
import { arch, hostname, release } from 'node:os';
import {
  type ContainerInspect,
  type ContainerSummary,
  containerStatusText,
  type Engine,
  flags,
  portList,
} from '../engine/index.js';
import { hasCode, InvalidArgumentError } from '../errors/index.js';
import { createContainer } from './_create.js';
import type { HijackRegistry } from './_hijack.js';
import {
  API_VERSION,
  filterInput,
  HttpError,
  MIN_API_VERSION,
  onlyParams,
  queryBool,
  queryInt,
  type Reply,
  type Request,
  Router,
} from './_http.js';
import { addBuildRoutes } from './_routes-build.js';
import { addContainerExtraRoutes } from './_routes-container-extra.js';
import { addExecRoutes } from './_routes-exec.js';
import { addObjectRoutes } from './_routes-objects.js';
import { addStreamRoutes } from './_routes-streams.js';
import { addUpdateRoute } from './_routes-update.js';
import { containerInspectShape } from './_versions.js';

const GOARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

export function buildRouter(engine: Engine, serverVersion: string, hijack: HijackRegistry): Router {
  const r = new Router();
  const ping = (): Reply => ({ status: 200, text: 'OK' });
  const pingHandler = (req: Request): Reply => {
    req.res.setHeader('API-Version', API_VERSION);
    req.res.setHeader('Builder-Version', '1');
    req.res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    req.res.setHeader('Pragma', 'no-cache');
    req.res.setHeader('Swarm', 'inactive');
    return ping();
  };
  r.add('GET', '/_ping', pingHandler);
  r.add('HEAD', '/_ping', pingHandler);

  r.add('GET', '/version', () => ({
    status: 200,
    body: {
      Platform: { Name: 'berth' },
      Components: [
        {
          Name: 'Engine',
          Version: serverVersion,
          Details: {
            ApiVersion: API_VERSION,
            MinAPIVersion: MIN_API_VERSION,
            Arch: GOARCH[arch()] ?? arch(),
            Os: 'linux',
            KernelVersion: release(),
            GitCommit: '',
            GoVersion: `node${process.versions.node}`,
            BuildTime: '',
            Experimental: 'false',
          },
        },
      ],
      Version: serverVersion,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: '',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: GOARCH[arch()] ?? arch(),
      KernelVersion: release(),
      BuildTime: '',
    },
  }));

  r.add('GET', '/info', async () => {
    const info = engine.info();
    const all = await engine.listContainers({ all: true });
    const count = (s: string) => all.filter((c) => c.State === s).length;
    const runtimes = Object.fromEntries(Object.entries(info.Runtimes).map(([n, v]) => [n, { path: v.path }]));
    return {
      status: 200,
      body: {
        ID: '',
        Containers: all.length,
        ContainersRunning: count('running'),
        ContainersPaused: count('paused'),
        ContainersStopped: all.length - count('running') - count('paused'),
        Images: info.Images,
        Driver: 'overlay',
        DriverStatus: [],
        DockerRootDir: info.DockerRootDir,
        Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: [] },
        MemoryLimit: true,
        SwapLimit: true,
        CpuCfsPeriod: true,
        CpuCfsQuota: true,
        CPUShares: true,
        PidsLimit: true,
        IPv4Forwarding: true,
        Debug: false,
        OomKillDisable: false,
        NGoroutines: 0,
        SystemTime: new Date().toISOString(),
        LoggingDriver: 'k8s-file',
        CgroupDriver: 'cgroupfs',
        CgroupVersion: info.CgroupVersion,
        NEventsListener: 0,
        KernelVersion: info.KernelVersion,
        OperatingSystem: info.OperatingSystem,
        OSVersion: '',
        OSType: 'linux',
        Architecture: info.Architecture,
        NCPU: info.NCPU,
        MemTotal: info.MemTotal,
        IndexServerAddress: 'https://index.docker.io/v1/',
        RegistryConfig: null,
        GenericResources: null,
        HttpProxy: process.env.HTTP_PROXY ?? '',
        HttpsProxy: process.env.HTTPS_PROXY ?? '',
        NoProxy: process.env.NO_PROXY ?? '',
        Name: hostname(),
        Labels: [],
        ExperimentalBuild: false,
        ServerVersion: serverVersion,
        Runtimes: runtimes,
        DefaultRuntime: Object.keys(runtimes)[0] ?? 'runc',
        Swarm: { LocalNodeState: 'inactive', NodeID: '', NodeAddr: '', ControlAvailable: false, Error: '' },
        LiveRestoreEnabled: true,
        Isolation: '',
        InitBinary: '',
        SecurityOptions: [
          'name=seccomp,profile=builtin',
          ...(info.CgroupVersion === '2' ? ['name=cgroupns'] : []),
        ],
        Warnings: [],
      },
    };
  });

  addContainerRoutes(r, engine, hijack);
  addObjectRoutes(r, engine);
  addStreamRoutes(r, engine);
  addContainerExtraRoutes(r, engine);
  addExecRoutes(r, engine, hijack);
  addBuildRoutes(r, engine);
  addUpdateRoute(r, engine);
  return r;
}

/** The container list entry Docker returns, from the summary and the inspect of one container. */
export function containerListEntry(s: ContainerSummary, i: ContainerInspect, now = Date.now()) {
  return {
    Id: s.Id,
    Names: [`/${s.Name}`],
    Image: s.Image,
    ImageID: s.ImageID,
    Command: s.Command,
    Created: Math.floor(Date.parse(s.Created) / 1000),
    Ports: portList(i.NetworkSettings.Ports),
    Labels: s.Labels,
    State: s.State,
    Status: containerStatusText(s, now),
    HostConfig: { NetworkMode: i.HostConfig.NetworkMode },
    NetworkSettings: { Networks: i.NetworkSettings.Networks },
    Mounts: i.Mounts.map((m) => ({
      Type: m.Type,
      ...(m.Name !== undefined ? { Name: m.Name } : {}),
      Source: m.Source,
      Destination: m.Destination,
      Driver: m.Type === 'volume' ? 'local' : '',
      Mode: '',
      RW: m.RW,
      Propagation: '',
    })),
  };
}

function addContainerRoutes(r: Router, engine: Engine, hijack: HijackRegistry): void {
  const id = (req: Request) => req.params[0]!;

  r.add('GET', '/containers/json', async (req) => {
    // docker-py (docker-compose) sends `trunc_cmd`, which dockerd ignores
    onlyParams(req.query, ['all', 'limit', 'size', 'filters', 'before', 'since', 'trunc_cmd']);
    const filters = filterInput(req.query);
    const limit = queryInt(req.query, 'limit');
    // `before`/`since` (query or filter): containers created before/after the one named
    const before = req.query.get('before') || filters?.before?.[0];
    const since = req.query.get('since') || filters?.since?.[0];
    if (filters) {
      delete filters.before;
      delete filters.since;
    }
    const beforeAt = before ? Date.parse((await engine.inspectContainer(before)).Created) : undefined;
    const sinceAt = since ? Date.parse((await engine.inspectContainer(since)).Created) : undefined;
    const summaries = (
      await engine.listContainers({
        all:
          queryBool(req.query, 'all') ||
          (limit !== undefined && limit > 0) ||
          beforeAt !== undefined ||
          sinceAt !== undefined,
        ...(filters ? { filters } : {}),
      })
    ).filter((c) => {
      const created = Date.parse(c.Created);
      return (beforeAt === undefined || created < beforeAt) && (sinceAt === undefined || created > sinceAt);
    });
    const picked = limit !== undefined && limit > 0 ? summaries.slice(0, limit) : summaries;
    const now = Date.now();
    const out = [];
    for (const s of picked) {
      try {
        out.push(containerListEntry(s, await engine.inspectContainer(s.Id), now));
      } catch (err) {
        // removed between the list and its inspect: it is no longer in the list
        if (!hasCode(err, 'NOT_FOUND')) throw err;
      }
    }
    return { status: 200, body: out };
  });

  r.add('POST', '/containers/create', (req) => createContainer(engine, req));

  r.add('GET', '/containers/{id}/json', async (req) => {
    onlyParams(req.query, ['size']);
    return { status: 200, body: containerInspectShape(await engine.inspectContainer(id(req)), req.version) };
  });

  r.add('POST', '/containers/{id}/start', async (req) => {
    onlyParams(req.query, ['detachKeys']);
    const c = await engine.inspectContainer(id(req));
    if (c.State.Running) return { status: 304 };
    // The service records the exit itself, as `berth run` does: an attach that follows the log
    // waits for it, else a wait of its own. conmon's exit command (a whole berth process per
    // exit) is then not needed; a restart policy still needs it, for the exits after a restart.
    // Should the service die first, the next list or inspect records the exit (reconcile).
    const policy = c.HostConfig.RestartPolicy?.Name ?? 'no';
    const callerCleansUp = policy === '' || policy === 'no';
    const followsLog = hijack.followsLog(c.Id);
    const beforeStart = hijack.beforeStart(engine, c.Id, { recordsExit: callerCleansUp });
    try {
      await engine.startContainer(c.Id, {
        ...(beforeStart ? { beforeStart } : {}),
        ...(callerCleansUp ? { callerCleansUp } : {}),
      });
    } catch (err) {
      hijack.afterStart(c.Id, false);
      throw err;
    }
    hijack.afterStart(c.Id, true);
    if (callerCleansUp && !followsLog) void engine.waitContainer(c.Id).catch(() => {});
    return { status: 204 };
  });

  r.add('POST', '/containers/{id}/stop', async (req) => {
    onlyParams(req.query, ['t', 'signal']);
    const options = stopOptions(req.query);
    const c = await engine.inspectContainer(id(req));
    if (!c.State.Running) return { status: 304 };
    await engine.stopContainer(id(req), options);
    return { status: 204 };
  });

  r.add('POST', '/containers/{id}/restart', async (req) => {
    onlyParams(req.query, ['t', 'signal']);
    await engine.restartContainer(id(req), stopOptions(req.query));
    return { status: 204 };
  });

  r.add('POST', '/containers/{id}/kill', async (req) => {
    onlyParams(req.query, ['signal']);
    const signal = req.query.get('signal') || undefined;
    const c = await engine.inspectContainer(id(req));
    if (!c.State.Running) throw new HttpError(409, `container ${id(req)} is not running`);
    await engine.killContainer(id(req), signal);
    return { status: 204 };
  });

  r.add('POST', '/containers/{id}/pause', async (req) => {
    await engine.pauseContainer(id(req));
    return { status: 204 };
  });

  r.add('POST', '/containers/{id}/unpause', async (req) => {
    await engine.unpauseContainer(id(req));
    return { status: 204 };
  });

  r.add('POST', '/containers/{id}/rename', async (req) => {
    onlyParams(req.query, ['name']);
    const name = req.query.get('name');
    if (!name) throw new InvalidArgumentError('rename: the "name" query parameter is required');
    await engine.renameContainer(id(req), name);
    return { status: 204 };
  });

  r.add('DELETE', '/containers/{id}', async (req) => {
    onlyParams(req.query, ['force', 'v', 'link']);
    if (queryBool(req.query, 'link')) throw new InvalidArgumentError('legacy links are not supported');
    const removed = await engine.removeContainer(id(req), {
      force: queryBool(req.query, 'force'),
      volumes: queryBool(req.query, 'v'),
    });
    hijack.removed(removed.Id);
    return { status: 204 };
  });

  r.add('POST', '/containers/{id}/wait', async (req) => waitContainer(engine, req));

  r.add('POST', '/containers/prune', async (req) => {
    onlyParams(req.query, ['filters']);
    const filters = filterInput(req.query);
    if (filters && Object.keys(filters).length > 0) {
      throw new InvalidArgumentError(
        `container prune filters are not supported yet: ${Object.keys(filters).join(', ')}`,
      );
    }
    const report = await engine.pruneContainers();
    return { status: 200, body: { ContainersDeleted: report.deleted, SpaceReclaimed: 0 } };
  });
}

const WAIT_CONDITIONS = ['not-running', 'next-exit', 'removed'];

/**
 * `wait`: the headers go out at once (the docker client waits for them before it starts the
 * container), the body when the condition is met: `{"StatusCode": N, "Error": null}`.
 * not-running: now if it is not running; next-exit: its next exit, even when it has not started
 * yet; removed: its next exit (if it is running or about to be), then its removal.
 */
async function waitContainer(engine: Engine, req: Request): Promise<Reply | undefined> {
  onlyParams(req.query, ['condition']);
  const condition = req.query.get('condition') || 'not-running';
  if (!WAIT_CONDITIONS.includes(condition)) {
    throw new InvalidArgumentError(
      `invalid condition "${condition}": expected one of ${WAIT_CONDITIONS.join(', ')}`,
    );
  }
  // the journal is read from here on, so an exit between this line and the next is not missed
  const since = (Date.now() / 1000).toFixed(6);
  const before = await engine.inspectContainer(req.params[0]!);
  req.res.writeHead(200, { 'Content-Type': 'application/json' });
  req.res.flushHeaders();
  let code = before.State.ExitCode;
  let error: { Message: string } | null = null;
  try {
    if (before.State.Running) code = await engine.waitContainer(before.Id, { signal: req.signal });
    if (condition !== 'not-running') {
      const events = engine.events(
        { since, filters: { type: ['container'], container: [before.Id], event: ['die', 'destroy'] } },
        { signal: req.signal },
      );
      const waitFor = condition === 'removed' ? 'destroy' : 'die';
      for await (const e of events) {
        if (e.Action === 'die') code = Number(e.Actor.Attributes.exitCode ?? code);
        if (e.Action === waitFor || e.Action === 'destroy') break;
      }
    }
  } catch (err) {
    if (req.signal.aborted) return undefined;
    code = -1;
    error = { Message: err instanceof Error ? err.message : String(err) };
  }
  if (req.signal.aborted) return undefined;
  req.res.end(`${JSON.stringify({ StatusCode: code, Error: error })}\n`);
  return undefined;
}

/** `t` (seconds; negative is the container's own timeout) and `signal` (1.42+) of stop and restart. */
function stopOptions(q: URLSearchParams): { timeout?: number; signal?: string } {
  const timeout = queryInt(q, 't');
  const signal = q.get('signal') || undefined;
  if (signal !== undefined) flags.parseSignal(signal);
  return {
    ...(timeout !== undefined && timeout >= 0 ? { timeout } : {}),
    ...(signal !== undefined ? { signal } : {}),
  };
}
