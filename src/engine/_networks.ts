// Network definition use-cases of the Engine facade: create, inspect, list, remove, prune.
// Attaching containers is container/'s business; here a network is "in use" while any container
// record names it (or, naming none and no other mode, joins the default network).
import type { StoredContainerConfig } from '../container/index.js';
import { ConflictError } from '../errors/index.js';
import {
  checkEndpoint,
  DEFAULT_NETWORK,
  ensureNetworkRules,
  type NetworkCreateOptions,
  type NetworkRecord,
  releaseNetwork,
  removeNetworkRules,
} from '../network/index.js';
import type { ContainerRecord } from '../store/index.js';
import { parseEventTime, recordEvent } from './_events.js';
import {
  type FilterInput,
  type NetworkFacts,
  parseNetworkFilters,
  parseNetworkPruneFilters,
} from './_filters.js';
import { formatNetwork, type NetworkInspect } from './_format-network.js';
import type { Parts } from './_parts.js';

export interface NetworkPruneReport {
  /** Names of the networks removed, sorted. */
  deleted: string[];
}

/** Docker's name for its default network; berth reads it as `berth`. */
const DOCKER_DEFAULT = 'bridge';
const canonical = (name: string) => (name === DOCKER_DEFAULT ? DEFAULT_NETWORK : name);

/** The networks a container's record says it joins: `networks`, else `berth` unless a mode replaces it. */
export function networksOfContainer(c: ContainerRecord): string[] {
  const options = (c.config as Partial<StoredContainerConfig> | null)?.options;
  const requested = options?.networks ?? [];
  if (requested.length > 0) return requested.map((r) => canonical(r.name));
  if (options?.network === undefined || options.network === '') return [DEFAULT_NETWORK];
  return [];
}

/** Names of the containers whose records name this network (by name or id), sorted. */
export function containersUsing(
  n: Pick<NetworkRecord, 'name' | 'id'>,
  containers: ContainerRecord[],
): string[] {
  return containers
    .filter((c) => networksOfContainer(c).some((x) => x === n.name || x === n.id))
    .map((c) => c.name)
    .sort();
}

function facts(n: NetworkRecord, containers: ContainerRecord[]): NetworkFacts {
  return {
    name: n.name,
    id: n.id,
    driver: n.driver,
    labels: n.labels,
    builtin: n.name === DEFAULT_NETWORK,
    inUse: containersUsing(n, containers).length > 0,
  };
}

function event(parts: Parts, action: 'create' | 'destroy', n: NetworkRecord): void {
  recordEvent(parts.store, 'network', action, {
    ID: n.id,
    Attributes: { name: n.name, type: n.driver },
  });
}

/** The default network is made on first use, so it always gets the first free subnet. */
function withDefault(parts: Parts): void {
  parts.networks.ensureDefault();
}

export function createNetwork(parts: Parts, options: NetworkCreateOptions): NetworkInspect {
  withDefault(parts);
  const n = parts.networks.create(options);
  event(parts, 'create', n);
  return formatNetwork(n, []);
}

export function inspectNetwork(parts: Parts, nameOrId: string): NetworkInspect {
  withDefault(parts);
  return formatNetwork(parts.networks.get(canonical(nameOrId)), parts.store.listContainers());
}

/** Sorted by name; filters are checked before anything is listed. */
export function listNetworks(parts: Parts, options: { filters?: FilterInput } = {}): NetworkInspect[] {
  const matches = parseNetworkFilters(options.filters);
  withDefault(parts);
  const containers = parts.store.listContainers();
  return parts.networks
    .list()
    .filter((n) => matches(facts(n, containers)))
    .map((n) => formatNetwork(n, containers));
}

/** Refused (ConflictError) while a container record names the network; `berth` included. */
export async function removeNetwork(parts: Parts, nameOrId: string): Promise<void> {
  withDefault(parts);
  const n = parts.networks.get(nameOrId);
  await parts.containers.sweepNetworks();
  const users = containersUsing(n, parts.store.listContainers());
  if (users.length > 0)
    throw new ConflictError(`network ${n.name} is in use by container(s) ${users.join(', ')}`, {
      hint: 'remove the containers or disconnect them first',
    });
  parts.networks.remove(n.name);
  await releaseNetwork(n);
  event(parts, 'destroy', n);
}

/** Remove the user networks no container names (never the default one). */
export async function pruneNetworks(
  parts: Parts,
  options: { filters?: FilterInput } = {},
): Promise<NetworkPruneReport> {
  const matches = parseNetworkPruneFilters(options.filters, (t) =>
    parseEventTime(t, { flag: 'filter until' }),
  );
  const containers = parts.store.listContainers();
  const deleted: string[] = [];
  for (const n of parts.networks.list()) {
    if (n.name === DEFAULT_NETWORK || !matches(n)) continue;
    if (containersUsing(n, containers).length > 0) continue;
    parts.networks.remove(n.name);
    await releaseNetwork(n);
    event(parts, 'destroy', n);
    deleted.push(n.name);
  }
  return { deleted: deleted.sort() };
}

export interface NetworkReloadReport {
  /** Networks whose host rules were put back. */
  networks: string[];
  /** Containers whose attachments passed CHECK. */
  ok: string[];
  /** One line per failed CHECK: container, network and the plugin's error. */
  problems: { container: string; network: string; error: string }[];
}

/**
 * `network reload` (Podman's name): berth's per-network rules are rebuilt, since a marker on
 * tmpfs cannot tell that someone flushed iptables since; then CNI CHECK runs on every
 * attachment of the running containers (or the ones named), and what fails is reported.
 */
export async function reloadNetworks(
  parts: Parts,
  options: { containers?: string[] } = {},
): Promise<NetworkReloadReport> {
  withDefault(parts);
  await parts.containers.sweepNetworks();
  const report: NetworkReloadReport = { networks: [], ok: [], problems: [] };
  for (const n of parts.networks.list()) {
    await removeNetworkRules(n);
    await ensureNetworkRules(n);
    if (n.driver === 'bridge') report.networks.push(n.name);
  }
  const wanted = options.containers?.map((c) => parts.containers.get(c).id);
  for (const c of parts.store.listContainers()) {
    if (wanted && !wanted.includes(c.id)) continue;
    if (c.state !== 'running' && c.state !== 'paused') continue;
    const status = (c.config as StoredContainerConfig).netStatus;
    if (!status) continue;
    let failed = false;
    for (const ep of status.endpoints) {
      try {
        await checkEndpoint(ep);
      } catch (err) {
        failed = true;
        report.problems.push({ container: c.name, network: ep.network, error: (err as Error).message });
      }
    }
    if (!failed) report.ok.push(c.name);
  }
  return report;
}
