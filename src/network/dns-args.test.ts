// The dnsname plugin's place in a bridge conflist, and the CNI_ARGS / runtimeConfig that give
// it a container's name and aliases (no root needed; dns.test.ts runs the real plugin).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../errors/index.js';
import { bridgeConflist } from './_conflist.js';
import { DEFAULT_DNS_DOMAIN, dnsArgs, dnsCapabilityArgs, dnsStateDir } from './_dns.js';

test('dns puts dnsname last in a bridge conflist, with the aliases capability', () => {
  const plain = bridgeConflist('web', { bridge: 'br1', subnets: [{ subnet: '10.1.0.0/24' }] });
  assert.equal(
    plain.plugins.some((p) => p.type === 'dnsname'),
    false,
  );
  const c = bridgeConflist('web', { bridge: 'br1', subnets: [{ subnet: '10.1.0.0/24' }], dns: {} });
  assert.deepEqual(
    c.plugins.map((p) => p.type),
    ['bridge', 'portmap', 'firewall', 'tuning', 'dnsname'],
  );
  assert.deepEqual(c.plugins[4], {
    type: 'dnsname',
    domainName: DEFAULT_DNS_DOMAIN,
    capabilities: { aliases: true },
  });
  assert.equal(DEFAULT_DNS_DOMAIN, 'dns.berth');
  const own = bridgeConflist('web', {
    bridge: 'br1',
    subnets: [{ subnet: '10.1.0.0/24' }],
    dns: { domainName: 'corp.example' },
  });
  assert.equal(own.plugins.at(-1)!.domainName, 'corp.example');
});

test('an internal network with dns keeps its gateway address but gets no route and no masquerade', () => {
  const c = bridgeConflist('int', {
    bridge: 'br2',
    subnets: [{ subnet: '10.2.0.0/24' }],
    internal: true,
    dns: {},
  });
  const bridge = c.plugins[0]!;
  assert.equal(bridge.isGateway, true);
  assert.equal(bridge.ipMasq, false);
  assert.equal((bridge.ipam as { routes?: unknown }).routes, undefined);
  const noDns = bridgeConflist('int', {
    bridge: 'br2',
    subnets: [{ subnet: '10.2.0.0/24' }],
    internal: true,
  });
  assert.equal(noDns.plugins[0]!.isGateway, false);
});

test('a domain that is not a DNS name is refused (it goes into dnsmasq.conf)', () => {
  for (const domainName of [
    '',
    'a..b',
    '-x.y',
    'x.y.',
    'bad_domain',
    'a\nserver=1.2.3.4',
    'a b',
    `${'a'.repeat(64)}.x`,
  ])
    assert.throws(
      () => bridgeConflist('n', { bridge: 'b', subnets: [{ subnet: '10.1.0.0/24' }], dns: { domainName } }),
      (e: unknown) => e instanceof InvalidArgumentError && /invalid DNS domain/.test(e.message),
      JSON.stringify(domainName),
    );
});

test('dnsArgs names the container in K8S_POD_NAME, with IgnoreUnknown for the other plugins', () => {
  assert.deepEqual(dnsArgs('web_1.Front-end'), { IgnoreUnknown: '1', K8S_POD_NAME: 'web_1.Front-end' });
  // Every valid container name gets its args (one DNS cannot serve simply does not resolve)...
  for (const ok of ['x.', 'a..b', 'x'.repeat(300)]) assert.equal(dnsArgs(ok).K8S_POD_NAME, ok);
  // ...but nothing that could smuggle another CNI_ARGS pair or a hosts-file field.
  for (const bad of ['', '-x', 'a b', 'a;IP=1.2.3.4', 'a\tb', 'a\nb'])
    assert.throws(() => dnsArgs(bad), InvalidArgumentError, JSON.stringify(bad));
  for (const bad of ['x.', 'a..b', 'x'.repeat(254), '-a'])
    assert.throws(() => dnsCapabilityArgs('n', [bad]), /invalid network alias/, JSON.stringify(bad));
});

test('dnsCapabilityArgs keys the aliases by the network name', () => {
  assert.deepEqual(dnsCapabilityArgs('front', ['bee', 'b2', 'bee']), { aliases: { front: ['bee', 'b2'] } });
  assert.deepEqual(dnsCapabilityArgs('front', []), { aliases: { front: [] } });
  assert.throws(() => dnsCapabilityArgs('front', ['a b']), /invalid network alias "a b"/);
  assert.throws(() => dnsCapabilityArgs('../x', ['a']), /invalid network name/);
  assert.equal(dnsStateDir('front'), '/run/containers/cni/dnsname/front');
  assert.throws(() => dnsStateDir('../etc'), InvalidArgumentError);
});
