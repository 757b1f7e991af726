import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError } from '../errors/index.js';
import { assertOperation, assertTransition, canTransition, stateFromRuntime } from './state.js';

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
