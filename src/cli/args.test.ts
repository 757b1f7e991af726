import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../errors/index.js';
import { type CommandSpec, parseArgs } from './args.js';

const spec: CommandSpec = {
  usage: 'x',
  description: 'x',
  args: { min: 1, max: 2 },
  flags: [
    { name: 'all', short: 'a', type: 'bool', description: '' },
    { name: 'quiet', short: 'q', type: 'bool', description: '' },
    { name: 'tag', short: 't', type: 'list', description: '' },
    { name: 'format', type: 'string', description: '', default: 'table' },
  ],
};

test('long, short, combined and = forms; flags interleave with positionals', () => {
  const p = parseArgs(['-aq', 'img', '--format=json', '-t', 'a', '-tb', '--tag', 'c'], spec, 'x');
  assert.deepEqual(p.args, ['img']);
  assert.equal(p.flags.all, true);
  assert.equal(p.flags.quiet, true);
  assert.equal(p.flags.format, 'json');
  assert.deepEqual(p.flags.tag, ['a', 'b', 'c']);
});

test('defaults, -- and bool=false', () => {
  const p = parseArgs(['--all=false', '--', '-notaflag'], spec, 'x');
  assert.equal(p.flags.all, false);
  assert.equal(p.flags.format, 'table');
  assert.deepEqual(p.args, ['-notaflag']);
});

test('unknown flags, missing values and wrong arg counts are UsageErrors', () => {
  assert.throws(
    () => parseArgs(['--nope', 'a'], spec, 'x'),
    (e: unknown) => e instanceof UsageError && /unknown flag: --nope/.test(e.message),
  );
  assert.throws(() => parseArgs(['-z', 'a'], spec, 'x'), /unknown shorthand flag: 'z'/);
  assert.throws(() => parseArgs(['a', '--format'], spec, 'x'), /flag needs an argument/);
  assert.throws(() => parseArgs([], spec, 'x'), /requires 1 to 2 arguments/);
  assert.throws(() => parseArgs(['a', 'b', 'c'], spec, 'x'), /requires 1 to 2 arguments/);
});

test('stopAtFirstPositional keeps later flags for the container command', () => {
  const p = parseArgs(
    ['-a', 'img', '-q', 'ls'],
    { ...spec, args: { min: 1, max: 10 }, stopAtFirstPositional: true },
    'x',
  );
  assert.deepEqual(p.args, ['img', '-q', 'ls']);
  assert.equal(p.flags.quiet, undefined);
});
