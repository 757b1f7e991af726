import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors/index.js';

/** Linux capability names, indexed by their bit number (through CAP_CHECKPOINT_RESTORE, Linux 5.9). */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

const BIT = new Map(ALL_CAPABILITIES.map((name, bit) => [name, bit]));

/** Docker's default set: what a container gets without --cap-add, --cap-drop or --privileged. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export function isKnownCapability(name: string): boolean {
  return BIT.has(name);
}

/**
 * `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all name CAP_NET_ADMIN; `all` becomes `ALL`.
 * Throws InvalidArgumentError for names the kernel does not define.
 */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!BIT.has(full)) throw new InvalidArgumentError(`unknown capability: "${name}"`);
  return full;
}

/** The bit mask the kernel shows as CapEff/CapPrm/CapBnd for this set of capabilities. */
export function capabilityMask(caps: readonly string[]): bigint {
  let mask = 0n;
  for (const cap of caps) {
    const bit = BIT.get(normalizeCapability(cap));
    if (bit === undefined) throw new InvalidArgumentError(`capability "${cap}" has no single bit`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

/** Names of the bits set in a mask; bits beyond the ones berth knows are left out. */
export function capabilitiesFromMask(mask: bigint): string[] {
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/**
 * The capabilities this process can hand to a container: its bounding set. A privileged
 * container gets all of them (asking the kernel for a capability outside the bounding set
 * makes the runtime's capset fail).
 */
export function hostBoundingCapabilities(statusPath = '/proc/self/status'): string[] {
  try {
    const text = readFileSync(statusPath, 'utf8');
    const hex = /^CapBnd:\s*([0-9a-fA-F]+)$/m.exec(text)?.[1];
    if (hex) return capabilitiesFromMask(BigInt(`0x${hex}`));
  } catch {
    // not Linux or no procfs: assume every capability berth knows
  }
  return [...ALL_CAPABILITIES];
}

export interface CapabilityOptions {
  capAdd?: readonly string[];
  capDrop?: readonly string[];
  privileged?: boolean;
}

/**
 * Docker's rules: privileged gets every capability the host has; otherwise start from the
 * defaults, drop, then add; `--cap-add ALL` starts from everything (minus drops) and
 * `--cap-drop ALL` starts from nothing (plus adds). `available` is the host's bounding set.
 */
export function resolveCapabilities(options: CapabilityOptions, available: readonly string[]): string[] {
  const host = new Set(available);
  if (options.privileged) return ALL_CAPABILITIES.filter((c) => host.has(c));
  const adds = (options.capAdd ?? []).map(normalizeCapability);
  const drops = (options.capDrop ?? []).map(normalizeCapability);
  for (const cap of adds) {
    if (cap !== 'ALL' && !host.has(cap)) {
      throw new InvalidArgumentError(
        `cannot add capability ${cap}: this host's bounding set does not include it`,
      );
    }
  }
  let caps: string[];
  if (adds.includes('ALL')) {
    caps = ALL_CAPABILITIES.filter((c) => host.has(c) && !drops.includes(c));
  } else if (drops.includes('ALL')) {
    caps = adds;
  } else {
    // A host without some default capability (berth itself confined) runs containers without it.
    caps = [...DEFAULT_CAPABILITIES.filter((c) => host.has(c) && !drops.includes(c)), ...adds];
  }
  return [...new Set(caps)];
}
