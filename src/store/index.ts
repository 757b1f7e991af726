// store/: bytes and records on disk. Content-addressed blobs (ingest → verify → commit), unpacked
// layers keyed by diffID with short l/ links for overlay, image, container and volume records in
// SQLite, container rootfs mounts, and the leases and gc that let several berth processes share
// one root without corrupting it. Small stores per concern over one handle (_db.ts), composed by
// the Store facade; every path on disk is listed in _layout.ts.

// the state union and its table live in oci/ (pure data the store's CAS checks against)
export { ACTIVE_CONTAINER_STATES, type ContainerState } from '../oci/index.js';
export type { BuildCacheEntry } from './_build-cache.js';
export type { BuildCacheUsage, BuildRegistration, CacheMountOptions } from './_build-dirs.js';
export type { ContainerPatch, ContainerRecord, NewContainer, VolumeRecord } from './_containers.js';
export { STALE_INGEST_MS } from './_content.js';
export type { DiskUsage } from './_df.js';
export {
  EVENT_ACTIONS,
  EVENT_TYPES,
  EVENTS_ROTATE_BYTES,
  type EventActor,
  type EventRecord,
  type EventType,
  newEvent,
  type ReadEventsOptions,
} from './_events.js';
export type { PathLock } from './_fs.js';
export { DEFAULT_GC_GRACE_MS, type GcResult, type Lease } from './_gc.js';
export type { ImageLayerRef, ImagePlatform, ImageRecord, NewImage } from './_images.js';
export type { Ingest } from './_ingest.js';
export type { LayerRecord } from './_layers.js';
export { SCHEMA_VERSION } from './_schema.js';
export { Store } from './_store.js';
