// The Engine facade: one typed method per use-case, each returning plain report objects. The
// work lives in the private `_*.ts` files by concern; the wiring (store, registry client,
// container manager) lives in `_parts.ts` and never leaves this folder.
import type { Writable } from 'node:stream';
import type { BuildRequest, BuildResult } from '../builder/index.js';
import type {
  CommitOptions,
  ContainerChange,
  ContainerCreateOptions,
  ContainerManager,
  ContainerStats,
  CopyOptions,
  ExecRequest,
  ExecSession,
  TopResult,
} from '../container/index.js';
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
import type { Platform } from '../oci/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { ContainerRecord, EventRecord, ImageRecord, Store } from '../store/index.js';
import * as containers from './_containers.js';
import { type EventQueryInput, parseEventQuery, streamEvents } from './_events.js';
import * as images from './_images.js';
import { type EngineOptions, Parts } from './_parts.js';
import * as system from './_system.js';

export {
  EVENT_FILTER_KEYS,
  type EventQuery,
  type EventQueryInput,
  parseEventQuery,
  parseEventTime,
} from './_events.js';
export type { ImageSummary, LoadOptions, RemoveReport } from './_images.js';
export type { EngineOptions } from './_parts.js';
export { registryHost } from './_system.js';

export class Engine {
  readonly #parts: Parts;

  constructor(options: EngineOptions) {
    this.#parts = new Parts(options);
  }

  get options(): EngineOptions {
    return this.#parts.options;
  }

  get store(): Store {
    return this.#parts.store;
  }

  get registry(): RegistryClient {
    return this.#parts.registry;
  }

  get containers(): ContainerManager {
    return this.#parts.containers;
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

  /** Containers as `ps` sees them, with records of dead containers brought up to date first. */
  async listContainers(options: { all?: boolean } = {}): Promise<ContainerRecord[]> {
    return containers.listContainers(this.#parts, options);
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

  /** Remove every stopped (exited or never started) container; returns their IDs. */
  async pruneContainers(options: { volumes?: boolean } = {}): Promise<string[]> {
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

  async pull(reference: string, options: PullOptions = {}): Promise<PullResult> {
    return this.#parts.pull(reference, options);
  }

  listImages(options: { all?: boolean; dangling?: boolean; reference?: string } = {}): images.ImageSummary[] {
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
  /** `build`: a Dockerfile into an image; base images are found in the store or pulled. */
  async build(
    request: Omit<BuildRequest, 'tags'> & { tags?: string[] },
    extra: { onPullProgress?: PullOptions['onProgress'] } = {},
  ): Promise<BuildResult> {
    return images.build(this.#parts, request, extra);
  }

  /** `.dockerignore` patterns of a build context (see builder/'s readIgnoreFile for the lookup order). */
  async readBuildIgnore(contextDir: string, dockerfileName?: string): Promise<string[]> {
    const { readIgnoreFile } = await import('../builder/index.js');
    return readIgnoreFile(contextDir, dockerfileName);
  }

  /** `build -`: unpack a context tar from `input` into `dir`, or return the Dockerfile it holds. */
  async readStdinBuildContext(
    input: AsyncIterable<Buffer | string>,
    dir: string,
  ): Promise<{ dockerfile?: string }> {
    const { readStdinContext } = await import('../builder/index.js');
    return readStdinContext(input, dir);
  }

  /** Forget the build cache and collect what only it kept; returns the number of entries. */
  async pruneBuildCache(): Promise<{ entries: number; bytes: number }> {
    return images.pruneBuildCache(this.#parts);
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
  diskUsage(): ReturnType<typeof system.diskUsage> {
    return system.diskUsage(this.#parts);
  }

  async login(server: string, credentials: { username: string; password: string }): Promise<string> {
    return system.login(this.#parts, server, credentials);
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
