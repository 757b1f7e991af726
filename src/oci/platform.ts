import { arch as osArch } from 'node:os';
import { InvalidArgumentError } from '../errors/index.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

const NODE_TO_GO_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips: 'mips',
  mipsel: 'mipsle',
  loong64: 'loong64',
};

export function hostPlatform(): Platform {
  const architecture = NODE_TO_GO_ARCH[osArch()] ?? osArch();
  const p: Platform = { os: 'linux', architecture };
  if (architecture === 'arm64') p.variant = 'v8';
  return p;
}

/** Parse `os/arch[/variant]` (as `--platform` takes it); `arch` alone means linux/arch. */
export function parsePlatform(spec: string): Platform {
  const parts = spec.trim().toLowerCase().split('/');
  if (parts.length < 1 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new InvalidArgumentError(`invalid platform "${spec}": want os/arch[/variant]`);
  }
  if (parts.length === 1) return normalizePlatform({ os: 'linux', architecture: parts[0]! });
  const p: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2]) p.variant = parts[2];
  return normalizePlatform(p);
}

export function normalizePlatform(p: Platform): Platform {
  let architecture = p.architecture;
  let variant = p.variant;
  if (architecture === 'x86_64' || architecture === 'x86-64') architecture = 'amd64';
  if (architecture === 'aarch64') architecture = 'arm64';
  if (architecture === 'arm64' && (variant === undefined || variant === '8')) variant = 'v8';
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const out: Platform = { os: p.os, architecture };
  if (variant) out.variant = variant;
  return out;
}

/** Does an index entry's platform satisfy the wanted one? A missing wanted variant matches any. */
export function platformMatches(wanted: Platform, candidate: Platform | undefined): boolean {
  if (!candidate) return false;
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return false;
  if (w.variant !== undefined && c.variant !== undefined && w.variant !== c.variant) return false;
  return true;
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}
