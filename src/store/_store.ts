// The Store facade: one object over one database handle, composed of small stores split by
// concern as containerd splits its metadata (content, snapshots, images, containers, leases).
// Its methods keep the API callers have always used; each one hands off to the concern store
// that owns it. The on-disk layout is described once, in _layout.ts.
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ContainerState, Digest } from '../oci/index.js';
import { type BuildCacheEntry, BuildCacheStore } from './_build-cache.js';
import {
  type BuildCacheUsage,
  BuildDirs,
  type BuildRegistration,
  type CacheMountOptions,
} from './_build-dirs.js';
import { ContainerStore } from './_container-store.js';
import type { ContainerPatch, ContainerRecord, NewContainer, VolumeRecord } from './_containers.js';
import { ContentStore } from './_content.js';
import { StoreDb } from './_db.js';
import { type DiskUsage, DiskUsageReport } from './_df.js';
import { EventJournal, type EventRecord, type ReadEventsOptions } from './_events.js';
import type { PathLock } from './_fs.js';
import { type GcResult, type Lease, LeasesAndGc } from './_gc.js';
import { type ImageRecord, ImageStore, type NewImage } from './_images.js';
import type { Ingest } from './_ingest.js';
import { type LayerRecord, LayerStore } from './_layers.js';
import { VolumeStore } from './_volumes.js';

export class Store {
  readonly root: string;
  readonly readOnly: boolean;
  /** Blobs and ingest. */
  readonly content: ContentStore;
  /** Unpacked layers and their l/ links. */
  readonly layers: LayerStore;
  readonly images: ImageStore;
  readonly volumes: VolumeStore;
  /** Container records, dirs and rootfs mounts. */
  readonly containers: ContainerStore;
  readonly buildCache: BuildCacheStore;
  /** build.lock, running builds' registrations, cache-mount dirs, download temp dirs. */
  readonly buildDirs: BuildDirs;
  readonly leasesAndGc: LeasesAndGc;
  readonly usage: DiskUsageReport;
  /** events/: the journal every process appends to and `berth events` follows. */
  readonly events: EventJournal;

  private constructor(private readonly db: StoreDb) {
    this.root = db.root;
    this.readOnly = db.readOnly;
    this.content = new ContentStore(db);
    this.layers = new LayerStore(db);
    this.images = new ImageStore(db, this.content, this.layers);
    this.events = new EventJournal(join(db.root, 'events'));
    this.volumes = new VolumeStore(db, this.events);
    this.containers = new ContainerStore(db, this.layers, this.volumes);
    this.buildCache = new BuildCacheStore(db, this.content, this.layers);
    this.buildDirs = new BuildDirs(db);
    this.leasesAndGc = new LeasesAndGc(db, this.content);
    this.usage = new DiskUsageReport(db, this.images, this.containers);
  }

  /**
   * Open (creating if needed) the store at `root`. Safe to call from several processes at once:
   * directory creation is idempotent and migrations serialize on the database's write lock.
   */
  static open(root: string, options: { readOnly?: boolean } = {}): Store {
    const store = new Store(StoreDb.open(root, options));
    if (!store.readOnly) store.leasesAndGc.sweepTemp();
    return store;
  }

  close(): void {
    this.db.close();
    this.events.close();
  }

  // events journal (_events.ts)
  /** Record one event; visible at once to every reader, in this process or another. */
  appendEvent(event: EventRecord): void {
    this.db.assertWritable('record an event');
    this.events.append(event);
  }
  /** The recorded events, oldest first; with `follow`, then the new ones until `signal` fires. */
  readEvents(options: ReadEventsOptions = {}): AsyncGenerator<EventRecord> {
    return this.events.read(options);
  }

  // blobs and ingest (_content.ts)
  blobPath(d: Digest): string {
    return this.content.blobPath(d);
  }
  hasBlob(d: Digest): boolean {
    return this.content.hasBlob(d);
  }
  blobSize(d: Digest): number {
    return this.content.blobSize(d);
  }
  readBlob(d: Digest, options: { limit?: number } = {}): Promise<Buffer> {
    return this.content.readBlob(d, options);
  }
  openBlob(d: Digest): Readable {
    return this.content.openBlob(d);
  }
  putBlob(bytes: Buffer, expected?: Digest): Promise<Digest> {
    return this.content.putBlob(bytes, expected);
  }
  adoptBlobFile(path: string, expected: Digest, options: { copy?: boolean } = {}): Promise<Digest> {
    return this.content.adoptBlobFile(path, expected, options);
  }
  beginIngest(
    expected: { digest: Digest; size?: number },
    options: { timeoutMs?: number } = {},
  ): Promise<Ingest> {
    return this.content.beginIngest(expected, options);
  }

  // layers (_layers.ts)
  createStagingDir(): Promise<string> {
    return this.layers.createStagingDir();
  }
  commitLayer(staging: string, info: Parameters<LayerStore['commitLayer']>[1]): Promise<LayerRecord> {
    return this.layers.commitLayer(staging, info);
  }
  getLayer(diffId: Digest): LayerRecord | undefined {
    return this.layers.getLayer(diffId);
  }
  layerDiffPath(diffId: Digest): string {
    return this.layers.layerDiffPath(diffId);
  }
  layerShortLink(diffId: Digest): string {
    return this.layers.layerShortLink(diffId);
  }

  // images (_images.ts)
  commitImage(rec: NewImage): ImageRecord {
    return this.images.commitImage(rec);
  }
  listImages(options: { dangling?: boolean } = {}): ImageRecord[] {
    return this.images.listImages(options);
  }
  resolveImage(nameOrId: string): ImageRecord {
    return this.images.resolveImage(nameOrId);
  }
  findImage(nameOrId: string): ImageRecord | undefined {
    return this.images.findImage(nameOrId);
  }
  tagImage(id: Digest, name: string): void {
    this.images.tagImage(id, name);
  }
  untag(name: string): Digest {
    return this.images.untag(name);
  }
  removeImage(
    nameOrId: string,
    options: { force?: boolean } = {},
  ): { untagged: string[]; deleted: Digest[] } {
    return this.images.removeImage(nameOrId, options);
  }

  // containers and their rootfs (_container-store.ts)
  createContainer(rec: NewContainer): ContainerRecord {
    return this.containers.createContainer(rec);
  }
  getContainer(idOrName: string): ContainerRecord | undefined {
    return this.containers.getContainer(idOrName);
  }
  listContainers(): ContainerRecord[] {
    return this.containers.listContainers();
  }
  updateContainer(
    idOrName: string,
    patch: ContainerPatch,
    options: { expectState?: readonly ContainerState[] } = {},
  ): ContainerRecord {
    return this.containers.updateContainer(idOrName, patch, options);
  }
  renameContainer(idOrName: string, newName: string): void {
    this.containers.renameContainer(idOrName, newName);
  }
  removeContainer(idOrName: string): void {
    this.containers.removeContainer(idOrName);
  }
  containerDir(id: string): string {
    return this.containers.containerDir(id);
  }
  mountContainerRootfs(idOrName: string, layers: Digest[], options: { readOnly?: boolean } = {}): string {
    return this.containers.mountContainerRootfs(idOrName, layers, options);
  }
  unmountContainerRootfs(idOrName: string): void {
    this.containers.unmountContainerRootfs(idOrName);
  }
  isMounted(idOrName: string): boolean {
    return this.containers.isMounted(idOrName);
  }

  // volumes (_volumes.ts)
  createVolume(
    name?: string,
    options: { labels?: Record<string, string>; options?: Record<string, string> } = {},
  ): VolumeRecord {
    return this.volumes.createVolume(name, options);
  }
  getVolume(name: string): VolumeRecord | undefined {
    return this.volumes.getVolume(name);
  }
  listVolumes(): VolumeRecord[] {
    return this.volumes.listVolumes();
  }
  removeVolume(name: string, options: { force?: boolean } = {}): void {
    this.volumes.removeVolume(name, options);
  }
  volumePath(name: string): string {
    return this.volumes.volumePath(name);
  }
  pruneVolumes(options: { filter?: (v: VolumeRecord) => boolean } = {}): { names: string[]; bytes: number } {
    return this.volumes.pruneVolumes(options);
  }

  // build cache (_build-cache.ts)
  getBuildCache(key: string): BuildCacheEntry | undefined {
    return this.buildCache.getBuildCache(key);
  }
  putBuildCache(entry: BuildCacheEntry): void {
    this.buildCache.putBuildCache(entry);
  }
  dropBuildCache(key: string): void {
    this.buildCache.dropBuildCache(key);
  }
  pruneBuildCache(): number {
    return this.buildCache.pruneBuildCache();
  }
  buildCacheCount(): number {
    return this.buildCache.buildCacheCount();
  }

  // build paths: locks, registrations, cache mounts, downloads (_build-dirs.ts)
  buildLockPath(): string {
    return this.buildDirs.buildLockPath();
  }
  registerBuild(): BuildRegistration {
    return this.buildDirs.registerBuild();
  }
  registeredBuilds(): string[] {
    return this.buildDirs.registeredBuilds();
  }
  claimDeadBuild(id: string): PathLock | undefined {
    return this.buildDirs.claimDeadBuild(id);
  }
  cacheMountLockPath(id: string): string {
    return this.buildDirs.cacheMountLockPath(id);
  }
  lockCacheMount(id: string, options: Parameters<BuildDirs['lockCacheMount']>[1]): Promise<PathLock> {
    return this.buildDirs.lockCacheMount(id, options);
  }
  cacheMountDir(id: string, options: CacheMountOptions = {}): string {
    return this.buildDirs.cacheMountDir(id, options);
  }
  makeBuildDownloadDir(): string {
    return this.buildDirs.makeDownloadDir();
  }
  cacheMountsUsage(): { count: number; size: number; active: number } {
    return this.buildDirs.cacheMountsUsage();
  }
  pruneCacheMounts(): Promise<{ count: number; bytes: number }> {
    return this.buildDirs.pruneCacheMounts();
  }
  buildCacheUsage(): BuildCacheUsage {
    return this.buildDirs.buildCacheUsage();
  }

  // leases and gc (_gc.ts), disk usage (_df.ts)
  gc(options: { graceMs?: number } = {}): Promise<GcResult> {
    return this.leasesAndGc.gc(options);
  }
  withLease<T>(fn: (lease: Lease) => Promise<T>): Promise<T> {
    return this.leasesAndGc.withLease(fn);
  }
  diskUsage(): DiskUsage {
    return this.usage.get();
  }
}
