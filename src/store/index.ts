// store/: bytes and records on disk. Content-addressed blobs (ingest → verify → commit), unpacked
// layers keyed by diffID with short l/ links for overlay, image, container and volume records in
// SQLite, container rootfs mounts, and the leases and gc that let several berth processes share
// one root without corrupting it.

export {
  ACTIVE_CONTAINER_STATES,
  type ContainerPatch,
  type ContainerRecord,
  type NewContainer,
  type VolumeRecord,
} from './_containers.js';
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
export type { Ingest } from './_ingest.js';
export { SCHEMA_VERSION } from './_schema.js';
export {
  type BuildCacheEntry,
  DEFAULT_GC_GRACE_MS,
  type DiskUsage,
  type GcResult,
  type ImageLayerRef,
  type ImagePlatform,
  type ImageRecord,
  type LayerRecord,
  type Lease,
  type NewImage,
  STALE_INGEST_MS,
  Store,
} from './_store.js';
