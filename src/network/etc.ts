import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors/index.js';
import { atomicWriteFile } from '../util/index.js';

export interface EtcFilesOptions {
  hostname: string;
  /** `--add-host name:ip` entries. */
  extraHosts?: { name: string; ip: string }[];
  /** `--dns` servers; default: the host's (minus loopback ones a netns cannot reach). */
  dns?: string[];
  dnsSearch?: string[];
  /** `--dns-option`: resolv.conf `options` entries. */
  dnsOptions?: string[];
  /**
   * Name servers of the container's DNS-enabled networks (their gateways) and their search
   * domain: they go first, the host's (or --dns) servers after, for names they do not know.
   */
  networkDns?: { servers: string[]; search: string[] };
  /** More names for the container's own address (its container name). */
  selfNames?: string[];
  /** The container's own address on its network, if it has one. */
  address?: string;
  network: 'none' | 'host' | 'bridge';
  hostResolvConf?: string;
}

const HOSTNAME_RE =
  /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

export function validateHostname(name: string): string {
  if (name.length > 253 || !HOSTNAME_RE.test(name))
    throw new InvalidArgumentError(`invalid hostname "${name}"`);
  return name;
}

export function hostsFile(options: EtcFilesOptions): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const h of options.extraHosts ?? []) lines.push(`${h.ip}\t${h.name}`);
  const names = [...new Set([options.hostname, ...(options.selfNames ?? [])])];
  lines.push(`${options.address ?? '127.0.1.1'}\t${names.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** resolv.conf for a container: explicit servers, else the host's without loopback resolvers. */
export function resolvConf(options: EtcFilesOptions): string {
  const host = options.hostResolvConf ?? readHostResolvConf();
  const hostServers = [...host.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!);
  const hostSearch = /^\s*search\s+(.+)$/m.exec(host)?.[1]?.trim().split(/\s+/) ?? [];
  let servers = options.dns ?? hostServers;
  // a loopback resolver on the host is unreachable from a new network namespace
  if (!options.dns && options.network !== 'host') servers = servers.filter((s) => !/^127\.|^::1$/.test(s));
  if (servers.length === 0 && options.network !== 'none' && !options.networkDns?.servers.length)
    servers = ['8.8.8.8', '8.8.4.4'];
  if (options.networkDns) servers = [...new Set([...options.networkDns.servers, ...servers])];
  const search = [...new Set([...(options.networkDns?.search ?? []), ...(options.dnsSearch ?? hostSearch)])];
  const lines: string[] = [];
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  for (const s of servers) lines.push(`nameserver ${s}`);
  if (options.dnsOptions?.length) lines.push(`options ${options.dnsOptions.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

function readHostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/** Write hosts, hostname and resolv.conf into `dir` (bind-mounted into the container). */
export async function writeEtcFiles(
  dir: string,
  options: EtcFilesOptions,
): Promise<{ hosts: string; hostname: string; resolvConf: string }> {
  validateHostname(options.hostname);
  const paths = {
    hosts: join(dir, 'hosts'),
    hostname: join(dir, 'hostname'),
    resolvConf: join(dir, 'resolv.conf'),
  };
  await atomicWriteFile(
    paths.hosts,
    options.network === 'host' ? readFileSync('/etc/hosts', 'utf8') : hostsFile(options),
  );
  await atomicWriteFile(paths.hostname, `${options.hostname}\n`);
  await atomicWriteFile(paths.resolvConf, resolvConf(options));
  return paths;
}
