// System use-cases of the Engine facade: disk usage, info, registry login/logout.
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { InvalidArgumentError } from '../errors/index.js';
import { shortId } from '../oci/index.js';
import { authFilePath, removeCredentials, saveCredentials } from '../registry/index.js';
import { detectCgroups, findRuntimes, isActiveState } from '../runtime/index.js';
import { sweepDeadBuilds } from './_builds.js';
import { pruneContainers } from './_containers.js';
import { pruneBuildCache, pruneImages } from './_images.js';
import type { Parts } from './_parts.js';
import { pruneVolumes } from './_volumes.js';

export interface SystemPruneReport {
  containers: { deleted: string[] };
  /** Only with `volumes`: unused anonymous volumes. */
  volumes?: { deleted: string[]; reclaimed: number };
  images: { deleted: string[]; untagged: string[]; reclaimed: number };
  buildCache: { entries: number; reclaimed: number };
  /** Bytes freed in all. */
  reclaimed: number;
}

/**
 * `system prune`: stopped containers (with their anonymous volumes and, with `volumes`, every
 * unused anonymous volume), dangling images (unused ones with `all`), the build cache.
 */
export async function pruneSystem(
  parts: Parts,
  options: { all?: boolean; volumes?: boolean } = {},
): Promise<SystemPruneReport> {
  // containers of builds whose process was killed still run: they (and their secrets) go first
  const swept = await sweepDeadBuilds(parts);
  const stopped = await pruneContainers(parts, { volumes: options.volumes === true });
  const containers = { deleted: [...swept.containers, ...stopped.deleted] };
  const volumes = options.volumes ? pruneVolumes(parts, { all: false }) : undefined;
  const images = await pruneImages(parts, { all: options.all === true });
  const cache = await pruneBuildCache(parts);
  return {
    containers,
    ...(volumes ? { volumes } : {}),
    images,
    buildCache: { entries: cache.entries, reclaimed: cache.bytes },
    reclaimed: (volumes?.reclaimed ?? 0) + images.reclaimed + cache.bytes,
  };
}

export function diskUsage(parts: Parts) {
  const du = parts.store.diskUsage();
  const cache = parts.store.buildCacheUsage();
  const containers = parts.store.listContainers();
  const running = containers.filter((c) => isActiveState(c.state));
  const volumesInUse = new Set(containers.flatMap((c) => c.volumes));
  const containersOf: Record<string, number> = {};
  for (const c of containers) containersOf[c.imageId] = (containersOf[c.imageId] ?? 0) + 1;
  return {
    images: {
      total: du.images.count,
      active: new Set(containers.map((c) => c.imageId)).size,
      size: du.images.size,
      reclaimable: du.images.reclaimable,
      /** Containers (any state) per image ID; images no container uses are absent. */
      containersOf,
    },
    containers: {
      total: du.containers.count,
      active: running.length,
      size: du.containers.size,
      reclaimable: du.containers.reclaimable,
      /** Per container ID: bytes written (sizeRw) and with its image (sizeRootFs). */
      items: Object.fromEntries(
        du.containers.items.map((c) => [c.id, { sizeRw: c.sizeRw, sizeRootFs: c.sizeRootFs }]),
      ),
    },
    volumes: {
      total: du.volumes.count,
      active: volumesInUse.size,
      size: du.volumes.size,
      reclaimable: du.volumes.reclaimable,
      /** Per volume name: bytes in it and how many containers name it. */
      items: Object.fromEntries(
        du.volumes.items.map((v) => [v.name, { size: v.size, refCount: v.refCount }]),
      ),
    },
    buildCache: {
      total: cache.count,
      active: cache.active,
      size: cache.size,
      reclaimable: cache.reclaimable,
    },
  };
}

export async function login(
  parts: Parts,
  server: string,
  credentials: { username: string; password: string },
): Promise<string> {
  const host = registryHost(server);
  await parts.registry.checkLogin(host, credentials);
  await saveCredentials(host, credentials, { authFile: parts.options.authFile });
  return host;
}

export async function logout(parts: Parts, server: string): Promise<{ host: string; removed: boolean }> {
  const host = registryHost(server);
  return { host, removed: await removeCredentials(host, { authFile: parts.options.authFile }) };
}

export function info(parts: Parts) {
  const cg = detectCgroups();
  const runtimes = findRuntimes();
  const images = parts.store.listImages();
  return {
    ServerVersion: '0.1.0',
    Driver: 'overlay',
    DockerRootDir: parts.options.root,
    RunRoot: parts.options.runroot,
    Images: images.length,
    Containers: parts.store.listContainers().length,
    CgroupVersion: cg.mode === 'v2' ? '2' : '1',
    CgroupMode: cg.mode,
    CgroupV2Controllers: cg.v2Controllers,
    Runtimes: Object.fromEntries(
      runtimes.filter((r) => r.name !== 'conmon').map((r) => [r.name, { path: r.path, version: r.version }]),
    ),
    Conmon: runtimes.find((r) => r.name === 'conmon') ?? null,
    KernelVersion: release(),
    OperatingSystem: osName(),
    OSType: 'linux',
    Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
    NCPU: cpus().length,
    MemTotal: totalmem(),
    AuthFile: authFilePath(parts.options.authFile),
    ShortIds: images.map((i) => shortId(i.id)),
  };
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'linux';
  } catch {
    return 'linux';
  }
}

/** `https://index.docker.io/v1/`, `docker.io`, `localhost:5000/x` → registry host. */
export function registryHost(server: string): string {
  let s = server.trim().replace(/^https?:\/\//, '');
  s = s.split('/')[0] ?? s;
  if (s === 'index.docker.io' || s === 'registry-1.docker.io' || s === '') return 'docker.io';
  if (!/^[a-zA-Z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(s)) {
    throw new InvalidArgumentError(`invalid registry "${server}"`);
  }
  return s;
}
