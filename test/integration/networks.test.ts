// `berth network create|ls|inspect|rm|prune` through the CLI, over a private root: docker's
// output shapes, the default network, errors for bad input (exit non-zero, nothing changed),
// rm refused while a (never started) container names the network, and network events.
// Definitions only: no container is started and no host interface is created here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Berth } from '../helpers/berth.js';

const work = mkdtempSync(join(tmpdir(), 'berth-networks-it-'));
const b = new Berth();
const IMG = 'local/empty:net';

before(async () => {
  const fs = join(work, 'fs');
  mkdirSync(fs);
  writeFileSync(join(fs, 'hello'), 'hi\n');
  execFileSync('tar', ['--numeric-owner', '-C', fs, '-cf', join(work, 'fs.tar'), '.']);
  await b.ok(['import', '--change', 'CMD ["true"]', join(work, 'fs.tar'), IMG]);
});

after(async () => {
  const ids = (await b.run(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) await b.run(['rm', '-f', ...ids]);
  b.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const networksDir = () => join(b.root, 'networks');
const files = () =>
  readdirSync(networksDir())
    .filter((f) => f.endsWith('.conflist'))
    .sort();

test('create prints the id; ls and inspect show it as docker does; the default network is there', async () => {
  const id = (
    await b.ok([
      'network',
      'create',
      '--subnet',
      '10.231.70.0/24',
      '--gateway',
      '10.231.70.254',
      '--ip-range',
      '10.231.70.128/25',
      '--label',
      'team=web',
      '-o',
      'mtu=1400',
      'web',
    ])
  ).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ls = (await b.ok(['network', 'ls'])).split('\n').filter(Boolean);
  assert.match(ls[0]!, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
  assert.equal(ls.length, 3);
  assert.match(ls[1]!, /^[0-9a-f]{12}\s+berth\s+bridge\s+local$/);
  assert.match(ls[2]!, new RegExp(`^${id.slice(0, 12)}\\s+web\\s+bridge\\s+local$`));
  assert.equal((await b.ok(['network', 'ls', '-q', '--no-trunc', '-f', 'name=web'])).trim(), id);
  assert.equal(
    (await b.ok(['network', 'list', '--format', '{{.Name}}:{{.Driver}}', '-f', 'type=custom'])).trim(),
    'web:bridge',
  );

  const [info] = JSON.parse(await b.ok(['network', 'inspect', 'web']));
  assert.equal(info.Id, id);
  assert.equal(info.Scope, 'local');
  assert.deepEqual(info.IPAM, {
    Driver: 'default',
    Options: {},
    Config: [{ Subnet: '10.231.70.0/24', Gateway: '10.231.70.254', IPRange: '10.231.70.128/25' }],
  });
  assert.deepEqual(info.Labels, { team: 'web' });
  assert.deepEqual(info.Options, { mtu: '1400' });
  assert.deepEqual(info.Containers, {});
  assert.equal(
    (await b.ok(['network', 'inspect', '-f', '{{.Name}}', id.slice(0, 12), 'berth'])).trim(),
    'web\nberth',
  );

  // The file is a CNI conflist: cniVersion, name and plugins at the top, berth's record beside them.
  const doc = JSON.parse(readFileSync(join(networksDir(), 'web.conflist'), 'utf8'));
  assert.equal(doc.name, 'web');
  assert.equal(doc.plugins[0].type, 'bridge');
  assert.equal(doc.plugins[0].mtu, 1400);
  assert.equal(doc.berth.id, id);
});

test('bad input exits non-zero with a clear error and changes nothing', async () => {
  const before = files().map((f) => readFileSync(join(networksDir(), f), 'utf8'));
  const cases: [string[], RegExp][] = [
    [['--subnet', '10.231.71.0/33', 'x'], /invalid subnet "10\.231\.71\.0\/33"/],
    [['--subnet', 'bogus', 'x'], /invalid subnet "bogus"/],
    [['--subnet', '10.231.70.0/25', 'x'], /overlaps subnet 10\.231\.70\.0\/24 of network "web"/],
    [['--subnet', '10.231.72.0/24', '--gateway', '10.231.73.1', 'x'], /gateway 10\.231\.73\.1 is not/],
    [['--subnet', '10.231.72.0/24', '--ip-range', '10.231.73.0/25', 'x'], /ip range/],
    [['--gateway', '10.231.72.1', 'x'], /--gateway given for 0 --subnet/],
    [['web'], /network with name web already exists/],
    [['bad name'], /invalid network name/],
    [['-d', 'overlay', 'x'], /unknown network driver "overlay"/],
    [['-d', 'macvlan', 'x'], /needs --opt parent=INTERFACE/],
    [['-d', 'macvlan', '-o', 'parent=nosuchif0', 'x'], /parent interface "nosuchif0" does not exist/],
    [['-o', 'color=blue', 'x'], /unknown option "color" for the bridge driver/],
    [['--ipv6', 'x'], /IPv6 subnet/],
  ];
  for (const [args, pattern] of cases) {
    const r = await b.run(['network', 'create', ...args]);
    assert.notEqual(r.code, 0, `${args.join(' ')} succeeded`);
    assert.match(r.stderr, pattern, args.join(' '));
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(
    files().map((f) => readFileSync(join(networksDir(), f), 'utf8')),
    before,
  );
  const r = await b.run(['network', 'ls', '-f', 'colour=red']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /invalid filter "colour"/);
  const i = await b.run(['network', 'inspect', 'nope']);
  assert.notEqual(i.code, 0);
  assert.match(i.stderr, /no such network: nope/);
});

test('rm: one error per missing or used network, exit 1; prune keeps used and default networks', async () => {
  await b.ok(['network', 'create', 'spare']);
  await b.ok(['network', 'create', '--label', 'keep=1', 'kept']);
  await b.ok(['create', '--name', 'user-of-berth', IMG]);
  const r = await b.run(['network', 'rm', 'nope', 'berth', 'spare']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'spare\n');
  assert.match(r.stderr, /no such network: nope/);
  assert.match(r.stderr, /network berth is in use by container\(s\) user-of-berth/);
  assert.equal((await b.run(['network', 'rm', '-f', 'nope'])).code, 0);

  const pruned = await b.ok(['network', 'prune', '-f', '--filter', 'label!=keep']);
  assert.equal(pruned, 'Deleted Networks:\nweb\n');
  assert.deepEqual(files(), ['berth.conflist', 'kept.conflist']);
  assert.equal(await b.ok(['network', 'prune', '-f']), 'Deleted Networks:\nkept\n');
  assert.equal(await b.ok(['network', 'prune', '-f']), '');

  // The default network goes only once nothing names it, and comes back on next use.
  await b.ok(['rm', 'user-of-berth']);
  assert.equal(await b.ok(['network', 'remove', 'berth']), 'berth\n');
  assert.match(await b.ok(['network', 'ls', '-q']), /^[0-9a-f]{12}\n$/);
});

test('network create and rm are recorded as events', async () => {
  const since = (Date.now() / 1000 - 1).toFixed(3);
  await b.ok(['network', 'create', 'evt']);
  await b.ok(['network', 'rm', 'evt']);
  const until = (Date.now() / 1000 + 1).toFixed(3);
  const out = await b.ok([
    'events',
    '--since',
    since,
    '--until',
    until,
    '--filter',
    'type=network',
    '--filter',
    'network=evt',
    '--format',
    '{{.Action}} {{.Actor.Attributes.name}}',
  ]);
  assert.deepEqual(out.trim().split('\n'), ['create evt', 'destroy evt']);
});
