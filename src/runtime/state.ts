import { ConflictError } from '../errors/index.js';

/** What the OCI runtime reports (`runc state`): the container's process, not berth's record. */
export type RuntimeStatus = 'created' | 'running' | 'paused' | 'stopped';

/** A container's lifecycle state as berth records it. */
export type ContainerState = 'created' | 'running' | 'paused' | 'exited' | 'removing';

const TRANSITIONS: Record<ContainerState, readonly ContainerState[]> = {
  created: ['running', 'exited', 'removing'],
  running: ['paused', 'exited', 'removing'],
  paused: ['running', 'exited', 'removing'],
  // a restart (policy or `start`) runs the same container again
  exited: ['running', 'removing'],
  removing: [],
};

/** Operations and the states that allow them (docker's rules; `rm -f` is checked by the caller). */
export type ContainerOperation =
  | 'start'
  | 'stop'
  | 'kill'
  | 'pause'
  | 'unpause'
  | 'exec'
  | 'attach'
  | 'resize'
  | 'remove';

const ALLOWED: Record<ContainerOperation, readonly ContainerState[]> = {
  start: ['created', 'exited'],
  stop: ['running', 'paused'],
  kill: ['running', 'paused'],
  pause: ['running'],
  unpause: ['paused'],
  exec: ['running'],
  attach: ['created', 'running'],
  resize: ['created', 'running'],
  remove: ['created', 'exited'],
};

export function canTransition(from: ContainerState, to: ContainerState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws ConflictError unless `from -> to` is a legal lifecycle step. */
export function assertTransition(id: string, from: ContainerState, to: ContainerState): void {
  if (!canTransition(from, to)) {
    throw new ConflictError(`container "${id}" cannot go from ${from} to ${to}`);
  }
}

/** Throws ConflictError when `operation` is not allowed in `state`, with docker's wording. */
export function assertOperation(id: string, state: ContainerState, operation: ContainerOperation): void {
  if (ALLOWED[operation].includes(state)) return;
  const reason =
    state === 'paused'
      ? 'is paused, unpause it first'
      : state === 'removing'
        ? 'is being removed'
        : operation === 'remove'
          ? `is ${state}: stop it first or force the removal`
          : operation === 'unpause'
            ? 'is not paused'
            : operation === 'start'
              ? `is already ${state}`
              : 'is not running';
  throw new ConflictError(`cannot ${operation} container "${id}": container ${reason}`);
}

/**
 * The lifecycle state for what the runtime reports. `undefined` (the runtime no longer knows
 * the container) and 'stopped' both mean the process is gone.
 */
export function stateFromRuntime(status: RuntimeStatus | undefined): ContainerState {
  if (status === undefined || status === 'stopped') return 'exited';
  return status;
}
