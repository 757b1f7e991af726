// The shapes every part of networking agrees on: a network's definition (kept on disk as a CNI
// conflist with berth's metadata beside the standard fields), a published port, a container's
// request to join a network, and what an attached container's network looks like.
import type { CniConflist, CniResult } from './index.js';

export type NetworkDriver = 'bridge' | 'macvlan' | 'ipvlan';
export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** One published port, as CNI's portMappings capability spells it (after range expansion). */
export interface PortMapping {
  /** '' = every host address (0.0.0.0 and ::). */
  hostIp: string;
  /** 0 = pick a free one when the container starts. */
  hostPort: number;
  /**
   * `-p 8000-8010:80`: a host range with one container port is a pool, as in Docker; hostPort is 0
   * until the first free port of the pool is picked at start. Not a CNI field: drop it before
   * handing mappings to the portmap plugin.
   */
  hostRange?: { start: number; end: number };
  containerPort: number;
  protocol: PortProtocol;
}

/** A network as berth keeps it: `<root>/networks/<name>.conflist`, the `berth` key holding this. */
export interface NetworkRecord {
  name: string;
  /** 64 hex digits. */
  id: string;
  driver: NetworkDriver;
  /** RFC 3339. */
  created: string;
  labels: Record<string, string>;
  /** `--opt` as given (for example parent=eth0, mtu=1400, com.docker.network.bridge.name=…). */
  options: Record<string, string>;
  internal: boolean;
  ipv6: boolean;
  /** Containers on it resolve each other by name (user networks; not the default `berth`). */
  dnsEnabled: boolean;
  /** Linux bridge device (bridge driver only). */
  bridge?: string;
  subnets: { subnet: string; gateway: string; ipRange?: string }[];
  /** What is handed to the CNI plugins (also the file's standard part). */
  conflist: CniConflist;
}

export interface NetworkCreateOptions {
  name: string;
  driver?: NetworkDriver;
  subnets?: { subnet: string; gateway?: string; ipRange?: string }[];
  internal?: boolean;
  ipv6?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  /** Default: true for user networks. */
  dns?: boolean;
}

/** `--network NET --network-alias A --ip X --mac-address M`: one network a container joins. */
export interface NetworkRequest {
  name: string;
  aliases?: string[];
  ipv4?: string;
  ipv6?: string;
  mac?: string;
}

/** One network a running container is attached to. */
export interface NetworkEndpoint {
  network: string;
  networkId: string;
  /** 64 hex digits, new for each attach. */
  endpointId: string;
  ifname: string;
  mac: string;
  /** CIDR form, e.g. 10.89.0.5/24. */
  ipv4?: string;
  gateway4?: string;
  ipv6?: string;
  gateway6?: string;
  aliases: string[];
  /** The CNI cache file that DEL needs. */
  cacheFile: string;
  result?: CniResult;
}

/** A container's network while it runs (kept in its record; cleared when torn down). */
export interface NetworkStatus {
  /** The bind-mounted namespace file. */
  netns: string;
  endpoints: NetworkEndpoint[];
  /** Published ports with their host ports picked. */
  ports: PortMapping[];
}
