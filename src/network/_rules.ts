// A bridge network's host firewall, set up once per network rather than once per container.
//
// The conflist keeps the standard chain (bridge with ipMasq, portmap, firewall, tuning) so that
// any CNI tool can use it as it is. berth runs a shorter chain per container (runtimeChain):
// the per-container work that is the same for every container of a network, the masquerade
// rule bridge's ipMasq adds and the FORWARD accepts the firewall plugin adds, costs about twenty
// iptables processes per run on each side (measured: ~0.45 s of a 0.7 s `run --rm`). berth
// installs the same effect once per network, as Docker does: one filter chain and one nat chain
// named after the network, jumped to from FORWARD and POSTROUTING. A marker on tmpfs records
// that they are in place, so a container start costs no iptables process at all; rules and
// marker both go at a reboot. portmap (published ports) and dnsname stay per container.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IOError } from '../errors/index.js';
import { type CniConflist, type CniPluginConfig, parseCidr } from './_conflist.js';
import { removeDnsState } from './_dns.js';
import { runCommand } from './_netns.js';
import type { NetworkRecord } from './_types.js';

/** Markers of the networks whose rules are in place (tmpfs: gone with the rules at a reboot). */
export const RULES_MARKER_DIR = '/run/berth-cni/rules';

function chainSuffix(rec: NetworkRecord): string {
  const key = `${rec.bridge ?? ''}|${rec.subnets.map((s) => s.subnet).join(',')}|${rec.internal}`;
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** The filter and nat chain names of a network (at most 28 characters, iptables' limit). */
export function ruleChains(rec: NetworkRecord): { filter: string; nat: string } {
  const s = chainSuffix(rec);
  return { filter: `BERTH-FWD-${s}`, nat: `BERTH-NAT-${s}` };
}

function markerFile(rec: NetworkRecord, dir: string): string {
  return join(dir, `${rec.bridge}-${chainSuffix(rec)}`);
}

/** Does this network need berth's rules (a bridge network; macvlan/ipvlan bypass the host)? */
function needsRules(rec: NetworkRecord): boolean {
  return rec.driver === 'bridge' && rec.bridge !== undefined;
}

/**
 * The shell script that (re)builds one family's rules: chains are created if missing and
 * flushed, then filled, and the jumps into them are added unless present. Idempotent.
 */
function script(rec: NetworkRecord, family: 4 | 6): string | undefined {
  const subnets = rec.subnets.map((s) => parseCidr(s.subnet)).filter((c) => c.family === family);
  if (subnets.length === 0) return undefined;
  const ipt = family === 4 ? 'iptables -w' : 'ip6tables -w';
  const br = rec.bridge!;
  const { filter, nat } = ruleChains(rec);
  const lines = [
    `${ipt} -t filter -N ${filter} 2>/dev/null || true`,
    `${ipt} -t filter -F ${filter}`,
    `${ipt} -t nat -N ${nat} 2>/dev/null || true`,
    `${ipt} -t nat -F ${nat}`,
  ];
  if (rec.internal) {
    // containers reach each other and nothing else, and nothing reaches them from outside
    lines.push(
      `${ipt} -t filter -A ${filter} -i ${br} -o ${br} -j ACCEPT`,
      `${ipt} -t filter -A ${filter} -i ${br} -j DROP`,
      `${ipt} -t filter -A ${filter} -o ${br} -j DROP`,
    );
  } else {
    lines.push(
      `${ipt} -t filter -A ${filter} -i ${br} -j ACCEPT`,
      `${ipt} -t filter -A ${filter} -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT`,
    );
    for (const s of rec.subnets.filter((x) => x.subnet.includes(':') === (family === 6)))
      lines.push(`${ipt} -t nat -A ${nat} -s ${s.subnet} ! -o ${br} -j MASQUERADE`);
  }
  lines.push(
    `${ipt} -t filter -C FORWARD -j ${filter} 2>/dev/null || ${ipt} -t filter -I FORWARD -j ${filter}`,
    `${ipt} -t nat -C POSTROUTING -j ${nat} 2>/dev/null || ${ipt} -t nat -I POSTROUTING -j ${nat}`,
  );
  return lines.join('\n');
}

/** Puts the network's rules in place unless its marker says they are (one stat otherwise). */
export async function ensureNetworkRules(rec: NetworkRecord, markerDir = RULES_MARKER_DIR): Promise<void> {
  if (!needsRules(rec)) return;
  const marker = markerFile(rec, markerDir);
  try {
    statSync(marker);
    return;
  } catch {}
  for (const family of [4, 6] as const) {
    const text = script(rec, family);
    if (!text) continue;
    const r = await runCommand(['sh', '-e', '-c', text]);
    if (r.status !== 0)
      throw new IOError(
        `cannot set up the firewall rules of network ${rec.name}: ${r.stderr.trim() || `status ${r.status}`}`,
      );
  }
  mkdirSync(markerDir, { recursive: true, mode: 0o700 });
  writeFileSync(marker, `${rec.name}\n`);
}

/**
 * Removes the network's rules (network rm), and with `dnsBridge` the DNS rule dnsname added for
 * that bridge. Missing rules are fine. One `iptables-save` reads what is there and one
 * `iptables-restore --noflush` takes it out, per family: each iptables command replaces a whole
 * table in the kernel (15-25 ms with a busy table), and doing it rule by rule cost a compose
 * `down` about 150 ms.
 */
export async function removeNetworkRules(
  rec: NetworkRecord,
  markerDir = RULES_MARKER_DIR,
  dnsBridge?: string,
): Promise<void> {
  if (!needsRules(rec)) return;
  rmSync(markerFile(rec, markerDir), { force: true });
  // only the families ensureNetworkRules wrote rules for (a family with a subnet)
  const families = new Set(rec.subnets.map((s) => (s.subnet.includes(':') ? 6 : 4)));
  for (const family of families) {
    const tool = family === 4 ? 'iptables' : 'ip6tables';
    const saved = await runCommand([`${tool}-save`], { maxOutput: SAVE_LIMIT });
    if (saved.status !== 0) throw new IOError(`cannot read the firewall rules: ${saved.stderr.trim()}`);
    const input = removalScript(saved.stdout, ruleChains(rec), family === 4 ? dnsBridge : undefined);
    if (!input) continue;
    const r = await runCommand([`${tool}-restore`, '-w', '--noflush'], { input });
    if (r.status !== 0) {
      throw new IOError(`cannot remove the firewall rules of network ${rec.name}: ${r.stderr.trim()}`);
    }
  }
}

/**
 * The iptables-restore input that takes a network's chains (and the jumps into them, however
 * many) out of `saved` (iptables-save output), and dnsname's DNS rule for `dnsBridge`;
 * undefined when none of it is there.
 */
export function removalScript(
  saved: string,
  chains: { filter: string; nat: string },
  dnsBridge?: string,
): string | undefined {
  const dnsRule = dnsBridge ? `-A INPUT -i ${dnsBridge} -p udp -m udp --dport 53 -j ACCEPT` : undefined;
  const out: string[] = [];
  let table = '';
  // per table: the rule deletes, then the chains (a chain can go only once nothing jumps to it)
  let rules: string[] = [];
  let drops: string[] = [];
  const flush = () => {
    if (rules.length || drops.length) out.push(`*${table}`, ...rules, ...drops, 'COMMIT');
    rules = [];
    drops = [];
  };
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) {
      flush();
      table = line.slice(1).trim();
      continue;
    }
    const own = table === 'filter' ? chains.filter : table === 'nat' ? chains.nat : undefined;
    if (!own) continue;
    const jump = table === 'filter' ? `-A FORWARD -j ${own}` : `-A POSTROUTING -j ${own}`;
    if (line === jump || (table === 'filter' && line === dnsRule)) rules.push(`-D${line.slice(2)}`);
    else if (line.startsWith(`:${own} `)) drops.push(`-F ${own}`, `-X ${own}`);
  }
  flush();
  return out.length ? `${out.join('\n')}\n` : undefined;
}

/** A plugin whose config is only its type (and capabilities) changes nothing: tuning by default. */
function isNoop(p: CniPluginConfig): boolean {
  return p.type === 'tuning' && Object.keys(p).every((k) => k === 'type' || k === 'capabilities');
}

/**
 * The chain berth runs for one container of a network whose rules ensureNetworkRules put in
 * place: bridge without its per-container masquerade, no firewall plugin, portmap only when
 * the container publishes ports, tuning only when it is configured. Macvlan/ipvlan networks run
 * as written (less the no-op tuning, and portmap, which they never publish through).
 */
export function runtimeChain(list: CniConflist, options: { hasPorts: boolean }): CniConflist {
  const bridged = list.plugins.some((p) => p.type === 'bridge');
  const plugins = list.plugins
    .filter((p) => !isNoop(p))
    .filter((p) => p.type !== 'portmap' || options.hasPorts)
    .filter((p) => !(bridged && p.type === 'firewall'))
    .map((p) => (p.type === 'bridge' ? { ...p, ipMasq: false } : p));
  return { ...list, plugins };
}

/**
 * What a removed network leaves on the host goes: berth's rules, dnsname's dnsmasq and state,
 * and the bridge device when nothing is plugged into it any more (the CNI bridge plugin never
 * deletes bridges; a bridge left up would keep its route and so keep its subnet taken). A
 * bridge that still has ports belongs to containers of another berth root: it stays.
 */
export async function releaseNetwork(rec: NetworkRecord, markerDir = RULES_MARKER_DIR): Promise<void> {
  const dns = rec.dnsEnabled && rec.bridge ? rec.bridge : undefined;
  await removeNetworkRules(rec, markerDir, dns);
  // its DNS rule went with the others above: the rest of dnsname's state (dnsmasq, its files)
  if (dns) await removeDnsState(rec.name, dns, { rule: false }).catch(() => {});
  if (rec.driver !== 'bridge' || !rec.bridge) return;
  let ports: string[];
  try {
    ports = readdirSync(`/sys/class/net/${rec.bridge}/brif`);
  } catch {
    return; // no such bridge
  }
  if (ports.length === 0) await runCommand(['ip', 'link', 'del', rec.bridge, 'type', 'bridge']);
}

/**
 * Host ports other CNI users already forward (any berth root, Podman's CNI networks): the
 * `--dport` of every DNAT rule in portmap's per-container CNI-DN-* chains, as "tcp/8080".
 */
export async function hostPortsForwardedByCni(): Promise<Set<string>> {
  const taken = new Set<string>();
  const r = await runCommand(['iptables-save', '-t', 'nat'], { maxOutput: SAVE_LIMIT });
  if (r.status !== 0) return taken;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('-A CNI-DN-') || !line.includes('-j DNAT')) continue;
    const proto = / -p (tcp|udp|sctp)\b/.exec(line)?.[1];
    const port = / --dport (\d+)\b/.exec(line)?.[1];
    if (proto && port) taken.add(`${proto}/${port}`);
  }
  return taken;
}

/** iptables-save output kept whole up to this (a host with thousands of rules). */
const SAVE_LIMIT = 64 * 1024 * 1024;

/** Serialises picking host ports and forwarding them, across processes and berth roots. */
export const PORTS_LOCK = '/run/berth-cni/ports.lock';
