import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../errors/index.js';
import { applyChanges } from './_changes.js';

test('CMD and ENTRYPOINT in JSON and shell forms', () => {
  assert.deepEqual(applyChanges({}, ['CMD ["a","b"]']).Cmd, ['a', 'b']);
  assert.deepEqual(applyChanges({}, ['CMD echo hi']).Cmd, ['/bin/sh', '-c', 'echo hi']);
  assert.deepEqual(applyChanges({}, ['ENTRYPOINT ["/init"]']).Entrypoint, ['/init']);
});

test('ENV in both forms replaces existing keys; LABEL, EXPOSE, VOLUME, WORKDIR', () => {
  const c = applyChanges({ Env: ['A=0'] }, [
    'ENV A=1 B="x y"',
    'ENV C hello world',
    'LABEL a=b "c d"=e',
    'EXPOSE 80 53/udp',
    'VOLUME /data',
    'WORKDIR /a',
    'WORKDIR b',
  ]);
  assert.deepEqual(c.Env, ['A=1', 'B=x y', 'C=hello world']);
  assert.deepEqual(c.Labels, { a: 'b', 'c d': 'e' });
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.WorkingDir, '/a/b');
});

test('instructions import does not allow are refused', () => {
  assert.throws(() => applyChanges({}, ['RUN rm -rf /']), InvalidArgumentError);
  assert.throws(() => applyChanges({}, ['FROM x']), /not one of/);
  assert.throws(() => applyChanges({}, ['EXPOSE http']), /bad port/);
  assert.throws(() => applyChanges({}, ['LABEL novalue']), /KEY=VALUE/);
});
