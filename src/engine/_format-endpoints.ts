// The network half of `docker inspect` for a container: NetworkSettings with one entry per
// network it joined (addresses while it runs, empty once it stopped) and its published ports.
import { portBindingsMap, type StoredContainerConfig } from '../container/index.js';
import { isActiveState } from '../runtime/index.js';
import type { ContainerRecord } from '../store/index.js';

export interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string } | null;
  Links: null;
  Aliases: string[] | null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  MacAddress: string;
  DriverOpts: null;
}

export interface NetworkSettings {
  Bridge: string;
  SandboxID: string;
  SandboxKey: string;
  Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  MacAddress: string;
  Networks: Record<string, EndpointSettings>;
}

function split(cidr: string | undefined): [string, number] {
  if (!cidr) return ['', 0];
  const [ip, len] = cidr.split('/');
  return [ip ?? '', Number(len ?? 0)];
}

export function formatNetworkSettings(rec: ContainerRecord): NetworkSettings {
  const cfg = rec.config as StoredContainerConfig;
  const o = cfg.options;
  // only a running (or paused) container has addresses: an exited one may still carry its
  // status for a moment while another berth tears its network down
  const status = isActiveState(rec.state) ? cfg.netStatus : undefined;
  const networks: Record<string, EndpointSettings> = {};
  if (o.network !== undefined) {
    // none, host, container:X: Docker lists the mode as the one "network"
    if (!o.network.startsWith('container:')) networks[o.network] = emptyEndpoint('', null);
  }
  for (const req of o.networks ?? []) {
    const ep = status?.endpoints.find((e) => e.network === req.name);
    const base = emptyEndpoint(ep?.networkId ?? '', req.aliases?.length ? [...req.aliases] : null);
    if (req.ipv4 !== undefined || req.ipv6 !== undefined)
      base.IPAMConfig = {
        ...(req.ipv4 !== undefined ? { IPv4Address: req.ipv4 } : {}),
        ...(req.ipv6 !== undefined ? { IPv6Address: req.ipv6 } : {}),
      };
    if (ep) {
      const [v4, v4len] = split(ep.ipv4);
      const [v6, v6len] = split(ep.ipv6);
      Object.assign(base, {
        EndpointID: ep.endpointId,
        Gateway: ep.gateway4 ?? '',
        IPAddress: v4,
        IPPrefixLen: v4len,
        IPv6Gateway: ep.gateway6 ?? '',
        GlobalIPv6Address: v6,
        GlobalIPv6PrefixLen: v6len,
        MacAddress: ep.mac,
      });
    }
    networks[req.name] = base;
  }
  const first = status?.endpoints[0];
  const [ip, len] = split(first?.ipv4);
  const [ip6, len6] = split(first?.ipv6);
  const published = status?.ports ?? [];
  return {
    Bridge: '',
    SandboxID: status ? rec.id : '',
    SandboxKey: status?.netns ?? '',
    Ports: portBindingsMap(published, cfg.exposedPorts ?? []),
    Gateway: first?.gateway4 ?? '',
    IPAddress: ip,
    IPPrefixLen: len,
    IPv6Gateway: first?.gateway6 ?? '',
    GlobalIPv6Address: ip6,
    GlobalIPv6PrefixLen: len6,
    MacAddress: first?.mac ?? '',
    Networks: networks,
  };
}

function emptyEndpoint(networkId: string, aliases: string[] | null): EndpointSettings {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: aliases,
    NetworkID: networkId,
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: '',
    DriverOpts: null,
  };
}
