// The Engine facade: one typed method per use-case, each returning plain report objects. The
// work lives in the private `_*.ts` files by concern; the wiring (store, registry client,
// container manager) lives in `_parts.ts` and never leaves this folder.
import type { Writable } from 'node:stream';
import type { BuildResult, StdinLimits } from '../builder/index.js';
import type {
  CommitOptions,
  ContainerChange,
  ContainerCreateOptions,
  ContainerStats,
  ContainerUpdate,
  ContainerUpdateReport,
  CopyOptions,
  ExecRequest,
  ExecSession,
  TopResult,
} from '../container/index.js';
import { hasCode } from '../errors/index.js';
import {
  diffImages,
  type HistoryRow,
  type ImageDiff,
  type ImageInspect,
  type ImportOptions,
  imageHistory,
  inspectImage,
  type LoadResult,
  type PullOptions,
  type PullResult,
  type SaveFormat,
} from '../image/index.js';
import type { NetworkCreateOptions, NetworkRequest, PortMapping } from '../network/index.js';
import type { Platform } from '../oci/index.js';
import type { AttachStreams, LogEntry } from '../runtime/index.js';
import type { ContainerRecord, EventRecord, ImageRecord } from '../store/index.js';
import * as containers from './_containers.js';
import { type EventQueryInput, parseEventQuery, streamEvents } from './_events.js';
import type { FilterInput } from './_filters.js';
import type { ContainerInspect, ContainerSummary, VolumeInspect } from './_format.js';
import type { NetworkInspect } from './_format-network.js';
import * as images from './_images.js';
import * as networks from './_networks.js';
import { type EngineOptions, Parts } from './_parts.js';
import * as pushes from './_push.js';
import * as system from './_system.js';
import * as volumes from './_volumes.js';

export type {
  ContainerPruneReport,
  ContainerRemoveReport,
  StartOptions,
} from './_containers.js';
export {
  EVENT_FILTER_KEYS,
  type EventQuery,
  type EventQueryInput,
  parseEventQuery,
  parseEventTime,
} from './_events.js';
export type { FilterInput } from './_filters.js';
export type { ContainerInspect, ContainerSummary, PortListEntry, VolumeInspect } from './_format.js';
export { containerStatusText, humanDuration, portList } from './_format.js';
export type { NetworkContainerEndpoint, NetworkInspect } from './_format-network.js';
export type { BuildRequestOptions, ImageSummary, LoadOptions, RemoveReport } from './_images.js';
export type { NetworkPruneReport } from './_networks.js';
export type { EngineOptions } from './_parts.js';
export type { PushReport, PushRequestOptions, RegistryCredentials } from './_push.js';
export type { SystemPruneReport } from './_system.js';
export { registryHost } from './_system.js';
export type { VolumePruneReport } from './_volumes.js';

export interface PullReport extends PullResult {
  upToDate: boolean;
}

export class Engine {
  readonly #parts: Parts;

  constructor(options: EngineOptions) {
    this.#parts = new Parts(options);
  }

  get options(): EngineOptions {
    return this.#parts.options;
  }

  close(): void {
    this.#parts.close();
  }

  // ---------------------------------------------------------------- containers
  /** `create`: resolve (pulling when missing, like docker) the image, then record the container. */
  async createContainer(
    options: ContainerCreateOptions,
    extra: {
      pull?: 'missing' | 'always' | 'never';
      onProgress?: PullOptions['onProgress'];
      platform?: Platform;
    } = {},
  ): Promise<ContainerRecord> {
    return containers.createContainer(this.#parts, options, extra);
  }

  /**
   * Containers as `ps` sees them, newest first, records of dead containers brought up to date
   * first: running and paused ones, every one with `all` or a status filter. Filters (status,
   * name, label, ancestor, id) are checked before anything is listed.
   */
  async listContainers(options: { all?: boolean; filters?: FilterInput } = {}): Promise<ContainerSummary[]> {
    return containers.listContainers(this.#parts, options);
  }

  /** `docker container inspect` of one container (NotFoundError when there is none). */
  async inspectContainer(idOrName: string): Promise<ContainerInspect> {
    return containers.inspectContainer(this.#parts, idOrName);
  }

  async startContainer(idOrName: string, options: containers.StartOptions = {}): Promise<void> {
    return containers.startContainer(this.#parts, idOrName, options);
  }

  /** Stop signal, then SIGKILL after `timeout` seconds (the container's stop timeout by default). */
  async stopContainer(idOrName: string, options: { timeout?: number } = {}): Promise<void> {
    await this.#parts.containers.stop(idOrName, options.timeout);
  }

  /** Stop (as `stopContainer`) whatever state it is in, then start; exited containers just start. */
  async restartContainer(idOrName: string, options: { timeout?: number } = {}): Promise<void> {
    return containers.restartContainer(this.#parts, idOrName, options);
  }

  async killContainer(idOrName: string, signal?: string): Promise<void> {
    await this.#parts.containers.kill(idOrName, signal);
  }

  async pauseContainer(idOrName: string): Promise<void> {
    return this.#parts.containers.pause(idOrName);
  }

  async unpauseContainer(idOrName: string): Promise<void> {
    return this.#parts.containers.unpause(idOrName);
  }

  /**
   * `update`: cgroup limits (applied at once to a running or paused container through the
   * runtime) and the restart policy, kept in the record so later starts apply them too. All is
   * checked before anything changes; a refused change leaves the container as it was.
   */
  async updateContainer(idOrName: string, changes: ContainerUpdate): Promise<ContainerUpdateReport> {
    return this.#parts.containers.update(idOrName, changes);
  }

  async renameContainer(idOrName: string, newName: string): Promise<void> {
    return this.#parts.containers.rename(idOrName, newName);
  }

  /** `network connect`: at once for a running container, at its next start otherwise. */
  async connectNetwork(idOrName: string, request: NetworkRequest): Promise<void> {
    await this.#parts.containers.connectNetwork(idOrName, request);
  }

  /** `network disconnect`; `force` forgives a container that is not connected. */
  async disconnectNetwork(
    idOrName: string,
    network: string,
    options: { force?: boolean } = {},
  ): Promise<void> {
    try {
      await this.#parts.containers.disconnectNetwork(idOrName, network);
    } catch (err) {
      if (!(options.force && hasCode(err, 'CONFLICT'))) throw err;
    }
  }

  /** `port`: the published ports of a running container (empty when it publishes none). */
  async containerPorts(idOrName: string): Promise<PortMapping[]> {
    return containers.containerPorts(this.#parts, idOrName);
  }

  /** `rm`: `force` kills a running container first; `volumes` also removes its anonymous volumes. */
  async removeContainer(
    idOrName: string,
    options: { force?: boolean; volumes?: boolean } = {},
  ): Promise<containers.ContainerRemoveReport> {
    return containers.removeContainer(this.#parts, idOrName, options);
  }

  /** Wait for the container to exit; resolves to its exit code. */
  async waitContainer(idOrName: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.#parts.containers.wait(idOrName, options.signal);
  }

  /** The container's log entries; with `follow`, until it exits or `signal` aborts. */
  containerLogs(
    idOrName: string,
    options: { follow?: boolean; since?: Date; tail?: number; signal?: AbortSignal } = {},
  ): AsyncIterable<LogEntry> {
    return containers.containerLogs(this.#parts, idOrName, options);
  }

  /** Connect to a created or running container's stdio. */
  async attachContainer(idOrName: string): Promise<AttachStreams> {
    return containers.attachContainer(this.#parts, idOrName);
  }

  resizeContainerTty(idOrName: string, size: { rows: number; cols: number }): void {
    this.#parts.containers.resize(idOrName, size);
  }

  /** Record an exit and apply the restart policy or --rm (conmon's exit command runs this). */
  async cleanupContainer(idOrName: string): Promise<void> {
    await this.#parts.containers.cleanup(idOrName);
  }

  /** `exec`: start a process in a running container (see container/exec.ts). */
  execInContainer(idOrName: string, request: ExecRequest): ExecSession {
    return containers.execInContainer(this.#parts, idOrName, request);
  }

  /** `top`: the processes of a running container as ps columns. */
  topContainer(idOrName: string, psArgs: string[] = []): TopResult {
    return containers.topContainer(this.#parts, idOrName, psArgs);
  }

  /** `stats`: one resource-usage report per container (CPU % over `intervalMs`). */
  containerStats(idsOrNames: string[], options: { intervalMs?: number } = {}): Promise<ContainerStats[]> {
    return containers.statsOf(this.#parts, idsOrNames, options);
  }

  /** Remove every stopped (exited or never started) container, with `volumes` their anonymous volumes. */
  async pruneContainers(options: { volumes?: boolean } = {}): Promise<containers.ContainerPruneReport> {
    return containers.pruneContainers(this.#parts, options);
  }

  /** `cp CONTAINER:SRC DEST`; a Writable DEST gets a tar of SRC (`-`). */
  async copyFromContainer(
    container: string,
    src: string,
    dest: string | Writable,
    options: CopyOptions = {},
  ): Promise<void> {
    return containers.copyOut(this.#parts, container, src, { ...options, dest });
  }

  /** `cp SRC CONTAINER:DEST`; an AsyncIterable SRC is a tar to extract into DEST (`-`). */
  async copyToContainer(
    src: string | AsyncIterable<Buffer>,
    container: string,
    dest: string,
    options: CopyOptions = {},
  ): Promise<void> {
    return containers.copyIn(this.#parts, container, { ...options, src, dest });
  }

  containerChanges(container: string): ContainerChange[] {
    return containers.changesOf(this.#parts, container);
  }

  async commitContainer(container: string, options: CommitOptions = {}): Promise<ImageRecord> {
    return containers.commit(this.#parts, container, options);
  }

  /** `export`: the container's filesystem as a tar, to a file (written atomically) or a stream. */
  async exportContainer(container: string, output: string | Writable): Promise<void> {
    return containers.exportTo(this.#parts, container, output);
  }

  // ---------------------------------------------------------------- images
  /** Find an image by name (`bb`, `localhost/x:1`), `name@digest`, or full/short ID. */
  findImage(input: string): ImageRecord | undefined {
    return this.#parts.findImage(input);
  }

  resolveImage(input: string): ImageRecord {
    return this.#parts.resolveImage(input);
  }

  /**
   * `pull`; `upToDate` says the reference already named the image pulled (docker's Status line).
   * `credentials` are used for the image's registry instead of the stored login.
   */
  async pull(
    reference: string,
    options: PullOptions & { credentials?: pushes.RegistryCredentials } = {},
  ): Promise<PullReport> {
    const { credentials, ...pullOptions } = options;
    const before = this.#parts.findImage(reference)?.id;
    const result = await pushes.pullWithCredentials(this.#parts, reference, pullOptions, credentials);
    return { ...result, upToDate: before === result.image.id };
  }

  /**
   * `push SOURCE [DEST]`: layers (skipping what the registry has), config, then the manifest,
   * byte for byte as stored, so a pulled image keeps its digest. Credentials: the stored login,
   * or `options.credentials` for the destination's registry.
   */
  async push(source: string, options: pushes.PushRequestOptions = {}): Promise<pushes.PushReport> {
    return pushes.push(this.#parts, source, options);
  }

  /** `images [REFERENCE]`; filters (dangling, reference) are checked before anything is listed. */
  listImages(options: { reference?: string; filters?: FilterInput } = {}): images.ImageSummary[] {
    return images.listImages(this.#parts, options);
  }

  /** `rmi`: one report per reference, then free what nothing references. */
  async removeImages(
    references: string[],
    options: { force?: boolean } = {},
  ): Promise<images.RemoveReport[]> {
    return images.removeImages(this.#parts, references, options);
  }

  tagImage(source: string, target: string): void {
    images.tagImage(this.#parts, source, target);
  }

  async inspectImage(reference: string): Promise<ImageInspect> {
    return inspectImage(this.#parts.store, this.#parts.resolveImage(reference));
  }

  /** `image diff A B`: which steps (and which paths in them) differ between two images. */
  async diffImages(a: string, b: string): Promise<ImageDiff> {
    return diffImages(this.#parts.store, this.#parts.resolveImage(a), this.#parts.resolveImage(b));
  }

  async imageHistory(reference: string): Promise<HistoryRow[]> {
    return imageHistory(this.#parts.store, this.#parts.resolveImage(reference));
  }

  /** Save images as docker-archive / oci-archive to a file or stream, or as an OCI layout dir. */
  async saveImages(
    references: string[],
    options: { format: SaveFormat; output: string | Writable; names?: string[] },
  ): Promise<void> {
    return images.saveImages(this.#parts, references, options);
  }

  async loadImages(
    input: { path: string } | { stream: AsyncIterable<Buffer> },
    options: images.LoadOptions = {},
  ): Promise<LoadResult> {
    return images.load(this.#parts, input, options);
  }

  async importImage(source: AsyncIterable<Buffer>, options: ImportOptions = {}): Promise<ImageRecord> {
    return images.importTar(this.#parts, source, options);
  }

  /** Remove dangling images (all unused ones with `all`), then collect garbage. */
  async pruneImages(
    options: { all?: boolean } = {},
  ): Promise<{ deleted: string[]; untagged: string[]; reclaimed: number }> {
    return images.pruneImages(this.#parts, options);
  }

  // ---------------------------------------------------------------- build
  /**
   * `build`: a Dockerfile into an image; base images are found in the store or pulled. With
   * `output`, the image is written as an archive (named by the tags) instead of being stored.
   */
  async build(
    request: images.BuildRequestOptions,
    extra: {
      onPullProgress?: PullOptions['onProgress'];
      /** Per-registry credentials for base-image pulls (the API's X-Registry-Config). */
      credentials?: Record<string, pushes.RegistryCredentials>;
    } = {},
  ): Promise<BuildResult> {
    return images.build(this.#parts, request, extra);
  }

  /** `.dockerignore` patterns of a build context (see builder/'s readIgnoreFile for the lookup order). */
  async readBuildIgnore(contextDir: string, dockerfileName?: string): Promise<string[]> {
    const { readIgnoreFile } = await import('../builder/index.js');
    return readIgnoreFile(contextDir, dockerfileName);
  }

  /**
   * `build -` and the API's POST /build: unpack a context tar from `input` into `dir`, or return
   * the Dockerfile it holds; `limits` caps the sizes and can refuse device nodes.
   */
  async readStdinBuildContext(
    input: AsyncIterable<Buffer | string>,
    dir: string,
    limits: StdinLimits = {},
  ): Promise<{ dockerfile?: string }> {
    const { readStdinContext } = await import('../builder/index.js');
    return readStdinContext(input, dir, limits);
  }

  /** `build -f -`: the Dockerfile on stdin, refused past the parser's 4 MiB limit. */
  async readStdinDockerfile(input: AsyncIterable<Buffer | string>): Promise<string> {
    const { readStdinDockerfile } = await import('../builder/index.js');
    return readStdinDockerfile(input);
  }

  /** Forget the build cache and collect what only it kept; returns the number of entries. */
  async pruneBuildCache(): Promise<{ entries: number; bytes: number }> {
    return images.pruneBuildCache(this.#parts);
  }

  // ---------------------------------------------------------------- volumes
  /** Create a volume (a random name when none is given); an existing name is returned unchanged. */
  createVolume(name?: string, options: { labels?: Record<string, string> } = {}): VolumeInspect {
    return volumes.createVolume(this.#parts, name, options);
  }

  inspectVolume(name: string): VolumeInspect {
    return volumes.inspectVolume(this.#parts, name);
  }

  /** Sorted by name; filters (dangling, driver, label, name) are checked before anything is listed. */
  listVolumes(options: { filters?: FilterInput } = {}): VolumeInspect[] {
    return volumes.listVolumes(this.#parts, options);
  }

  /** A volume in use is a ConflictError even with `force`; `force` only forgives a missing one. */
  removeVolume(name: string, options: { force?: boolean } = {}): void {
    volumes.removeVolume(this.#parts, name, options);
  }

  /** Remove unused anonymous volumes (every unused volume with `all`). */
  pruneVolumes(options: { all?: boolean } = {}): volumes.VolumePruneReport {
    return volumes.pruneVolumes(this.#parts, options);
  }

  // ---------------------------------------------------------------- networks
  /** `network create`: checked, given a free subnet and bridge, then written (the default network first). */
  createNetwork(options: NetworkCreateOptions): NetworkInspect {
    return networks.createNetwork(this.#parts, options);
  }

  /** By name, full id or unique id prefix, with the containers attached to it. */
  inspectNetwork(nameOrId: string): NetworkInspect {
    return networks.inspectNetwork(this.#parts, nameOrId);
  }

  /** Sorted by name; filters (dangling, driver, id, label, name, scope, type) are checked first. */
  listNetworks(options: { filters?: FilterInput } = {}): NetworkInspect[] {
    return networks.listNetworks(this.#parts, options);
  }

  /** ConflictError while any container record names it (the default `berth` included). */
  async removeNetwork(nameOrId: string): Promise<void> {
    await networks.removeNetwork(this.#parts, nameOrId);
  }

  /** Remove the user networks no container names; filters: label, label!, until. */
  async pruneNetworks(options: { filters?: FilterInput } = {}): Promise<networks.NetworkPruneReport> {
    return networks.pruneNetworks(this.#parts, options);
  }

  /**
   * `network reload`: put every bridge network's host rules back (after something flushed
   * iptables) and CHECK each running container's attachments; returns the problems found.
   */
  async reloadNetworks(options: { containers?: string[] } = {}): Promise<networks.NetworkReloadReport> {
    return networks.reloadNetworks(this.#parts, options);
  }

  // ---------------------------------------------------------------- events
  /**
   * `events`: recorded events from `since`, then live ones until `until` (or until `signal`
   * fires when there is no `until`), filtered. A bad query throws here, before anything is read.
   * Without `since` and `until` only events from now on are streamed.
   */
  events(query: EventQueryInput, options: { signal?: AbortSignal } = {}): AsyncIterable<EventRecord> {
    return streamEvents(this.#parts.store, parseEventQuery(query), options.signal);
  }

  // ---------------------------------------------------------------- system
  /** `system prune`: stopped containers, dangling (or unused) images, build cache, and volumes. */
  async pruneSystem(options: { all?: boolean; volumes?: boolean } = {}): Promise<system.SystemPruneReport> {
    return system.pruneSystem(this.#parts, options);
  }

  diskUsage(): ReturnType<typeof system.diskUsage> {
    return system.diskUsage(this.#parts);
  }

  async login(server: string, credentials: { username: string; password: string }): Promise<string> {
    return system.login(this.#parts, server, credentials);
  }

  /** Check credentials against a registry without storing them; returns the registry host. */
  async checkLogin(server: string, credentials: { username: string; password: string }): Promise<string> {
    return pushes.checkLogin(this.#parts, server, credentials);
  }

  async logout(server: string): Promise<{ host: string; removed: boolean }> {
    return system.logout(this.#parts, server);
  }

  info(): ReturnType<typeof system.info> {
    return system.info(this.#parts);
  }
}

export function createEngine(options: EngineOptions): Engine {
  return new Engine(options);
}
