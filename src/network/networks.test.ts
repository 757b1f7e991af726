// NetworkStore in a temp dir, with a fake /sys/class/net and /proc/net: the default network,
// user networks and their options, every bad input (refused with nothing changed), corrupt
// files, removal, and four processes creating networks at once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../errors/index.js';
import { validateConflist } from './_conflist.js';
import { NetworkStore } from './index.js';

const CHILD = fileURLToPath(new URL('../../test/helpers/network-child.js', import.meta.url));
const POOLS = [{ base: '10.231.0.0/16', prefix: 24 }];
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A store over a fresh dir; the fake host has lo, eth0 and berth1, and a route to 10.231.0.0/24. */
function fresh() {
  const base = mkdtempSync(join(tmpdir(), 'berth-networks-'));
  dirs.push(base);
  const sys = join(base, 'sys');
  for (const i of ['lo', 'eth0', 'berth1']) mkdirSync(join(sys, i), { recursive: true });
  const proc = join(base, 'proc');
  mkdirSync(proc);
  writeFileSync(
    join(proc, 'route'),
    'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n' +
      'eth0\t0000E70A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n',
  );
  const dir = join(base, 'networks');
  const ipamDir = join(dir, 'ipam');
  const store = new NetworkStore({ dir, ipamDir, sysClassNet: sys, procNet: proc, pools: POOLS });
  return { base, dir, ipamDir, sys, proc, store };
}

const code =
  (c: string, pattern?: RegExp) =>
  (err: unknown): boolean => {
    assert.ok(err instanceof BerthError, `not a berth error: ${err}`);
    assert.equal(err.code, c, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };

function snapshot(dir: string): string {
  try {
    return readdirSync(dir)
      .filter((f) => f !== '.lock')
      .sort()
      .map((f) => `${f}:${readFileSync(join(dir, f), 'utf8')}`)
      .join('\n');
  } catch {
    return '';
  }
}

test('the default network: berth on berth0, a subnet clear of host routes, no DNS; created once', () => {
  const { store, dir, ipamDir } = fresh();
  const d = store.ensureDefault();
  assert.equal(d.name, 'berth');
  assert.equal(d.bridge, 'berth0');
  assert.equal(d.driver, 'bridge');
  assert.equal(d.dnsEnabled, false);
  assert.equal(d.internal, false);
  assert.match(d.id, /^[0-9a-f]{64}$/);
  assert.deepEqual(d.subnets, [{ subnet: '10.231.1.0/24', gateway: '10.231.1.1' }]);
  assert.equal(store.ensureDefault().id, d.id);
  // The file is a CNI conflist other tools can read, with berth's record beside it.
  const doc = JSON.parse(readFileSync(join(dir, 'berth.conflist'), 'utf8'));
  validateConflist(doc);
  assert.equal(doc.name, 'berth');
  assert.equal(doc.berth.id, d.id);
  assert.equal(doc.plugins[0].type, 'bridge');
  assert.equal(doc.plugins[0].bridge, 'berth0');
  assert.equal(doc.plugins[0].ipam.dataDir, ipamDir);
  assert.deepEqual(store.get('berth'), d);
  assert.equal(d.conflist.plugins[0]!.type, 'bridge');
  assert.equal((d.conflist as unknown as Record<string, unknown>).berth, undefined);
});

test("the default network takes the subnet berth0 already routes (another root's), unless it clashes", () => {
  const { store, proc } = fresh();
  const routes = readFileSync(join(proc, 'route'), 'utf8');
  // berth0 up with 10.231.9.0/24 (little-endian hex), as another root's default network leaves it.
  const withBerth0 = `${routes}berth0\t0009E70A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n`;
  writeFileSync(join(proc, 'route'), withBerth0);
  assert.deepEqual(store.ensureDefault().subnets, [{ subnet: '10.231.9.0/24', gateway: '10.231.9.1' }]);
  assert.throws(
    () => store.create({ name: 'u', subnets: [{ subnet: '10.231.9.0/25' }] }),
    code('CONFLICT', /of network "berth"/),
  );

  const other = fresh();
  other.store.create({ name: 'u', subnets: [{ subnet: '10.231.9.0/25' }] });
  writeFileSync(join(other.proc, 'route'), withBerth0);
  // For any network but the default, a route through berth0 is a host route like another.
  assert.throws(
    () => other.store.create({ name: 'v', subnets: [{ subnet: '10.231.9.128/25' }] }),
    code('CONFLICT', /host route to 10\.231\.9\.0\/24/),
  );
  assert.deepEqual(other.store.ensureDefault().subnets, [{ subnet: '10.231.1.0/24', gateway: '10.231.1.1' }]);
});

test('user networks: next free bridge and subnet, DNS on, labels and options kept, found by id prefix', () => {
  const { store } = fresh();
  store.ensureDefault();
  const a = store.create({ name: 'a', labels: { team: 'x' } });
  assert.equal(a.bridge, 'berth2', 'berth1 is a host interface');
  assert.equal(a.subnets[0]!.subnet, '10.231.2.0/24');
  assert.equal(a.dnsEnabled, true);
  assert.deepEqual(a.labels, { team: 'x' });
  const b = store.create({
    name: 'b.2',
    dns: false,
    internal: true,
    subnets: [{ subnet: '10.231.77.0/24', gateway: '10.231.77.254', ipRange: '10.231.77.128/25' }],
    options: { mtu: '1400', 'com.docker.network.bridge.name': 'br-test7' },
  });
  assert.equal(b.dnsEnabled, false);
  assert.equal(b.internal, true);
  assert.equal(b.bridge, 'br-test7');
  assert.deepEqual(b.subnets, [
    { subnet: '10.231.77.0/24', gateway: '10.231.77.254', ipRange: '10.231.77.128/25' },
  ]);
  const plugin = b.conflist.plugins[0]!;
  assert.equal(plugin.mtu, 1400);
  assert.equal(plugin.isGateway, false);
  const range = (plugin.ipam as { ranges: Record<string, string>[][] }).ranges[0]![0]!;
  assert.equal(range.rangeStart, '10.231.77.128');
  assert.equal(range.gateway, '10.231.77.254');
  assert.equal((plugin.ipam as { routes?: unknown }).routes, undefined, 'internal: no default route');
  const c = store.create({ name: 'c' });
  assert.equal(c.bridge, 'berth3');
  assert.equal(c.subnets[0]!.subnet, '10.231.3.0/24');
  assert.deepEqual(
    store.list().map((n) => n.name),
    ['a', 'b.2', 'berth', 'c'],
  );
  assert.equal(store.get(a.id).name, 'a');
  assert.equal(store.get(b.id.slice(0, 12)).name, 'b.2');
  assert.equal(store.find('nope'), undefined);
  assert.throws(() => store.get('nope'), code('NOT_FOUND', /no such network: nope/));
});

test('IPv6: a v6 subnet makes a dual-stack network; --ipv6 without one is refused', () => {
  const { store } = fresh();
  const n = store.create({ name: 'six', ipv6: true, subnets: [{ subnet: 'fd00:231::/64' }] });
  assert.equal(n.ipv6, true);
  assert.deepEqual(
    n.subnets.map((s) => s.subnet),
    ['10.231.1.0/24', 'fd00:231::/64'],
  );
  assert.equal(n.subnets[1]!.gateway, 'fd00:231::1');
  assert.throws(() => store.create({ name: 'six2', ipv6: true }), code('INVALID_ARGUMENT', /IPv6 subnet/));
  assert.throws(
    () => store.create({ name: 'six3', subnets: [{ subnet: 'fd00:231::/80' }] }),
    code('CONFLICT', /overlaps/),
  );
});

test('macvlan and ipvlan need an existing parent; mode and options are checked', () => {
  const { store } = fresh();
  const m = store.create({ name: 'mv', driver: 'macvlan', options: { parent: 'eth0', mode: 'private' } });
  assert.equal(m.bridge, undefined);
  assert.equal(m.dnsEnabled, false);
  assert.equal(m.conflist.plugins[0]!.type, 'macvlan');
  assert.equal(m.conflist.plugins[0]!.master, 'eth0');
  assert.equal(m.conflist.plugins[0]!.mode, 'private');
  const i = store.create({ name: 'iv', driver: 'ipvlan', options: { parent: 'eth0', ipvlan_mode: 'l3' } });
  assert.equal(i.conflist.plugins[0]!.mode, 'l3');
  assert.notEqual(i.subnets[0]!.subnet, m.subnets[0]!.subnet);
});

test('bad input is refused with a clear error and changes nothing', () => {
  const { store, dir } = fresh();
  store.create({ name: 'taken', subnets: [{ subnet: '10.231.50.0/24' }] });
  const before = snapshot(dir);
  const cases: [Parameters<NetworkStore['create']>[0], string, RegExp][] = [
    [{ name: 'x', subnets: [{ subnet: '10.231.5.0/33' }] }, 'INVALID_ARGUMENT', /prefix/],
    [{ name: 'x', subnets: [{ subnet: '10.231.5.1/24' }] }, 'INVALID_ARGUMENT', /host bits/],
    [{ name: 'x', subnets: [{ subnet: 'nonsense' }] }, 'INVALID_ARGUMENT', /invalid subnet/],
    [{ name: 'x', subnets: [{ subnet: '10.231.50.128/25' }] }, 'CONFLICT', /network "taken"/],
    [{ name: 'x', subnets: [{ subnet: '10.231.0.0/25' }] }, 'CONFLICT', /host route to 10\.231\.0\.0\/24/],
    [
      { name: 'x', subnets: [{ subnet: '10.231.6.0/24', gateway: '10.231.7.1' }] },
      'INVALID_ARGUMENT',
      /gateway/,
    ],
    [
      { name: 'x', subnets: [{ subnet: '10.231.6.0/24', ipRange: '10.231.8.0/25' }] },
      'INVALID_ARGUMENT',
      /ip range/,
    ],
    [
      { name: 'x', subnets: [{ subnet: '10.231.6.0/24' }, { subnet: '10.231.6.0/25' }] },
      'INVALID_ARGUMENT',
      /overlap/,
    ],
    [{ name: 'a b' }, 'INVALID_ARGUMENT', /invalid network name/],
    [{ name: '-x' }, 'INVALID_ARGUMENT', /invalid network name/],
    [{ name: 'host' }, 'INVALID_ARGUMENT', /reserved/],
    [{ name: 'berth' }, 'INVALID_ARGUMENT', /reserved/],
    [{ name: 'taken' }, 'ALREADY_EXISTS', /network with name taken already exists/],
    [{ name: 'x', driver: 'overlay' as 'bridge' }, 'INVALID_ARGUMENT', /unknown network driver/],
    [{ name: 'x', driver: 'macvlan' }, 'INVALID_ARGUMENT', /parent=/],
    [{ name: 'x', driver: 'macvlan', options: { parent: 'nosuch0' } }, 'INVALID_ARGUMENT', /does not exist/],
    [
      { name: 'x', driver: 'macvlan', options: { parent: 'eth0', mode: 'l2' } },
      'INVALID_ARGUMENT',
      /macvlan mode/,
    ],
    [{ name: 'x', options: { parent: 'eth0' } }, 'INVALID_ARGUMENT', /unknown option "parent"/],
    [{ name: 'x', options: { mtu: '12' } }, 'INVALID_ARGUMENT', /mtu/],
    [
      { name: 'x', options: { 'com.docker.network.bridge.name': 'this-is-too-long0' } },
      'INVALID_ARGUMENT',
      /bridge name/,
    ],
    [
      { name: 'x', options: { 'com.docker.network.bridge.name': 'eth0' } },
      'INVALID_ARGUMENT',
      /interface eth0 exists on this host and is not a bridge/,
    ],
    [
      { name: 'x', options: { 'com.docker.network.bridge.name': 'berth0' } },
      'CONFLICT',
      /belongs to the default network/,
    ],
    [{ name: 'x', options: { mtu: 1400 as unknown as string } }, 'INVALID_ARGUMENT', /not a string/],
    [
      { name: 'x', options: { 'com.docker.network.bridge.name': store.get('taken').bridge! } },
      'CONFLICT',
      /already used by network "taken"/,
    ],
  ];
  for (const [options, c, pattern] of cases) {
    assert.throws(() => store.create(options), code(c, pattern), JSON.stringify(options));
    assert.equal(snapshot(dir), before, `${JSON.stringify(options)} changed the store`);
  }
  assert.deepEqual(
    store.list().map((n) => n.name),
    ['taken'],
  );
});

test('a corrupt file is an error naming it on get, and list shows the rest', () => {
  const { store, dir } = fresh();
  store.create({ name: 'good' });
  writeFileSync(join(dir, 'bad.conflist'), '{not json');
  writeFileSync(
    join(dir, 'nober.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'nober', plugins: [{ type: 'bridge' }] }),
  );
  writeFileSync(
    join(dir, 'renamed.conflist'),
    readFileSync(join(dir, 'good.conflist'), 'utf8'), // names "good" inside
  );
  assert.deepEqual(
    store.list().map((n) => n.name),
    ['good'],
  );
  const { broken } = store.scan();
  assert.deepEqual(
    broken.map((b) => b.file),
    ['bad', 'nober', 'renamed'].map((n) => join(dir, `${n}.conflist`)),
  );
  assert.throws(() => store.get('bad'), code('INVALID_ARGUMENT', /bad\.conflist is corrupt: not JSON/));
  assert.throws(() => store.get('nober'), code('INVALID_ARGUMENT', /no "berth" object/));
  assert.throws(() => store.get('renamed'), code('INVALID_ARGUMENT', /its name is "good"/));
  // A new network still gets made beside them.
  assert.equal(store.create({ name: 'more' }).name, 'more');
});

test('remove deletes the file, and the IPAM dir unless another root still holds a lease in it', () => {
  const { store, dir, ipamDir } = fresh();
  store.create({ name: 'one' });
  store.create({ name: 'two' });
  store.create({ name: 'shared' });
  for (const n of ['one', 'two', 'shared']) {
    mkdirSync(join(ipamDir, n), { recursive: true });
    writeFileSync(join(ipamDir, n, 'lock'), '');
    writeFileSync(join(ipamDir, n, 'last_reserved_ip.0'), '10.231.1.2');
  }
  writeFileSync(join(ipamDir, 'shared', '10.231.3.7'), 'other-root-container\neth0');
  store.remove('one');
  assert.deepEqual(
    store.list().map((n) => n.name),
    ['shared', 'two'],
  );
  assert.deepEqual(readdirSync(ipamDir).sort(), ['shared', 'two']);
  assert.ok(!readdirSync(dir).includes('one.conflist'));
  store.remove('shared');
  assert.deepEqual(readdirSync(join(ipamDir, 'shared')).sort(), ['10.231.3.7', 'last_reserved_ip.0', 'lock']);
  assert.throws(() => store.remove('one'), code('NOT_FOUND', /no such network: one/));
  // Its subnet and bridge are free again.
  const again = store.create({ name: 'three' });
  assert.equal(again.subnets[0]!.subnet, '10.231.1.0/24');
  assert.equal(again.bridge, 'berth2');
});

test('four processes creating networks at once get distinct subnets and bridges', async () => {
  const { dir, ipamDir, sys, proc, store } = fresh();
  const runs = [0, 1, 2, 3].map(
    (i) =>
      new Promise<{ created: { name: string; subnet: string; bridge: string }[]; shared: string }>(
        (resolve, reject) => {
          const child = spawn(process.execPath, [CHILD, dir, ipamDir, sys, proc, `p${i}`, '3'], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          let err = '';
          child.stdout.on('data', (c: Buffer) => {
            out += c;
          });
          child.stderr.on('data', (c: Buffer) => {
            err += c;
          });
          child.on('close', (exit) =>
            exit === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child ${i} exited ${exit}: ${err}`)),
          );
        },
      ),
  );
  const results = await Promise.all(runs);
  assert.deepEqual(results.map((r) => r.shared).sort(), [
    'ALREADY_EXISTS',
    'ALREADY_EXISTS',
    'ALREADY_EXISTS',
    'ok',
  ]);
  const all = store.list();
  assert.equal(all.length, 4 * 3 + 2, 'twelve networks, shared and the one default');
  const subnets = all.map((n) => n.subnets[0]!.subnet);
  const bridges = all.map((n) => n.bridge);
  assert.equal(new Set(subnets).size, all.length, `subnets: ${subnets}`);
  assert.equal(new Set(bridges).size, all.length, `bridges: ${bridges}`);
  assert.ok(!bridges.includes('berth1'));
  assert.equal(store.scan().broken.length, 0);
  assert.ok(!readdirSync(dir).some((f) => f.startsWith('.tmp-')), 'no temp files left');
});
