import { createWriteStream, readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BuildRequest, BuildResult } from '../builder/index.js';
import {
  type CommitOptions,
  type ContainerChange,
  type ContainerCreateOptions,
  ContainerManager,
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
import { describeError, InvalidArgumentError, NotFoundError } from '../errors/index.js';
import {
  diffImages,
  familiarRepoDigest,
  familiarTag,
  fullTagName,
  type HistoryRow,
  type ImageDiff,
  type ImageInspect,
  type ImportOptions,
  imageHistory,
  importImage,
  inspectImage,
  type LoadResult,
  loadImages,
  type PullOptions,
  type PullResult,
  pullImage,
  type SaveFormat,
  saveImagesStream,
  saveImagesToDir,
} from '../image/index.js';
import { familiarName, type Platform, parsePlatform, parseReference, shortId } from '../oci/index.js';
import {
  authFilePath,
  loadRegistriesConfig,
  RegistryClient,
  removeCredentials,
  saveCredentials,
} from '../registry/index.js';
import { detectCgroups, findRuntimes } from '../runtime/index.js';
import { type ContainerRecord, type ImageRecord, Store } from '../store/index.js';
import { tempSibling } from '../util/index.js';
import { loadBerthConfig } from './config.js';

export interface EngineOptions {
  root: string;
  runroot: string;
  /** argv that runs this berth (conmon calls it back when a container exits). */
  berthCommand?: string[];
  /** Runtime for containers that name none: runc, crun, a path, or auto. */
  defaultRuntime?: string;
  authFile?: string;
  tlsVerify?: boolean;
  registriesConfig?: string;
}

export interface ImageSummary {
  ID: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedAt: string;
  Size: number;
  Names: string[];
  Dangling: boolean;
}

export interface RemoveReport {
  reference: string;
  untagged: string[];
  deleted: string[];
  error?: string;
}

const HEX_ID = /^(sha256:)?[0-9a-f]{3,64}$/;

export class Engine {
  readonly options: EngineOptions;
  private storeHandle: Store | undefined;
  private clientHandle: RegistryClient | undefined;
  private containerHandle: ContainerManager | undefined;

  constructor(options: EngineOptions) {
    this.options = options;
  }

  get store(): Store {
    this.storeHandle ??= Store.open(this.options.root);
    return this.storeHandle;
  }

  get registry(): RegistryClient {
    this.clientHandle ??= new RegistryClient({
      authFile: this.options.authFile,
      tlsVerify: this.options.tlsVerify,
      config: loadRegistriesConfig(this.options.registriesConfig),
      userAgent: 'berth/0.1',
    });
    return this.clientHandle;
  }

  get containers(): ContainerManager {
    this.containerHandle ??= new ContainerManager({
      store: this.store,
      runroot: this.options.runroot,
      berthCommand: this.options.berthCommand ?? [
        process.execPath,
        process.argv[1] ?? 'berth',
        '--root',
        this.options.root,
        '--runroot',
        this.options.runroot,
      ],
      defaultRuntime: this.options.defaultRuntime ?? loadBerthConfig().runtime ?? 'auto',
    });
    return this.containerHandle;
  }

  /** `create`: resolve (pulling when missing, like docker) the image, then record the container. */
  async createContainer(
    options: ContainerCreateOptions,
    extra: {
      pull?: 'missing' | 'always' | 'never';
      onProgress?: PullOptions['onProgress'];
      platform?: Platform;
    } = {},
  ): Promise<ContainerRecord> {
    const policy = extra.pull ?? 'missing';
    let image = policy === 'always' ? undefined : this.findImage(options.image);
    if (!image) {
      if (policy === 'never') throw new NotFoundError(`no such image: ${options.image}`);
      const pulled = await this.pull(options.image, {
        ...(extra.onProgress ? { onProgress: extra.onProgress } : {}),
        ...(extra.platform ? { platform: extra.platform, platformExplicit: true } : {}),
      });
      image = pulled.image;
    }
    return this.containers.create(image, options.image, options);
  }

  /**
   * `build`: a Dockerfile into an image. Base images are found in the store or pulled (always
   * with `pull`). The build module loads only here, so other commands never parse it.
   */
  async build(
    request: Omit<BuildRequest, 'tags'> & { tags?: string[] },
    extra: { onPullProgress?: PullOptions['onProgress'] } = {},
  ): Promise<BuildResult> {
    const { buildImage } = await import('../builder/index.js');
    const tags = (request.tags ?? []).map((t) => fullTagName(parseReference(t)));
    return buildImage(
      {
        store: this.store,
        containers: this.containers,
        runroot: this.options.runroot,
        download: (url, dest, options) => this.registry.downloadToFile(url, dest, options),
        resolveImage: async (reference, options) => {
          const existing = options.pull ? undefined : this.findImage(reference);
          if (existing) return existing;
          const pulled = await this.pull(reference, {
            ...(extra.onPullProgress ? { onProgress: extra.onPullProgress } : {}),
            ...(options.platform
              ? { platform: parsePlatform(options.platform), platformExplicit: true }
              : {}),
          });
          return pulled.image;
        },
      },
      { ...request, tags },
    );
  }

  /** `.dockerignore` patterns of a build context (see build/'s readIgnoreFile for the lookup order). */
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

  /** `build -f -`: the Dockerfile on stdin, refused past the parser's 4 MiB limit. */
  async readStdinDockerfile(input: AsyncIterable<Buffer | string>): Promise<string> {
    const { readStdinDockerfile } = await import('../builder/index.js');
    return readStdinDockerfile(input);
  }

  /** Forget the build cache and collect what only it kept; returns the number of entries. */
  async pruneBuildCache(): Promise<{ entries: number; bytes: number }> {
    const entries = this.store.pruneBuildCache();
    const gc = await this.store.gc({ graceMs: 0 });
    return { entries, bytes: gc.bytes };
  }

  /** Containers as `ps` sees them, with records of dead containers brought up to date first. */
  async listContainers(options: { all?: boolean } = {}): Promise<ContainerRecord[]> {
    const out: ContainerRecord[] = [];
    for (const rec of this.store.listContainers()) {
      const now = await this.containers.reconcile(rec);
      if (!now) continue;
      if (options.all || now.state === 'running' || now.state === 'paused') out.push(now);
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** `exec`: start a process in a running container (see container/exec.ts). */
  execInContainer(idOrName: string, request: ExecRequest): ExecSession {
    return startExec(this.containers, idOrName, request);
  }

  /** `top`: the processes of a running container as ps columns. */
  topContainer(idOrName: string, psArgs: string[] = []): TopResult {
    return containerTop(this.containers, idOrName, psArgs);
  }

  /** `stats`: one resource-usage report per container (CPU % over `intervalMs`). */
  containerStats(idsOrNames: string[], options: { intervalMs?: number } = {}): Promise<ContainerStats[]> {
    return containerStats(this.containers, idsOrNames, options);
  }

  /** Remove every stopped (exited or never started) container; returns their IDs. */
  async pruneContainers(options: { volumes?: boolean } = {}): Promise<string[]> {
    // listing reconciles first: containers whose berth or conmon died are recorded as exited
    const stopped = (await this.listContainers({ all: true })).filter(
      (c) => c.state === 'exited' || c.state === 'created',
    );
    for (const c of stopped) await this.containers.remove(c.id, { volumes: options.volumes === true });
    return stopped.map((c) => c.id);
  }

  close(): void {
    this.storeHandle?.close();
    this.storeHandle = undefined;
    this.clientHandle?.close();
    this.clientHandle = undefined;
  }

  /** Find an image by name (`bb`, `localhost/x:1`), `name@digest`, or full/short ID. */
  findImage(input: string): ImageRecord | undefined {
    let ref: ReturnType<typeof parseReference> | undefined;
    try {
      ref = parseReference(input);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const byName = ref.digest
        ? this.store.findImage(`${ref.domain}/${ref.path}@${ref.digest}`)
        : this.store.findImage(fullTagName(ref));
      if (byName) return byName;
    }
    if (HEX_ID.test(input)) return this.store.findImage(input);
    if (!ref) parseReference(input); // rethrow the reference error
    return undefined;
  }

  resolveImage(input: string): ImageRecord {
    const image = this.findImage(input);
    if (!image) throw new NotFoundError(`no such image: ${input}`);
    return image;
  }

  async pull(reference: string, options: PullOptions = {}): Promise<PullResult> {
    return pullImage({ store: this.store, client: this.registry }, reference, options);
  }

  listImages(options: { all?: boolean; dangling?: boolean; reference?: string } = {}): ImageSummary[] {
    const images = this.store.listImages(
      options.dangling === undefined ? {} : { dangling: options.dangling },
    );
    const out: ImageSummary[] = [];
    for (const img of images) {
      const digests = img.repoDigests.map(familiarRepoDigest);
      const rows = img.names.length > 0 ? img.names : [undefined];
      for (const name of rows) {
        let repo = '<none>';
        let tag = '<none>';
        if (name) {
          const ref = parseReference(name);
          repo = familiarName(ref);
          tag = ref.tag ?? '<none>';
          if (options.reference && !matchesReference(options.reference, repo, tag)) continue;
        } else if (options.reference) continue;
        const digest =
          digests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ??
          digests[0]?.split('@')[1] ??
          '<none>';
        out.push({
          ID: img.id,
          Repository: repo,
          Tag: tag,
          Digest: digest,
          CreatedAt: img.created ?? '',
          Size: img.size,
          Names: img.names.map(familiarTag),
          Dangling: img.names.length === 0,
        });
      }
    }
    return out.sort(
      (a, b) =>
        (b.CreatedAt || '').localeCompare(a.CreatedAt || '') || a.Repository.localeCompare(b.Repository),
    );
  }

  /** `rmi`: one report per reference, then free what nothing references. */
  async removeImages(references: string[], options: { force?: boolean } = {}): Promise<RemoveReport[]> {
    const reports: RemoveReport[] = [];
    for (const reference of references) {
      try {
        const image = this.resolveImage(reference);
        let target = image.id as string;
        try {
          const ref = parseReference(reference);
          const full = fullTagName(ref);
          if (!ref.digest && image.names.includes(full)) target = full;
        } catch {
          // an ID
        }
        const r = this.store.removeImage(target, { force: options.force });
        reports.push({ reference, untagged: r.untagged.map(familiarTag), deleted: r.deleted });
      } catch (err) {
        reports.push({ reference, untagged: [], deleted: [], error: describeError(err) });
      }
    }
    await this.store.gc({ graceMs: 0 });
    return reports;
  }

  tagImage(source: string, target: string): void {
    const image = this.resolveImage(source);
    this.store.tagImage(image.id, fullTagName(parseReference(target)));
  }

  async inspectImage(reference: string): Promise<ImageInspect> {
    return inspectImage(this.store, this.resolveImage(reference));
  }

  /** `image diff A B`: which steps (and which paths in them) differ between two images. */
  async diffImages(a: string, b: string): Promise<ImageDiff> {
    return diffImages(this.store, this.resolveImage(a), this.resolveImage(b));
  }

  async imageHistory(reference: string): Promise<HistoryRow[]> {
    return imageHistory(this.store, this.resolveImage(reference));
  }

  /** Save images as docker-archive / oci-archive to a file or stream, or as an OCI layout dir. */
  // ---------------------------------------------------------------- container filesystem
  /** `cp CONTAINER:SRC DEST`; a Writable DEST gets a tar of SRC (`-`). */
  async copyFromContainer(
    container: string,
    src: string,
    dest: string | Writable,
    options: CopyOptions = {},
  ): Promise<void> {
    if (typeof dest === 'string') {
      await copyFromContainer(this.containers, container, { src, dest }, options);
    } else {
      await containerPathToTar(this.containers, container, src, dest, options);
    }
  }

  /** `cp SRC CONTAINER:DEST`; an AsyncIterable SRC is a tar to extract into DEST (`-`). */
  async copyToContainer(
    src: string | AsyncIterable<Buffer>,
    container: string,
    dest: string,
    options: CopyOptions = {},
  ): Promise<void> {
    if (typeof src === 'string') {
      await copyToContainer(this.containers, container, { src, dest }, options);
    } else {
      await tarToContainerPath(this.containers, container, dest, src, options);
    }
  }

  containerChanges(container: string): ContainerChange[] {
    return containerChanges(this.containers, container);
  }

  async commitContainer(container: string, options: CommitOptions = {}): Promise<ImageRecord> {
    return commitContainer(this.containers, container, options);
  }

  /** `export`: the container's filesystem as a tar, to a file (written atomically) or a stream. */
  async exportContainer(container: string, output: string | Writable): Promise<void> {
    if (typeof output !== 'string') {
      await exportContainer(this.containers, container, output);
      return;
    }
    const tmp = tempSibling(output);
    try {
      const file = createWriteStream(tmp, { mode: 0o644 });
      await exportContainer(this.containers, container, file);
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

  async saveImages(
    references: string[],
    options: { format: SaveFormat; output: string | Writable; names?: string[] },
  ): Promise<void> {
    const items = references.map((r) => {
      const image = this.resolveImage(r);
      // explicit names (build --output -t): recorded in the archive without tagging the store
      if (options.names) return { image, names: options.names.map((n) => fullTagName(parseReference(n))) };
      let names = image.names;
      try {
        const ref = parseReference(r);
        if (!ref.digest && image.names.includes(fullTagName(ref))) names = [fullTagName(ref)];
      } catch {
        // saving by ID keeps every name, as docker does
      }
      return { image, names };
    });
    if (options.format === 'oci-dir') {
      if (typeof options.output !== 'string')
        throw new InvalidArgumentError('oci-dir output needs a directory path');
      await saveImagesToDir(this.store, items, options.output);
      return;
    }
    const stream: Readable = saveImagesStream(this.store, items, options.format);
    if (typeof options.output === 'string') {
      const tmp = tempSibling(options.output);
      try {
        await pipeline(stream, createWriteStream(tmp, { mode: 0o644 }));
        const { rename } = await import('node:fs/promises');
        await rename(tmp, options.output);
      } catch (err) {
        const { rm } = await import('node:fs/promises');
        await rm(tmp, { force: true });
        throw err;
      }
    } else {
      await pipeline(stream, options.output, { end: false });
    }
  }

  async loadImages(
    input: { path: string } | { stream: AsyncIterable<Buffer> },
    options: Parameters<typeof loadImages>[2] = {},
  ): Promise<LoadResult> {
    return loadImages({ store: this.store }, input, options);
  }

  async importImage(source: AsyncIterable<Buffer>, options: ImportOptions = {}): Promise<ImageRecord> {
    return importImage({ store: this.store }, source, options);
  }

  /** Remove dangling images (all unused ones with `all`), then collect garbage. */
  async pruneImages(
    options: { all?: boolean } = {},
  ): Promise<{ deleted: string[]; untagged: string[]; reclaimed: number }> {
    const before = this.store.diskUsage();
    // images that containers use are never pruned, dangling or not (docker's rule)
    const inUse = new Set(this.store.listContainers().map((c) => c.imageId));
    const victims = this.store
      .listImages(options.all ? {} : { dangling: true })
      .filter((i) => !inUse.has(i.id));
    const deleted: string[] = [];
    const untagged: string[] = [];
    for (const img of victims) {
      const r = this.store.removeImage(img.id, { force: true });
      deleted.push(...r.deleted);
      untagged.push(...r.untagged.map(familiarTag));
    }
    const gc = await this.store.gc({ graceMs: 0 });
    const after = this.store.diskUsage();
    const reclaimed = Math.max(
      gc.bytes,
      before.layers.size + before.blobs.size - (after.layers.size + after.blobs.size),
    );
    return { deleted, untagged, reclaimed };
  }

  diskUsage() {
    const du = this.store.diskUsage();
    const containers = this.store.listContainers();
    const running = containers.filter((c) => c.state === 'running' || c.state === 'paused');
    const volumesInUse = new Set(containers.flatMap((c) => c.volumes));
    return {
      images: {
        total: du.images.count,
        active: new Set(containers.map((c) => c.imageId)).size,
        size: du.images.size,
        reclaimable: du.images.reclaimable,
      },
      containers: {
        total: du.containers.count,
        active: running.length,
        size: du.containers.size,
        reclaimable: du.containers.reclaimable,
      },
      volumes: {
        total: du.volumes.count,
        active: volumesInUse.size,
        size: du.volumes.size,
        reclaimable: du.volumes.reclaimable,
      },
      buildCache: { total: 0, active: 0, size: 0, reclaimable: 0 },
    };
  }

  async login(server: string, credentials: { username: string; password: string }): Promise<string> {
    const host = registryHost(server);
    await this.registry.checkLogin(host, credentials);
    await saveCredentials(host, credentials, { authFile: this.options.authFile });
    return host;
  }

  async logout(server: string): Promise<{ host: string; removed: boolean }> {
    const host = registryHost(server);
    return { host, removed: await removeCredentials(host, { authFile: this.options.authFile }) };
  }

  info() {
    const cg = detectCgroups();
    const runtimes = findRuntimes();
    const images = this.store.listImages();
    return {
      ServerVersion: '0.1.0',
      Driver: 'overlay',
      DockerRootDir: this.options.root,
      RunRoot: this.options.runroot,
      Images: images.length,
      Containers: this.store.listContainers().length,
      CgroupVersion: cg.mode === 'v2' ? '2' : '1',
      CgroupMode: cg.mode,
      CgroupV2Controllers: cg.v2Controllers,
      Runtimes: Object.fromEntries(
        runtimes
          .filter((r) => r.name !== 'conmon')
          .map((r) => [r.name, { path: r.path, version: r.version }]),
      ),
      Conmon: runtimes.find((r) => r.name === 'conmon') ?? null,
      KernelVersion: release(),
      OperatingSystem: osName(),
      OSType: 'linux',
      Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
      NCPU: cpus().length,
      MemTotal: totalmem(),
      AuthFile: authFilePath(this.options.authFile),
      ShortIds: images.map((i) => shortId(i.id)),
    };
  }
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

function matchesReference(pattern: string, repo: string, tag: string): boolean {
  const [pRepo, pTag] = pattern.includes(':')
    ? [pattern.slice(0, pattern.lastIndexOf(':')), pattern.slice(pattern.lastIndexOf(':') + 1)]
    : [pattern, undefined];
  const re = new RegExp(
    `^${pRepo
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(repo) && (pTag === undefined || pTag === tag);
}

export function createEngine(options: EngineOptions): Engine {
  return new Engine(options);
}
