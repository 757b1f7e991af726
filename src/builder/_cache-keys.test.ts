import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runMountSpecKey } from './_cache-keys.js';
import { parseRunMount } from './_expand.js';

const key = (spec: string) => JSON.stringify(runMountSpecKey(parseRunMount(spec, { workdir: '/w' })));

test('every option of a RUN mount spec is part of its key; the order it is written in is not', () => {
  const base: Record<string, string> = {
    cache: 'type=cache,target=/c',
    secret: 'type=secret,id=s',
    ssh: 'type=ssh',
    tmpfs: 'type=tmpfs,target=/t',
    bind: 'type=bind,target=/b',
  };
  const variants: Record<string, string[]> = {
    cache: [
      'id=other',
      'target=/d',
      'sharing=locked',
      'sharing=private',
      'mode=0700',
      'uid=1',
      'gid=2',
      'ro',
      'from=x',
      'source=/s',
    ],
    secret: ['target=/run/x', 'required=true', 'mode=0444', 'uid=5', 'gid=6', 'id=t'],
    ssh: ['id=agent', 'target=/ssh', 'required=true', 'mode=0600'],
    tmpfs: ['size=1024', 'target=/u'],
    bind: ['source=a.txt', 'from=stage', 'target=/c'],
  };
  for (const [type, spec] of Object.entries(base)) {
    const seen = new Set([key(spec)]);
    for (const v of variants[type]!) {
      const k = key(`${spec},${v}`);
      assert.ok(!seen.has(k), `${type} mount: "${v}" does not change the key`);
      seen.add(k);
    }
  }
  assert.equal(
    key('type=cache,target=/c,id=x,sharing=locked'),
    key('sharing=locked,id=x,target=/c,type=cache'),
  );
  // a relative target is resolved against the working directory before keying
  assert.equal(key('type=tmpfs,target=t'), key('type=tmpfs,target=/w/t'));
});
