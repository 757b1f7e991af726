// Name resolution on bridge networks through the `dnsname` CNI plugin (Debian's
// golang-github-containernetworking-plugin-dnsname, Podman's CNI-era DNS). Chosen because it is
// a CNI plugin, so a network stays one conflist any CNI tool can run; it ships in Debian 12 next
// to podman; and aardvark-dns would need netavark, which would switch podman's own network
// backend on the same host. No berth daemon: dnsmasq is the plugin's. It is the last plugin of a
// network's conflist. At ADD it appends "<ip>\t<name>\t<aliases...>" to the network's hosts file
// and starts (or SIGHUPs) one dnsmasq per network, bound to the bridge's addresses. At DEL it
// drops the lines of that name; when none are left it kills dnsmasq and removes the directory.
//
// What the plugin needs from berth, read from its source (containers/dnsname v1.3.1):
// - the container's name in CNI_ARGS as K8S_POD_NAME (with IgnoreUnknown=1 so that bridge and
//   host-local, which parse CNI_ARGS too, accept the extra key): dnsArgs();
// - the aliases as runtimeConfig `aliases: { <conflist name>: [...] }`: dnsCapabilityArgs();
// - the cached ADD result at DEL (it finds the bridge in prevResult.interfaces[0]); a DEL
//   without one does nothing, so berth's DEL must pass the cached result (cniDel does).
// State: /run/containers/cni/dnsname/<network>/{dnsmasq.conf,addnhosts,pidfile} (the plugin
// would use $XDG_RUNTIME_DIR instead, but berth's plugin environment carries only PATH).
// dnsmasq reads the host's /etc/resolv.conf and forwards every name outside the network's
// domain there; the domain itself is answered locally only (`local=/<domain>/`).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, InvalidArgumentError, IOError } from '../errors/index.js';
import { atomicWriteFile } from '../util/index.js';
import { type CniAttachment, type CniCacheEntry, type CniOptions, cniDel } from './_cni.js';
import { CNI_VERSION, type CniConflist, validateConflist } from './_conflist.js';
import { runCommand } from './_netns.js';

/** The search domain of berth's networks when none is given (Podman's was dns.podman). */
export const DEFAULT_DNS_DOMAIN = 'dns.berth';

/** Where the dnsname plugin keeps one directory per network (root, no XDG_RUNTIME_DIR). */
export const DNSNAME_STATE_DIR = '/run/containers/cni/dnsname';

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
// dnsmasq reads a hosts-file name as one whitespace-free token; it accepts '_' and upper case
// (lookups ignore case). A name with a dot is served as is, without the network's domain.
// Aliases are given for DNS alone, so they must be names dnsmasq serves.
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Throws InvalidArgumentError unless `domain` is a DNS name (it goes into dnsmasq.conf). */
export function checkDnsDomain(domain: string): void {
  if (domain.length > 253 || !DOMAIN.test(domain))
    throw new InvalidArgumentError(
      `invalid DNS domain "${domain}": expected dot-separated labels of letters, digits and '-'`,
    );
}

function checkHostName(name: string, what: string): void {
  if (!HOST_NAME.test(name) || name.endsWith('.') || name.includes('..'))
    throw new InvalidArgumentError(
      `invalid ${what} "${name}" for DNS: use letters, digits, '_', '.', '-' (at most 253)`,
    );
}

function checkNetwork(network: string): void {
  if (!NETWORK_NAME.test(network)) throw new InvalidArgumentError(`invalid network name "${network}"`);
}

/**
 * The CNI_ARGS that name a container to dnsname. Pass the same at DEL (the ones cached at ADD,
 * even if the container was renamed since): the plugin removes the hosts-file lines by this name,
 * not by container id. Any valid container name is accepted, so attaching never fails for its
 * name; dnsmasq skips a name with a label over 63 characters ("bad name" in its log), serves
 * "x." as "x", and a name with ".." cannot be asked for: such names just do not resolve.
 */
export function dnsArgs(containerName: string): Record<string, string> {
  if (!CONTAINER_NAME.test(containerName))
    throw new InvalidArgumentError(`invalid container name "${containerName}"`);
  return { IgnoreUnknown: '1', K8S_POD_NAME: containerName };
}

/** The capability args (runtimeConfig) giving dnsname a container's aliases on `network`. */
export function dnsCapabilityArgs(network: string, aliases: string[]): Record<string, unknown> {
  checkNetwork(network);
  for (const a of aliases) checkHostName(a, 'network alias');
  return { aliases: { [network]: [...new Set(aliases)] } };
}

/** The directory dnsname keeps `network`'s dnsmasq.conf, addnhosts and pidfile in. */
export function dnsStateDir(network: string): string {
  checkNetwork(network);
  return join(DNSNAME_STATE_DIR, network);
}

/** The pid of the network's dnsmasq when it runs (checked against /proc), else undefined. */
export function dnsmasqPid(network: string): number | undefined {
  const dir = dnsStateDir(network);
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'pidfile'), 'utf8').trim());
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new IOError(`cannot read the dnsmasq pid file of network "${network}"`, { cause: err });
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
  // A recycled pid must not be killed: it is ours only if it runs dnsmasq on this conf file.
  const argv = cmdline.split('\0');
  const isOurs =
    argv[0] !== undefined &&
    /(^|\/)dnsmasq$/.test(argv[0]) &&
    argv.includes(`--conf-file=${join(dir, 'dnsmasq.conf')}`);
  return isOurs ? pid : undefined;
}

/**
 * Removes what dnsname leaves of a network once no container is attached: for `network rm` and
 * for cleanup after a crash. The plugin itself stops dnsmasq and removes the state directory
 * only when a DEL empties the hosts file, and it never removes the iptables rule
 * (`INPUT -i <bridge> -p udp --dport 53 -j ACCEPT`) it inserted at the first ADD. A stale
 * dnsmasq.conf would also be reused as is by a re-created network of the same name, with the
 * old bridge and domain in it. Idempotent.
 */
export async function removeDnsState(
  network: string,
  bridge: string,
  options: { rule?: boolean } = {},
): Promise<void> {
  const dir = dnsStateDir(network);
  const pid = dnsmasqPid(network);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if (errnoCode(err) !== 'ESRCH') throw new IOError(`cannot stop dnsmasq ${pid}`, { cause: err });
    }
  }
  rmSync(dir, { recursive: true, force: true });
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge))
    throw new InvalidArgumentError(`invalid bridge name "${bridge}"`);
  if (options.rule === false) return;
  const rule = ['INPUT', '-i', bridge, '-p', 'udp', '-m', 'udp', '--dport', '53', '-j', 'ACCEPT'];
  // Bounded: the plugin inserts the rule once (it checks first), but be tolerant of copies.
  for (let i = 0; i < 8; i++) {
    const check = await runCommand(['iptables', '-w', '-t', 'filter', '-C', ...rule]);
    if (check.status !== 0) break;
    const del = await runCommand(['iptables', '-w', '-t', 'filter', '-D', ...rule]);
    if (del.status !== 0)
      throw new IOError(`cannot remove the DNS rule of bridge ${bridge}: ${del.stderr.trim()}`);
  }
}

/**
 * Removes a container's name from its network's DNS when its CNI result was never cached (berth
 * killed after dnsname's ADD but before the result was saved). cniDel cannot: dnsname ignores a
 * DEL without prevResult, and the stale name would keep pointing at an address that host-local
 * hands out again. This runs dnsname's DEL alone, with a result naming only the bridge (all the
 * plugin reads at DEL). `attachment.args` must be the ones given at ADD (dnsArgs of the name
 * then). Returns false when the network has no dnsname plugin.
 */
export async function dnsDelWithoutResult(
  conflist: CniConflist,
  attachment: CniAttachment,
  options: CniOptions = {},
): Promise<boolean> {
  const list = validateConflist(conflist);
  const dns = list.plugins.find((p) => p.type === 'dnsname');
  const bridge = list.plugins.find((p) => p.type === 'bridge')?.bridge;
  if (dns === undefined) return false;
  if (typeof bridge !== 'string') throw new InvalidArgumentError(`network "${list.name}" has no bridge`);
  const cacheFile = `${attachment.cacheFile}.dnsdel`;
  const entry: CniCacheEntry = {
    kind: 'cniCacheV1',
    network: list.name,
    containerId: attachment.containerId,
    ifname: attachment.ifname,
    netns: attachment.netns,
    args: attachment.args ?? {},
    capabilityArgs: {},
    result: { cniVersion: CNI_VERSION, interfaces: [{ name: bridge }], ips: [] },
  };
  await atomicWriteFile(cacheFile, JSON.stringify(entry), { mode: 0o600 });
  try {
    await cniDel({ ...list, plugins: [dns] }, { ...attachment, cacheFile }, options);
  } finally {
    rmSync(cacheFile, { force: true });
  }
  return true;
}
