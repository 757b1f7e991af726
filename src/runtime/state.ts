// The container state machine, the one place the manager asks what a container may do. The
// states and the table of legal moves are pure data in oci/container-state.ts, so the store
// (which may not import runtime/) checks every state change against the same table inside its
// compare-and-set transaction; this module re-exports them and adds the operation rules.
import { ConflictError } from '../errors/index.js';
import type { ContainerState } from '../oci/index.js';

export {
  ACTIVE_CONTAINER_STATES,
  assertTransition,
  CONTAINER_STATES,
  CONTAINER_TRANSITIONS,
  type ContainerState,
  canTransition,
  IllegalTransitionError,
  isActiveState,
  isContainerState,
} from '../oci/index.js';

/** What the OCI runtime reports (`runc state`): the container's process, not berth's record. */
export type RuntimeStatus = 'created' | 'running' | 'paused' | 'stopped';

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
