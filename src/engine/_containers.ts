// Container use-cases of the Engine facade.
import { createWriteStream } from 'node:fs';
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
  startExec,
  type TopResult,
  tarToContainerPath,
} from '../container/index.js';
import { NotFoundError } from '../errors/index.js';
import type { PullOptions } from '../image/index.js';
import type { Platform } from '../oci/index.js';
import { isActiveState } from '../runtime/index.js';
import type { ContainerRecord, ImageRecord } from '../store/index.js';
import { tempSibling } from '../util/index.js';
import { containerAttributes, recordEvent } from './_events.js';
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

/** Containers as `ps` sees them, with records of dead containers brought up to date first. */
export async function listContainers(
  parts: Parts,
  options: { all?: boolean } = {},
): Promise<ContainerRecord[]> {
  const out: ContainerRecord[] = [];
  for (const rec of parts.store.listContainers()) {
    const now = await parts.containers.reconcile(rec);
    if (!now) continue;
    if (options.all || isActiveState(now.state)) out.push(now);
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
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

/** Remove every stopped (exited or never started) container; returns their IDs. */
export async function pruneContainers(parts: Parts, options: { volumes?: boolean } = {}): Promise<string[]> {
  // listing reconciles first: containers whose berth or conmon died are recorded as exited
  const stopped = (await listContainers(parts, { all: true })).filter(
    (c) => c.state === 'exited' || c.state === 'created',
  );
  for (const c of stopped) await parts.containers.remove(c.id, { volumes: options.volumes === true });
  return stopped.map((c) => c.id);
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
  const tmp = tempSibling(output);
  try {
    const file = createWriteStream(tmp, { mode: 0o644 });
    await exportContainer(parts.containers, container, file);
    await new Promise<void>((resolve, reject) => {
      file.on('error', reject);
      file.end(resolve);
    });
    const { rename } = await import('node:fs/promises');
    await rename(tmp, output);
  } catch (err) {
    const { rm } = await import('node:fs/promises');
    await rm(tmp, { force: true });
    throw err;
  }
}
