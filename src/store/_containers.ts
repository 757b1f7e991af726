// Container and volume records: their shapes, the rows they come from, and the validation of
// the names and ids callers hand us. The store keeps `config` without interpreting it; `state` is
// the typed union of oci/container-state.ts, and every change to it follows that transition table.
import { InvalidArgumentError } from '../errors/index.js';
import { type ContainerState, type Digest, isContainerState } from '../oci/index.js';

export interface NewContainer {
  /** 64 lowercase hex. */
  id: string;
  /** docker's rule `[a-zA-Z0-9][a-zA-Z0-9_.-]+`; a leading '/' is accepted and dropped. */
  name: string;
  imageId: Digest;
  /** The engine's container config, stored as JSON and handed back unchanged. */
  config: unknown;
  labels?: Record<string, string>;
  /** Named volumes the container uses; missing ones are created in the same transaction. */
  volumes?: string[];
  /** Initial state, 'created' unless given. */
  state?: ContainerState;
}

export interface ContainerRecord {
  id: string;
  /** Without docker's leading '/'. */
  name: string;
  imageId: Digest;
  state: ContainerState;
  config: unknown;
  /** ISO 8601. */
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  pid: number | null;
  conmonPid: number | null;
  restartCount: number;
  labels: Record<string, string>;
  /** Named volumes in use, sorted. */
  volumes: string[];
  /** diffIDs of the last rootfs mount, base first ([] before the first mount). */
  layers: Digest[];
}

export interface ContainerPatch {
  /** Must be a legal move from the current state (checked inside the update's transaction). */
  state?: ContainerState;
  pid?: number | null;
  conmonPid?: number | null;
  startedAt?: string | null;
  finishedAt?: string | null;
  exitCode?: number | null;
  restartCount?: number;
  config?: unknown;
}

export interface VolumeRecord {
  name: string;
  /** ISO 8601. */
  createdAt: string;
  labels: Record<string, string>;
  /** Driver options as given at creation (opaque to the store). */
  options: Record<string, string>;
  /** The directory containers mount: root/volumes/<name>/_data. */
  path: string;
  /** Ids of the containers using it, sorted. */
  usedBy: string[];
}

export interface ContainerRow {
  id: string;
  name: string;
  image_id: Digest;
  state: ContainerState;
  config_json: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  pid: number | null;
  conmon_pid: number | null;
  restart_count: number;
  labels_json: string;
}

export interface VolumeRow {
  name: string;
  created_at: string;
  labels_json: string;
  options_json: string;
}

const CONTAINER_ID = /^[a-f0-9]{64}$/;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const NAME_MAX = 253;

export function checkContainerId(id: string): string {
  if (typeof id !== 'string' || !CONTAINER_ID.test(id)) {
    throw new InvalidArgumentError(`invalid container id "${id}": expected 64 lowercase hex characters`);
  }
  return id;
}

/** The stored form of a container name (no leading '/'), or InvalidArgumentError. */
export function normalizeContainerName(name: string): string {
  const bare = typeof name === 'string' && name.startsWith('/') ? name.slice(1) : name;
  if (typeof bare !== 'string' || !NAME.test(bare) || bare.length > NAME_MAX) {
    throw new InvalidArgumentError(
      `invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters`,
    );
  }
  return bare;
}

export function checkVolumeName(name: string): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > NAME_MAX) {
    throw new InvalidArgumentError(
      `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`,
      { hint: 'to mount a host directory, give an absolute path' },
    );
  }
  return name;
}

/** A string → string map (labels, driver options), or InvalidArgumentError naming `what`. */
export function checkStringMap(
  map: Record<string, string> | undefined,
  what: string,
): Record<string, string> {
  if (map === undefined) return {};
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new InvalidArgumentError(`invalid ${what}: expected an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== 'string' || k.length === 0) {
      throw new InvalidArgumentError(`invalid ${what}: "${k}" must be a non-empty key with a string value`);
    }
    out[k] = v;
  }
  return out;
}

/** JSON for the opaque config column; the config must survive a round trip. */
export function configJson(config: unknown, id: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(config);
  } catch (err) {
    throw new InvalidArgumentError(`the config of container ${id} cannot be stored as JSON`, { cause: err });
  }
  if (json === undefined) {
    throw new InvalidArgumentError(`the config of container ${id} cannot be stored as JSON`);
  }
  return json;
}

/** The nullable patch fields: which column each sets and what it must hold. */
const NULLABLE_FIELDS = [
  ['pid', 'pid', 'int', 'pid'],
  ['conmonPid', 'conmon_pid', 'int', 'conmon pid'],
  ['exitCode', 'exit_code', 'int', 'exit code'],
  ['startedAt', 'started_at', 'string', 'start time'],
  ['finishedAt', 'finished_at', 'string', 'finish time'],
] as const;

/** Apply a patch to a row (a copy); validation errors name the container. */
export function patchRow(row: ContainerRow, patch: ContainerPatch): ContainerRow {
  const next = { ...row };
  const invalid = (field: string, expected: string) =>
    new InvalidArgumentError(`invalid ${field} for container ${row.id}: expected ${expected}`);
  if (patch.state !== undefined) {
    if (!isContainerState(patch.state)) throw invalid('state', 'a container state');
    next.state = patch.state;
  }
  for (const [key, column, kind, field] of NULLABLE_FIELDS) {
    const value = patch[key];
    if (value === undefined) continue;
    const ok = value === null || (kind === 'int' ? Number.isSafeInteger(value) : typeof value === 'string');
    if (!ok) throw invalid(field, kind === 'int' ? 'an integer or null' : 'a string or null');
    (next as Record<string, unknown>)[column] = value;
  }
  if (patch.restartCount !== undefined) {
    if (!Number.isSafeInteger(patch.restartCount) || patch.restartCount < 0) {
      throw invalid('restart count', 'a non-negative integer');
    }
    next.restart_count = patch.restartCount;
  }
  if (patch.config !== undefined) next.config_json = configJson(patch.config, row.id);
  return next;
}

export function containerRecord(row: ContainerRow, volumes: string[], layers: Digest[]): ContainerRecord {
  return {
    id: row.id,
    name: row.name,
    imageId: row.image_id,
    state: row.state,
    config: JSON.parse(row.config_json) as unknown,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    exitCode: row.exit_code,
    pid: row.pid,
    conmonPid: row.conmon_pid,
    restartCount: row.restart_count,
    labels: JSON.parse(row.labels_json) as Record<string, string>,
    volumes,
    layers,
  };
}

export function volumeRecord(row: VolumeRow, path: string, usedBy: string[]): VolumeRecord {
  return {
    name: row.name,
    createdAt: row.created_at,
    labels: JSON.parse(row.labels_json) as Record<string, string>,
    options: JSON.parse(row.options_json) as Record<string, string>,
    path,
    usedBy,
  };
}

export function isContainerId(s: string): boolean {
  return typeof s === 'string' && CONTAINER_ID.test(s);
}
