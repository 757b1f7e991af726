// runtime/: the OCI runtime front end. For now it detects the host's cgroup layout and the
// runtime binaries; spec generation and driving runc/crun + conmon come with `run`.

export { findRuntimes, type RuntimeBinary } from './binaries.js';
export { type CgroupInfo, type CgroupMode, detectCgroups } from './cgroups.js';
