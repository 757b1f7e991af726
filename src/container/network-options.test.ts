// normalizeNetworkOptions: the create-time network checks, against a fake network lookup.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError, NotFoundError } from '../errors/index.js';
import type { NetworkRecord } from '../network/index.js';
import { type NetworkLookup, normalizeNetworkOptions } from './_network.js';

function network(name: string, subnet: string, gateway: string): NetworkRecord {
  return {
    name,
    id: name.padEnd(64, '0').replace(/[^0-9a-f]/g, 'a'),
    driver: 'bridge',
    created: '2026-01-01T00:00:00Z',
    labels: {},
    options: {},
    internal: false,
    ipv6: false,
    dnsEnabled: name !== 'berth',
    bridge: `br-${name}`,
    subnets: [{ subnet, gateway }],
    conflist: { cniVersion: '1.0.0', name, plugins: [{ type: 'bridge' }] },
  };
}

const nets = new Map([
  ['berth', network('berth', '10.231.0.0/24', '10.231.0.1')],
  ['web', network('web', '10.231.5.0/24', '10.231.5.1')],
]);
const lookup: NetworkLookup = {
  get(n) {
    const r = nets.get(n);
    if (!r) throw new NotFoundError(`no such network: ${n}`);
    return r;
  },
  find: (n) => nets.get(n),
  ensureDefault: () => nets.get('berth')!,
};

test('networks are resolved, the default one when none is given', () => {
  assert.deepEqual(normalizeNetworkOptions({ image: 'x' }, lookup).networks, [{ name: 'berth' }]);
  assert.deepEqual(normalizeNetworkOptions({ image: 'x', network: 'web,berth' }, lookup).networks, [
    { name: 'web' },
    { name: 'berth' },
  ]);
  assert.throws(
    () => normalizeNetworkOptions({ image: 'x', network: 'nope' }, lookup),
    /no such network: nope/,
  );
});

test('--ip, --mac-address and aliases are checked against the network at create, not at start', () => {
  const o = normalizeNetworkOptions({ image: 'x', networks: [{ name: 'web', ipv4: '10.231.5.9' }] }, lookup);
  assert.deepEqual(o.networks, [{ name: 'web', ipv4: '10.231.5.9' }]);
  const bad = [
    { name: 'web', ipv4: '10.231.6.9' },
    { name: 'web', ipv4: '10.231.5.1' },
    { name: 'web', mac: '01:00:00:00:00:01' },
    { name: 'web', mac: 'zz' },
    { name: 'web', aliases: ['bad alias'] },
  ];
  for (const r of bad)
    assert.throws(
      () => normalizeNetworkOptions({ image: 'x', networks: [r] }, lookup),
      InvalidArgumentError,
      JSON.stringify(r),
    );
});
