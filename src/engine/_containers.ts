// Container use-cases of the Engine facade.
import type { Writable } from 'node:stream';
import {
  type CommitOptions,
  type ContainerChange,
  type ContainerCreateOptions,
  type ContainerStats,
  type CopyOptions,
  commitContainer,
  containerChanges,
  containerPathToTar,
  containerStats,
  containerTop,
  copyFromContainer,
  copyToContainer,
  type ExecRequest,
  type ExecSession,
  exportContainer,
  liveNetStatus,
  startExec,
  type TopResult,
  tarToContainerPath,
} from '../container/index.js';
import { NotFoundError } from '../errors/index.js';
import type { PullOptions } from '../image/index.js';
import type { PortMapping } from '../network/index.js';
import type { Platform } from '../oci/index.js';
import { type AttachStreams, isActiveState, type LogEntry } from '../runtime/index.js';
import type { ContainerRecord, ImageRecord } from '../store/index.js';
import { atomicWriteStream } from '../util/index.js';
import { containerAttributes, recordEvent } from './_events.js';
import { type FilterInput, parseContainerFilters } from './_filters.js';
import {
  type ContainerInspect,
  type ContainerSummary,
  formatContainerInspect,
  formatContainerSummary,
} from './_format.js';
import type { Parts } from './_parts.js';

/** `create`: resolve (pulling when missing, like docker) the image, then record the container. */
export async function createContainer(
  parts: Parts,
  options: ContainerCreateOptions,
  extra: {
    pull?: 'missing' | 'always' | 'never';
    onProgress?: PullOptions['onProgress'];
    platform?: Platform;
  } = {},
): Promise<ContainerRecord> {
  const policy = extra.pull ?? 'missing';
  let image = policy === 'always' ? undefined : parts.findImage(options.image);
  if (!image) {
    if (policy === 'never') throw new NotFoundError(`no such image: ${options.image}`);
    const pulled = await parts.pull(options.image, {
      ...(extra.onProgress ? { onProgress: extra.onProgress } : {}),
      ...(extra.platform ? { platform: extra.platform, platformExplicit: true } : {}),
    });
    image = pulled.image;
  }
  return parts.containers.create(image, options.image, options);
}

/** Every container record, each brought up to date first (a dead conmon, a finished --rm). */
async function reconciledRecords(parts: Parts): Promise<ContainerRecord[]> {
  const out: ContainerRecord[] = [];
  for (const rec of parts.store.listContainers()) {
    const now = await parts.containers.reconcile(rec);
    if (now) out.push(now);
  }
  // and the networks a killed berth left half set up (a readdir when there are none)
  await parts.containers.sweepNetworks();
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/**
 * Containers as `ps` sees them, newest first: running and paused ones, all with `all` or a
 * status filter. Filters are checked before anything is listed.
 */
export async function listContainers(
  parts: Parts,
  options: { all?: boolean; filters?: FilterInput } = {},
): Promise<ContainerSummary[]> {
  const filter = parseContainerFilters(options.filters);
  const all = options.all === true || filter.wantsAll;
  return (await reconciledRecords(parts))
    .filter((r) => all || isActiveState(r.state))
    .map(formatContainerSummary)
    .filter((c) => filter.matches(c));
}

/** `docker container inspect` of one container, its record brought up to date first. */
export async function inspectContainer(parts: Parts, idOrName: string): Promise<ContainerInspect> {
  const rec = parts.containers.get(idOrName);
  const now = (await parts.containers.reconcile(rec)) ?? rec;
  return formatContainerInspect(now, {
    userdataDir: parts.containers.userdataDir(now.id),
    logPath: parts.containers.logPath(now.id),
    volumePath: (name) => parts.store.volumePath(name),
  });
}

export async function containerPorts(parts: Parts, idOrName: string): Promise<PortMapping[]> {
  const rec = parts.containers.get(idOrName);
  const now = (await parts.containers.reconcile(rec)) ?? rec;
  return [...(liveNetStatus(now)?.ports ?? [])];
}

export interface StartOptions {
  /** Runs after the runtime created the container and before its process starts (to attach). */
  beforeStart?: () => Promise<void>;
  /** The caller stays attached and removes the container itself (`run --rm`). */
  callerCleansUp?: boolean;
}

export async function startContainer(
  parts: Parts,
  idOrName: string,
  options: StartOptions = {},
): Promise<void> {
  const { beforeStart } = options;
  await parts.containers.start(idOrName, {
    ...(options.callerCleansUp ? { callerCleansUp: true } : {}),
    ...(beforeStart ? { beforeStart: async () => beforeStart() } : {}),
  });
}

/**
 * `restart`, as docker does it: stop (the stop signal, then SIGKILL after `timeout` seconds)
 * whatever state it is in, then start. An exited or never-started container just starts.
 */
export async function restartContainer(
  parts: Parts,
  idOrName: string,
  options: { timeout?: number; signal?: string } = {},
): Promise<void> {
  const rec = await parts.containers.stop(idOrName, options.timeout, options.signal);
  const started = await parts.containers.start(rec.id);
  recordEvent(parts.store, 'container', 'restart', {
    ID: rec.id,
    Attributes: containerAttributes(started),
  });
}

export interface ContainerRemoveReport {
  Id: string;
}

/** `rm`: remove one container (`force` kills a running one first; `volumes` its anonymous volumes). */
export async function removeContainer(
  parts: Parts,
  idOrName: string,
  options: { force?: boolean; volumes?: boolean } = {},
): Promise<ContainerRemoveReport> {
  const id = await parts.containers.remove(idOrName, {
    force: options.force === true,
    volumes: options.volumes === true,
  });
  return { Id: id };
}

export function containerLogs(
  parts: Parts,
  idOrName: string,
  options: { follow?: boolean; since?: Date; tail?: number; signal?: AbortSignal } = {},
): AsyncIterable<LogEntry> {
  return parts.containers.logs(idOrName, options);
}

export function attachContainer(parts: Parts, idOrName: string): Promise<AttachStreams> {
  return parts.containers.attach(idOrName);
}

export function execInContainer(parts: Parts, idOrName: string, request: ExecRequest): ExecSession {
  const session = startExec(parts.containers, idOrName, request);
  // Docker's exec actions carry the command: `exec_create: sh -c ls`
  const rec = parts.containers.get(idOrName);
  const command = request.args.join(' ');
  const actor = (extra: Record<string, string> = {}) => ({
    ID: rec.id,
    Attributes: containerAttributes(rec, extra),
  });
  recordEvent(parts.store, 'container', `exec_create: ${command}`, actor());
  recordEvent(parts.store, 'container', `exec_start: ${command}`, actor());
  session.result.then(
    (r) => {
      if (r.exitCode !== undefined)
        recordEvent(parts.store, 'container', 'exec_die', actor({ exitCode: String(r.exitCode) }));
    },
    () => {},
  );
  return session;
}

export function topContainer(parts: Parts, idOrName: string, psArgs: string[]): TopResult {
  return containerTop(parts.containers, idOrName, psArgs);
}

export function statsOf(
  parts: Parts,
  idsOrNames: string[],
  options: { intervalMs?: number },
): Promise<ContainerStats[]> {
  return containerStats(parts.containers, idsOrNames, options);
}

export interface ContainerPruneReport {
  /** IDs of the containers removed. */
  deleted: string[];
}

/** Remove every stopped (exited or never started) container. */
export async function pruneContainers(
  parts: Parts,
  options: { volumes?: boolean } = {},
): Promise<ContainerPruneReport> {
  // listing reconciles first: containers whose berth or conmon died are recorded as exited
  const stopped = (await reconciledRecords(parts)).filter(
    (c) => c.state === 'exited' || c.state === 'created',
  );
  const deleted: string[] = [];
  for (const c of stopped) deleted.push((await removeContainer(parts, c.id, options)).Id);
  return { deleted };
}

/** `cp CONTAINER:SRC DEST`; a Writable DEST gets a tar of SRC (`-`). */
export async function copyOut(
  parts: Parts,
  container: string,
  src: string,
  options: { dest: string | Writable } & CopyOptions,
): Promise<void> {
  const { dest, ...copy } = options;
  if (typeof dest === 'string') {
    await copyFromContainer(parts.containers, container, { src, dest }, copy);
  } else {
    await containerPathToTar(parts.containers, container, src, dest, copy);
  }
}

/** `cp SRC CONTAINER:DEST`; an AsyncIterable SRC is a tar to extract into DEST (`-`). */
export async function copyIn(
  parts: Parts,
  container: string,
  options: { src: string | AsyncIterable<Buffer>; dest: string } & CopyOptions,
): Promise<void> {
  const { src, dest, ...copy } = options;
  if (typeof src === 'string') {
    await copyToContainer(parts.containers, container, { src, dest }, copy);
  } else {
    await tarToContainerPath(parts.containers, container, dest, src, copy);
  }
}

export function changesOf(parts: Parts, container: string): ContainerChange[] {
  return containerChanges(parts.containers, container);
}

export async function commit(parts: Parts, container: string, options: CommitOptions): Promise<ImageRecord> {
  return commitContainer(parts.containers, container, options);
}

/** `export`: the container's filesystem as a tar, to a file (written atomically) or a stream. */
export async function exportTo(parts: Parts, container: string, output: string | Writable): Promise<void> {
  if (typeof output !== 'string') {
    await exportContainer(parts.containers, container, output);
    return;
  }
  await atomicWriteStream(output, (file) => exportContainer(parts.containers, container, file));
}
