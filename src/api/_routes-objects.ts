// Image, network and volume endpoints: input checked here, the work done by Engine methods,
// the engine's Docker-shaped reports returned (the lists regrouped as Docker's list shapes).
import type { Engine, NetworkCreateOptions, NetworkDriver } from '../engine/index.js';
import { BerthError, hasCode, InvalidArgumentError } from '../errors/index.js';
import {
  compareVersions,
  filterInput,
  HttpError,
  onlyParams,
  queryBool,
  type Reply,
  type Router,
  readObject,
} from './_http.js';
import { addImageExtraRoutes } from './_routes-images.js';
import { imageInspectShape, imageListShape } from './_versions.js';

function str(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`"${key}" must be a string`);
  return v;
}

function bool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`"${key}" must be a boolean`);
  return v;
}

function stringMap(body: Record<string, unknown>, key: string): Record<string, string> | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new InvalidArgumentError(`"${key}" must be an object of strings`);
  }
  return v as Record<string, string>;
}

/** Refuse body fields outside `known`, so a typo is a 400 rather than silently ignored. */
function onlyFields(body: Record<string, unknown>, known: string[], what: string): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) throw new InvalidArgumentError(`${what}: unknown field "${key}"`);
  }
}

export function addObjectRoutes(r: Router, engine: Engine): void {
  addImageRoutes(r, engine);
  addImageExtraRoutes(r, engine);
  addNetworkRoutes(r, engine);
  addVolumeRoutes(r, engine);
}

function addImageRoutes(r: Router, engine: Engine): void {
  r.add('GET', '/images/json', async (req) => {
    // docker-py sends `only_ids`, which dockerd ignores
    onlyParams(req.query, ['all', 'filters', 'digests', 'shared-size', 'manifests', 'only_ids']);
    queryBool(req.query, 'all');
    queryBool(req.query, 'digests');
    const filters = filterInput(req.query);
    const rows = engine.listImages(filters ? { filters } : {});
    const ids = [...new Set(rows.map((row) => row.ID))];
    const out = [];
    for (const id of ids) {
      let inspect: Awaited<ReturnType<Engine['inspectImage']>>;
      try {
        inspect = await engine.inspectImage(id);
      } catch (err) {
        if (hasCode(err, 'NOT_FOUND')) continue;
        throw err;
      }
      const labels = (inspect.Config as { Labels?: Record<string, string> | null }).Labels ?? {};
      out.push(
        imageListShape(
          {
            Id: inspect.Id,
            ParentId: '',
            RepoTags: inspect.RepoTags,
            RepoDigests: inspect.RepoDigests,
            Created: Math.floor(Date.parse(inspect.Created) / 1000) || 0,
            Size: inspect.Size,
            SharedSize: -1,
            Labels: labels,
            Containers: -1,
          },
          req.version,
        ),
      );
    }
    return { status: 200, body: out };
  });

  r.add('GET', '/images/{name*}/json', async (req) => ({
    status: 200,
    body: imageInspectShape(await engine.inspectImage(req.params[0]!), req.version),
  }));

  r.add('DELETE', '/images/{name*}', async (req) => {
    onlyParams(req.query, ['force', 'noprune']);
    const name = req.params[0]!;
    engine.resolveImage(name);
    const [report] = await engine.removeImages([name], { force: queryBool(req.query, 'force') });
    if (report?.error !== undefined) {
      throw new BerthError(report.errorCode ?? 'INTERNAL', report.error);
    }
    return {
      status: 200,
      body: [
        ...(report?.untagged ?? []).map((u) => ({ Untagged: u })),
        ...(report?.deleted ?? []).map((d) => ({ Deleted: d })),
      ],
    };
  });

  r.add('POST', '/images/prune', async (req) => {
    onlyParams(req.query, ['filters']);
    const filters = filterInput(req.query) ?? {};
    for (const key of Object.keys(filters)) {
      if (key !== 'dangling')
        throw new InvalidArgumentError(`image prune filter "${key}" is not supported yet`);
    }
    const dangling = filters.dangling?.[0];
    const all = dangling !== undefined && ['false', '0'].includes(dangling.toLowerCase());
    const report = await engine.pruneImages({ all });
    return {
      status: 200,
      body: {
        ImagesDeleted: [
          ...report.untagged.map((u) => ({ Untagged: u })),
          ...report.deleted.map((d) => ({ Deleted: d })),
        ],
        SpaceReclaimed: report.reclaimed,
      },
    };
  });
}

const NETWORK_CREATE_FIELDS = [
  'Name',
  'CheckDuplicate',
  'Driver',
  'Scope',
  'Internal',
  'Attachable',
  'Ingress',
  'IPAM',
  'EnableIPv6',
  'Options',
  'Labels',
  'ConfigOnly',
  'ConfigFrom',
];

function networkCreateOptions(body: Record<string, unknown>): NetworkCreateOptions {
  onlyFields(body, NETWORK_CREATE_FIELDS, 'network create');
  const name = str(body, 'Name');
  if (!name) throw new InvalidArgumentError('network create: "Name" is required');
  // `Attachable` only matters to swarm-scoped networks: a local one is always attachable, and
  // docker-compose sends it for every network it creates
  bool(body, 'Attachable');
  if (bool(body, 'Ingress') || bool(body, 'ConfigOnly')) {
    throw new InvalidArgumentError('network create: swarm options (Ingress, ConfigOnly) are not supported');
  }
  const options: NetworkCreateOptions = { name };
  const driver = str(body, 'Driver');
  if (driver) options.driver = driver as NetworkDriver;
  const internal = bool(body, 'Internal');
  if (internal !== undefined) options.internal = internal;
  const ipv6 = bool(body, 'EnableIPv6');
  if (ipv6 !== undefined) options.ipv6 = ipv6;
  const labels = stringMap(body, 'Labels');
  if (labels) options.labels = labels;
  const opts = stringMap(body, 'Options');
  if (opts) options.options = opts;
  const ipam = body.IPAM;
  if (ipam !== undefined && ipam !== null) {
    if (typeof ipam !== 'object' || Array.isArray(ipam))
      throw new InvalidArgumentError('"IPAM" must be an object');
    const ipamBody = ipam as Record<string, unknown>;
    const ipamDriver = str(ipamBody, 'Driver');
    if (ipamDriver && ipamDriver !== 'default') {
      throw new InvalidArgumentError(`IPAM driver "${ipamDriver}" is not supported`);
    }
    const config = ipamBody.Config;
    if (config !== undefined && config !== null) {
      if (!Array.isArray(config)) throw new InvalidArgumentError('"IPAM.Config" must be a list');
      options.subnets = config.map((c: unknown) => {
        if (!c || typeof c !== 'object')
          throw new InvalidArgumentError('"IPAM.Config" entries must be objects');
        const entry = c as Record<string, unknown>;
        const subnet = str(entry, 'Subnet');
        if (!subnet) throw new InvalidArgumentError('"IPAM.Config" entries need a "Subnet"');
        const gateway = str(entry, 'Gateway');
        const ipRange = str(entry, 'IPRange');
        return { subnet, ...(gateway ? { gateway } : {}), ...(ipRange ? { ipRange } : {}) };
      });
    }
  }
  return options;
}

function addNetworkRoutes(r: Router, engine: Engine): void {
  r.add('GET', '/networks', async (req) => {
    onlyParams(req.query, ['filters']);
    const filters = filterInput(req.query);
    return { status: 200, body: engine.listNetworks(filters ? { filters } : {}) };
  });

  r.add('GET', '/networks/{id}', async (req) => {
    onlyParams(req.query, ['verbose', 'scope']);
    return { status: 200, body: engine.inspectNetwork(req.params[0]!) };
  });

  r.add('POST', '/networks/create', async (req) => {
    const options = networkCreateOptions(await readObject(req));
    const created = engine.createNetwork(options);
    return { status: 201, body: { Id: created.Id, Warning: '' } };
  });

  r.add('DELETE', '/networks/{id}', async (req) => {
    const ref = req.params[0]!;
    // docker's pre-defined networks: its `bridge` is berth's default network
    const predefined =
      ['bridge', 'host', 'none'].includes(ref) || engine.inspectNetwork(ref).Name === 'berth';
    if (predefined) throw new HttpError(403, `${ref} is a pre-defined network and cannot be removed`);
    await engine.removeNetwork(ref);
    return { status: 204 };
  });

  r.add('POST', '/networks/{id}/connect', async (req) => {
    const body = await readObject(req);
    onlyFields(body, ['Container', 'EndpointConfig'], 'network connect');
    const container = str(body, 'Container');
    if (!container) throw new InvalidArgumentError('network connect: "Container" is required');
    const network = engine.inspectNetwork(req.params[0]!).Name;
    const endpoint = (body.EndpointConfig ?? {}) as Record<string, unknown>;
    if (typeof endpoint !== 'object' || Array.isArray(endpoint)) {
      throw new InvalidArgumentError('"EndpointConfig" must be an object');
    }
    const aliases = endpoint.Aliases;
    if (
      aliases !== undefined &&
      aliases !== null &&
      (!Array.isArray(aliases) || aliases.some((a) => typeof a !== 'string'))
    ) {
      throw new InvalidArgumentError('"EndpointConfig.Aliases" must be a list of strings');
    }
    const ipam = (endpoint.IPAMConfig ?? {}) as Record<string, unknown>;
    const ipv4 = str(ipam, 'IPv4Address');
    const ipv6 = str(ipam, 'IPv6Address');
    const mac = str(endpoint, 'MacAddress');
    await engine.connectNetwork(container, {
      name: network,
      ...(Array.isArray(aliases) && aliases.length ? { aliases: aliases as string[] } : {}),
      ...(ipv4 ? { ipv4 } : {}),
      ...(ipv6 ? { ipv6 } : {}),
      ...(mac ? { mac } : {}),
    });
    return { status: 200 };
  });

  r.add('POST', '/networks/{id}/disconnect', async (req) => {
    const body = await readObject(req);
    onlyFields(body, ['Container', 'Force'], 'network disconnect');
    const container = str(body, 'Container');
    if (!container) throw new InvalidArgumentError('network disconnect: "Container" is required');
    const network = engine.inspectNetwork(req.params[0]!).Name;
    await engine.disconnectNetwork(container, network, { force: bool(body, 'Force') === true });
    return { status: 200 };
  });

  r.add('POST', '/networks/prune', async (req) => {
    onlyParams(req.query, ['filters']);
    const filters = filterInput(req.query);
    const report = await engine.pruneNetworks(filters ? { filters } : {});
    return { status: 200, body: { NetworksDeleted: report.deleted } };
  });
}

function addVolumeRoutes(r: Router, engine: Engine): void {
  r.add('GET', '/volumes', async (req) => {
    onlyParams(req.query, ['filters']);
    const filters = filterInput(req.query);
    return { status: 200, body: { Volumes: engine.listVolumes(filters ? { filters } : {}), Warnings: [] } };
  });

  r.add('GET', '/volumes/{name}', (req) => ({ status: 200, body: engine.inspectVolume(req.params[0]!) }));

  r.add('POST', '/volumes/create', async (req): Promise<Reply> => {
    const body = await readObject(req);
    onlyFields(body, ['Name', 'Driver', 'DriverOpts', 'Labels', 'ClusterVolumeSpec'], 'volume create');
    const driver = str(body, 'Driver');
    if (driver && driver !== 'local')
      throw new InvalidArgumentError(`volume driver "${driver}" is not supported`);
    const opts = stringMap(body, 'DriverOpts');
    if (opts && Object.keys(opts).length > 0) {
      throw new InvalidArgumentError('volume create: driver options are not supported');
    }
    if (body.ClusterVolumeSpec !== undefined && body.ClusterVolumeSpec !== null) {
      throw new InvalidArgumentError('volume create: cluster volumes are not supported');
    }
    const labels = stringMap(body, 'Labels');
    const name = str(body, 'Name') || undefined;
    return { status: 201, body: engine.createVolume(name, labels ? { labels } : {}) };
  });

  r.add('DELETE', '/volumes/{name}', (req) => {
    onlyParams(req.query, ['force']);
    engine.removeVolume(req.params[0]!, { force: queryBool(req.query, 'force') });
    return { status: 204 };
  });

  r.add('POST', '/volumes/prune', (req) => {
    onlyParams(req.query, ['filters']);
    const filters = filterInput(req.query) ?? {};
    let all = false;
    for (const [key, values] of Object.entries(filters)) {
      if (key === 'all') all = values.some((v) => ['true', '1'].includes(v.toLowerCase()));
      else throw new InvalidArgumentError(`volume prune filter "${key}" is not supported yet`);
    }
    // before 1.42 a prune removed every unused volume, named ones included
    if (compareVersions(req.version, '1.42') < 0) all = true;
    const report = engine.pruneVolumes({ all });
    return { status: 200, body: { VolumesDeleted: report.deleted, SpaceReclaimed: report.reclaimed } };
  });
}
