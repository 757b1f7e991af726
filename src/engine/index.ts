// engine/: the facade every front end (CLI, API, ...) uses, and the one place that wires the
// drivers together: store root, registry client, runtime detection.

export type { BuildEvent, BuildResult, BuildSecret, LayerFinding } from '../builder/index.js';
export type {
  CommitOptions,
  ContainerChange,
  ContainerCreateOptions,
  ContainerStats,
  CopyOptions,
  ExecRequest,
  ExecSession,
  StoredContainerConfig,
  TopResult,
} from '../container/index.js';
// name helpers front ends need to print what the engine returns
export { familiarTag, type ImageDiff } from '../image/index.js';
export type { ContainerRecord, EventRecord, EventType, VolumeRecord } from '../store/index.js';
export type { ProgressEvent, ProgressSink } from '../util/index.js';
export type { ImageSummary, RemoveReport } from './engine.js';
export {
  createEngine,
  Engine,
  type EngineOptions,
  EVENT_FILTER_KEYS,
  type EventQuery,
  type EventQueryInput,
  parseEventQuery,
  parseEventTime,
  registryHost,
} from './engine.js';
export * as flags from './flags.js';
