// Published and exposed ports: docker's `-p`, `--expose` and `-P` parsed into PortMappings, host
// ports picked and checked before a container starts, and the Docker-shaped renderings (inspect's
// NetworkSettings.Ports, the PORTS column of `ps`, the lines of `port`).
//
// Rules, as Docker has them:
// - `-p [ip:][hostPort:]containerPort[/proto]`; an IPv6 address in brackets (`[::1]:8080:80`) or
//   bare (`::1:8080:80`, Docker accepts it too). The host port may be empty only after an address
//   (`127.0.0.1::80`); `:80` and `::80` are refused as empty parts.
// - Ranges of equal length map pairwise (`8000-8002:80-82`). A host range with ONE container port
//   (`8000-8010:80`) is a pool: the container port gets the first free host port of the range at
//   start (hostPort 0 plus `hostRange`). Other length mismatches are refused.
// - Port 0 is refused everywhere (a random host port is written by leaving the host port out).
// - hostIp '' means every host address: shown as 0.0.0.0, plus `::` when the caller says the
//   mapping is also published over IPv6 (`ipv6: true`), as Docker shows both when it binds both.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, isIP, isIPv6 } from 'node:net';
import {
  type BerthError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  UnsupportedError,
} from '../errors/index.js';
import type { PortMapping, PortProtocol } from '../network/index.js';

const PROTOCOLS: readonly PortProtocol[] = ['tcp', 'udp', 'sctp'];

/** The most ports one -p/--expose spec (or all of -P) may expand to: each one is a DNAT rule. */
export const MAX_PORTS_PER_SPEC = 10_000;

interface PortRange {
  start: number;
  end: number;
}

function rangeLength(r: PortRange): number {
  return r.end - r.start + 1;
}

function bad(flag: string, spec: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid ${flag} "${spec}": ${why}`);
}

function parsePortNumber(text: string, what: string, flag: string, spec: string): number {
  if (text === '') throw bad(flag, spec, `empty ${what}`);
  if (!/^\d+$/.test(text)) throw bad(flag, spec, `${what} "${text}" is not a number`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw bad(flag, spec, `${what} ${text} is out of range (1-65535)`);
  return n;
}

function parseRange(text: string, what: string, flag: string, spec: string): PortRange {
  if (text === '') throw bad(flag, spec, `empty ${what}`);
  const dash = text.indexOf('-');
  if (dash === -1) {
    const n = parsePortNumber(text, what, flag, spec);
    return { start: n, end: n };
  }
  const start = parsePortNumber(text.slice(0, dash), `${what} range start`, flag, spec);
  const end = parsePortNumber(text.slice(dash + 1), `${what} range end`, flag, spec);
  if (end < start) throw bad(flag, spec, `${what} range ${text} is reversed`);
  return { start, end };
}

function parseProtocol(text: string, flag: string, spec: string): PortProtocol {
  const p = text.toLowerCase();
  if (p === '') throw bad(flag, spec, 'empty protocol after "/"');
  if (!(PROTOCOLS as readonly string[]).includes(p))
    throw bad(flag, spec, `unknown protocol "${text}" (expected tcp, udp or sctp)`);
  return p as PortProtocol;
}

/** `PORTS[/proto]` → the ports part and the protocol (tcp when none is given). */
function splitProtocol(text: string, flag: string, spec: string): [string, PortProtocol] {
  const parts = text.split('/');
  if (parts.length > 2) throw bad(flag, spec, 'more than one "/"');
  return [parts[0]!, parts.length === 2 ? parseProtocol(parts[1]!, flag, spec) : 'tcp'];
}

function checkExpansion(length: number, flag: string, spec: string): void {
  if (length > MAX_PORTS_PER_SPEC)
    throw bad(flag, spec, `range of ${length} ports is more than ${MAX_PORTS_PER_SPEC}`);
}

function parseHostIp(text: string, flag: string, spec: string): string {
  if (text === '') throw bad(flag, spec, 'empty host IP');
  if (isIP(text) === 0) throw bad(flag, spec, `host IP "${text}" is not an IPv4 or IPv6 address`);
  return text.toLowerCase();
}

/** `[ip:][hostPort:]containerPort` (protocol already removed) → its three parts. */
function splitAddress(text: string, spec: string): { ip?: string; host?: string; container: string } {
  const flag = '-p';
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) throw bad(flag, spec, 'missing "]" after the IPv6 address');
    const ip = text.slice(1, close);
    if (!isIPv6(ip)) throw bad(flag, spec, `"${ip}" in brackets is not an IPv6 address`);
    const rest = text.slice(close + 1);
    const parts = rest.split(':');
    if (parts.length !== 3 || parts[0] !== '')
      throw bad(flag, spec, 'expected [IPv6]:HOSTPORT:CONTAINERPORT (HOSTPORT may be empty)');
    return { ip: parseHostIp(ip, flag, spec), host: parts[1]!, container: parts[2]! };
  }
  const parts = text.split(':');
  const n = parts.length;
  if (n === 1) return { container: parts[0]! };
  if (n === 2) {
    if (parts[0] === '') throw bad(flag, spec, 'empty host port (leave out the ":" for a random one)');
    return { host: parts[0]!, container: parts[1]! };
  }
  // three parts or more: everything before the last two is the address (a bare IPv6 one if > 3)
  const ip = parts.slice(0, n - 2).join(':');
  return { ip: parseHostIp(ip, flag, spec), host: parts[n - 2]!, container: parts[n - 1]! };
}

/**
 * `-p [ip:][hostPort:]containerPort[/tcp|udp|sctp]` → one mapping per container port (hostPort 0
 * = pick a free one at start; a host pool range is kept in `hostRange`).
 */
export function parsePublishFlag(spec: string): PortMapping[] {
  const flag = '-p';
  const text = spec.trim();
  if (text === '') throw bad(flag, spec, 'empty port specification');
  const [address, protocol] = splitProtocol(text, flag, spec);
  const parts = splitAddress(address, spec);
  const hostIp = parts.ip ?? '';
  const container = parseRange(parts.container, 'container port', flag, spec);
  checkExpansion(rangeLength(container), flag, spec);
  if (parts.host === undefined || parts.host === '') {
    const out: PortMapping[] = [];
    for (let p = container.start; p <= container.end; p++)
      out.push({ hostIp, hostPort: 0, containerPort: p, protocol });
    return out;
  }
  const host = parseRange(parts.host, 'host port', flag, spec);
  if (rangeLength(host) === rangeLength(container)) {
    const out: PortMapping[] = [];
    for (let i = 0; i < rangeLength(container); i++)
      out.push({ hostIp, hostPort: host.start + i, containerPort: container.start + i, protocol });
    return out;
  }
  if (rangeLength(container) === 1) {
    return [{ hostIp, hostPort: 0, containerPort: container.start, protocol, hostRange: host }];
  }
  throw bad(
    flag,
    spec,
    `host range ${parts.host} (${rangeLength(host)} ports) and container range ${parts.container} ` +
      `(${rangeLength(container)} ports) differ in length`,
  );
}

/** `--expose 80`, `80/udp`, `8000-8002/tcp` → ["8000/tcp", "8001/tcp", "8002/tcp"]. */
export function parseExposeFlag(spec: string): string[] {
  const flag = '--expose';
  const text = spec.trim();
  if (text === '') throw bad(flag, spec, 'empty port specification');
  const [ports, protocol] = splitProtocol(text, flag, spec);
  if (ports.includes(':'))
    throw bad(flag, spec, 'expected PORT[-PORT][/PROTO] (use -p to publish on a host port)');
  const range = parseRange(ports, 'port', flag, spec);
  checkExpansion(rangeLength(range), flag, spec);
  const out: string[] = [];
  for (let p = range.start; p <= range.end; p++) out.push(`${p}/${protocol}`);
  return out;
}

/** "80/tcp" (or "80", as an image's EXPOSE may say) → its port and protocol. */
function parsePortKey(key: string, what: string): { port: number; protocol: PortProtocol } {
  const [ports, protocol] = splitProtocol(key.trim(), what, key);
  return { port: parsePortNumber(ports, 'port', what, key), protocol };
}

/**
 * `-P`: every exposed port ("80/tcp", as in the image's ExposedPorts and --expose) on a random host
 * port, on every host address. Ports `published` already covers (by -p) are left to -p, as Docker does.
 */
export function publishAllPorts(
  exposed: string[],
  options: { published?: PortMapping[] } = {},
): PortMapping[] {
  const covered = new Set((options.published ?? []).map((m) => `${m.containerPort}/${m.protocol}`));
  const out: PortMapping[] = [];
  for (const key of exposed) {
    const { port, protocol } = parsePortKey(key, 'exposed port');
    const id = `${port}/${protocol}`;
    if (covered.has(id)) continue;
    covered.add(id);
    out.push({ hostIp: '', hostPort: 0, containerPort: port, protocol });
  }
  if (out.length > MAX_PORTS_PER_SPEC)
    throw new InvalidArgumentError(
      `cannot publish ${out.length} exposed ports with -P: more than ${MAX_PORTS_PER_SPEC}`,
    );
  return out;
}

/** The image's EXPOSE, --expose and the container side of every -p, as sorted unique "80/tcp" keys. */
export function exposedPortKeys(mappings: PortMapping[], exposed: string[] = []): string[] {
  const keys = new Map<string, { port: number; protocol: string }>();
  for (const key of exposed) {
    const { port, protocol } = parsePortKey(key, 'exposed port');
    keys.set(`${port}/${protocol}`, { port, protocol });
  }
  for (const m of mappings)
    keys.set(`${m.containerPort}/${m.protocol}`, { port: m.containerPort, protocol: m.protocol });
  return [...keys.entries()]
    .sort(([, a], [, b]) => a.port - b.port || a.protocol.localeCompare(b.protocol))
    .map(([k]) => k);
}

// ---------------------------------------------------------------------------------------------
// Host ports: picking free ones and checking explicit ones.

/** The key `taken` sets use: "tcp/8080". */
export function hostPortKey(mapping: Pick<PortMapping, 'protocol' | 'hostPort'>): string {
  return `${mapping.protocol}/${mapping.hostPort}`;
}

/** The host ports these (picked) mappings hold, as `taken` keys. */
export function hostPortKeys(mappings: PortMapping[]): string[] {
  return mappings.filter((m) => m.hostPort !== 0).map(hostPortKey);
}

function showHost(hostIp: string, port: number | string): string {
  const ip = hostIp === '' ? '0.0.0.0' : hostIp;
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

type Probe = { port: number } | { error: NodeJS.ErrnoException };

/** The local ports of SCTP endpoints on the host (empty when the sctp module is not loaded). */
function sctpPortsInUse(file = '/proc/net/sctp/eps'): Set<number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Set();
  }
  const [header = '', ...lines] = text.split('\n');
  const column = header.trim().split(/\s+/).indexOf('LPORT');
  const ports = new Set<number>();
  if (column === -1) return ports;
  for (const line of lines) {
    const port = Number(line.trim().split(/\s+/)[column]);
    if (Number.isInteger(port) && port > 0) ports.add(port);
  }
  return ports;
}

function ephemeralRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): PortRange {
  try {
    const [start, end] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (start! >= 1 && end! <= 65535 && start! <= end!) return { start: start!, end: end! };
  } catch {
    // fall through to the kernel's default
  }
  return { start: 32768, end: 60999 };
}

function bindHost(m: PortMapping): string {
  return m.hostIp === '' ? '0.0.0.0' : m.hostIp;
}

/** A bound socket: its descriptor, the port it got, and how to close it. */
type Held = { fd: number; port: number; close: () => Promise<void> };

function handleFd(handle: unknown): number {
  const fd = (handle as { _handle?: { fd?: number } } | undefined)?._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('no file descriptor on the bound socket');
  return fd;
}

/** A TCP listener on host:port (0 = the kernel picks); rejects with the bind error. */
async function holdTcp(host: string, port: number): Promise<Held> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true, backlog: 1 }, () => resolve());
  });
  // nothing ever reaches it: the kernel's DNAT sends the port's traffic to the container first
  server.on('connection', (s) => s.destroy());
  return {
    fd: handleFd(server),
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A UDP socket bound to host:port (0 = the kernel picks); rejects with the bind error. */
async function holdUdp(host: string, port: number): Promise<Held> {
  const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: host, port, exclusive: true }, () => resolve());
    });
  } catch (err) {
    try {
      socket.close();
    } catch {
      // already closed by the failed bind
    }
    throw err;
  }
  // dgram keeps its handle under a symbol (its `_handle` getter is deprecated, DEP0112)
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const handle = state
    ? (socket as unknown as Record<symbol, { handle?: unknown }>)[state]?.handle
    : undefined;
  return {
    fd: handleFd({ _handle: handle }),
    port: socket.address().port,
    close: () => new Promise((r) => socket.close(() => r())),
  };
}

function hold(m: PortMapping, port: number): Promise<Held> {
  return m.protocol === 'udp' ? holdUdp(bindHost(m), port) : holdTcp(bindHost(m), port);
}

/** Bind host:port (0 = the kernel picks), note the port, close it again. */
async function probe(m: PortMapping, port: number): Promise<Probe> {
  let held: Held | undefined;
  try {
    held = await hold(m, port);
    return { port: held.port };
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  } finally {
    await held?.close();
  }
}

/** A probe error other than "in use" means the mapping itself cannot work here. */
function probeFailure(m: PortMapping, port: number, error: NodeJS.ErrnoException): BerthError {
  const where = showHost(m.hostIp, port);
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT' || error.code === 'EINVAL')
    return new InvalidArgumentError(
      `cannot publish ${m.containerPort}/${m.protocol} on ${where}: ${m.hostIp} is not an address of this host`,
      { cause: error },
    );
  if (error.code === 'EACCES')
    return new UnsupportedError(`cannot publish on privileged port ${where} without root`, {
      cause: error,
      hint: `lower net.ipv4.ip_unprivileged_port_start to ${port}, or use a port above 1023`,
    });
  return new ConflictError(`Bind for ${where} failed: ${error.message}`, { cause: error });
}

const RANDOM_ATTEMPTS = 64;

async function pickRandom(m: PortMapping, used: Set<string>): Promise<number> {
  if (m.protocol === 'sctp') {
    const range = ephemeralRange();
    const busy = sctpPortsInUse();
    const length = rangeLength(range);
    const offset = Math.floor(Math.random() * length);
    for (let i = 0; i < length; i++) {
      const port = range.start + ((offset + i) % length);
      if (!busy.has(port) && !used.has(hostPortKey({ protocol: 'sctp', hostPort: port }))) return port;
    }
  } else {
    for (let i = 0; i < RANDOM_ATTEMPTS; i++) {
      const result = await probe(m, 0);
      if ('error' in result) throw probeFailure(m, 0, result.error);
      if (!used.has(hostPortKey({ protocol: m.protocol, hostPort: result.port }))) return result.port;
    }
  }
  throw new ConflictError(
    `no free host port for ${m.containerPort}/${m.protocol} on ${showHost(m.hostIp, '*')}`,
  );
}

async function pickFromPool(m: PortMapping, range: PortRange, used: Set<string>): Promise<number> {
  const busy = m.protocol === 'sctp' ? sctpPortsInUse() : undefined;
  for (let port = range.start; port <= range.end; port++) {
    if (used.has(hostPortKey({ protocol: m.protocol, hostPort: port }))) continue;
    if (busy) {
      if (!busy.has(port)) return port;
      continue;
    }
    const result = await probe(m, port);
    if (!('error' in result)) return port;
    if (result.error.code !== 'EADDRINUSE') throw probeFailure(m, port, result.error);
  }
  throw new ConflictError(
    `Bind for ${showHost(m.hostIp, `${range.start}-${range.end}`)} failed: all ports are allocated`,
  );
}

/**
 * Fills every hostPort 0 with a free host port: from the mapping's `hostRange` pool (its first free
 * port) or one the kernel hands out (tcp/udp; sctp: from the ephemeral range, avoiding the host's
 * SCTP endpoints). `taken` holds "tcp/8080" keys other berth containers use; those are skipped, and
 * so are the explicit host ports of `mappings` and the ones picked earlier in this call.
 * The ports are free when picked; the caller holds its lock until the rules are in place.
 */
export async function allocateHostPorts(mappings: PortMapping[], taken: Set<string>): Promise<PortMapping[]> {
  const used = new Set(taken);
  for (const m of mappings) if (m.hostPort !== 0) used.add(hostPortKey(m));
  const out: PortMapping[] = [];
  for (const m of mappings) {
    if (m.hostPort !== 0) {
      out.push({ ...m });
      continue;
    }
    const hostPort = m.hostRange ? await pickFromPool(m, m.hostRange, used) : await pickRandom(m, used);
    used.add(hostPortKey({ protocol: m.protocol, hostPort }));
    out.push({ ...m, hostPort });
  }
  return out;
}

/** Two host addresses overlap when either is a wildcard or they are the same address. */
function addressesOverlap(a: string, b: string): boolean {
  const wildcard = (ip: string) => ip === '' || ip === '0.0.0.0' || ip === '::';
  return wildcard(a) || wildcard(b) || a === b;
}

/**
 * Refuses explicit host ports that cannot be had: one published twice by `mappings`, one another
 * berth container holds (`taken`, "tcp/8080" keys), or one a host process listens on (found by
 * binding it for a moment). Mappings with hostPort 0 are left to allocateHostPorts.
 */
export async function checkHostPortsFree(mappings: PortMapping[], taken: Set<string>): Promise<void> {
  const explicit = mappings.filter((m) => m.hostPort !== 0);
  for (let i = 0; i < explicit.length; i++) {
    const m = explicit[i]!;
    const earlier = explicit
      .slice(0, i)
      .find(
        (o) => o.protocol === m.protocol && o.hostPort === m.hostPort && addressesOverlap(o.hostIp, m.hostIp),
      );
    if (earlier)
      throw new ConflictError(
        `Bind for ${showHost(m.hostIp, m.hostPort)} failed: port is already allocated ` +
          `(published twice, for ${earlier.containerPort}/${earlier.protocol} and ${m.containerPort}/${m.protocol})`,
      );
  }
  let sctpBusy: Set<number> | undefined;
  for (const m of explicit) {
    const where = showHost(m.hostIp, m.hostPort);
    if (taken.has(hostPortKey(m)))
      throw new ConflictError(`Bind for ${where} failed: port is already allocated`);
    if (m.protocol === 'sctp') {
      sctpBusy ??= sctpPortsInUse();
      if (sctpBusy.has(m.hostPort))
        throw new ConflictError(`Bind for ${where} failed: address already in use on the host`);
      continue;
    }
    const result = await probe(m, m.hostPort);
    if ('error' in result) {
      if (result.error.code === 'EADDRINUSE')
        throw new ConflictError(`Bind for ${where} failed: address already in use on the host`, {
          cause: result.error,
          hint: `a process on the host listens on ${m.protocol} port ${m.hostPort}; pick another host port`,
        });
      throw probeFailure(m, m.hostPort, result.error);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Renderings.

export interface PortRenderOptions {
  /** Mappings on every host address ('') are also published over IPv6: show `::` beside 0.0.0.0. */
  ipv6?: boolean;
}

/** The host addresses a mapping is shown on. */
function shownAddresses(m: PortMapping, options: PortRenderOptions): string[] {
  if (m.hostIp !== '') return [m.hostIp];
  return options.ipv6 ? ['0.0.0.0', '::'] : ['0.0.0.0'];
}

function compareKeys(a: { port: number; protocol: string }, b: { port: number; protocol: string }): number {
  return a.port - b.port || a.protocol.localeCompare(b.protocol);
}

/**
 * inspect's `NetworkSettings.Ports`: "80/tcp" → its host bindings, or null for a port that is
 * exposed but not published (or not picked yet, hostPort 0). Keys in Go's JSON map order (sorted).
 */
export function portBindingsMap(
  mappings: PortMapping[],
  exposed: string[] = [],
  options: PortRenderOptions = {},
): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const map = new Map<string, { HostIp: string; HostPort: string }[] | null>();
  for (const key of exposed) {
    const { port, protocol } = parsePortKey(key, 'exposed port');
    map.set(`${port}/${protocol}`, null);
  }
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    if (m.hostPort === 0) {
      if (!map.has(key)) map.set(key, null);
      continue;
    }
    const list = map.get(key) ?? [];
    for (const ip of shownAddresses(m, options)) list.push({ HostIp: ip, HostPort: String(m.hostPort) });
    map.set(key, list);
  }
  const sorted = [...map.keys()].sort();
  return Object.fromEntries(sorted.map((k) => [k, map.get(k)!]));
}

interface ColumnEntry {
  /** undefined: exposed, not published. */
  ip?: string;
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
}

function family(ip: string | undefined): number {
  return ip === undefined ? 0 : isIPv6(ip) ? 2 : 1;
}

/**
 * The PORTS column of `ps`, Docker's way: "0.0.0.0:8080->80/tcp, :::8080->80/tcp", runs of
 * consecutive ports collapsed ("0.0.0.0:8000-8002->80-82/tcp", "8000-8002/tcp" for exposed ones).
 * Docker collapses only runs whose host and container ports are equal; this collapses any run in
 * which both sides step by one, which reads the same for Docker's case.
 */
export function formatPortsColumn(
  mappings: PortMapping[],
  options: PortRenderOptions & { exposed?: string[] } = {},
): string {
  const entries: ColumnEntry[] = [];
  const published = new Set<string>();
  for (const m of mappings) {
    if (m.hostPort === 0) continue;
    published.add(`${m.containerPort}/${m.protocol}`);
    for (const ip of shownAddresses(m, options))
      entries.push({ ip, hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol });
  }
  const unpublished = new Set<string>();
  const exposedKeys = [
    ...(options.exposed ?? []),
    ...mappings.filter((m) => m.hostPort === 0).map((m) => `${m.containerPort}/${m.protocol}`),
  ];
  for (const key of exposedKeys) {
    const { port, protocol } = parsePortKey(key, 'exposed port');
    const id = `${port}/${protocol}`;
    if (published.has(id) || unpublished.has(id)) continue;
    unpublished.add(id);
    entries.push({ hostPort: 0, containerPort: port, protocol });
  }
  // group by (address, protocol), each group in container-port order, then cut it into runs
  entries.sort(
    (a, b) =>
      family(a.ip) - family(b.ip) ||
      (a.ip ?? '').localeCompare(b.ip ?? '') ||
      a.protocol.localeCompare(b.protocol) ||
      a.containerPort - b.containerPort ||
      a.hostPort - b.hostPort,
  );
  const runs: { first: ColumnEntry; last: ColumnEntry }[] = [];
  for (const e of entries) {
    const run = runs.at(-1);
    if (
      run &&
      run.last.ip === e.ip &&
      run.last.protocol === e.protocol &&
      e.containerPort === run.last.containerPort + 1 &&
      (e.ip === undefined || e.hostPort === run.last.hostPort + 1)
    ) {
      run.last = e;
      continue;
    }
    runs.push({ first: e, last: e });
  }
  runs.sort(
    (a, b) =>
      a.first.containerPort - b.first.containerPort ||
      family(a.first.ip) - family(b.first.ip) ||
      a.first.protocol.localeCompare(b.first.protocol) ||
      a.first.hostPort - b.first.hostPort,
  );
  const span = (a: number, b: number) => (a === b ? `${a}` : `${a}-${b}`);
  return runs
    .map(({ first, last }) => {
      const container = `${span(first.containerPort, last.containerPort)}/${first.protocol}`;
      if (first.ip === undefined) return container;
      return `${first.ip}:${span(first.hostPort, last.hostPort)}->${container}`;
    })
    .join(', ');
}

/**
 * The lines of `berth port CONTAINER [PORT[/PROTO]]`: "80/tcp -> 0.0.0.0:8080" for each binding,
 * or with a filter only "0.0.0.0:8080" for that port. A filter that matches nothing is a
 * NotFoundError naming the container (`options.name`). Mappings not picked yet (hostPort 0) are
 * not shown, as Docker shows nothing for a container that is not running.
 */
export function portCommandLines(
  mappings: PortMapping[],
  filter?: string,
  options: PortRenderOptions & { name?: string } = {},
): string[] {
  const bindings = mappings
    .filter((m) => m.hostPort !== 0)
    .flatMap((m) => shownAddresses(m, options).map((ip) => ({ ...m, ip })))
    .sort(
      (a, b) =>
        compareKeys(
          { port: a.containerPort, protocol: a.protocol },
          { port: b.containerPort, protocol: b.protocol },
        ) ||
        family(a.ip) - family(b.ip) ||
        a.ip.localeCompare(b.ip) ||
        a.hostPort - b.hostPort,
    );
  if (filter === undefined)
    return bindings.map((b) => `${b.containerPort}/${b.protocol} -> ${showHost(b.ip, b.hostPort)}`);
  const { port, protocol } = parsePortKey(filter, 'port');
  const lines = bindings
    .filter((b) => b.containerPort === port && b.protocol === protocol)
    .map((b) => showHost(b.ip, b.hostPort));
  if (lines.length === 0)
    throw new NotFoundError(
      `no public port '${port}/${protocol}' published for ${options.name ?? 'the container'}`,
    );
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Holding the host ports while the container runs.

/** Published host ports bound by this process, to be handed to conmon (see CreateOptions.holdFds). */
export interface PortReservation {
  /** The bound sockets' file descriptors. */
  fds: number[];
  /** Closes this process's copies (conmon keeps its own). */
  release(): Promise<void>;
}

/**
 * Binds every published TCP and UDP host port (hostPort already picked), as docker-proxy and
 * Podman's conmon do, so that a host process cannot take a port a container publishes, and a
 * port a host process took since the check fails here. SCTP ports are not held (Node cannot
 * bind SCTP). On failure nothing stays bound.
 */
export async function reserveHostPorts(mappings: PortMapping[]): Promise<PortReservation> {
  const held: Held[] = [];
  const release = async () => {
    for (const h of held.splice(0)) await h.close().catch(() => {});
  };
  try {
    for (const m of mappings) {
      if (m.protocol === 'sctp' || m.hostPort === 0) continue;
      try {
        held.push(await hold(m, m.hostPort));
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE')
          throw new ConflictError(
            `Bind for ${showHost(m.hostIp, m.hostPort)} failed: port is already allocated`,
            {
              cause: e,
              hint: `a process on the host listens on ${m.protocol} port ${m.hostPort}; pick another host port`,
            },
          );
        throw probeFailure(m, m.hostPort, e);
      }
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { fds: held.map((h) => h.fd), release };
}
