// CNI network configuration lists (conflists) for berth's networks, in CNI's own format so other
// CNI tools can read them; the subnet arithmetic they need (v4 and v6, as bigints); and the
// choice of a free subnet that clashes with no host route and no other network.
import { readFileSync } from 'node:fs';
import { ConflictError, InvalidArgumentError } from '../errors/index.js';
import { checkDnsDomain, DEFAULT_DNS_DOMAIN } from './_dns.js';

export type IpFamily = 4 | 6;

/** A parsed address, or a subnet when `prefix` is set (its host bits are zero). */
export interface Cidr {
  family: IpFamily;
  /** The network address (the first address of the subnet). */
  address: bigint;
  prefix: number;
}

const bits = (family: IpFamily): number => (family === 4 ? 32 : 128);

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    value = (value << 8n) | BigInt(p);
  }
  return value;
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] | undefined => {
    if (s === '') return [];
    const out: string[] = [];
    const raw = s.split(':');
    for (let i = 0; i < raw.length; i++) {
      const g = raw[i]!;
      if (i === raw.length - 1 && g.includes('.')) {
        const v4 = parseV4(g);
        if (v4 === undefined) return undefined;
        out.push((v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(g);
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let value = 0n;
  for (const g of all) value = (value << 16n) | BigInt(`0x${g}`);
  return value;
}

/** Parses an IPv4 or IPv6 address; throws InvalidArgumentError naming `what`. */
export function parseIp(text: string, what = 'IP address'): { family: IpFamily; address: bigint } {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { family: 4, address: v4 };
  const v6 = text.includes(':') ? parseV6(text) : undefined;
  if (v6 !== undefined) return { family: 6, address: v6 };
  throw new InvalidArgumentError(`invalid ${what} "${text}"`);
}

/** Parses `addr/prefix` as a subnet; the host bits must be zero (Docker refuses them too). */
export function parseCidr(text: string, what = 'subnet'): Cidr {
  const m = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(text);
  if (!m) throw new InvalidArgumentError(`invalid ${what} "${text}": expected ADDRESS/PREFIX`);
  let parsed: ReturnType<typeof parseIp>;
  try {
    parsed = parseIp(m[1]!, what);
  } catch {
    throw new InvalidArgumentError(`invalid ${what} "${text}": "${m[1]}" is not an IP address`);
  }
  const { family, address } = parsed;
  const prefix = Number(m[2]);
  if (prefix > bits(family))
    throw new InvalidArgumentError(
      `invalid ${what} "${text}": prefix /${prefix} is longer than ${bits(family)}`,
    );
  const network = address & maskOf(family, prefix);
  if (network !== address)
    throw new InvalidArgumentError(`invalid ${what} "${text}": host bits are set`, {
      hint: `did you mean ${formatCidr({ family, address: network, prefix })}?`,
    });
  return { family, address, prefix };
}

function maskOf(family: IpFamily, prefix: number): bigint {
  const n = BigInt(bits(family));
  const all = (1n << n) - 1n;
  return (all << (n - BigInt(prefix))) & all;
}

export function formatIp(family: IpFamily, address: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => ((address >> s) & 0xffn).toString()).join('.');
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((address >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: the longest run (of at least two) of zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.address)}/${c.prefix}`;
}

/** The last address of a subnet. */
export function lastAddress(c: Cidr): bigint {
  return c.address | (~maskOf(c.family, c.prefix) & ((1n << BigInt(bits(c.family))) - 1n));
}

export function contains(subnet: Cidr, family: IpFamily, address: bigint): boolean {
  return subnet.family === family && (address & maskOf(family, subnet.prefix)) === subnet.address;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const p = Math.min(a.prefix, b.prefix);
  const m = maskOf(a.family, p);
  return (a.address & m) === (b.address & m);
}

/** Throws ConflictError when `subnet` overlaps one of `existing` (network name -> its subnets). */
export function checkNoOverlap(subnet: Cidr, existing: { network: string; subnet: string }[]): void {
  for (const e of existing) {
    const other = parseCidr(e.subnet);
    if (overlaps(subnet, other))
      throw new ConflictError(
        `subnet ${formatCidr(subnet)} overlaps subnet ${formatCidr(other)} of network "${e.network}"`,
      );
  }
}

/** One subnet of a network as the user gives it (`--subnet`, `--gateway`, `--ip-range`). */
export interface SubnetSpec {
  subnet: string;
  gateway?: string;
  ipRange?: string;
}

/** A validated subnet: gateway defaults to the first host address. */
export interface ResolvedSubnet {
  subnet: Cidr;
  gateway: bigint;
  rangeStart: bigint;
  rangeEnd: bigint;
}

export function resolveSubnet(spec: SubnetSpec): ResolvedSubnet {
  const subnet = parseCidr(spec.subnet);
  const last = lastAddress(subnet);
  // v4 keeps its network and broadcast addresses out of the pool; v6 only the subnet-router anycast.
  const firstHost = subnet.address + 1n;
  const lastHost = subnet.family === 4 ? last - 1n : last;
  if (lastHost <= firstHost)
    throw new InvalidArgumentError(
      `subnet ${spec.subnet} is too small: it needs room for a gateway and a host`,
    );
  let gateway = firstHost;
  if (spec.gateway !== undefined) {
    const g = parseIp(spec.gateway, 'gateway');
    if (!contains(subnet, g.family, g.address) || g.address < firstHost || g.address > lastHost)
      throw new InvalidArgumentError(
        `gateway ${spec.gateway} is not a host address of subnet ${spec.subnet}`,
      );
    gateway = g.address;
  }
  let rangeStart = firstHost;
  let rangeEnd = lastHost;
  if (spec.ipRange !== undefined) {
    const r = parseCidr(spec.ipRange, 'ip range');
    if (r.family !== subnet.family || r.prefix < subnet.prefix || !contains(subnet, r.family, r.address))
      throw new InvalidArgumentError(`ip range ${spec.ipRange} is not inside subnet ${spec.subnet}`);
    rangeStart = r.address > firstHost ? r.address : firstHost;
    rangeEnd = lastAddress(r) < lastHost ? lastAddress(r) : lastHost;
    if (rangeEnd < rangeStart)
      throw new InvalidArgumentError(`ip range ${spec.ipRange} holds no host address`);
  }
  return { subnet, gateway, rangeStart, rangeEnd };
}

/** Throws InvalidArgumentError unless `ip` is a host address of one of `subnets` (`--ip`). */
export function checkIpInSubnets(ip: string, subnets: SubnetSpec[]): void {
  const a = parseIp(ip);
  for (const s of subnets.map(resolveSubnet)) {
    const lastHost = lastAddress(s.subnet) - (s.subnet.family === 4 ? 1n : 0n);
    const inside = contains(s.subnet, a.family, a.address) && a.address > s.subnet.address;
    if (inside && a.address <= lastHost && a.address !== s.gateway) return;
  }
  throw new InvalidArgumentError(
    `IP address ${ip} is not a free host address of the network's subnets (${subnets.map((s) => s.subnet).join(', ')})`,
  );
}

export interface CniPluginConfig {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniConflist {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: CniPluginConfig[];
}

export const CNI_VERSION = '1.0.0';
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const PLUGIN_TYPE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const IFACE_NAME = /^[a-zA-Z0-9_.-]{1,15}$/;

function checkName(name: string): void {
  if (!NETWORK_NAME.test(name))
    throw new InvalidArgumentError(`invalid network name "${name}": use letters, digits, '_', '.', '-'`);
}

function checkIface(name: string, what: string): void {
  if (!IFACE_NAME.test(name) || name === '.' || name === '..')
    throw new InvalidArgumentError(`invalid ${what} "${name}": at most 15 letters, digits, '_', '.', '-'`);
}

function hostLocalIpam(subnets: SubnetSpec[], internal: boolean): Record<string, unknown> {
  if (subnets.length === 0) throw new InvalidArgumentError('a network needs at least one subnet');
  const resolved = subnets.map(resolveSubnet);
  for (let i = 0; i < resolved.length; i++)
    for (let j = i + 1; j < resolved.length; j++)
      if (overlaps(resolved[i]!.subnet, resolved[j]!.subnet))
        throw new ConflictError(`subnets ${subnets[i]!.subnet} and ${subnets[j]!.subnet} overlap`);
  const routes = internal
    ? []
    : [...new Set(resolved.map((r) => r.subnet.family))].map((f) => ({
        dst: f === 4 ? '0.0.0.0/0' : '::/0',
      }));
  return {
    type: 'host-local',
    ranges: resolved.map((r) => [
      {
        subnet: formatCidr(r.subnet),
        gateway: formatIp(r.subnet.family, r.gateway),
        rangeStart: formatIp(r.subnet.family, r.rangeStart),
        rangeEnd: formatIp(r.subnet.family, r.rangeEnd),
      },
    ]),
    ...(routes.length ? { routes } : {}),
  };
}

export interface BridgeNetworkOptions {
  /** The Linux bridge device, at most 15 characters. */
  bridge: string;
  subnets: SubnetSpec[];
  /** No default route and no masquerading: containers reach only each other. */
  internal?: boolean;
  mtu?: number;
  /** host-local keeps its leases here instead of /var/lib/cni/networks. */
  ipamDataDir?: string;
  /**
   * Name resolution: the dnsname plugin (one dnsmasq per network on the bridge's gateway
   * addresses) resolves containers by name and alias, as `<name>` and `<name>.<domainName>`.
   * On an internal network the bridge still gets the gateway address (for dnsmasq to listen
   * on), but containers get no default route and nothing is masqueraded.
   */
  dns?: { domainName?: string };
}

/**
 * bridge + host-local, then portmap (published ports), firewall and tuning; then dnsname when
 * `dns` is set. dnsname is last, where Podman put it: it needs the final result (the bridge as
 * interfaces[0], the container's addresses) and adds the gateway to the result's nameservers.
 */
export function bridgeConflist(name: string, options: BridgeNetworkOptions): CniConflist {
  checkName(name);
  checkIface(options.bridge, 'bridge name');
  const internal = options.internal ?? false;
  const ipam = hostLocalIpam(options.subnets, internal);
  if (options.ipamDataDir !== undefined) ipam.dataDir = options.ipamDataDir;
  if (
    options.mtu !== undefined &&
    !(Number.isInteger(options.mtu) && options.mtu >= 576 && options.mtu <= 65535)
  )
    throw new InvalidArgumentError(`invalid MTU ${options.mtu}: expected 576-65535`);
  const domainName = options.dns ? (options.dns.domainName ?? DEFAULT_DNS_DOMAIN) : undefined;
  if (domainName !== undefined) checkDnsDomain(domainName);
  return {
    cniVersion: CNI_VERSION,
    name,
    plugins: [
      {
        type: 'bridge',
        bridge: options.bridge,
        isGateway: !internal || domainName !== undefined,
        ipMasq: !internal,
        hairpinMode: true,
        ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
        ipam,
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall', backend: 'iptables' },
      { type: 'tuning' },
      ...(domainName !== undefined ? [{ type: 'dnsname', domainName, capabilities: { aliases: true } }] : []),
    ],
  };
}

export interface MacvlanNetworkOptions {
  driver: 'macvlan' | 'ipvlan';
  /** The host interface the network hangs off. */
  master: string;
  /** macvlan: bridge|private|vepa|passthru; ipvlan: l2|l3|l3s. */
  mode?: string;
  subnets: SubnetSpec[];
  internal?: boolean;
  mtu?: number;
  ipamDataDir?: string;
}

const MODES = { macvlan: ['bridge', 'private', 'vepa', 'passthru'], ipvlan: ['l2', 'l3', 'l3s'] };

export function macvlanConflist(name: string, options: MacvlanNetworkOptions): CniConflist {
  checkName(name);
  checkIface(options.master, 'parent interface');
  const mode = options.mode ?? (options.driver === 'macvlan' ? 'bridge' : 'l2');
  if (!MODES[options.driver].includes(mode))
    throw new InvalidArgumentError(
      `invalid ${options.driver} mode "${mode}": expected one of ${MODES[options.driver].join(', ')}`,
    );
  const ipam = hostLocalIpam(options.subnets, options.internal ?? false);
  if (options.ipamDataDir !== undefined) ipam.dataDir = options.ipamDataDir;
  return {
    cniVersion: CNI_VERSION,
    name,
    plugins: [
      {
        type: options.driver,
        master: options.master,
        mode,
        ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
        ipam,
      },
      { type: 'tuning' },
    ],
  };
}

/** Validates a conflist read from disk or built by hand (the CNI format's required fields). */
export function validateConflist(value: unknown): CniConflist {
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`invalid CNI network configuration: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('not a JSON object');
  const v = value as Record<string, unknown>;
  if (typeof v.cniVersion !== 'string' || !/^\d+\.\d+\.\d+$/.test(v.cniVersion))
    bad('cniVersion must be "X.Y.Z"');
  if (typeof v.name !== 'string') return bad('name must be a string');
  checkName(v.name);
  if (v.disableCheck !== undefined && typeof v.disableCheck !== 'boolean')
    bad('disableCheck must be a boolean');
  if (!Array.isArray(v.plugins) || v.plugins.length === 0) return bad('plugins must be a non-empty list');
  if (v.plugins.length > 32) bad('more than 32 plugins');
  for (const [i, p] of (v.plugins as unknown[]).entries()) {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) bad(`plugin ${i} is not an object`);
    const type = (p as Record<string, unknown>).type;
    if (typeof type !== 'string' || !PLUGIN_TYPE.test(type)) bad(`plugin ${i} has an invalid type`);
    const caps = (p as Record<string, unknown>).capabilities;
    if (caps !== undefined && (typeof caps !== 'object' || caps === null || Array.isArray(caps)))
      bad(`plugin ${i}'s capabilities must be an object`);
  }
  return v as unknown as CniConflist;
}

/** The destinations of the host's routes (v4 and v6), default routes left out. */
export function hostRoutes(procNet = '/proc/net'): Cidr[] {
  const out: Cidr[] = [];
  const read = (name: string): string => {
    try {
      return readFileSync(`${procNet}/${name}`, 'utf8');
    } catch {
      return '';
    }
  };
  for (const line of read('route').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^[0-9A-F]{8}$/i.test(f[1]!) || !/^[0-9A-F]{8}$/i.test(f[7]!)) continue;
    // Little-endian hex words.
    const le = (h: string): bigint => BigInt(`0x${h.match(/../g)!.reverse().join('')}`);
    const mask = le(f[7]!);
    const prefix = mask.toString(2).replace(/0+$/, '').length;
    if (prefix === 0) continue;
    out.push({ family: 4, address: le(f[1]!) & maskOf(4, prefix), prefix });
  }
  for (const line of read('ipv6_route').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^[0-9a-f]{32}$/i.test(f[0]!)) continue;
    const prefix = Number.parseInt(f[1]!, 16);
    if (prefix === 0 || prefix > 128) continue;
    out.push({ family: 6, address: BigInt(`0x${f[0]}`) & maskOf(6, prefix), prefix });
  }
  return out;
}

/** Where to look for a free subnet: carve `base` into subnets of `/prefix`. */
export interface SubnetPool {
  base: string;
  prefix: number;
}

/** Docker's and podman's defaults (172.17/16, 10.88/16) come late, so berth rarely meets them. */
export const DEFAULT_SUBNET_POOLS: SubnetPool[] = [
  { base: '10.89.0.0/16', prefix: 24 },
  { base: '172.18.0.0/15', prefix: 16 },
  { base: '172.20.0.0/14', prefix: 16 },
  { base: '172.24.0.0/13', prefix: 16 },
  { base: '192.168.0.0/16', prefix: 20 },
];

/**
 * The first subnet of the pools that overlaps no host route and no existing network's subnet.
 * Throws ConflictError when the pools are exhausted.
 */
export function pickFreeSubnet(options: {
  routes: Cidr[];
  existing: string[];
  pools?: SubnetPool[];
}): string {
  const taken = [...options.routes, ...options.existing.map((s) => parseCidr(s))];
  const pools = options.pools ?? DEFAULT_SUBNET_POOLS;
  for (const pool of pools) {
    const base = parseCidr(pool.base, 'subnet pool');
    if (pool.prefix < base.prefix || pool.prefix > bits(base.family))
      throw new InvalidArgumentError(`invalid subnet pool ${pool.base}: /${pool.prefix} does not fit`);
    const step = 1n << BigInt(bits(base.family) - pool.prefix);
    // Bounded: at most 65536 candidates per pool.
    const count = 1n << BigInt(Math.min(pool.prefix - base.prefix, 16));
    for (let i = 0n; i < count; i++) {
      const candidate: Cidr = { family: base.family, address: base.address + i * step, prefix: pool.prefix };
      if (!taken.some((t) => overlaps(t, candidate))) return formatCidr(candidate);
    }
  }
  throw new ConflictError('no free subnet left in the address pools', {
    hint: 'give one with --subnet',
  });
}
