import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError } from '../errors/index.js';
import { CONTAINER_TRANSITIONS as OCI_TRANSITIONS } from '../oci/index.js';
import {
  assertOperation,
  assertTransition,
  CONTAINER_STATES,
  CONTAINER_TRANSITIONS,
  canTransition,
  IllegalTransitionError,
  isActiveState,
  isContainerState,
  stateFromRuntime,
} from './state.js';

test('lifecycle transitions', () => {
  assert.ok(canTransition('created', 'running'));
  assert.ok(canTransition('running', 'paused'));
  assert.ok(canTransition('paused', 'running'));
  assert.ok(canTransition('running', 'exited'));
  assert.ok(canTransition('exited', 'running'));
  assert.ok(canTransition('exited', 'removing'));
  assert.ok(!canTransition('removing', 'running'));
  assert.ok(!canTransition('created', 'paused'));
  assert.throws(() => assertTransition('c1', 'exited', 'paused'), /cannot go from exited to paused/);
  // a refused move is typed, and still a CONFLICT for callers that only check the code
  assert.throws(
    () => assertTransition('c1', 'removing', 'running'),
    (err: unknown) =>
      err instanceof IllegalTransitionError &&
      err instanceof ConflictError &&
      err.code === 'CONFLICT' &&
      err.from === 'removing' &&
      err.to === 'running',
  );
});

test('one table: runtime re-exports the one the store checks, and no state moves to itself', () => {
  assert.equal(CONTAINER_TRANSITIONS, OCI_TRANSITIONS);
  for (const s of CONTAINER_STATES) {
    assert.ok(!canTransition(s, s), s);
    for (const to of CONTAINER_TRANSITIONS[s]) assert.ok(isContainerState(to));
  }
  assert.ok(!isContainerState('restarting'));
  assert.ok(!canTransition('bogus' as never, 'running'));
  assert.deepEqual(
    CONTAINER_STATES.filter((s) => isActiveState(s)),
    ['running', 'paused'],
  );
});

test('operations follow docker', () => {
  assertOperation('c1', 'running', 'pause');
  assertOperation('c1', 'exited', 'start');
  assertOperation('c1', 'paused', 'kill');
  const conflict = (
    state: Parameters<typeof assertOperation>[1],
    op: Parameters<typeof assertOperation>[2],
    re: RegExp,
  ) =>
    assert.throws(
      () => assertOperation('c1', state, op),
      (err: unknown) => err instanceof ConflictError && re.test(err.message),
    );
  conflict('exited', 'exec', /cannot exec container "c1": container is not running/);
  conflict('paused', 'exec', /is paused, unpause it first/);
  conflict('running', 'start', /is already running/);
  conflict('running', 'unpause', /is not paused/);
  conflict('running', 'remove', /stop it first or force/);
  conflict('removing', 'start', /being removed/);
});

test('runtime status maps to lifecycle state', () => {
  assert.equal(stateFromRuntime('created'), 'created');
  assert.equal(stateFromRuntime('running'), 'running');
  assert.equal(stateFromRuntime('paused'), 'paused');
  assert.equal(stateFromRuntime('stopped'), 'exited');
  assert.equal(stateFromRuntime(undefined), 'exited');
});
