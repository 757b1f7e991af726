// A container's lifecycle states and the one table of legal moves between them. Pure data, so
// the store can check a move inside its transaction and runtime/state.ts can build the
// manager's API on the same table.
import { ConflictError } from '../errors/index.js';

/** A container's lifecycle state as berth records it. */
export type ContainerState = 'created' | 'running' | 'paused' | 'exited' | 'removing';

export const CONTAINER_STATES: readonly ContainerState[] = [
  'created',
  'running',
  'paused',
  'exited',
  'removing',
];

/** The legal moves: `from` → the states it may go to. A state never moves to itself. */
export const CONTAINER_TRANSITIONS: Readonly<Record<ContainerState, readonly ContainerState[]>> = {
  created: ['running', 'exited', 'removing'],
  running: ['paused', 'exited', 'removing'],
  paused: ['running', 'exited', 'removing'],
  // a restart (policy or `start`) runs the same container again
  exited: ['running', 'removing'],
  removing: [],
};

/**
 * States in which a container's processes exist: its rootfs is busy and its upper dir is not
 * reclaimable (docker counts a paused container as running).
 */
export const ACTIVE_CONTAINER_STATES: readonly ContainerState[] = ['running', 'paused'];

/** Whether a container in `state` has live processes (ACTIVE_CONTAINER_STATES). */
export function isActiveState(state: ContainerState): boolean {
  return ACTIVE_CONTAINER_STATES.includes(state);
}

export function isContainerState(value: unknown): value is ContainerState {
  return typeof value === 'string' && (CONTAINER_STATES as readonly string[]).includes(value);
}

export function canTransition(from: ContainerState, to: ContainerState): boolean {
  return CONTAINER_TRANSITIONS[from]?.includes(to) ?? false;
}

/** A refused lifecycle move. Its code is CONFLICT, as every lost compare-and-set is. */
export class IllegalTransitionError extends ConflictError {
  constructor(
    readonly containerId: string,
    readonly from: ContainerState,
    readonly to: ContainerState,
  ) {
    super(`container "${containerId}" cannot go from ${from} to ${to}`);
  }
}

/** Throws IllegalTransitionError unless `from -> to` is in the transition table. */
export function assertTransition(id: string, from: ContainerState, to: ContainerState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(id, from, to);
}
