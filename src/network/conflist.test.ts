import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  bridgeConflist,
  checkIpInSubnets,
  checkNoOverlap,
  formatCidr,
  formatIp,
  hostRoutes,
  macvlanConflist,
  parseCidr,
  parseIp,
  pickFreeSubnet,
  resolveSubnet,
  validateConflist,
} from './_conflist.js';

test('v4 and v6 addresses parse and format round trip', () => {
  assert.equal(formatIp(4, parseIp('10.1.2.3').address), '10.1.2.3');
  for (const [text, canon] of [
    ['fd00::1', 'fd00::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
  ]) {
    const ip = parseIp(text!);
    assert.equal(ip.family, 6);
    assert.equal(formatIp(6, ip.address), canon);
  }
  for (const bad of ['10.1.2', '10.1.2.256', '01.2.3.4', '1:2:3:4:5:6:7:8:9', 'fd00:::1', 'x', '1::2::3', ''])
    assert.throws(() => parseIp(bad), /invalid IP address/);
});

test('bad CIDRs get clear errors', () => {
  assert.equal(formatCidr(parseCidr('10.1.0.0/16')), '10.1.0.0/16');
  assert.equal(formatCidr(parseCidr('fd00:1::/64')), 'fd00:1::/64');
  assert.throws(() => parseCidr('10.1.0.0'), /invalid subnet "10.1.0.0": expected ADDRESS\/PREFIX/);
  assert.throws(() => parseCidr('10.1.0.0/33'), /prefix \/33 is longer than 32/);
  assert.throws(
    () => parseCidr('10.1.300.0/24'),
    /invalid subnet "10.1.300.0\/24": "10.1.300.0" is not an IP address/,
  );
  assert.throws(
    () => parseCidr('10.1.2.3/24'),
    (e: Error & { hint?: string; code?: string }) =>
      /host bits are set/.test(e.message) &&
      e.hint === 'did you mean 10.1.2.0/24?' &&
      e.code === 'INVALID_ARGUMENT',
  );
});

test('gateways and ranges must lie inside the subnet', () => {
  const r = resolveSubnet({ subnet: '10.5.0.0/24' });
  assert.equal(formatIp(4, r.gateway), '10.5.0.1');
  assert.equal(formatIp(4, r.rangeEnd), '10.5.0.254');
  assert.throws(
    () => resolveSubnet({ subnet: '10.5.0.0/24', gateway: '10.6.0.1' }),
    /gateway 10.6.0.1 is not a host address of subnet 10.5.0.0\/24/,
  );
  assert.throws(() => resolveSubnet({ subnet: '10.5.0.0/24', gateway: '10.5.0.255' }), /not a host address/);
  assert.throws(() => resolveSubnet({ subnet: '10.5.0.0/24', gateway: 'fd00::1' }), /not a host address/);
  assert.throws(
    () => resolveSubnet({ subnet: '10.5.0.0/24', ipRange: '10.5.1.0/28' }),
    /ip range 10.5.1.0\/28 is not inside/,
  );
  assert.throws(() => resolveSubnet({ subnet: '10.5.0.0/31' }), /too small/);
  const ranged = resolveSubnet({ subnet: '10.5.0.0/24', ipRange: '10.5.0.128/25' });
  assert.equal(formatIp(4, ranged.rangeStart), '10.5.0.128');
  assert.equal(formatIp(4, ranged.rangeEnd), '10.5.0.254');
  const v6 = resolveSubnet({ subnet: 'fd00:7::/64' });
  assert.equal(formatIp(6, v6.gateway), 'fd00:7::1');
  checkIpInSubnets('10.5.0.9', [{ subnet: '10.5.0.0/24' }]);
  for (const ip of ['10.6.0.9', '10.5.0.1', '10.5.0.255', '10.5.0.0'])
    assert.throws(() => checkIpInSubnets(ip, [{ subnet: '10.5.0.0/24' }]), /is not a free host address/);
});

test('overlapping subnets are refused, naming the other network', () => {
  const existing = [
    { network: 'a', subnet: '10.7.0.0/16' },
    { network: 'b', subnet: 'fd00:1::/64' },
  ];
  checkNoOverlap(parseCidr('10.8.0.0/24'), existing);
  checkNoOverlap(parseCidr('fd00:2::/64'), existing);
  assert.throws(
    () => checkNoOverlap(parseCidr('10.7.3.0/24'), existing),
    /overlaps subnet 10.7.0.0\/16 of network "a"/,
  );
  assert.throws(() => checkNoOverlap(parseCidr('10.0.0.0/8'), existing), /network "a"/);
  assert.throws(() => checkNoOverlap(parseCidr('fd00::/16'), existing), /network "b"/);
  assert.throws(
    () =>
      bridgeConflist('n', { bridge: 'br0', subnets: [{ subnet: '10.1.0.0/16' }, { subnet: '10.1.2.0/24' }] }),
    /overlap/,
  );
});

test('a bridge conflist has bridge+host-local, portmap, firewall and tuning, and validates', () => {
  const c = bridgeConflist('web', {
    bridge: 'berth1',
    subnets: [{ subnet: '10.9.0.0/24', gateway: '10.9.0.254' }, { subnet: 'fd00:9::/64' }],
  });
  assert.deepEqual(
    c.plugins.map((p) => p.type),
    ['bridge', 'portmap', 'firewall', 'tuning'],
  );
  const br = c.plugins[0]!;
  assert.equal(br.isGateway, true);
  assert.equal(br.ipMasq, true);
  assert.deepEqual(br.ipam, {
    type: 'host-local',
    ranges: [
      [{ subnet: '10.9.0.0/24', gateway: '10.9.0.254', rangeStart: '10.9.0.1', rangeEnd: '10.9.0.254' }],
      [
        {
          subnet: 'fd00:9::/64',
          gateway: 'fd00:9::1',
          rangeStart: 'fd00:9::1',
          rangeEnd: 'fd00:9::ffff:ffff:ffff:ffff',
        },
      ],
    ],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
  });
  assert.deepEqual(c.plugins[1]!.capabilities, { portMappings: true });
  assert.deepEqual(validateConflist(JSON.parse(JSON.stringify(c))), c);

  const internal = bridgeConflist('int', {
    bridge: 'berth2',
    subnets: [{ subnet: '10.9.1.0/24' }],
    internal: true,
  });
  assert.equal(internal.plugins[0]!.ipMasq, false);
  assert.equal(internal.plugins[0]!.isGateway, false);
  assert.equal((internal.plugins[0]!.ipam as { routes?: unknown }).routes, undefined);

  assert.throws(
    () => bridgeConflist('bad name', { bridge: 'b', subnets: [{ subnet: '10.1.0.0/24' }] }),
    /invalid network name/,
  );
  assert.throws(
    () => bridgeConflist('n', { bridge: 'waytoolongbridgename', subnets: [{ subnet: '10.1.0.0/24' }] }),
    /invalid bridge name/,
  );
  assert.throws(() => bridgeConflist('n', { bridge: 'b', subnets: [] }), /at least one subnet/);
});

test('macvlan and ipvlan conflists check their mode', () => {
  const m = macvlanConflist('mv', {
    driver: 'macvlan',
    master: 'eth0',
    subnets: [{ subnet: '10.10.0.0/24' }],
  });
  assert.equal(m.plugins[0]!.type, 'macvlan');
  assert.equal(m.plugins[0]!.mode, 'bridge');
  const i = macvlanConflist('iv', {
    driver: 'ipvlan',
    master: 'eth0',
    mode: 'l3',
    subnets: [{ subnet: '10.10.1.0/24' }],
  });
  assert.equal(i.plugins[0]!.mode, 'l3');
  assert.throws(
    () =>
      macvlanConflist('iv', {
        driver: 'ipvlan',
        master: 'eth0',
        mode: 'bridge',
        subnets: [{ subnet: '10.10.1.0/24' }],
      }),
    /invalid ipvlan mode "bridge"/,
  );
});

test('validateConflist refuses what is not a CNI conflist', () => {
  for (const [bad, why] of [
    [null, /not a JSON object/],
    [{ cniVersion: '1.0', name: 'x', plugins: [{ type: 'bridge' }] }, /cniVersion/],
    [{ cniVersion: '1.0.0', name: 'x', plugins: [] }, /non-empty/],
    [{ cniVersion: '1.0.0', name: 'x', plugins: [{ type: '../../bin/sh' }] }, /invalid type/],
    [{ cniVersion: '1.0.0', name: 'x', plugins: [{ type: 'bridge', capabilities: [] }] }, /capabilities/],
  ] as const)
    assert.throws(() => validateConflist(bad), why);
});

test('host routes are read from /proc/net, default routes left out', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-routes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'route'),
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
      'cni0\t0000580A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n' +
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n',
  );
  writeFileSync(
    join(dir, 'ipv6_route'),
    'fd000000000000010000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n' +
      '00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n',
  );
  assert.deepEqual(hostRoutes(dir).map(formatCidr), ['10.88.0.0/16', '192.0.2.0/24', 'fd00:0:0:1::/64']);
});

test('pickFreeSubnet skips host routes and existing networks', () => {
  const routes = ['10.89.0.0/24', '10.89.1.0/24', '192.0.2.0/24'].map((s) => parseCidr(s));
  assert.equal(pickFreeSubnet({ routes, existing: ['10.89.2.0/24'] }), '10.89.3.0/24');
  // A route covering the whole first pool moves on to the next pool, and to /16s there.
  assert.equal(
    pickFreeSubnet({ routes: [parseCidr('10.0.0.0/8')], existing: ['172.18.0.0/16'] }),
    '172.19.0.0/16',
  );
  const pools = [{ base: '10.231.0.0/23', prefix: 24 }];
  assert.equal(pickFreeSubnet({ routes: [], existing: ['10.231.0.0/24'], pools }), '10.231.1.0/24');
  assert.throws(
    () => pickFreeSubnet({ routes: [parseCidr('10.231.0.0/16')], existing: [], pools }),
    (e: Error & { code?: string }) => e.code === 'CONFLICT' && /no free subnet/.test(e.message),
  );
});
