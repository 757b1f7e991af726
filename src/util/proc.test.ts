import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcStat } from './proc.js';

test('a command name with spaces and parentheses does not shift the fields', () => {
  const s = parseProcStat('4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 0 0 0 0 3 4 0 0 20 0 1 0 987654 0\n');
  assert.equal(s.comm, 'a) b (c)');
  assert.equal(s.state, 'S');
  assert.equal(s.fields[4 - 3], '1', 'ppid');
  assert.equal(s.fields[22 - 3], '987654', 'starttime');
  assert.equal(parseProcStat(`${process.pid} (node) R 1`).state, 'R');
});
