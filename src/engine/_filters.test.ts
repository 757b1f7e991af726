import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode } from '../errors/index.js';
import { parseContainerFilters, parseImageFilters, parseVolumeFilters } from './_filters.js';
import type { ContainerSummary } from './_format.js';

const invalid = (fn: () => unknown, message: RegExp) =>
  assert.throws(
    fn,
    (err: unknown) => hasCode(err, 'INVALID_ARGUMENT') && message.test((err as Error).message),
  );

const summary = (over: Partial<ContainerSummary>): ContainerSummary => ({
  Id: 'a'.repeat(64),
  Name: 'web',
  Image: 'docker.io/library/alpine:latest',
  ImageID: `sha256:${'b'.repeat(64)}`,
  Command: 'sh',
  Created: '2026-01-01T00:00:00Z',
  StartedAt: null,
  Ports: '',
  Networks: [],
  FinishedAt: null,
  State: 'running',
  ExitCode: null,
  Labels: {},
  ...over,
});

test('container filters: bad keys, values and shapes fail before anything is matched', () => {
  invalid(() => parseContainerFilters(['bogus=1']), /invalid filter "bogus": supported are status, name/);
  invalid(
    () => parseContainerFilters(['status=sleeping']),
    /invalid filter "status=sleeping": one of created/,
  );
  invalid(() => parseContainerFilters(['noequals']), /invalid filter "noequals": expected KEY=VALUE/);
  invalid(() => parseContainerFilters(['=x']), /expected KEY=VALUE/);
  invalid(() => parseContainerFilters(['name=(']), /invalid filter "name=\(": not a regular expression/);
  // the API's map form gets the same checks
  invalid(() => parseContainerFilters({ status: ['sleeping'] }), /status=sleeping/);
  invalid(
    () => parseContainerFilters({ status: 'running' } as unknown as Record<string, string[]>),
    /list of strings/,
  );
  // the first bad filter is the one named
  invalid(() => parseContainerFilters(['status=running', 'bogus=1', 'noequals']), /"bogus"/);
});

test('container filters: values of a key are OR-ed, keys AND-ed; status implies --all', () => {
  assert.equal(parseContainerFilters(undefined).wantsAll, false);
  assert.equal(parseContainerFilters(['status=exited']).wantsAll, true);
  const f = parseContainerFilters(['status=running', 'status=exited', 'label=team=a', 'name=^we']);
  assert.ok(f.matches(summary({ Labels: { team: 'a' } })));
  assert.ok(f.matches(summary({ State: 'exited', Labels: { team: 'a' } })));
  assert.ok(!f.matches(summary({ State: 'created', Labels: { team: 'a' } })));
  assert.ok(!f.matches(summary({ Labels: { team: 'b' } })));
  assert.ok(!f.matches(summary({ Name: 'db', Labels: { team: 'a' } })));
  assert.ok(parseContainerFilters({ label: ['team'] }).matches(summary({ Labels: { team: '' } })));
  assert.ok(parseContainerFilters(['id=aaa']).matches(summary({})));
  assert.ok(parseContainerFilters(['ancestor=bbbb']).matches(summary({})));
  assert.ok(parseContainerFilters(['ancestor=docker.io/library/alpine']).matches(summary({})));
  assert.ok(!parseContainerFilters(['ancestor=busybox']).matches(summary({})));
});

test('label filters: every label given must match, as docker-compose relies on', () => {
  const compose = { 'com.docker.compose.project': 'p', 'com.docker.compose.oneoff': 'False' };
  const oneOff = ['com.docker.compose.project=p', 'com.docker.compose.oneoff=True'];
  assert.ok(!parseContainerFilters({ label: oneOff }).matches(summary({ Labels: compose })));
  assert.ok(
    parseContainerFilters({ label: ['com.docker.compose.project=p', 'com.docker.compose.oneoff'] }).matches(
      summary({ Labels: compose }),
    ),
  );
  assert.ok(!parseVolumeFilters({ label: oneOff })({ name: 'v', labels: compose, usedBy: [] }));
});

test('image filters: dangling and reference only, the last reference wins', () => {
  assert.deepEqual(parseImageFilters(['dangling=true', 'reference=a*', 'reference=b']), {
    dangling: true,
    reference: 'b',
  });
  assert.deepEqual(parseImageFilters({ dangling: ['false'] }), { dangling: false });
  invalid(
    () => parseImageFilters(['dangling=maybe']),
    /invalid filter "dangling=maybe": supported are dangling/,
  );
  invalid(() => parseImageFilters(['label=x']), /invalid filter "label=x"/);
  invalid(() => parseImageFilters(['dangling']), /invalid filter "dangling"/);
});

test('volume filters: dangling, driver, label, name', () => {
  const vol = { name: 'data-1', labels: { app: 'x' }, usedBy: [] as string[] };
  assert.ok(parseVolumeFilters(['dangling=true'])(vol));
  assert.ok(!parseVolumeFilters(['dangling=false'])(vol));
  assert.ok(parseVolumeFilters(['dangling=false'])({ ...vol, usedBy: ['c1'] }));
  assert.ok(parseVolumeFilters(['name=ata', 'label=app=x', 'driver=local'])(vol));
  assert.ok(!parseVolumeFilters(['label=app=y'])(vol));
  assert.ok(!parseVolumeFilters(['driver=nfs'])(vol));
  invalid(() => parseVolumeFilters(['status=x']), /invalid filter "status": supported are dangling, driver/);
  invalid(() => parseVolumeFilters(['dangling=yes']), /dangling=yes/);
});
