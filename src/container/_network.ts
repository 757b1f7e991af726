// A container's networking as the manager sees it: the create-time rules (which mode, which
// networks, which ports), and the start/stop halves that set the namespace up through network/
// and tear it down again.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidArgumentError } from '../errors/index.js';
import {
  type AttachRequest,
  type CniOptions,
  checkAttachRequest,
  connectContainerNetwork,
  containerNetworkLeft,
  DEFAULT_NETWORK,
  disconnectEndpoint,
  type EtcFilesOptions,
  guardAlive,
  hostPortsForwardedByCni,
  hostsFile,
  type NetworkPaths,
  type NetworkRecord,
  type NetworkRequest,
  type NetworkSetup,
  type NetworkStatus,
  type PortMapping,
  setupContainerNetwork,
  teardownContainerNetwork,
  writeEtcFiles,
} from '../network/index.js';
import { isActiveState, type SpecNetwork } from '../runtime/index.js';
import type { ContainerRecord, Store } from '../store/index.js';
import type { ContainerCreateOptions, StoredContainerConfig } from './_config.js';
import { allocateHostPorts, checkHostPortsFree, hostPortKey, publishAllPorts } from './_ports.js';

/** How the manager finds network definitions (network/'s NetworkStore, or a test's fake). */
export interface NetworkLookup {
  get(nameOrId: string): NetworkRecord;
  find?(nameOrId: string): NetworkRecord | undefined;
  ensureDefault(): NetworkRecord;
}

export interface ManagerNetworking {
  lookup: NetworkLookup;
  paths: NetworkPaths;
  cni?: CniOptions;
}

const MODE_RE = /^(none|host|container:.+)$/;

/**
 * Create-time checks: a mode (none, host, container:NAME) or a list of networks, never both;
 * every network exists; ports only where they can be published. Returns the options as stored:
 * `network` holds only a mode, `networks` the resolved names (the default network when none).
 */
export function normalizeNetworkOptions(
  options: ContainerCreateOptions,
  lookup: NetworkLookup | undefined,
): ContainerCreateOptions {
  const o = { ...options };
  const requests: NetworkRequest[] = [...(o.networks ?? [])];
  if (o.network !== undefined && !MODE_RE.test(o.network)) {
    // --network NET[,NET2]: names, joined in order before any further --network
    const names = o.network.split(',').map((n) => n.trim());
    if (names.some((n) => n === '' || MODE_RE.test(n)))
      throw new InvalidArgumentError(`invalid --network "${o.network}": a list holds network names only`);
    requests.unshift(...names.map((name) => ({ name })));
    delete o.network;
  }
  const hasPorts = (o.ports?.length ?? 0) > 0 || o.publishAll === true;
  if (o.network !== undefined) {
    if (requests.length > 0)
      throw new InvalidArgumentError(
        `conflicting options: --network ${o.network} cannot be combined with other networks`,
      );
    if (o.network === 'host') {
      // Docker drops published ports in host mode: the container's ports are the host's
      delete o.ports;
      delete o.publishAll;
    } else if (hasPorts) {
      throw new InvalidArgumentError(
        `conflicting options: port publishing and the network mode ${o.network.replace(/:.*/, '')}`,
      );
    }
    if (o.network.startsWith('container:') && (o.hostname !== undefined || o.domainname !== undefined))
      throw new InvalidArgumentError(
        'conflicting options: --hostname/--domainname and --network container: (the UTS namespace is shared)',
      );
    if (o.network !== 'host' && o.network !== 'none') {
      if (o.dns?.length || o.dnsSearch?.length || o.dnsOptions?.length || o.addHosts?.length)
        throw new InvalidArgumentError(
          'conflicting options: --dns/--add-host and --network container: (its files are shared)',
        );
    }
    return o;
  }
  if (!lookup) throw new InvalidArgumentError('bridge networks are not available in this engine');
  if (requests.length === 0) requests.push({ name: DEFAULT_NETWORK });
  const seen = new Set<string>();
  const resolved: NetworkRequest[] = [];
  for (const r of requests) {
    const name = r.name === 'bridge' ? DEFAULT_NETWORK : r.name;
    const rec = name === DEFAULT_NETWORK ? lookup.ensureDefault() : lookup.get(name);
    if (seen.has(rec.name)) throw new InvalidArgumentError(`network "${rec.name}" is given more than once`);
    seen.add(rec.name);
    // --ip/--mac-address/aliases against the network now, not at start: a bad one makes no container
    checkAttachRequest(attachRequest(rec, r));
    resolved.push({ ...r, name: rec.name });
  }
  o.networks = resolved;
  return o;
}

/** True when the container joins bridge/macvlan networks berth sets up (no mode given). */
export function usesCniNetworks(o: ContainerCreateOptions): boolean {
  return o.network === undefined && (o.networks?.length ?? 0) > 0;
}

/** "tcp/8080" for every host port the running containers hold (the conflict check's input). */
export function takenHostPorts(running: ContainerRecord[], except: string): Set<string> {
  const taken = new Set<string>();
  for (const c of running) {
    if (c.id === except) continue;
    for (const p of liveNetStatus(c)?.ports ?? []) taken.add(hostPortKey(p));
  }
  return taken;
}

/** The record's network status while the container runs; undefined once it stopped. */
export function liveNetStatus(rec: ContainerRecord): NetworkStatus | undefined {
  if (!isActiveState(rec.state)) return undefined;
  return (rec.config as StoredContainerConfig | null)?.netStatus;
}

/** Does the container publish host ports (-p, or -P with something exposed)? */
export function publishesPorts(config: StoredContainerConfig): boolean {
  const o = config.options;
  return (o.ports?.length ?? 0) > 0 || (o.publishAll === true && (config.exposedPorts?.length ?? 0) > 0);
}

/** The ports to publish when the container starts: -p, plus -P's exposed ports; random ones picked. */
export async function portsToPublish(
  config: StoredContainerConfig,
  running: () => ContainerRecord[],
  containerId: string,
): Promise<PortMapping[]> {
  const o = config.options;
  const wanted = [
    ...(o.ports ?? []),
    ...(o.publishAll ? publishAllPorts(config.exposedPorts ?? [], { published: o.ports ?? [] }) : []),
  ];
  if (wanted.length === 0) return [];
  const taken = takenHostPorts(running(), containerId);
  // ports forwarded by containers of other berth roots (or Podman) bind nothing on the host
  for (const k of await hostPortsForwardedByCni()) taken.add(k);
  await checkHostPortsFree(wanted, taken);
  return allocateHostPorts(wanted, taken);
}

function conflictOnBusyPort(err: unknown): unknown {
  if (err instanceof Error && /address already in use|already allocated/i.test(err.message))
    return new ConflictError(err.message, { cause: err });
  return err;
}

/**
 * Makes the namespace for a container about to start and attaches it in the background (see
 * NetworkSetup): the caller creates the container meanwhile and awaits `attached` before start.
 */
export async function startContainerNetwork(
  net: ManagerNetworking,
  rec: ContainerRecord,
  config: StoredContainerConfig,
  ports: PortMapping[],
): Promise<NetworkSetup> {
  const requests: AttachRequest[] = (config.options.networks ?? []).map((r) =>
    attachRequest(r.name === DEFAULT_NETWORK ? net.lookup.ensureDefault() : net.lookup.get(r.name), r),
  );
  const setup = await setupContainerNetwork(
    { paths: net.paths, containerId: rec.id, containerName: rec.name, ...(net.cni ? { cni: net.cni } : {}) },
    requests,
    ports,
  );
  const attached = setup.attached.catch((err: unknown) => {
    throw conflictOnBusyPort(err);
  });
  attached.catch(() => {});
  return { netns: setup.netns, attached };
}

/**
 * After an exit: another berth (conmon's exit command, a concurrent wait) may have recorded it
 * and be tearing the network down still. Waits until it is done, so that after `wait` the
 * network is gone. Stops early when the container runs again (a restart) or is being set up;
 * bounded (a teardown whose process died is left to the next sweep).
 */
export async function networkTornDown(
  net: ManagerNetworking | undefined,
  store: Store,
  containerId: string,
): Promise<void> {
  if (!net) return;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const rec = store.getContainer(containerId);
    if (rec && isActiveState(rec.state)) return;
    if (!containerNetworkLeft(net.paths, containerId) || guardAlive(net.paths, containerId)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Takes the container off its networks; a no-op when it has none. */
export async function stopContainerNetwork(
  net: ManagerNetworking,
  containerId: string,
  options: { namespaceFirst?: boolean } = {},
): Promise<void> {
  await teardownContainerNetwork(net.paths, containerId, net.cni, options);
}

/** Is another running container in this one's network namespace (`--network container:`)? */
export function hasNamespaceGuests(rec: ContainerRecord, all: ContainerRecord[]): boolean {
  return all.some((c) => {
    if (c.id === rec.id || !isActiveState(c.state)) return false;
    const mode = (c.config as StoredContainerConfig).options.network;
    return (
      mode === `container:${rec.id}` ||
      mode === `container:${rec.name}` ||
      (mode?.startsWith('container:') === true && rec.id.startsWith(mode.slice('container:'.length)))
    );
  });
}

/** What the connect/disconnect and spec halves need from the manager. */
export interface NetworkHost {
  store: Store;
  networking?: ManagerNetworking;
  get(idOrName: string): ContainerRecord;
  userdataDir(id: string): string;
}

function attachRequest(def: NetworkRecord, req: NetworkRequest): AttachRequest {
  return {
    network: def,
    ...(req.aliases ? { aliases: req.aliases } : {}),
    ...(req.ipv4 ? { ipv4: req.ipv4 } : {}),
    ...(req.ipv6 ? { ipv6: req.ipv6 } : {}),
    ...(req.mac ? { mac: req.mac } : {}),
  };
}

/** `network connect`: join one more network; at once when running, else at the next start. */
export async function connectNetwork(
  host: NetworkHost,
  rec: ContainerRecord,
  request: NetworkRequest,
): Promise<ContainerRecord> {
  const net = host.networking;
  const config = rec.config as StoredContainerConfig;
  if (!net || config.options.network !== undefined)
    throw new ConflictError(
      `container ${rec.name} uses network mode ${config.options.network ?? 'none'}: it cannot join networks`,
    );
  const name = request.name === 'bridge' ? DEFAULT_NETWORK : request.name;
  const def = name === DEFAULT_NETWORK ? net.lookup.ensureDefault() : net.lookup.get(name);
  const req: NetworkRequest = { ...request, name: def.name };
  if ((config.options.networks ?? []).some((n) => n.name === def.name))
    throw new ConflictError(`container ${rec.name} is already connected to network ${def.name}`);
  const options = { ...config.options, networks: [...(config.options.networks ?? []), req] };
  if (rec.state !== 'running' && rec.state !== 'paused')
    return host.store.updateContainer(rec.id, { config: { ...config, options } });
  const status = config.netStatus;
  if (!status) throw new ConflictError(`container ${rec.name} has no network namespace to connect`);
  const endpoint = await connectContainerNetwork(
    { paths: net.paths, containerId: rec.id, containerName: rec.name, ...(net.cni ? { cni: net.cni } : {}) },
    status,
    attachRequest(def, req),
  );
  return host.store.updateContainer(rec.id, {
    config: { ...config, options, netStatus: { ...status, endpoints: [...status.endpoints, endpoint] } },
  });
}

/** `network disconnect`: leave a network (at once when running). */
export async function disconnectNetwork(
  host: NetworkHost,
  rec: ContainerRecord,
  network: string,
): Promise<ContainerRecord> {
  const net = host.networking;
  const config = rec.config as StoredContainerConfig;
  const name = network === 'bridge' ? DEFAULT_NETWORK : network;
  const def = net?.lookup.get(name);
  if (!net || !def || !(config.options.networks ?? []).some((n) => n.name === def.name))
    throw new ConflictError(`container ${rec.name} is not connected to network ${network}`);
  const options = {
    ...config.options,
    networks: (config.options.networks ?? []).filter((n) => n.name !== def.name),
  };
  const status = config.netStatus;
  const endpoint = status?.endpoints.find((e) => e.network === def.name);
  if (!status || !endpoint) return host.store.updateContainer(rec.id, { config: { ...config, options } });
  await disconnectEndpoint(endpoint, net.cni);
  return host.store.updateContainer(rec.id, {
    config: {
      ...config,
      options,
      netStatus: { ...status, endpoints: status.endpoints.filter((e) => e !== endpoint) },
    },
  });
}

/**
 * The namespace the container joins and its /etc/hosts, /etc/hostname and /etc/resolv.conf:
 * its own (none, a CNI namespace), the host's, or, for container:NAME, the other container's
 * network and UTS namespaces and files.
 */
export async function specNetworkAndEtc(
  host: NetworkHost,
  rec: ContainerRecord,
  config: StoredContainerConfig,
  bundle: string,
): Promise<{
  network: SpecNetwork;
  utsPath?: string;
  etc: { hosts: string; hostname: string; resolvConf: string };
  /** How the files were made (absent when they are another container's). */
  etcOptions?: EtcFilesOptions;
}> {
  const o = config.options;
  const mode = o.network;
  if (mode?.startsWith('container:')) {
    const other = host.get(mode.slice('container:'.length));
    if (other.id === rec.id) throw new InvalidArgumentError('a container cannot join its own network');
    if (other.state !== 'running' || !other.pid) {
      throw new ConflictError(`cannot join the network of container ${other.name}: it is not running`);
    }
    const dir = host.userdataDir(other.id);
    return {
      network: { mode: 'path', path: `/proc/${other.pid}/ns/net` },
      utsPath: `/proc/${other.pid}/ns/uts`,
      etc: {
        hosts: join(dir, 'hosts'),
        hostname: join(dir, 'hostname'),
        resolvConf: join(dir, 'resolv.conf'),
      },
    };
  }
  const etcOptions: EtcFilesOptions = {
    hostname: config.hostname,
    network: mode === 'host' ? 'host' : mode === 'none' ? 'none' : 'bridge',
    ...(o.addHosts?.length ? { extraHosts: o.addHosts } : {}),
    ...(o.dns?.length ? { dns: o.dns } : {}),
    ...(o.dnsSearch?.length ? { dnsSearch: o.dnsSearch } : {}),
    ...(o.dnsOptions?.length ? { dnsOptions: o.dnsOptions } : {}),
  };
  let network: SpecNetwork = mode === 'host' ? { mode: 'host' } : { mode: 'none' };
  const status = config.netStatus;
  if (status && usesCniNetworks(o)) {
    network = { mode: 'path', path: status.netns };
    const first = status.endpoints[0];
    const address = first?.ipv4 ?? first?.ipv6;
    if (address) etcOptions.address = address.replace(/\/\d+$/, '');
    etcOptions.selfNames = [rec.name];
    const servers: string[] = [];
    const search: string[] = [];
    let firstGateway: string | undefined;
    // from the network records, not the endpoints: the files are written before ADD finishes
    for (const [i, req] of (o.networks ?? []).entries()) {
      const def = host.networking?.lookup.find?.(req.name) ?? host.networking?.lookup.get(req.name);
      const gw = def?.subnets.find((x) => !x.subnet.includes(':'))?.gateway ?? def?.subnets[0]?.gateway;
      if (i === 0) firstGateway = gw;
      if (!def?.dnsEnabled) continue;
      if (gw) servers.push(gw);
      const domain = def.conflist.plugins.find((p) => p.type === 'dnsname')?.domainName;
      if (typeof domain === 'string') search.push(domain);
    }
    if (servers.length) etcOptions.networkDns = { servers, search };
    // host-gateway in --add-host: the first network's gateway, as Docker's host.docker.internal
    if (etcOptions.extraHosts)
      etcOptions.extraHosts = etcOptions.extraHosts.map((h) =>
        h.ip === 'host-gateway' ? { ...h, ip: firstGateway ?? '127.0.0.1' } : h,
      );
  }
  const etc = await writeEtcFiles(bundle, etcOptions);
  return { network, etc, etcOptions };
}

/** After ADD: /etc/hosts names the container's own address (written in place: it is bind-mounted). */
export async function rewriteHostsWithAddress(
  hostsPath: string,
  options: EtcFilesOptions,
  status: NetworkStatus,
): Promise<void> {
  const first = status.endpoints[0];
  const address = (first?.ipv4 ?? first?.ipv6)?.replace(/\/\d+$/, '');
  if (!address) return;
  await writeFile(hostsPath, hostsFile({ ...options, address }));
}
