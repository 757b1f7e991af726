// container/: the container lifecycle (create/start/stop/kill/rm/exec/logs/wait/cp/commit),
// composing an image's rootfs, the network and the runtime. So far: the flag parsers and the
// user resolution every `run` needs.

export type { ContainerCreateOptions, StoredContainerConfig } from './_config.js';
export { mergeEnv } from './_env.js';
export { liveNetStatus } from './_network.js';
export * from './_options.js';
export {
  allocateHostPorts,
  checkHostPortsFree,
  exposedPortKeys,
  formatPortsColumn,
  hostPortKey,
  hostPortKeys,
  MAX_PORTS_PER_SPEC,
  type PortRenderOptions,
  parseExposeFlag,
  parsePublishFlag,
  portBindingsMap,
  portCommandLines,
  publishAllPorts,
} from './_ports.js';
export {
  type ContainerUpdate,
  type ContainerUpdateReport,
  mergeUpdate,
  parseCpuset,
  type UpdateHost,
} from './_update.js';
export { type ResolvedUser, resolveUser } from './_users.js';
export { type ExecRequest, type ExecSession, startExec } from './exec.js';
export {
  type CommitOptions,
  type ContainerChange,
  type CopyOptions,
  commitContainer,
  containerChanges,
  containerPathToTar,
  copyFromContainer,
  copyToContainer,
  exportContainer,
  inLowers,
  tarToContainerPath,
} from './fs.js';
export { ContainerManager, type ManagerEvent, type ManagerOptions } from './manager.js';
export { type ContainerStats, containerPids, containerStats, containerTop, type TopResult } from './stats.js';
