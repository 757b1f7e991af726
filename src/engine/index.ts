// engine/: the facade every front end (CLI, API, ...) uses, and the one place that wires the
// drivers together: store root, registry client, runtime detection. From the modules below it
// this face re-exports types only; a front end can reach them through Engine methods alone.

export type { BuildEvent, BuildResult, BuildSecret, LayerFinding } from '../builder/index.js';
export type {
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
export type { ImageDiff, PushBlobStatus, PushEvent, PushSink } from '../image/index.js';
export type { NetworkCreateOptions, NetworkDriver, NetworkRequest, PortMapping } from '../network/index.js';
export type { AttachStreams, LogEntry } from '../runtime/index.js';
export type { ContainerRecord, EventRecord, EventType } from '../store/index.js';
export type { ProgressEvent, ProgressSink } from '../util/index.js';
export type {
  BuildRequestOptions,
  ContainerInspect,
  ContainerPruneReport,
  ContainerRemoveReport,
  ContainerSummary,
  EngineOptions,
  FilterInput,
  ImageSummary,
  NetworkContainerEndpoint,
  NetworkInspect,
  NetworkPruneReport,
  PortListEntry,
  PullReport,
  PushReport,
  PushRequestOptions,
  RegistryCredentials,
  RemoveReport,
  StartOptions,
  SystemPruneReport,
  VolumeInspect,
  VolumePruneReport,
} from './engine.js';
export {
  containerStatusText,
  createEngine,
  Engine,
  EVENT_FILTER_KEYS,
  type EventQuery,
  type EventQueryInput,
  humanDuration,
  parseEventQuery,
  parseEventTime,
  portList,
  registryHost,
} from './engine.js';
export * as flags from './flags.js';
export { familiarTag } from './names.js';
