// Attaching a container to its networks and taking it off again. berth makes the network
// namespace (a bind-mounted file under the runtime root), runs each network's CNI conflist ADD
// with its own interface (eth0, eth1, …), and keeps CNI's cache record per interface so DEL can
// undo exactly what ADD did, even from another process after a crash. Everything here lives
// under the runtime root (a tmpfs): namespaces, bridges, iptables rules and leases are all gone
// after a reboot, so none of their records may outlive one.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, InvalidArgumentError, IOError, NetworkError } from '../errors/index.js';
import { parseProcStat } from '../util/index.js';
import { type CniOptions, type CniResult, cniAdd, cniCheck, cniDel, readCacheEntry } from './_cni.js';
import { checkIpInSubnets, validateConflist } from './_conflist.js';
import { dnsArgs, dnsCapabilityArgs, dnsDelWithoutResult } from './_dns.js';
import { createNetns, deleteNetns } from './_netns.js';
import { ensureNetworkRules, runtimeChain } from './_rules.js';
import type { NetworkEndpoint, NetworkRecord, NetworkStatus, PortMapping } from './_types.js';

export interface NetworkPaths {
  /** Where the namespaces are bind-mounted: `<runroot>/netns`. */
  netnsDir: string;
  /** CNI cache records: `<runroot>/networks/cache`. */
  cacheDir: string;
}

/** One network to join, resolved to its record. */
export interface AttachRequest {
  network: NetworkRecord;
  aliases?: string[];
  ipv4?: string;
  ipv6?: string;
  mac?: string;
}

export interface AttachContext {
  paths: NetworkPaths;
  containerId: string;
  /** The name other containers resolve it by (DNS-enabled networks). */
  containerName: string;
  cni?: CniOptions;
}

const ID_RE = /^[0-9a-f]{64}$/;
const MAC_RE = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

function cacheFile(paths: NetworkPaths, containerId: string, ifname: string): string {
  return join(paths.cacheDir, `${containerId}-${ifname}.json`);
}

/** Checks what a request asks for against its network, before anything is set up. */
export function checkAttachRequest(r: AttachRequest): void {
  const subnets = r.network.subnets;
  if (r.ipv4 !== undefined) {
    if (r.ipv4.includes(':')) throw new InvalidArgumentError(`invalid IPv4 address "${r.ipv4}"`);
    checkIpInSubnets(r.ipv4, subnets);
  }
  if (r.ipv6 !== undefined) {
    if (!r.ipv6.includes(':')) throw new InvalidArgumentError(`invalid IPv6 address "${r.ipv6}"`);
    checkIpInSubnets(r.ipv6, subnets);
  }
  if (r.mac !== undefined) {
    if (!MAC_RE.test(r.mac)) throw new InvalidArgumentError(`invalid MAC address "${r.mac}"`);
    // a multicast (group) bit set cannot be a host's address
    if (Number.parseInt(r.mac.slice(0, 2), 16) & 1)
      throw new InvalidArgumentError(`invalid MAC address "${r.mac}": it is a multicast address`);
  }
  for (const a of r.aliases ?? [])
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(a))
      throw new InvalidArgumentError(`invalid network alias "${a}"`);
}

function endpointFrom(
  r: AttachRequest,
  ifname: string,
  netns: string,
  file: string,
  result: CniResult,
): NetworkEndpoint {
  const ifaces = result.interfaces ?? [];
  const index = ifaces.findIndex((i) => i.name === ifname && i.sandbox === netns);
  const mine = (result.ips ?? []).filter(
    (ip) => index < 0 || ip.interface === undefined || ip.interface === index,
  );
  const v4 = mine.find((ip) => !ip.address.includes(':'));
  const v6 = mine.find((ip) => ip.address.includes(':'));
  return {
    network: r.network.name,
    networkId: r.network.id,
    endpointId: randomBytes(32).toString('hex'),
    ifname,
    mac: (index >= 0 ? ifaces[index]?.mac : undefined) ?? '',
    ...(v4 ? { ipv4: v4.address } : {}),
    ...(v4?.gateway ? { gateway4: v4.gateway } : {}),
    ...(v6 ? { ipv6: v6.address } : {}),
    ...(v6?.gateway ? { gateway6: v6.gateway } : {}),
    aliases: r.aliases ?? [],
    cacheFile: file,
    result,
  };
}

/** CNI_ARGS and runtimeConfig for one attachment. */
function attachmentArgs(
  ctx: AttachContext,
  r: AttachRequest,
  ports: PortMapping[],
): { args: Record<string, string>; capabilityArgs: Record<string, unknown> } {
  const args: Record<string, string> = { IgnoreUnknown: '1' };
  const ips = [r.ipv4, r.ipv6].filter((x): x is string => x !== undefined);
  if (ips.length) args.IP = ips.join(',');
  if (r.mac !== undefined) args.MAC = r.mac;
  const capabilityArgs: Record<string, unknown> = {};
  if (r.network.dnsEnabled) {
    // dnsname names the container after K8S_POD_NAME and adds the aliases for this network
    Object.assign(args, dnsArgs(ctx.containerName));
    Object.assign(capabilityArgs, dnsCapabilityArgs(r.network.name, r.aliases ?? []));
  }
  if (ports.length) {
    capabilityArgs.portMappings = ports.map((p) => ({
      hostPort: p.hostPort,
      containerPort: p.containerPort,
      protocol: p.protocol,
      ...(p.hostIp ? { hostIP: p.hostIp } : {}),
    }));
  }
  return { args, capabilityArgs };
}

async function addOne(
  ctx: AttachContext,
  netns: string,
  ifname: string,
  r: AttachRequest,
  ports: PortMapping[],
): Promise<NetworkEndpoint> {
  const file = cacheFile(ctx.paths, ctx.containerId, ifname);
  const { args, capabilityArgs } = attachmentArgs(ctx, r, ports);
  await ensureNetworkRules(r.network);
  const result = await cniAdd(
    runtimeChain(r.network.conflist, { hasPorts: ports.length > 0 }),
    { containerId: ctx.containerId, netns, ifname, args, capabilityArgs, cacheFile: file },
    ctx.cni,
  );
  return endpointFrom(r, ifname, netns, file, result);
}

/**
 * Claims a cache record for DEL by renaming it to `<name>.deleting-<pid>.json`, so two cleaners
 * of one container (a --rm run and a `wait` racing it) do not DEL the same interface at once.
 * A claim whose process is gone is taken over. Undefined: someone alive is on it, or it is gone.
 */
const claimedHere = new Set<string>();

function claim(file: string): string | undefined {
  const m = /^(.*)\.deleting-(\d+)\.json$/.exec(file);
  if (claimedHere.has(file)) return undefined;
  if (m && Number(m[2]) !== process.pid && processStart(Number(m[2])) !== undefined) return undefined;
  const base = m ? `${m[1]}.json` : file;
  const claimed = `${base.slice(0, -'.json'.length)}.deleting-${process.pid}.json`;
  if (claimed === file) return file;
  try {
    renameSync(file, claimed);
    return claimed;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new IOError(`cannot claim ${file}`, { cause: err });
  }
}

/** DEL for one cache record; the record carries the conflist and the args ADD used. */
async function delFromCache(cached: string, cni: CniOptions | undefined): Promise<void> {
  const file = claim(cached);
  if (file === undefined) return;
  claimedHere.add(file);
  try {
    await delClaimed(file, cni);
  } finally {
    claimedHere.delete(file);
  }
}

async function delClaimed(file: string, cni: CniOptions | undefined): Promise<void> {
  let entry: ReturnType<typeof readCacheEntry>;
  try {
    entry = readCacheEntry(file);
  } catch {
    entry = undefined;
  }
  if (!entry?.config) {
    // torn or foreign: nothing to DEL with; leaving it would block nothing but a later sweep
    rmSync(file, { force: true });
    return;
  }
  // the cache holds the chain ADD ran (runtimeChain's), so DEL undoes exactly that
  const list = validateConflist(entry.config);
  const attachment = {
    containerId: entry.containerId,
    netns: entry.netns,
    ifname: entry.ifname,
    args: entry.args,
    capabilityArgs: entry.capabilityArgs,
    cacheFile: file,
  };
  // killed between ADD and its result: dnsname's DEL needs a result to find the name's line
  if (entry.result === undefined) await dnsDelWithoutResult(list, attachment, cni).catch(() => false);
  await cniDel(list, attachment, cni);
}

/** A namespace made and its networks being attached in the background. */
export interface NetworkSetup {
  /** The bind-mounted namespace: exists as soon as setupContainerNetwork returns. */
  netns: string;
  /**
   * The interfaces' ADDs, run while the caller prepares the rest of the container (the runtime
   * can create it in this namespace meanwhile; its process must not start before this settles).
   * On failure everything is undone before it rejects.
   */
  attached: Promise<NetworkStatus>;
}

/**
 * Makes the container's namespace, then attaches it to each network in order (the first one
 * gets eth0 and the published ports) without waiting: see NetworkSetup.attached.
 */
export async function setupContainerNetwork(
  ctx: AttachContext,
  requests: AttachRequest[],
  ports: PortMapping[],
): Promise<NetworkSetup> {
  if (!ID_RE.test(ctx.containerId))
    throw new InvalidArgumentError(`invalid container id "${ctx.containerId}"`);
  if (requests.length === 0) throw new InvalidArgumentError('no network to attach to');
  for (const r of requests) checkAttachRequest(r);
  if (ports.length > 0 && requests[0]!.network.driver !== 'bridge')
    throw new InvalidArgumentError(
      `cannot publish ports on network "${requests[0]!.network.name}": only bridge networks publish ports`,
    );
  mkdirSync(ctx.paths.cacheDir, { recursive: true, mode: 0o700 });
  // the teardown of this container's last run may still be going (the cleaner that won its exit,
  // here or in another berth): it would take the new namespace with the old one
  await teardownsDone(ctx.paths, ctx.containerId);
  if (containerNetworkLeft(ctx.paths, ctx.containerId)) {
    // left by a teardown whose process died: undone now, this start's guard kept
    await teardown(ctx.paths, ctx.containerId, ctx.cni, false, false, true);
  }
  const netns = await createNetns(ctx.paths.netnsDir, ctx.containerId);
  const attached = (async () => {
    const endpoints: NetworkEndpoint[] = [];
    try {
      for (const [i, r] of requests.entries()) {
        endpoints.push(await addOne(ctx, netns, `eth${i}`, r, i === 0 ? ports : []));
      }
    } catch (err) {
      await teardownContainerNetwork(ctx.paths, ctx.containerId, ctx.cni).catch(() => {});
      throw err;
    }
    return { netns, endpoints, ports };
  })();
  // the caller awaits it later; until then a rejection is not "unhandled"
  attached.catch(() => {});
  return { netns, attached };
}

/** `network connect`: one more interface in a running container's namespace. */
export async function connectContainerNetwork(
  ctx: AttachContext,
  status: NetworkStatus,
  request: AttachRequest,
): Promise<NetworkEndpoint> {
  checkAttachRequest(request);
  const used = new Set(status.endpoints.map((e) => e.ifname));
  let n = 0;
  while (used.has(`eth${n}`) && n < 64) n++;
  if (n >= 64) throw new NetworkError('too many network interfaces in one container');
  return addOne(ctx, status.netns, `eth${n}`, request, []);
}

/** `network disconnect`: DEL of one interface. */
export async function disconnectEndpoint(endpoint: NetworkEndpoint, cni?: CniOptions): Promise<void> {
  await delFromCache(endpoint.cacheFile, cni);
}

/** Cache records of one container (found by name, so no status is needed after a crash). */
function cacheFilesOf(paths: NetworkPaths, containerId: string): string[] {
  let names: string[];
  try {
    names = readdirSync(paths.cacheDir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw new IOError(`cannot read ${paths.cacheDir}`, { cause: err });
  }
  return names
    .filter((n) => n.startsWith(`${containerId}-`) && n.endsWith('.json'))
    .sort()
    .reverse()
    .map((n) => join(paths.cacheDir, n));
}

/**
 * DEL on every interface the container has (in reverse), then the namespace goes. Idempotent:
 * safe after a partial setup, twice, and from a process other than the one that set it up.
 */
export function teardownContainerNetwork(
  paths: NetworkPaths,
  containerId: string,
  cni?: CniOptions,
  options: { namespaceFirst?: boolean; sweeping?: boolean } = {},
): Promise<void> {
  // two cleaners in one process (a --rm run's wait and its log follower) share one teardown
  const key = join(paths.netnsDir, containerId);
  const running = teardowns.get(key);
  if (running) return running;
  const p = teardown(
    paths,
    containerId,
    cni,
    options.namespaceFirst === true,
    options.sweeping === true,
  ).finally(() => teardowns.delete(key));
  teardowns.set(key, p);
  return p;
}

const teardowns = new Map<string, Promise<void>>();

/**
 * `namespaceFirst`: nothing lives in the namespace any more (the container exited and no other
 * container joined it), so it is dropped before DEL. The kernel then destroys it and its veth
 * end in the background, and bridge's DEL, finding no namespace, only releases the address:
 * deleting the veth itself (an RCU grace period or two) was the longest step of a `run --rm`.
 */
async function teardown(
  paths: NetworkPaths,
  containerId: string,
  cni: CniOptions | undefined,
  namespaceFirst: boolean,
  sweeping = false,
  keepSetupGuard = false,
): Promise<void> {
  // A sweep undoes what a dead process left; if the container starts again meanwhile (a new
  // live guard), what is there from now on is that start's, and the sweep stops touching it.
  const taken = () => sweeping && guardAlive(paths, containerId);
  // a start of this container waits while this file names a live process
  const marker = teardownGuardFile(paths, containerId);
  writeGuard(paths, marker);
  try {
    if (namespaceFirst) deleteNetns(join(paths.netnsDir, containerId));
    let first: unknown;
    for (const file of cacheFilesOf(paths, containerId)) {
      if (taken()) return;
      try {
        await delFromCache(file, cni);
      } catch (err) {
        first ??= err;
      }
    }
    if (taken()) return;
    deleteNetns(join(paths.netnsDir, containerId));
    if (!keepSetupGuard) releaseSetupGuard(paths, containerId);
    if (first !== undefined) throw first;
  } finally {
    rmSync(marker, { force: true });
  }
}

function teardownGuardFile(paths: NetworkPaths, containerId: string): string {
  return join(paths.netnsDir, `${containerId}.teardown`);
}

/**
 * Waits (bounded, as a plugin call) until no teardown of the container's network runs: in this
 * process, or in another live one (its marker file). A dead one's marker does not hold it up.
 */
async function teardownsDone(paths: NetworkPaths, containerId: string, timeoutMs = 30_000): Promise<void> {
  const key = join(paths.netnsDir, containerId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const here = teardowns.get(key);
    if (here) {
      await here.catch(() => {});
      continue;
    }
    if (!guardFileAlive(teardownGuardFile(paths, containerId)) || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Is some of the container's network still there (its namespace, or a CNI record not yet
 * DELeted)? For a caller waiting for another process's teardown to finish.
 */
export function containerNetworkLeft(paths: NetworkPaths, containerId: string): boolean {
  return existsSync(join(paths.netnsDir, containerId)) || cacheFilesOf(paths, containerId).length > 0;
}

// ------------------------------------------------------------------ crash recovery

/** Start time of a process (clock ticks since boot), to tell a live pid from a reused one. */
function processStart(pid: number): string | undefined {
  try {
    // field 22: starttime
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).fields[22 - 3];
  } catch {
    return undefined;
  }
}

function guardFile(paths: NetworkPaths, containerId: string): string {
  return join(paths.netnsDir, `${containerId}.setup`);
}

/**
 * Marks a container's network as being set up by this process (until the container runs). A
 * sweep in another berth leaves it alone while this process lives; once it is gone (killed in
 * the middle), the next sweep undoes what it left.
 */
export function holdSetupGuard(paths: NetworkPaths, containerId: string): void {
  writeGuard(paths, guardFile(paths, containerId));
}

/**
 * A guard file naming this process (pid and start time). Written aside and renamed in: a reader
 * must never see it half written (empty = "dead"), and the temporary name must not look like a
 * container's (a sweep would take it for one).
 */
function writeGuard(paths: NetworkPaths, file: string): void {
  mkdirSync(paths.netnsDir, { recursive: true, mode: 0o755 });
  const tmp = join(paths.netnsDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  writeFileSync(tmp, `${process.pid} ${processStart(process.pid) ?? ''}\n`);
  renameSync(tmp, file);
}

export function releaseSetupGuard(paths: NetworkPaths, containerId: string): void {
  rmSync(guardFile(paths, containerId), { force: true });
}

/** Is a live process setting up this container's network (a start, a restart)? */
export function guardAlive(paths: NetworkPaths, containerId: string): boolean {
  return guardFileAlive(guardFile(paths, containerId));
}

/** Does the guard file name a live process (the same pid, started at the same time)? */
function guardFileAlive(file: string): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const [pid, start] = text.trim().split(' ');
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return false;
  return processStart(n) === start;
}

/**
 * A berth killed while it wrote a cache record (atomicWriteFile's `.tmp-<pid>-<hex>`) leaves the
 * temporary file behind; the record it was replacing, if any, is what DEL uses. Removes those
 * whose writer is gone (a live pid, even a reused one, keeps its file: it may be writing).
 */
function removeDeadTempFiles(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^\.tmp-(\d+)-[0-9a-f]+$/.exec(n);
    if (!m || processStart(Number(m[1])) !== undefined) continue;
    rmSync(join(dir, n), { force: true });
  }
}

/** Is a CNI plugin for this container running (CNI_CONTAINERID in its environment)? */
function pluginRunning(containerId: string): boolean {
  const needle = `CNI_CONTAINERID=${containerId}\0`;
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return false;
  }
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle)) return true;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return false;
}

/**
 * Waits until no plugin for the container runs: a berth killed during ADD leaves its plugin
 * (and the IPAM plugin it runs) going, and a DEL before it finishes would leave what it adds
 * afterwards (a lease, a veth) for ever. Bounded like a plugin call (then DEL anyway).
 */
async function pluginsDone(containerId: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pluginRunning(containerId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/**
 * Undo the networks of containers that are not running and whose setup is not in progress in
 * a live process: left by a berth killed in the middle of setup or teardown, or by a crash.
 * `isActive` says whether a container is running or paused (its network must stay).
 * Returns the container IDs cleaned.
 */
export async function sweepContainerNetworks(
  paths: NetworkPaths,
  isActive: (containerId: string) => boolean,
  cni?: CniOptions,
): Promise<string[]> {
  const ids = new Set<string>();
  for (const dir of [paths.netnsDir, paths.cacheDir]) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      const id = n.slice(0, 64);
      if (ID_RE.test(id)) ids.add(id);
    }
  }
  removeDeadTempFiles(paths.cacheDir);
  removeDeadTempFiles(paths.netnsDir);
  const cleaned: string[] = [];
  for (const id of ids) {
    if (guardAlive(paths, id) || isActive(id)) continue;
    // a plugin the killed berth started may still be running: DEL only once it is done
    await pluginsDone(id);
    await teardownContainerNetwork(paths, id, cni, { sweeping: true }).catch(() => {});
    cleaned.push(id);
  }
  return cleaned;
}

/**
 * CNI CHECK of one attachment, with the chain and arguments ADD used (from its cache record).
 * Two of Debian's plugins cannot pass CHECK on a healthy attachment, so they are left out of
 * it: dnsname 1.3.1 looks for its hosts file in the wrong directory, and portmap 1.1.1 fails
 * CHECK for an IPv4-only container with published ports (containernetworking/plugins#819).
 */
export async function checkEndpoint(endpoint: NetworkEndpoint, cni?: CniOptions): Promise<void> {
  const entry = readCacheEntry(endpoint.cacheFile);
  if (!entry?.config)
    throw new NetworkError(`no CNI record of ${endpoint.ifname} on network ${endpoint.network}`);
  const list = validateConflist(entry.config);
  await cniCheck(
    { ...list, plugins: list.plugins.filter((p) => p.type !== 'dnsname' && p.type !== 'portmap') },
    {
      containerId: entry.containerId,
      netns: entry.netns,
      ifname: entry.ifname,
      args: entry.args,
      capabilityArgs: entry.capabilityArgs,
      cacheFile: endpoint.cacheFile,
    },
    cni,
  );
}
