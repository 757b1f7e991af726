import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../errors/index.js';
import {
  parseBytes,
  parseCpus,
  parseEnvFile,
  parseEnvFlag,
  parseMountFlag,
  parseRestartPolicy,
  parseSignal,
  parseTmpfsFlag,
  parseUlimit,
  parseVolumeFlag,
} from './_options.js';

test('sizes use binary units; garbage is refused', () => {
  assert.equal(parseBytes('512m', '--memory'), 512 * 1024 * 1024);
  assert.equal(parseBytes('1g', '--memory'), 1024 ** 3);
  assert.equal(parseBytes('1.5k', '--memory'), 1536);
  assert.equal(parseBytes('100', '--memory'), 100);
  assert.throws(() => parseBytes('lots', '--memory'), InvalidArgumentError);
  assert.throws(() => parseBytes('-5m', '--memory'), /expected a size/);
});

test('cpus, ulimits, restart policies, signals', () => {
  assert.deepEqual(parseCpus('1.5'), { quota: 150000, period: 100000 });
  assert.throws(() => parseCpus('0'), /positive/);
  assert.deepEqual(parseUlimit('nofile=1024:2048'), { name: 'nofile', soft: 1024, hard: 2048 });
  assert.deepEqual(parseUlimit('nproc=10'), { name: 'nproc', soft: 10, hard: 10 });
  assert.throws(() => parseUlimit('nofile=10:5'), /soft limit above hard/);
  assert.throws(() => parseUlimit('bogus=1'), /NAME one of/);
  assert.deepEqual(parseRestartPolicy('on-failure:3'), { name: 'on-failure', maxRetries: 3 });
  assert.deepEqual(parseRestartPolicy('unless-stopped'), { name: 'unless-stopped' });
  assert.throws(() => parseRestartPolicy('always:2'), InvalidArgumentError);
  assert.throws(() => parseRestartPolicy('sometimes'), InvalidArgumentError);
  assert.equal(parseSignal('SIGTERM'), 15);
  assert.equal(parseSignal('kill'), 9);
  assert.equal(parseSignal('10'), 10);
  assert.throws(() => parseSignal('SIGNOPE'), /invalid signal/);
});

test('-v: binds, named and anonymous volumes, options; bad specs refused', () => {
  assert.deepEqual(parseVolumeFlag('/srv:/data:ro'), {
    type: 'bind',
    source: '/srv',
    target: '/data',
    readOnly: true,
    options: [],
  });
  assert.deepEqual(parseVolumeFlag('cache:/var/cache'), {
    type: 'volume',
    source: 'cache',
    target: '/var/cache',
    readOnly: false,
    options: [],
  });
  assert.equal(parseVolumeFlag('/data').type, 'volume');
  assert.throws(() => parseVolumeFlag('/a:relative'), /must be absolute/);
  assert.throws(() => parseVolumeFlag('/a:/b:bogus'), /unknown option/);
  assert.throws(() => parseVolumeFlag('/a:/b/../c'), /may not contain/);
  assert.throws(() => parseVolumeFlag('bad name:/x'), /neither an absolute path nor a volume name/);
});

test('--mount and --tmpfs', () => {
  assert.deepEqual(parseMountFlag('type=bind,source=/h,target=/c,readonly'), {
    type: 'bind',
    source: '/h',
    target: '/c',
    readOnly: true,
    options: [],
  });
  const t = parseMountFlag('type=tmpfs,target=/scratch,tmpfs-size=1m,tmpfs-mode=1770');
  assert.deepEqual(t.options, ['size=1048576', 'mode=1770']);
  assert.throws(() => parseMountFlag('type=nfs,target=/x'), /type must be/);
  assert.throws(() => parseMountFlag('type=bind,source=rel,target=/x'), /absolute path/);
  assert.throws(() => parseMountFlag('type=bind,source=/a,target=/x,color=red'), /unknown field/);
  assert.deepEqual(parseTmpfsFlag('/run:size=64m,noexec').options, ['size=64m', 'noexec']);
  assert.throws(() => parseTmpfsFlag('/run:evil=1'), /unsupported option/);
});

test('env flags and env files', () => {
  assert.equal(parseEnvFlag('A=1'), 'A=1');
  assert.equal(parseEnvFlag('HOME_X', { HOME_X: 'v' }), 'HOME_X=v');
  assert.equal(parseEnvFlag('UNSET_X', {}), undefined);
  assert.deepEqual(parseEnvFile('# c\nA=1\n\n  B=two words\nC\n', 'f', { C: 'c' }), [
    'A=1',
    'B=two words',
    'C=c',
  ]);
  assert.throws(() => parseEnvFile('BAD KEY=1', 'f.env'), /f\.env:1: invalid variable name/);
});
