// Docker's `network inspect` shape for a berth network, with the containers attached to it
// (from their records' network status). Pure functions over plain data.
import { liveNetStatus } from '../container/index.js';
import type { NetworkRecord } from '../network/index.js';
import type { ContainerRecord } from '../store/index.js';

export interface NetworkContainerEndpoint {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  /** CIDR form, e.g. 10.89.0.5/24; '' when the endpoint has none. */
  IPv4Address: string;
  IPv6Address: string;
}

export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv6: boolean;
  IPAM: {
    Driver: 'default';
    Options: Record<string, string>;
    Config: { Subnet: string; Gateway: string; IPRange?: string }[];
  };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, NetworkContainerEndpoint>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** The container records' view of a network: who is attached now (`netStatus`). */
export function attachedContainers(
  network: Pick<NetworkRecord, 'name' | 'id'>,
  containers: ContainerRecord[],
): Record<string, NetworkContainerEndpoint> {
  const out: Record<string, NetworkContainerEndpoint> = {};
  for (const c of containers) {
    const endpoints = liveNetStatus(c)?.endpoints ?? [];
    const e = endpoints.find((x) => x.networkId === network.id || x.network === network.name);
    if (!e) continue;
    out[c.id] = {
      Name: c.name,
      EndpointID: e.endpointId,
      MacAddress: e.mac,
      IPv4Address: e.ipv4 ?? '',
      IPv6Address: e.ipv6 ?? '',
    };
  }
  return out;
}

export function formatNetwork(n: NetworkRecord, containers: ContainerRecord[]): NetworkInspect {
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: n.ipv6,
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: n.subnets.map((s) => ({
        Subnet: s.subnet,
        Gateway: s.gateway,
        ...(s.ipRange !== undefined ? { IPRange: s.ipRange } : {}),
      })),
    },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: attachedContainers(n, containers),
    Options: { ...n.options },
    Labels: { ...n.labels },
  };
}
