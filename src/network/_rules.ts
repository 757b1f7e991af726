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

/** Removes the network's rules (network rm). Missing rules are fine. */
export async function removeNetworkRules(rec: NetworkRecord, markerDir = RULES_MARKER_DIR): Promise<void> {
  if (!needsRules(rec)) return;
  rmSync(markerFile(rec, markerDir), { force: true });
  const { filter, nat } = ruleChains(rec);
  // only the families ensureNetworkRules wrote rules for (a family with a subnet): a v4-only
  // network spared eight ip6tables processes, half of a compose `down`'s network removal
  const families = new Set(rec.subnets.map((s) => (s.subnet.includes(':') ? 6 : 4)));
  for (const ipt of [...families].map((f) => (f === 4 ? 'iptables -w' : 'ip6tables -w'))) {
    const text = [
      `while ${ipt} -t filter -D FORWARD -j ${filter} 2>/dev/null; do :; done`,
      `${ipt} -t filter -F ${filter} 2>/dev/null || true`,
      `${ipt} -t filter -X ${filter} 2>/dev/null || true`,
      `while ${ipt} -t nat -D POSTROUTING -j ${nat} 2>/dev/null; do :; done`,
      `${ipt} -t nat -F ${nat} 2>/dev/null || true`,
      `${ipt} -t nat -X ${nat} 2>/dev/null || true`,
    ].join('\n');
    await runCommand(['sh', '-c', text]);
  }
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
  await removeNetworkRules(rec, markerDir);
  if (rec.dnsEnabled && rec.bridge) await removeDnsState(rec.name, rec.bridge).catch(() => {});
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
  const r = await runCommand(['iptables-save', '-t', 'nat']);
  if (r.status !== 0) return taken;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('-A CNI-DN-') || !line.includes('-j DNAT')) continue;
    const proto = / -p (tcp|udp|sctp)\b/.exec(line)?.[1];
    const port = / --dport (\d+)\b/.exec(line)?.[1];
    if (proto && port) taken.add(`${proto}/${port}`);
  }
  return taken;
}

/** Serialises picking host ports and forwarding them, across processes and berth roots. */
export const PORTS_LOCK = '/run/berth-cni/ports.lock';
