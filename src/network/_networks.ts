// berth's network definitions: one CNI conflist per network under `<root>/networks`, with
// berth's own fields under a top-level "berth" key (libcni ignores unknown keys, so other CNI
// tools still read the file). Creation is serialised by an flock on `<dir>/.lock`, so two
// processes creating networks at once never get the same subnet or bridge name.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  AlreadyExistsError,
  BerthError,
  ConflictError,
  errnoCode,
  hasCode,
  InvalidArgumentError,
  LockedError,
  NotFoundError,
} from '../errors/index.js';
import { fsyncDir, tryFlock, unflock } from '../util/index.js';
import {
  bridgeConflist,
  type Cidr,
  type CniConflist,
  checkNoOverlap,
  formatCidr,
  formatIp,
  hostRoutes,
  macvlanConflist,
  overlaps,
  parseCidr,
  pickFreeSubnet,
  resolveSubnet,
  type SubnetPool,
  type SubnetSpec,
  validateConflist,
} from './_conflist.js';
import type { NetworkCreateOptions, NetworkDriver, NetworkRecord } from './_types.js';

/** The network containers join when they name none. */
export const DEFAULT_NETWORK = 'berth';
export const DEFAULT_BRIDGE = 'berth0';
/** Names that mean something else to `--network` (or to docker users) and so cannot be created. */
const RESERVED_NAMES = new Set(['host', 'none', 'bridge', 'default', 'container', DEFAULT_NETWORK]);
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const IFACE = /^[a-zA-Z0-9_-][a-zA-Z0-9_.-]{0,14}$/;
const DRIVERS: readonly NetworkDriver[] = ['bridge', 'macvlan', 'ipvlan'];
const BRIDGE_NAME_OPT = 'com.docker.network.bridge.name';
const DOCKER_MTU_OPT = 'com.docker.network.driver.mtu';
/** `--opt` keys each driver takes; any other key is refused. */
const DRIVER_OPTS: Record<NetworkDriver, readonly string[]> = {
  bridge: ['mtu', DOCKER_MTU_OPT, BRIDGE_NAME_OPT],
  macvlan: ['parent', 'mode', 'macvlan_mode', 'mtu', DOCKER_MTU_OPT],
  ipvlan: ['parent', 'mode', 'ipvlan_mode', 'mtu', DOCKER_MTU_OPT],
};
const LOCK_TIMEOUT_MS = 30_000;
const MAX_FILE_BYTES = 1 << 20;

export interface NetworkStoreOptions {
  /** `<root>/networks`. */
  dir: string;
  /** host-local's dataDir: its leases live in `<ipamDir>/<network name>/`. */
  ipamDir: string;
  /** Where host interfaces are listed (tests point this at a fake). */
  sysClassNet?: string;
  /** Where host routes are read (tests point this at a fake). */
  procNet?: string;
  /** Pools free subnets are picked from (default: DEFAULT_SUBNET_POOLS). */
  pools?: SubnetPool[];
}

/** A network file that could not be read: `list()` skips it, `get()` of its name throws this. */
export interface BrokenNetworkFile {
  file: string;
  error: BerthError;
}

export class NetworkStore {
  readonly dir: string;
  readonly ipamDir: string;
  readonly #sysClassNet: string;
  readonly #procNet: string;
  readonly #pools: SubnetPool[] | undefined;

  constructor(options: NetworkStoreOptions) {
    this.dir = options.dir;
    this.ipamDir = options.ipamDir;
    this.#sysClassNet = options.sysClassNet ?? '/sys/class/net';
    this.#procNet = options.procNet ?? '/proc/net';
    this.#pools = options.pools;
  }

  /** Create a user network. Bad input throws before anything is written. */
  create(options: NetworkCreateOptions): NetworkRecord {
    checkNetworkName(options.name);
    if (RESERVED_NAMES.has(options.name))
      throw new InvalidArgumentError(`network name "${options.name}" is reserved`, {
        hint: options.name === DEFAULT_NETWORK ? 'it is the default network' : undefined,
      });
    const plan = this.#plan(options);
    return this.#locked(() => {
      if (existsSync(this.#file(options.name))) throw alreadyExists(options.name);
      return this.#write(this.#complete(plan));
    });
  }

  /**
   * The default network `berth`, created when missing: bridge berth0, no DNS, and the subnet
   * berth0 already routes when it is up (the default network of another berth root on this
   * host, which shares the bridge), else a free one.
   */
  ensureDefault(): NetworkRecord {
    const found = this.find(DEFAULT_NETWORK);
    if (found) return found;
    return this.#locked(() => {
      const again = this.find(DEFAULT_NETWORK);
      if (again) return again;
      const plan: Plan = {
        name: DEFAULT_NETWORK,
        driver: 'bridge',
        labels: {},
        options: {},
        internal: false,
        ipv6: false,
        dnsEnabled: false,
        bridge: DEFAULT_BRIDGE,
        subnets: [],
      };
      const onBridge = routesVia(this.#procNet, DEFAULT_BRIDGE);
      if (onBridge.length > 0) {
        let record: NetworkRecord | undefined;
        try {
          record = this.#complete({ ...plan, subnets: [{ subnet: formatCidr(onBridge[0]!) }] });
        } catch (err) {
          // It clashes with one of this root's networks: pick a free subnet instead.
          if (!hasCode(err, 'CONFLICT', 'INVALID_ARGUMENT')) throw err;
        }
        if (record) return this.#write(record);
      }
      return this.#write(this.#complete(plan));
    });
  }

  /** By name, full id or unique id prefix; NotFoundError "no such network: X". */
  get(nameOrId: string): NetworkRecord {
    const n = this.find(nameOrId);
    if (!n) throw new NotFoundError(`no such network: ${nameOrId}`);
    return n;
  }

  /** As `get`, but undefined when there is none; a corrupt file of that name still throws. */
  find(nameOrId: string): NetworkRecord | undefined {
    if (NAME.test(nameOrId)) {
      const byName = this.#readIfExists(nameOrId);
      if (byName) return byName;
    }
    if (!/^[0-9a-f]{1,64}$/.test(nameOrId)) return undefined;
    const matches = this.list().filter((n) => n.id.startsWith(nameOrId));
    if (matches.length > 1)
      throw new ConflictError(`network id prefix "${nameOrId}" is ambiguous (${matches.length} networks)`);
    return matches[0];
  }

  /** Every readable network, sorted by name; unreadable files are skipped (see `scan`). */
  list(): NetworkRecord[] {
    return this.scan().networks;
  }

  /** Every network file: the readable ones sorted by name, and the broken ones with their error. */
  scan(): { networks: NetworkRecord[]; broken: BrokenNetworkFile[] } {
    const networks: NetworkRecord[] = [];
    const broken: BrokenNetworkFile[] = [];
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { networks, broken };
      throw err;
    }
    for (const entry of entries.sort()) {
      if (entry.startsWith('.') || !entry.endsWith('.conflist')) continue;
      const name = entry.slice(0, -'.conflist'.length);
      try {
        const n = this.#readIfExists(name);
        if (n) networks.push(n);
      } catch (err) {
        if (!(err instanceof BerthError)) throw err;
        broken.push({ file: join(this.dir, entry), error: err });
      }
    }
    networks.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { networks, broken };
  }

  /**
   * Delete the network's file, and its IPAM dir when that holds no lease. Callers check that no
   * container of this root uses it; a lease still there belongs to another berth root sharing
   * `ipamDir` (host-local files leases by network name), so it and its dir are left alone.
   */
  remove(name: string): void {
    checkNetworkName(name);
    this.#locked(() => {
      try {
        unlinkSync(this.#file(name));
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') throw new NotFoundError(`no such network: ${name}`);
        throw err;
      }
      fsyncDir(this.dir);
      removeIpamDirIfUnleased(join(this.ipamDir, name));
    });
  }

  #file(name: string): string {
    return join(this.dir, `${name}.conflist`);
  }

  #readIfExists(name: string): NetworkRecord | undefined {
    const file = this.#file(name);
    let text: string;
    try {
      if (statSync(file).size > MAX_FILE_BYTES) throw corrupt(file, `larger than ${MAX_FILE_BYTES} bytes`);
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    return parseNetworkFile(file, name, text);
  }

  /** Everything about a new network that needs no lock: checked input, options parsed. */
  #plan(o: NetworkCreateOptions): Plan {
    const driver = o.driver ?? 'bridge';
    if (!DRIVERS.includes(driver))
      throw new InvalidArgumentError(`unknown network driver "${driver}": use ${DRIVERS.join(', ')}`);
    const options = { ...(o.options ?? {}) };
    const allowed = DRIVER_OPTS[driver];
    for (const [key, value] of Object.entries(options))
      if (typeof value !== 'string') throw new InvalidArgumentError(`invalid option "${key}": not a string`);
      else if (!allowed.includes(key))
        throw new InvalidArgumentError(
          `unknown option "${key}" for the ${driver} driver: it takes ${allowed.join(', ')}`,
        );
    const labels = { ...(o.labels ?? {}) };
    for (const [k, v] of Object.entries(labels))
      if (typeof k !== 'string' || typeof v !== 'string' || k === '')
        throw new InvalidArgumentError(`invalid label "${k}"`);
    const mtuText = options.mtu ?? options[DOCKER_MTU_OPT];
    let mtu: number | undefined;
    if (mtuText !== undefined) {
      mtu = /^[0-9]{1,5}$/.test(mtuText) ? Number(mtuText) : Number.NaN;
      if (!(mtu >= 576 && mtu <= 65535))
        throw new InvalidArgumentError(`invalid mtu "${mtuText}": expected a number from 576 to 65535`);
    }
    const given = (o.subnets ?? []).map((s) => checkSubnetSpec(s));
    for (let i = 0; i < given.length; i++)
      for (let j = i + 1; j < given.length; j++)
        if (overlaps(parseCidr(given[i]!.subnet), parseCidr(given[j]!.subnet)))
          throw new InvalidArgumentError(`subnets ${given[i]!.subnet} and ${given[j]!.subnet} overlap`);
    const hasV6 = given.some((s) => parseCidr(s.subnet).family === 6);
    const ipv6 = o.ipv6 === true || hasV6;
    if (ipv6 && !hasV6)
      throw new InvalidArgumentError('an IPv6 network needs an IPv6 subnet', {
        hint: 'add --subnet with a ULA prefix, for example fd00:dead:beef::/64',
      });
    const plan: Plan = {
      name: o.name,
      driver,
      labels,
      options,
      internal: o.internal === true,
      ipv6,
      dnsEnabled: driver === 'bridge' && o.dns !== false,
      subnets: given,
      ...(mtu !== undefined ? { mtu } : {}),
    };
    if (driver === 'bridge') {
      const bridge = options[BRIDGE_NAME_OPT];
      if (bridge !== undefined) {
        checkIface(bridge, 'bridge name');
        if (bridge === DEFAULT_BRIDGE)
          throw new ConflictError(`bridge ${bridge} belongs to the default network "${DEFAULT_NETWORK}"`);
        const dev = join(this.#sysClassNet, bridge);
        if (existsSync(dev) && !existsSync(join(dev, 'bridge')))
          throw new InvalidArgumentError(`interface ${bridge} exists on this host and is not a bridge`);
        plan.bridge = bridge;
      }
    } else {
      if (o.dns === true)
        throw new InvalidArgumentError(`the ${driver} driver has no name resolution: drop --dns`);
      const parent = options.parent;
      if (parent === undefined)
        throw new InvalidArgumentError(`the ${driver} driver needs --opt parent=INTERFACE`);
      checkIface(parent, 'parent interface');
      if (!existsSync(join(this.#sysClassNet, parent)))
        throw new InvalidArgumentError(`parent interface "${parent}" does not exist on this host`);
      plan.parent = parent;
      const mode = options.mode ?? options[`${driver}_mode`];
      if (mode !== undefined) plan.mode = mode;
    }
    // Build once with a placeholder subnet so a bad mode or MTU is refused before the lock.
    buildConflist(plan, { subnets: given.length ? given : [{ subnet: '10.0.0.0/24' }] }, this.ipamDir);
    return plan;
  }

  /** Under the lock: check against the other networks and host routes, pick what is free. */
  #complete(plan: Plan): NetworkRecord {
    const others = this.list().filter((n) => n.name !== plan.name);
    const taken = others.flatMap((n) => n.subnets.map((s) => ({ network: n.name, subnet: s.subnet })));
    // The network's own bridge routing its subnet is no clash (a bridge left up, or shared).
    const own = plan.bridge !== undefined ? routesVia(this.#procNet, plan.bridge) : [];
    const routes = hostRoutes(this.#procNet).filter(
      (r) => !own.some((o) => o.family === r.family && o.address === r.address && o.prefix === r.prefix),
    );
    const subnets: SubnetSpec[] = [];
    for (const s of plan.subnets) {
      const cidr = parseCidr(s.subnet);
      checkNoOverlap(cidr, taken);
      const route = routes.find((r) => overlaps(r, cidr));
      if (route)
        throw new ConflictError(`subnet ${formatCidr(cidr)} overlaps the host route to ${formatCidr(route)}`);
      subnets.push(s);
    }
    if (!subnets.some((s) => parseCidr(s.subnet).family === 4)) {
      const picked = pickFreeSubnet({
        routes,
        existing: taken.map((t) => t.subnet),
        ...(this.#pools ? { pools: this.#pools } : {}),
      });
      subnets.unshift({ subnet: picked });
    }
    let bridge = plan.bridge;
    if (plan.driver === 'bridge') {
      const usedBridges = new Set(others.map((n) => n.bridge).filter((b): b is string => !!b));
      if (bridge === undefined) bridge = this.#freeBridge(usedBridges);
      else if (usedBridges.has(bridge)) {
        const owner = others.find((n) => n.bridge === bridge)!;
        throw new ConflictError(`bridge ${bridge} is already used by network "${owner.name}"`);
      }
    }
    const resolved = subnets.map((s) => {
      const r = resolveSubnet(s);
      return {
        subnet: formatCidr(r.subnet),
        gateway: formatIp(r.subnet.family, r.gateway),
        ...(s.ipRange !== undefined ? { ipRange: formatCidr(parseCidr(s.ipRange, 'ip range')) } : {}),
      };
    });
    const conflist = buildConflist(
      { ...plan, ...(bridge ? { bridge } : {}) },
      { subnets: resolved },
      this.ipamDir,
    );
    return {
      name: plan.name,
      id: randomBytes(32).toString('hex'),
      driver: plan.driver,
      created: new Date().toISOString(),
      labels: plan.labels,
      options: plan.options,
      internal: plan.internal,
      ipv6: plan.ipv6,
      dnsEnabled: plan.dnsEnabled,
      ...(bridge ? { bridge } : {}),
      subnets: resolved,
      conflist,
    };
  }

  /** `berth<N>`, the smallest N ≥ 1 that no berth network and no host interface uses. */
  #freeBridge(used: Set<string>): string {
    let host: Set<string>;
    try {
      host = new Set(readdirSync(this.#sysClassNet));
    } catch {
      host = new Set();
    }
    for (let n = 1; n < 100_000; n++) {
      const name = `berth${n}`;
      if (!used.has(name) && !host.has(name)) return name;
    }
    throw new ConflictError('no free bridge name berth1..berth99999');
  }

  /** tmp file + link(2): the final name appears whole, and EEXIST means someone else got it. */
  #write(record: NetworkRecord): NetworkRecord {
    mkdirSync(this.dir, { recursive: true });
    const { conflist, name, ...rest } = record;
    const doc = { ...conflist, berth: rest };
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeSync(fd, `${JSON.stringify(doc, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, this.#file(name));
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') throw alreadyExists(name);
      throw err;
    } finally {
      rmSync(tmp, { force: true });
    }
    fsyncDir(this.dir);
    return record;
  }

  #locked<T>(fn: () => T): T {
    mkdirSync(this.dir, { recursive: true });
    const fd = openSync(join(this.dir, '.lock'), 'a+', 0o600);
    try {
      const deadline = Date.now() + LOCK_TIMEOUT_MS;
      let delay = 1;
      while (!tryFlock(fd, true)) {
        if (Date.now() >= deadline)
          throw new LockedError(`timed out waiting for the lock on the networks in ${this.dir}`);
        sleepSync(delay);
        delay = Math.min(delay * 2, 50);
      }
      try {
        return fn();
      } finally {
        unflock(fd);
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** The v4 subnets the host routes through interface `iface` (from /proc/net/route). */
function routesVia(procNet: string, iface: string): Cidr[] {
  let text: string;
  try {
    text = readFileSync(join(procNet, 'route'), 'utf8');
  } catch {
    return [];
  }
  const out: Cidr[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[0] !== iface || !/^[0-9A-F]{8}$/i.test(f[1]!) || !/^[0-9A-F]{8}$/i.test(f[7]!))
      continue;
    // Little-endian hex words.
    const le = (h: string): bigint => BigInt(`0x${h.match(/../g)!.reverse().join('')}`);
    const prefix = le(f[7]!).toString(2).replace(/0+$/, '').length;
    if (prefix === 0) continue;
    const mask = ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefix)) - 1n);
    out.push({ family: 4, address: le(f[1]!) & mask, prefix });
  }
  return out;
}

/** host-local names each lease file by its address; its other files are bookkeeping. */
function removeIpamDirIfUnleased(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  const isLease = (f: string) => /^[0-9.]+$/.test(f) || (f.includes(':') && /^[0-9a-fA-F:.]+$/.test(f));
  if (entries.some(isLease)) return;
  rmSync(dir, { recursive: true, force: true });
}

interface Plan {
  name: string;
  driver: NetworkDriver;
  labels: Record<string, string>;
  options: Record<string, string>;
  internal: boolean;
  ipv6: boolean;
  dnsEnabled: boolean;
  subnets: SubnetSpec[];
  bridge?: string;
  mtu?: number;
  parent?: string;
  mode?: string;
}

/**
 * The DNS hook: bridgeConflist's `dns` option (the dns helper's branch adds it) puts the name
 * resolution plugin in a user network's conflist. Passed through a spread so this compiles both
 * before that option exists (it is then ignored and only `dnsEnabled` records the wish) and after.
 */
export function dnsConflistOption(dnsEnabled: boolean): { dns?: { domainName?: string } } {
  return dnsEnabled ? { dns: {} } : {};
}

/** The CNI part of a network. */
function buildConflist(plan: Plan, ipam: { subnets: SubnetSpec[] }, ipamDataDir: string): CniConflist {
  if (plan.driver === 'bridge')
    return bridgeConflist(plan.name, {
      bridge: plan.bridge ?? DEFAULT_BRIDGE,
      subnets: ipam.subnets,
      internal: plan.internal,
      ipamDataDir,
      ...(plan.mtu !== undefined ? { mtu: plan.mtu } : {}),
      ...dnsConflistOption(plan.dnsEnabled),
    });
  return macvlanConflist(plan.name, {
    driver: plan.driver,
    master: plan.parent!,
    subnets: ipam.subnets,
    internal: plan.internal,
    ipamDataDir,
    ...(plan.mode !== undefined ? { mode: plan.mode } : {}),
    ...(plan.mtu !== undefined ? { mtu: plan.mtu } : {}),
  });
}

export function checkNetworkName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name))
    throw new InvalidArgumentError(
      `invalid network name "${name}": use up to 128 letters, digits, '_', '.', '-', starting with a letter or digit`,
    );
}

function checkIface(name: string, what: string): void {
  if (!IFACE.test(name))
    throw new InvalidArgumentError(`invalid ${what} "${name}": at most 15 letters, digits, '_', '.', '-'`);
}

/** Parses and checks one `--subnet` (with its `--gateway` and `--ip-range`); returns it canonical. */
function checkSubnetSpec(s: SubnetSpec): SubnetSpec {
  const r = resolveSubnet(s);
  return {
    subnet: formatCidr(r.subnet),
    ...(s.gateway !== undefined ? { gateway: formatIp(r.subnet.family, r.gateway) } : {}),
    ...(s.ipRange !== undefined ? { ipRange: s.ipRange } : {}),
  };
}

function alreadyExists(name: string): AlreadyExistsError {
  return new AlreadyExistsError(`network with name ${name} already exists`);
}

function corrupt(file: string, why: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`network file ${file} is corrupt: ${why}`, {
    ...(cause !== undefined ? { cause } : {}),
    hint: 'fix or remove the file',
  });
}

/** Checks a network file's text: a valid conflist named after the file, plus berth's record. */
export function parseNetworkFile(file: string, name: string, text: string): NetworkRecord {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw corrupt(file, 'not JSON', err);
  }
  let conflist: CniConflist;
  try {
    conflist = validateConflist(doc);
  } catch (err) {
    throw corrupt(file, err instanceof Error ? err.message : String(err), err);
  }
  if (conflist.name !== name) throw corrupt(file, `its name is "${conflist.name}", not "${name}"`);
  const b = (doc as { berth?: unknown }).berth;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw corrupt(file, 'no "berth" object');
  const m = b as Record<string, unknown>;
  const bad = (field: string): never => {
    throw corrupt(file, `berth.${field} is missing or invalid`);
  };
  const isStringMap = (v: unknown) =>
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === 'string');
  if (typeof m.id !== 'string' || !/^[0-9a-f]{64}$/.test(m.id)) bad('id');
  if (typeof m.driver !== 'string' || !DRIVERS.includes(m.driver as NetworkDriver)) bad('driver');
  if (typeof m.created !== 'string' || Number.isNaN(Date.parse(m.created))) bad('created');
  if (!isStringMap(m.labels)) bad('labels');
  if (!isStringMap(m.options)) bad('options');
  for (const f of ['internal', 'ipv6', 'dnsEnabled']) if (typeof m[f] !== 'boolean') bad(f);
  if (m.bridge !== undefined && (typeof m.bridge !== 'string' || !IFACE.test(m.bridge))) bad('bridge');
  if (!Array.isArray(m.subnets) || m.subnets.length === 0) bad('subnets');
  const subnets = (m.subnets as unknown[]).map((s, i) => {
    if (typeof s !== 'object' || s === null) return bad(`subnets[${i}]`);
    const e = s as Record<string, unknown>;
    if (typeof e.subnet !== 'string' || typeof e.gateway !== 'string') return bad(`subnets[${i}]`);
    if (e.ipRange !== undefined && typeof e.ipRange !== 'string') return bad(`subnets[${i}].ipRange`);
    try {
      resolveSubnet({
        subnet: e.subnet,
        gateway: e.gateway,
        ...(e.ipRange !== undefined ? { ipRange: e.ipRange as string } : {}),
      });
    } catch (err) {
      throw corrupt(file, `berth.subnets[${i}]: ${(err as Error).message}`, err);
    }
    return {
      subnet: e.subnet,
      gateway: e.gateway,
      ...(e.ipRange !== undefined ? { ipRange: e.ipRange as string } : {}),
    };
  });
  const { berth: _berth, ...standard } = doc as Record<string, unknown>;
  return {
    name,
    id: m.id as string,
    driver: m.driver as NetworkDriver,
    created: m.created as string,
    labels: { ...(m.labels as Record<string, string>) },
    options: { ...(m.options as Record<string, string>) },
    internal: m.internal as boolean,
    ipv6: m.ipv6 as boolean,
    dnsEnabled: m.dnsEnabled as boolean,
    ...(m.bridge !== undefined ? { bridge: m.bridge as string } : {}),
    subnets,
    conflist: standard as unknown as CniConflist,
  };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** The lock is held for milliseconds; a blocking wait keeps the store's API synchronous. */
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}
