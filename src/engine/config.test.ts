import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadBerthConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('missing file → defaults; file sets the runtime; BERTH_RUNTIME wins', () => {
  assert.deepEqual(loadBerthConfig({ BERTH_CONFIG: join(dir, 'none.json') }), {});
  const f = join(dir, 'berth.json');
  writeFileSync(f, '{"runtime":"runc"}');
  assert.deepEqual(loadBerthConfig({ BERTH_CONFIG: f }), { runtime: 'runc' });
  assert.deepEqual(loadBerthConfig({ BERTH_CONFIG: f, BERTH_RUNTIME: 'crun' }), { runtime: 'crun' });
});

test('bad files are clear errors naming the file', () => {
  const f = join(dir, 'bad.json');
  writeFileSync(f, '{"runtime": 5}');
  assert.throws(
    () => loadBerthConfig({ BERTH_CONFIG: f }),
    /bad\.json: "runtime" must be a non-empty string/,
  );
  writeFileSync(f, 'not json');
  assert.throws(() => loadBerthConfig({ BERTH_CONFIG: f }), /bad\.json is not valid JSON/);
});
