// The response (and request) shapes that differ between the API versions berth serves,
// 1.41 … 1.45, after moby's api/docs/CHANGELOG.md and the version checks in its routers
// (daemon/server/router/{container,image,system}). Each function takes the current (1.45)
// shape and the version the client asked for; engine reports never change with the version.
//
// What differs in this range, for the endpoints berth serves:
// - 1.43: untagged images are listed with `<none>:<none>` / `<none>@<none>` before 1.43.
// - 1.44: `VirtualSize` (= Size) in /images/json, /images/{name}/json and /system/df before 1.44.
// - 1.44: `DNSNames` per endpoint in container inspect from 1.44 on.
// - 1.44: the container-wide `MacAddress` (create's Config) moves to the endpoint; before 1.44 an
//   endpoint's own MacAddress is ignored and only one endpoint may be given.
// - 1.43: HostConfig.Annotations is ignored before 1.43; 1.42: ConsoleSize before 1.42.
// - 1.45: endpoint `Aliases` stop carrying the short container ID and the hostname (DNSNames
//   has them). dockerd 1.45 also drops `Container` and `ContainerConfig` from image inspect;
//   berth keeps them at every version it serves, because docker-compose 1.29 (Debian 12's)
//   negotiates 1.45 and reads ContainerConfig to recreate a container (a KeyError otherwise).
// - /containers/{id}/wait: `condition` defaults to not-running throughout (since 1.30).
import type { ContainerInspect } from '../engine/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { compareVersions } from './_http.js';

type Obj = Record<string, unknown>;

const before = (version: string, v: string) => compareVersions(version, v) < 0;

/** Networks whose endpoints carry DNS names: not the default one, host, none or container:. */
function isUserDefined(network: string): boolean {
  return (
    !['berth', 'bridge', 'default', 'host', 'none'].includes(network) && !network.startsWith('container:')
  );
}

/** VirtualSize (= Size) before 1.44: images in /images/json and /system/df. */
export function withVirtualSize<T extends { Size: number }>(
  entry: T,
  version: string,
): T & { VirtualSize?: number } {
  return before(version, '1.44') ? { ...entry, VirtualSize: entry.Size } : entry;
}

/** An image list entry as the version shows it: VirtualSize, and `<none>` names before 1.43. */
export function imageListShape<T extends { Size: number; RepoTags: string[]; RepoDigests: string[] }>(
  entry: T,
  version: string,
): T & { VirtualSize?: number } {
  const out = { ...withVirtualSize(entry, version) };
  if (before(version, '1.43') && entry.RepoTags.length === 0 && entry.RepoDigests.length === 0) {
    out.RepoTags = ['<none>:<none>'];
    out.RepoDigests = ['<none>@<none>'];
  }
  return out;
}

/** The empty container config old image inspects carry as ContainerConfig. */
const EMPTY_CONTAINER_CONFIG = {
  Hostname: '',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: null,
  Cmd: null,
  Image: '',
  Volumes: null,
  WorkingDir: '',
  Entrypoint: null,
  OnBuild: null,
  Labels: null,
};

/** Image inspect: VirtualSize before 1.44; Container and ContainerConfig throughout (see above). */
export function imageInspectShape<T extends { Size: number }>(inspect: T, version: string): Obj {
  const out: Obj = { ...inspect };
  if (before(version, '1.44')) out.VirtualSize = inspect.Size;
  out.Container = '';
  out.ContainerConfig = EMPTY_CONTAINER_CONFIG;
  return out;
}

/**
 * Container inspect: on user-defined networks, `DNSNames` (name, aliases, short ID, hostname)
 * from 1.44 on, once the endpoint exists; before 1.45 `Aliases` also lists the short ID and
 * the hostname, as moby's router adds them.
 */
export function containerInspectShape(inspect: ContainerInspect, version: string): ContainerInspect {
  const shortId = inspect.Id.slice(0, 12);
  const hostname = (inspect.Config as { Hostname?: string }).Hostname ?? '';
  const networks: Record<string, unknown> = {};
  for (const [name, endpoint] of Object.entries(inspect.NetworkSettings.Networks)) {
    const ep: Obj = { ...endpoint };
    if (isUserDefined(name)) {
      const aliases = (endpoint.Aliases ?? []) as string[];
      if (!before(version, '1.44')) {
        ep.DNSNames = endpoint.EndpointID
          ? dedup([inspect.Name.replace(/^\//, ''), ...aliases, shortId, hostname])
          : null;
      }
      if (before(version, '1.45')) ep.Aliases = dedup([...aliases, shortId, hostname]);
    } else if (!before(version, '1.44')) ep.DNSNames = null;
    networks[name] = ep;
  }
  return {
    ...inspect,
    NetworkSettings: { ...inspect.NetworkSettings, Networks: networks },
  } as ContainerInspect;
}

function dedup(names: string[]): string[] {
  return [...new Set(names.filter((n) => n !== ''))];
}

/**
 * A create request in the current shape, and the warnings to answer with: before 1.44 the
 * container-wide MacAddress goes to the main network's endpoint (endpoint MAC addresses alone
 * are ignored, as old daemons ignored them) and one endpoint at most is allowed; from 1.44 the
 * container-wide one is still honoured, with Docker's deprecation warning. Annotations before
 * 1.43 and ConsoleSize before 1.42 are dropped, as those daemons did not know them.
 */
export function createBodyForVersion(body: Obj, version: string): { body: Obj; warnings: string[] } {
  const out: Obj = { ...body };
  const warnings: string[] = [];
  const host: Obj = isObject(body.HostConfig) ? { ...body.HostConfig } : {};
  const networking: Obj = isObject(body.NetworkingConfig) ? { ...body.NetworkingConfig } : {};
  const endpoints: Obj = isObject(networking.EndpointsConfig) ? { ...networking.EndpointsConfig } : {};
  if (before(version, '1.43')) delete host.Annotations;
  if (before(version, '1.42')) delete host.ConsoleSize;
  const mac = typeof body.MacAddress === 'string' ? body.MacAddress : '';
  delete out.MacAddress;
  if (before(version, '1.44')) {
    const names = Object.keys(endpoints);
    if (names.length > 1) {
      throw new InvalidArgumentError(
        `Container cannot be created with multiple network endpoints: ${names.join(', ')}`,
      );
    }
    for (const name of names) {
      if (isObject(endpoints[name])) {
        const ep = { ...endpoints[name] };
        delete ep.MacAddress;
        endpoints[name] = ep;
      }
    }
  }
  if (mac !== '') {
    const mode =
      typeof host.NetworkMode === 'string' && host.NetworkMode !== '' ? host.NetworkMode : 'default';
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) {
      throw new InvalidArgumentError('conflicting options: mac-address and the network mode');
    }
    const key =
      Object.keys(endpoints)[0] !== undefined && before(version, '1.44') ? Object.keys(endpoints)[0]! : mode;
    const ep: Obj = isObject(endpoints[key]) ? { ...endpoints[key] } : {};
    if (!before(version, '1.44')) {
      if (typeof ep.MacAddress === 'string' && ep.MacAddress !== '' && ep.MacAddress !== mac) {
        throw new InvalidArgumentError(
          'the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty',
        );
      }
      warnings.push(
        'The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.',
      );
    }
    ep.MacAddress = mac;
    endpoints[key] = ep;
  }
  if (Object.keys(endpoints).length > 0 || isObject(body.NetworkingConfig)) {
    out.NetworkingConfig = { ...networking, EndpointsConfig: endpoints };
  }
  if (isObject(body.HostConfig)) out.HostConfig = host;
  return { body: out, warnings };
}

function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
