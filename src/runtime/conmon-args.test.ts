// The one conmon command line: create and exec differ only in the flags their options ask for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conmonArgs } from './_conmon.js';

const common = {
  id: 'c1',
  runtimePath: '/usr/bin/runc',
  runtimeRoot: '/run/berth/runc',
  stateDir: '/run/berth/c1',
  exitDir: '/run/berth/c1/exits',
};

function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

test('create: log file, exit command with dash-leading args kept as values', () => {
  const args = conmonArgs({
    ...common,
    cuuid: 'c1',
    bundle: '/var/lib/berth/c1/userdata',
    logPath: '/var/lib/berth/c1/ctr.log',
    stdin: true,
    logSizeMax: 1024.7,
    exitCommand: ['/usr/bin/berth', '--root', '/x', 'container', 'cleanup', 'c1'],
    exitDelay: 2,
  });
  assert.equal(flagValue(args, '--log-path'), 'k8s-file:/var/lib/berth/c1/ctr.log');
  assert.equal(flagValue(args, '--container-pidfile'), '/run/berth/c1/pidfile');
  assert.equal(flagValue(args, '--conmon-pidfile'), '/run/berth/c1/conmon.pid');
  assert.equal(flagValue(args, '--exit-dir'), '/run/berth/c1/exits');
  assert.equal(flagValue(args, '--log-size-max'), '1024');
  assert.equal(flagValue(args, '--exit-command'), '/usr/bin/berth');
  assert.ok(args.includes('--exit-command-arg=--root'));
  assert.ok(args.includes('--stdin'));
  assert.ok(!args.includes('--exec') && !args.includes('--terminal'));
  assert.deepEqual(
    args.slice(args.indexOf('--runtime-arg=--root'), args.indexOf('--runtime-arg=--root') + 2),
    ['--runtime-arg=--root', '--runtime-arg=/run/berth/runc'],
  );
});

test('exec: no log, its own cuuid and bundle, the process spec', () => {
  const args = conmonArgs({
    ...common,
    cuuid: 'abcd',
    bundle: '/run/berth/c1/exec/abcd',
    stateDir: '/run/berth/c1/exec/abcd',
    exitDir: '/run/berth/c1/exec/abcd/exits',
    execProcessSpec: '/run/berth/c1/exec/abcd/process.json',
    terminal: true,
  });
  assert.equal(flagValue(args, '--log-path'), 'none');
  assert.equal(flagValue(args, '--cuuid'), 'abcd');
  assert.equal(flagValue(args, '--cid'), 'c1');
  assert.equal(flagValue(args, '--exec-process-spec'), '/run/berth/c1/exec/abcd/process.json');
  assert.ok(args.includes('--exec') && args.includes('--exec-attach') && args.includes('--terminal'));
  assert.ok(!args.includes('--exit-command') && !args.includes('--stdin'));
});
