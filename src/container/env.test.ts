import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeEnv } from './_env.js';

test('mergeEnv: later keys replace in place; user entries must be KEY=VALUE', () => {
  assert.deepEqual(mergeEnv(['PATH=/bin', 'A=1', 'B=2'], ['A=x', 'C=3', 'A=y']), [
    'PATH=/bin',
    'A=y',
    'B=2',
    'C=3',
  ]);
  assert.deepEqual(mergeEnv(['A=1=2'], ['A=3=4']), ['A=3=4']);
  assert.throws(() => mergeEnv([], ['NOVALUE']), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => mergeEnv([], ['=x']), { code: 'INVALID_ARGUMENT' });
});
