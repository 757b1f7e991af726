// A Debian bookworm minbase root filesystem as a tar, made with debootstrap from the mirror apt
// uses (the only network these tests touch besides loopback). Made once per machine and kept in
// /var/tmp; the peers setup's tarball is reused when it is there.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const CACHE = '/var/tmp/berth-test-debian';
const PEERS_TAR = '/var/tmp/berth-peers/debian-rootfs.tar';

function mirror(): string {
  const sources = '/etc/apt/sources.list.d/debian.sources';
  if (existsSync(sources)) {
    const m = /^URIs:\s*(\S+)/m.exec(readFileSync(sources, 'utf8'));
    if (m) return m[1]!;
  }
  const list = existsSync('/etc/apt/sources.list') ? readFileSync('/etc/apt/sources.list', 'utf8') : '';
  return /^deb\s+(\S+)/m.exec(list)?.[1] ?? 'http://deb.debian.org/debian';
}

export function debianRootfsTar(): string {
  if (existsSync(PEERS_TAR)) return PEERS_TAR;
  const tar = join(CACHE, 'rootfs.tar');
  if (existsSync(tar)) return tar;
  mkdirSync(CACHE, { recursive: true });
  const root = join(CACHE, `rootfs-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  execFileSync('debootstrap', ['--variant=minbase', 'bookworm', root, mirror()], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 900_000,
  });
  rmSync(join(root, 'var/cache/apt/archives'), { recursive: true, force: true });
  mkdirSync(join(root, 'var/cache/apt/archives/partial'), { recursive: true });
  execFileSync('tar', ['--numeric-owner', '-C', root, '-cf', `${tar}.tmp`, '.']);
  renameSync(`${tar}.tmp`, tar);
  rmSync(root, { recursive: true, force: true });
  return tar;
}
