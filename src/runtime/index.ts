// runtime/: the OCI runtime front end. For now it detects the host's cgroup layout and the
// runtime binaries; spec generation and driving runc/crun + conmon come with `run`.

export { validateRuntimeSpec } from './_validate.js';
export { ATTACH_STDERR, ATTACH_STDIN, ATTACH_STDOUT, type AttachStreams } from './attach.js';
export { findRuntimes, type RuntimeBinary } from './binaries.js';
export {
  ALL_CAPABILITIES,
  capabilitiesFromMask,
  capabilityMask,
  DEFAULT_CAPABILITIES,
  hostBoundingCapabilities,
  normalizeCapability,
  resolveCapabilities,
} from './capabilities.js';
export { blkioWeightSupported, type CgroupInfo, type CgroupMode, detectCgroups } from './cgroups.js';
export {
  CommandLaunchError,
  type CreateOptions,
  type CreateResult,
  type ExecOptions,
  type ExecResult,
  type ExecStdio,
  RuntimeDriver,
  type RuntimeDriverOptions,
  type RuntimeState,
  signalNumber,
  type TerminalSize,
} from './driver.js';
export { type LogEntry, logTimeMs, parseLogLine, type ReadLogsOptions, readLogs } from './logs.js';
export {
  containerRlimits,
  type HostRlimits,
  hostRlimits,
  type Limit,
  readHostLimits,
  type Ulimit,
} from './rlimits.js';
export { defaultSeccompProfile, hostGoArch, type SeccompHost, seccompFromDockerProfile } from './seccomp.js';
export {
  crunCanWork,
  lookPath,
  type RuntimeName,
  type SelectedRuntime,
  type SelectRuntimeOptions,
  selectRuntime,
} from './select.js';
export {
  buildRuntimeSpec,
  type ContainerSpecOptions,
  DEFAULT_DEVICE_RULES,
  DEFAULT_SHM_SIZE,
  detectSpecHost,
  hostDevices,
  MASKED_PATHS,
  MIN_MEMORY_LIMIT,
  READONLY_PATHS,
  type ResourceLimits,
  resourceLimits,
  type SpecHost,
  type SpecMount,
  type SpecNetwork,
} from './spec.js';
export {
  ACTIVE_CONTAINER_STATES,
  assertOperation,
  assertTransition,
  CONTAINER_STATES,
  type ContainerOperation,
  type ContainerState,
  canTransition,
  IllegalTransitionError,
  isActiveState,
  isContainerState,
  type RuntimeStatus,
  stateFromRuntime,
} from './state.js';
